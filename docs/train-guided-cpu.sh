#!/bin/bash
# On the 2-core CPU, as run for the shipped facades-guided-128: the gated,
# sketch-guided model fine-tuned from facades-freeform-128 (--init: it begins computing the
# plain model's function, the sketch ignored), then a plain-convolution control trained the
# same first CONTROL steps on the same data and seed, so that the two differ by the gates.
# STEPS = the gated run's steps. The shipped run was one `--steps 3000` run stopped at step
# 1,100 by the session's time (STEPS=1100 retraces it: data order, masks and sketches are
# functions of (seed, sample number), the learning rate is constant and a resume is exact);
# `export` takes its best checkpoint by validation PSNR, step 700. About 4.5 s a step (32
# images, 7.1 images/s) for the gated model on the 2-core CPU.
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
CE="python3 -m context_encoder"
COMMON="--data facades --mask mixed --bottleneck channelwise --width 64 --guide sketch \
    --init facades-freeform-128 --device cpu --workers 1 --batch-size 32 --lr 1e-4 \
    --log-every 25 --val-every 100 --ckpt-every 100 --val-count 64 --keep-last 2 \
    --sample-every 100000 --no-progress --seed 0"
CONTROL=${CONTROL:-300}
$CE train $COMMON --conv gated --steps $CONTROL --out runs/guided-gated || exit 1
# the gated model at the control's step, kept aside (--keep-last prunes it later)
cp -r runs/guided-gated/checkpoints/step-$(printf %08d $CONTROL) runs/guided-gated-$CONTROL
$CE train --out runs/guided-gated --resume --steps "${STEPS:?}" --no-progress || exit 1
$CE train $COMMON --conv plain --steps $CONTROL --out runs/guided-plain || exit 1
$CE export runs/guided-gated --overwrite \
    -o src/context_encoder/weights/facades-guided-128.safetensors || exit 1
python3 bench/guided_quality.py --model facades-guided-128 --count 500 --device cpu \
    --json docs/guided-quality-500.json
python3 bench/guided_quality.py --model runs/guided-gated-$CONTROL --control-model \
    runs/guided-plain --count 500 --device cpu --json docs/guided-control-500.json
python3 bench/guided_grid.py --model facades-guided-128 --out docs/guided_grid.png
