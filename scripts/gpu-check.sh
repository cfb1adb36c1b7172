#!/usr/bin/env bash
# GPU check for the wgpu backend, run on a GPU machine from binaries built elsewhere.
#
# Build (on any x86-64 Linux machine with the Rust toolchain, ~15 min):
#   bash scripts/gpu-check.sh build          # → .gpu/ : model tests + the srlm binary, with --features wgpu
# Vulkan loader libraries from Debian (for a bare GPU machine), once:
#   see /work/.library/device/README.md or: apt-get download libvulkan1 ... into .gl/
# Run (on the GPU machine, from the repository root):
#   bash scripts/gpu-check.sh run            # parity tests on wgpu, then `srlm bench` on wgpu and cpu
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-run}" in
build)
  # SmolLM2 (98 MB) cannot travel to the GPU machine: build its tests as ignored.
  SRLM_SMOLLM2=/nonexistent cargo test --release -p srlm-model --features wgpu --target-dir target/wgpu --no-run
  cargo build --release -p srlm --features wgpu --target-dir target/wgpu
  mkdir -p .gpu
  test_bin=$(ls -t target/wgpu/release/deps/model-* | grep -v '\.d$' | head -1)
  cp "$test_bin" .gpu/model-tests
  cp target/wgpu/release/srlm .gpu/srlm
  strip .gpu/model-tests .gpu/srlm
  ls -la .gpu
  ;;
run)
  if [[ -d .gl ]]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  export VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}"
  export SRLM_FIXTURES="$PWD/tests/fixtures"
  echo "== model tests on wgpu (SmolLM2 file absent: those tests are ignored) =="
  SRLM_TEST_DEVICE=wgpu .gpu/model-tests --test-threads 1 2>&1 || echo "TESTS FAILED"
  echo "== srlm bench, SmolLM2-135M shapes, random weights =="
  .gpu/srlm --device wgpu bench --model random:smollm2 --work generation,sft,dpo --reps "${REPS:-3}" || echo "BENCH wgpu FAILED"
  .gpu/srlm --device cpu bench --model random:smollm2 --work generation --batches 1,16 --reps 1 || echo "BENCH cpu FAILED"
  ;;
*)
  echo "usage: $0 build|run" >&2
  exit 2
  ;;
esac
