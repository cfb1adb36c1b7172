#!/usr/bin/env bash
# GPU check for the wgpu and cuda backends: built here (no GPU needed), run on a lent GPU machine.
#
# Build (x86-64 Linux with the Rust toolchain; LLVM for cuda from scripts/setup-llvm.sh, ~30 min
# cold on 2 cores):
#   bash scripts/gpu-check.sh build    # → .gpu/binaries.tar.xz: one set of binaries with both
#                                      #   backends, and its size against the 64 MiB limit
# The binaries are stripped and compressed together (a GPU machine takes at most 64 MiB of files
# in all); SmolLM2 (98 MB) does not travel, so its tests are built as ignored and the pipeline runs
# on a random model of SmolLM2's shapes with the tiny fixture's tokenizer.
#
# Vulkan loader libraries for a bare GPU machine (once, here; wgpu needs them, cuda does not):
#   mkdir -p .gl && (cd .gl && apt-get download libvulkan1)
# Run (on the GPU machine, from the repository root, with .gpu and .gl carried):
#   bash scripts/gpu-check.sh run      # per backend: parity tests, srlm bench, a --quick loop
#   BACKENDS=cuda REPS=5 bash scripts/gpu-check.sh run
# It ends with one table: tests passed/failed, tokens/s, MFU of the training steps
# (6 × parameters × tokens / s against the FP32 peak) and decode weight bandwidth against the
# memory peak. Peaks come from the GPU's name (H100, H200, A100) or PEAK_TFLOPS / PEAK_GBPS.
# Results (JSON lines, logs) go to $OUT (or .gpu/out).
set -euo pipefail
cd "$(dirname "$0")/.."

# SmolLM2-135M's parameter count (tied head), for MFU and bandwidth.
readonly PARAMS=134515008
readonly TEST_CRATES=(srlm-model srlm-dpo srlm-loop)

