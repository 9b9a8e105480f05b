#!/bin/bash
# On one GPU, not yet run: the sketch-guided model and its plain-convolution control.
# Both start from facades-freeform-128 (--init: the gated model begins computing the plain
# model's function, the sketch channel ignored) and train the same steps on the same data
# with the same seed, so their difference is the gates'. BUDGET = seconds for each run.
# Then: python bench/guided_quality.py measures without/with the true edges on 500 facades,
# and `context-encoder export runs/guided-gated -o facades-guided-128.safetensors`
# (fp16, at most 25 MB) is the file to ship.
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
CE="python3 -m context_encoder"
COMMON="--data facades --mask mixed --bottleneck channelwise --width 64 --guide sketch \
    --init facades-freeform-128 --device cuda --workers 12 --log-every 200 --val-every 1000 \
    --ckpt-every 1000 --val-count 200 --keep-last 3 --no-progress --seed 0"
start=$(date +%s)
$CE train $COMMON --conv gated --steps 2000 --out runs/guided-gated || exit 1
t=$(( $(date +%s) - start ))
N=$(python3 -c "print(max(4000, int(2000 / $t * ${BUDGET:-900} / 1000) * 1000))")
echo "first 2000 steps in $t s; N=$N"
$CE train --out runs/guided-gated --resume --steps $N --no-progress || exit 1
$CE train $COMMON --conv plain --steps $N --out runs/guided-plain || exit 1
echo "TRAINING DONE in $(( $(date +%s) - start )) s"
