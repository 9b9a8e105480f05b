#!/bin/bash
# Center model on one GPU, as run: the paper's rates for 9,000 steps, then a tenth of them to
# 12,000. The timeouts only kept the whole within the GPU machine's remaining time; both phases
# finished inside them (docs/train-center-gpu.log).
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
T0=$(date +%s)
CE="python3 -m context_encoder"
R=runs/center-gpu
timeout 200 $CE train --mask center --bottleneck channelwise --device cuda --workers 12 \
    --steps 9000 --val-every 1000 --ckpt-every 1000 --sample-every 5000 --val-count 200 \
    --log-every 200 --keep-last 3 --no-progress --out $R 2>&1 | tail -3
echo "phase 1 end at $(( $(date +%s) - T0 )) s"
timeout $((280 - ($(date +%s) - T0))) $CE train --out $R --resume --steps 12000 --lr 2e-5 \
    --no-progress 2>&1 | tail -3
echo "phase 2 end at $(( $(date +%s) - T0 )) s"
cat $R/last.json $R/best.json
$CE export $R -o "$OUT/facades-center-128.safetensors"