build() {
  bash scripts/setup-llvm.sh
  # One feature set for every binary, so the dependencies compile once: wgpu and cuda (burn's
  # `cpu` is not needed there). cuda links LLVM statically: each binary is ~155 MB stripped,
  # ~33 MB xz-compressed on its own (measured 2026-12-02) — hence the one archive below.
  local target=target/gpu features="srlm-model/wgpu,srlm-model/cuda"
  rm -rf .gpu && mkdir -p .gpu
  local packages=()
  for crate in "${TEST_CRATES[@]}"; do packages+=(-p "$crate"); done
  # Test binaries: cargo prints each one's path in its JSON messages; a crate's integration
  # test target is named after the crate without `srlm-` (tests/model/main.rs → `model`).
  SRLM_SMOLLM2=/nonexistent cargo test --release "${packages[@]}" --features "$features" \
    --target-dir "$target" --no-run --message-format=json-render-diagnostics >.gpu/build.json
  for crate in "${TEST_CRATES[@]}"; do
    local name=${crate#srlm-}
    local exe
    exe=$(grep '"kind":\["test"\]' .gpu/build.json | grep "\"name\":\"$name\"" |
      grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | tail -1 || true)
    [[ -n "$exe" ]] || {
      echo "no test binary found for $crate" >&2
      exit 1
    }
    cp "$exe" ".gpu/$name-tests"
  done
  rm .gpu/build.json
  cargo build --release -p srlm-cli --features wgpu,cuda --target-dir "$target"
  cp "$target/release/srlm" .gpu/srlm
  strip .gpu/*
  ls -la .gpu
  # One solid archive: the four binaries share most of their bytes (burn, cubecl, the LLVM that
  # cuda links), and a single xz stream whose dictionary holds a whole binary stores the shared
  # part once; separate `.xz` files (or a multi-threaded xz, which cuts the stream into blocks)
  # store it four times. Compressing takes ~3 GB of memory, decompressing 256 MiB.
  (cd .gpu && tar -cf - srlm model-tests dpo-tests loop-tests) |
    xz -T1 -9 --lzma2=preset=9,dict=256MiB >.gpu/binaries.tar.xz
  rm .gpu/srlm .gpu/*-tests
  # A GPU machine takes at most 64 MiB of carried files in all, the working tree included.
  local bytes tree
  bytes=$(stat -c %s .gpu/binaries.tar.xz)
  tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  echo "binaries: $((bytes / 1048576)) MiB; with the working tree: $(((bytes + tree) / 1048576)) MiB of 64"
  if ((bytes + tree > 64 * 1048576)); then
    echo "too large to carry in one call" >&2
    exit 1
  fi
}

# Peak FP32 TFLOPS and memory GB/s of the GPU, from its name unless given.
peaks() {
  local name
  name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
  case "$name" in
  *H200*) default_tflops=67 default_gbps=4800 ;;
  *H100*PCIe*) default_tflops=51 default_gbps=2000 ;;
  *H100*) default_tflops=67 default_gbps=3350 ;;
  *A100*) default_tflops=19.5 default_gbps=2039 ;;
  *) default_tflops="" default_gbps="" ;;
  esac
  PEAK_TFLOPS=${PEAK_TFLOPS:-$default_tflops}
  PEAK_GBPS=${PEAK_GBPS:-$default_gbps}
  echo "GPU: ${name:-unknown}; peaks: FP32 ${PEAK_TFLOPS:-?} TFLOPS, ${PEAK_GBPS:-?} GB/s"
}

# "passed failed" of a libtest log.
counts() {
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
       END { printf "%d %d", p, f }' "$1"
}

run_backend() {
  local dev=$1 out=$2
  echo "== $dev: parity and training tests =="
  for name in model dpo loop; do
    # The SmolLM2 SFT-step parity test needs the model file, which does not travel.
    SRLM_TEST_DEVICE=$dev .gpu/$name-tests --test-threads 1 --skip smollm2 >"$out/$dev-$name-tests.log" 2>&1 || true
    echo "$name: $(counts "$out/$dev-$name-tests.log") (passed failed)"
    grep -E '^test .* FAILED$|panicked' "$out/$dev-$name-tests.log" | head -5 || true
  done
  echo "== $dev: srlm bench, SmolLM2-135M shapes, random weights =="
  .gpu/srlm --device "$dev" bench --model random:smollm2 --work generation,sft,dpo \
    --batches 1,8,32 --reps "${REPS:-3}" --json "$out/$dev-bench.jsonl" ||
    echo "BENCH $dev FAILED"
  echo "== $dev: srlm run --quick on a random SmolLM2-shaped model =="
  if .gpu/srlm --device "$dev" run --quick --out "$out/$dev-run" \
    --set model.path="$out/random-smollm2" --set data.seed=tests/fixtures/loop/seed.jsonl \
    >"$out/$dev-run.log" 2>&1; then
    echo "loop: ok ($(tail -1 "$out/$dev-run.log"))"
  else
    echo "LOOP $dev FAILED"
    tail -5 "$out/$dev-run.log"
  fi
}

summary() {
  local out=$1
  echo
  echo "| backend | tests passed/failed | work | batch | tokens/s | MFU (FP32) | decode weight GB/s (of peak) |"
  echo "|---|---|---|---|---|---|---|"
  for dev in "${backends[@]}"; do
    local p=0 f=0
    for name in model dpo loop; do
      read -r tp tf < <(counts "$out/$dev-$name-tests.log")
      p=$((p + tp)) f=$((f + tf))
    done
    [[ -f "$out/$dev-bench.jsonl" ]] || continue
    awk -v dev="$dev" -v tests="$p/$f" -v params="$PARAMS" -v tflops="${PEAK_TFLOPS:-0}" \
      -v gbps="${PEAK_GBPS:-0}" '
      function field(name,   m) { if (match($0, "\"" name "\":[^,}]*")) { m = substr($0, RSTART, RLENGTH); sub(/^[^:]*:/, "", m); gsub(/"/, "", m); return m } return "" }
      {
        work = field("work"); batch = field("batch"); tps = field("tokens_per_s") + 0
        mfu = "-"; bw = "-"
        if ((work == "sft" || work ~ /^dpo/) && tflops > 0) mfu = sprintf("%.1f %%", 100 * 6 * params * tps / (tflops * 1e12))
        if (work == "decode") {
          g = tps / batch * params * 4 / 1e9
          bw = (gbps > 0) ? sprintf("%.0f (%.1f %%)", g, 100 * g / gbps) : sprintf("%.0f", g)
        }
        printf "| %s | %s | %s | %s | %.1f | %s | %s |\n", dev, tests, work, batch, tps, mfu, bw
      }' "$out/$dev-bench.jsonl"
  done
}

run() {
  if [[ -d .gl ]]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  # The NVIDIA Vulkan driver's manifest, wherever this machine's driver installation put it
  # (unless VK_DRIVER_FILES names it).
  if [[ -z "${VK_DRIVER_FILES:-}" ]]; then
    VK_DRIVER_FILES=$(find /usr /etc -maxdepth 6 -name nvidia_icd.json -path '*icd.d*' 2>/dev/null | head -1 || true)
    [[ -n "$VK_DRIVER_FILES" ]] && export VK_DRIVER_FILES
  fi
  export SRLM_FIXTURES="$PWD/tests/fixtures"
  xz -dc .gpu/binaries.tar.xz | tar -xf - -C .gpu
  local out="${OUT:-.gpu/out}"
  mkdir -p "$out"
  read -r -a backends <<<"${BACKENDS:-wgpu cuda}"
  peaks
  .gpu/srlm random-model --like tests/fixtures/tiny-llama3 --out "$out/random-smollm2"
  for dev in "${backends[@]}"; do run_backend "$dev" "$out"; done
  summary "$out" | tee "$out/summary.md"
}

case "${1:-run}" in
build) build ;;
run) run ;;
*)
  echo "usage: $0 build|run" >&2
  exit 2
  ;;
esac
