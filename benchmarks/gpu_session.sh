#!/usr/bin/env bash
# How the GPU numbers in docs/results.md were produced, on a lent H100 reached
# through the `device` tool (a copy of this working tree, no network, its own
# torch). The data travels in parts (each call may carry 64 MiB) and is
# gathered in $DATA on the device; training runs in the background while the
# next parts arrive, and `collect` packs what a reader needs (metrics, reports,
# sample grids; no checkpoints) into $OUT.
#
#   gpu_session.sh part DIR            add CIFAR-10 shards / MNIST files from DIR to $DATA
#   gpu_session.sh mnist SEEDS...      start mnist-fm (300 epochs, 100 labels) for each seed
#   gpu_session.sh cifar EPOCHS        start cifar10-fm (4,000 labels) for EPOCHS epochs
#   gpu_session.sh throughput          images/s of the presets' steps, fp32 and bf16
#   gpu_session.sh status              last metrics line of every run
#   gpu_session.sh collect             stop nothing; tar runs/*/{config,metrics,report,pngs} into $OUT
set -euo pipefail
DATA=${DATA:-/root/improved-gan-data}
RUNS=${RUNS:-/root/improved-gan-runs}
export PYTHONPATH=$PWD/src IMPROVED_GAN_DATA=$DATA
cmd=$1; shift
case $cmd in
  part)
    mkdir -p "$DATA/cifar10" "$DATA/mnist"
    for f in "$1"/*; do
      case $(basename "$f") in
        *.npz|SHA256SUMS.txt) cp "$f" "$DATA/cifar10/" ;;
        *) [ -d "$f" ] && cp -r "$f" "$DATA/" ;;
      esac
    done
    ls "$DATA"/cifar10 | wc -l ;;
  mnist)
    mkdir -p "$RUNS"
    for s in "$@"; do
      nohup setsid python3 -m improved_gan train mnist-fm --seed "$s" --labels 100 --device cuda --precision fp32 \
        --no-progress --out "$RUNS/mnist-fm-s$s" > "$RUNS/mnist-fm-s$s.log" 2>&1 < /dev/null &
    done ;;
  cifar)
    mkdir -p "$RUNS"
    epochs=$1; start=$(( epochs * 2 / 3 ))
    nohup setsid python3 -m improved_gan train cifar10-fm --device cuda --precision fp32 --epochs "$epochs" \
      --set lr_decay_start=$start --set lr_decay_end=$epochs --no-progress \
      --out "$RUNS/cifar10-fm" > "$RUNS/cifar10-fm.log" 2>&1 < /dev/null & ;;
  throughput)
    python3 benchmarks/train_throughput.py cifar10-fm cifar10-mbd mnist-fm --device cuda --iters 30 ;;
  status)
    for r in "$RUNS"/*/; do echo "$r $(tail -n1 "$r/metrics.jsonl" 2>/dev/null | cut -c1-300)"; done
    tail -n 3 "$RUNS"/*.log || true ;;
  collect)
    cd "$RUNS" && tar czf "$OUT/gpu-runs.tgz" --exclude='checkpoints' --exclude='tensorboard' . && ls -la "$OUT" ;;
esac
