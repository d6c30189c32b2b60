#!/usr/bin/env bash
# Regenerate the committed reference results, then copy them into the package (vgteach/reference_results,
# read by vgteach.results.load). Run from the repository root:
#     bash results/regenerate.sh [DATA_ROOT]          # DATA_ROOT holds cifar10/ (default ../shared/data)
# CIFAR-10 features are extracted once with the frozen EfficientNet-Lite0 and cached (~/.cache/vgteach);
# each study resumes where it stopped if killed (--resume). Only the CSV/JSON files are committed.
# The two studies are independent: VGTEACH_PARALLEL=1 runs them side by side, one thread each.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_ROOT="${1:-../shared/data}"
digits() {
    vgteach study --dataset digits --profile paper --seeds 0,1,2 --out results/digits-identity --no-progress --resume
}
cifar10() {
    vgteach study --dataset cifar10 --backbone efficientnet_lite0 --profile paper --seeds 0,1,2 \
                  --data-root "$DATA_ROOT" --out results/cifar10-efficientnet_lite0 --no-progress --resume
}
if [ "${VGTEACH_PARALLEL:-0}" = 1 ]; then
    OMP_NUM_THREADS=1 digits & OMP_NUM_THREADS=1 cifar10 & wait -n && wait -n
else
    digits
    cifar10
fi
for folder in digits-identity cifar10-efficientnet_lite0; do
    mkdir -p "vgteach/reference_results/$folder"
    cp "results/$folder"/{history.csv,summary.csv,summary_by_loss.csv,study.json} "vgteach/reference_results/$folder/"
done
