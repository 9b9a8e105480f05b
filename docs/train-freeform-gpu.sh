#!/bin/bash
# Free-form model on one GPU: the paper's rates, then a tenth of them for the last quarter.
# BUDGET = seconds of training wanted; the step counts are fitted to it after 2,000 steps.
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
RUN=runs/freeform64
CE="python3 -m context_encoder"
start=$(date +%s)
$CE train --data facades --mask mixed --bottleneck channelwise --width 64 --device cuda \
    --workers 12 --log-every 200 --val-every 1000 --ckpt-every 1000 --sample-every 5000 \
    --val-count 200 --keep-last 3 --steps 2000 --no-progress --out $RUN || exit 1
t=$(( $(date +%s) - start ))
N2=$(python3 -c "print(max(4000, int(2000 / $t * $BUDGET / 1000) * 1000))")
N1=$(python3 -c "print(int(0.75 * $N2 / 1000) * 1000)")
echo "first 2000 steps in $t s; N1=$N1 N2=$N2"
$CE train --out $RUN --resume --steps $N1 --no-progress || exit 1
$CE train --out $RUN --resume --steps $N2 --lr 2e-5 --no-progress || exit 1
echo "TRAINING DONE in $(( $(date +%s) - start )) s"
