#!/usr/bin/env bash
# Regenerate the committed reference results (issue: real results). Run from the repository root:
#     bash results/regenerate.sh [DATA_ROOT]          # DATA_ROOT holds cifar10/ (default ../shared/data)
# CIFAR-10 features are extracted once with the frozen EfficientNet-Lite0 and cached (~/.cache/vgteach);
# each study resumes where it stopped if killed (--resume). Only the CSV/JSON files are committed.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_ROOT="${1:-../shared/data}"
vgteach study --dataset digits --profile paper --seeds 0,1,2 --out results/digits-identity --no-progress --resume
vgteach study --dataset cifar10 --backbone efficientnet_lite0 --profile paper --seeds 0,1,2 --eval-every 10 \
              --data-root "$DATA_ROOT" --out results/cifar10-efficientnet_lite0 --no-progress --resume
