#!/usr/bin/env bash
# Regenerate every committed reference study from the CIFAR-10 JPEGs, then copy its tables into the package
# (vgteach/reference_results, read by vgteach.results.load). Run from anywhere:
#     bash results/regenerate.sh [DATA_ROOT [STUDY ...]]
# DATA_ROOT holds cifar10/ (default ../shared/data). STUDY names the studies to run (default: all six, in the
# order below), by folder or short name: digits, cifar10 (or closed), zero-shot, coarse-to-fine, robustness,
# temperature; e.g.   bash results/regenerate.sh ../shared/data closed zero-shot
#
# Each study trains two runs at a time on two cores (--workers auto: one process per core) and resumes where
# it stopped if killed (--resume): run the same command again. The first CIFAR-10 study extracts the frozen
# EfficientNet-Lite0 features of the 60,000 JPEGs once into the feature cache (~/.cache/vgteach/features);
# the next two read them from there. The last two train on the features that ship with vgteach (book
# profile). At the end the script prints each study's wall time and the total. Only the CSV/JSON tables
# are committed (.gitignore keeps runs/, figures and report.md out).
#
# A dry run of the whole pipeline (minutes, once the features are cached), away from the committed files:
#     VGTEACH_SMOKE=/tmp/regenerate bash results/regenerate.sh
# appends --profile smoke --epochs 1 --seeds 0 to every command and writes DIR/results and
# DIR/reference_results instead of results/ and vgteach/reference_results/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_ROOT="${1:-../shared/data}"
if [ $# -gt 0 ]; then shift; fi
SELECTED=" $* "
OUT=results PACKAGE=vgteach/reference_results EXTRA=""
if [ -n "${VGTEACH_SMOKE:-}" ]; then
    OUT="$VGTEACH_SMOKE/results" PACKAGE="$VGTEACH_SMOKE/reference_results" EXTRA="--profile smoke --epochs 1 --seeds 0"
fi

# study FOLDER NAMES OPTIONS...: `vgteach study OPTIONS` into $OUT/FOLDER if FOLDER or one of its NAMES
# (comma-separated) was asked for (or nothing was), timed; then its tables copied into the package.
studies() {
    study digits-identity digits --dataset digits --profile paper --seeds 0,1,2
    study cifar10-efficientnet_lite0 cifar10,closed --dataset cifar10 --backbone efficientnet_lite0 --profile paper \
        --seeds 0,1,2 --data-root "$DATA_ROOT"
    study cifar10-efficientnet_lite0-zero-shot zero-shot --dataset cifar10 --backbone efficientnet_lite0 \
        --protocol zero-shot --profile paper --seeds 0,1,2 --data-root "$DATA_ROOT"
    study cifar10-efficientnet_lite0-coarse-to-fine coarse-to-fine --dataset cifar10 --backbone efficientnet_lite0 \
        --protocol coarse-to-fine --profile paper --seeds 0,1,2 --data-root "$DATA_ROOT"
    study cifar10-features-robustness robustness --dataset cifar10-features --profile book --seeds 0,1,2 \
        --grid robustness
    study cifar10-features-temperature temperature --dataset cifar10-features --profile book --seeds 0,1,2 \
        --grid temperature
}

wanted() { # wanted FOLDER NAMES: was this study asked for (or nothing, meaning every study)?
    local name
    [ "$SELECTED" = "  " ] && return 0
    for name in "$1" ${2//,/ }; do
        [[ "$SELECTED" == *" $name "* ]] && return 0
    done
    return 1
}

KNOWN=" " TIMES=""
study() {
    local folder=$1 names=$2 start=$SECONDS
    shift 2
    if [ "$MODE" = names ]; then
        KNOWN+="$folder ${names//,/ } "
        return
    fi
    wanted "$folder" "$names" || return 0
    echo "== $folder: vgteach study $* --out $OUT/$folder --workers auto --no-progress --resume $EXTRA"
    # shellcheck disable=SC2086  # EXTRA: several options, split on purpose
    vgteach study "$@" --out "$OUT/$folder" --workers auto --no-progress --resume $EXTRA
    mkdir -p "$PACKAGE/$folder"
    cp "$OUT/$folder"/{history.csv,summary.csv,summary_by_loss.csv,study.json} "$PACKAGE/$folder/"
    TIMES+="$folder $((SECONDS - start))"$'\n'
}

MODE=names studies
for name in $SELECTED; do
    if [[ "$KNOWN" != *" $name "* ]]; then
        echo "regenerate.sh: unknown study '$name'; valid:$KNOWN" >&2
        exit 2
    fi
done
MODE=run studies

echo
printf '%-45s %15s\n' study "wall time"
total=0
while read -r folder seconds; do
    [ -n "$folder" ] || continue
    printf '%-45s %6d min %02d s\n' "$folder" $((seconds / 60)) $((seconds % 60))
    total=$((total + seconds))
done <<<"$TIMES"
printf '%-45s %6d min %02d s\n' total $((total / 60)) $((total % 60))
