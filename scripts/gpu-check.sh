#!/usr/bin/env bash
# GPU check for the wgpu and cuda backends: built here (no GPU needed), run on a lent GPU machine.
#
# Build (x86-64 Linux with the Rust toolchain; LLVM for cuda from scripts/setup-llvm.sh, ~45 min
# cold on 2 cores):
#   bash scripts/gpu-check.sh build    # → .gpu/srlm.tar.xz (the srlm binary: bench, the 8B
#                                      #   steps, the loop) and .gpu/tests.tar.xz (the three
#                                      #   test binaries), both backends in each, each sized
#                                      #   against the 64 MiB limit with the working tree
# The binaries are stripped and xz-compressed (a GPU machine takes at most 64 MiB of files in
# all, the working tree's ~13 MiB included; the four binaries in one archive came to 57 MiB on
# 2026-12-08, past it, so one call carries one archive); SmolLM2 (98 MB) does not travel, so its
# tests are built as ignored and the pipeline runs on a random model of SmolLM2's shapes with the
# tiny fixture's tokenizer.
#
# Vulkan loader libraries for a bare GPU machine (once, here; wgpu needs them, cuda does not).
# NVIDIA's Vulkan driver is `libGLX_nvidia.so.0`, which needs glvnd's `libGLdispatch.so.0`:
# without libglvnd0 wgpu finds no adapter (seen on an H200, 2026-12-04).
#   mkdir -p .gl && (cd .gl && apt-get download libvulkan1 libglvnd0 libegl1 libopengl0 libgl1 \
#     libglx0 libgles2)
# Run (on the GPU machine, from the repository root, with one archive and .gl carried: carry
# `.gpu/srlm.tar.xz` for the benches, the 8B steps and the loop, `.gpu/tests.tar.xz` for the
# tests; a step whose binaries did not travel is skipped and says so):
#   bash scripts/gpu-check.sh run      # per backend: parity tests, srlm bench (with PyTorch
#                                      #   on the same GPU beside it), a --quick loop
#   BACKENDS=cuda REPS=5 BUDGET_S=300 bash scripts/gpu-check.sh run
#   BACKENDS=cuda STEPS="lora8b bench" WORKS=adamw BUDGET_S=540 bash scripts/gpu-check.sh run
#                                      # issue 39's measurements alone (srlm.tar.xz carried; a
#                                      #   run call's 600 s): the 8B LoRA DPO steps beside
#                                      #   PyTorch + PEFT, then the AdamW layouts
# STEPS (default "tests bench lora8b loop") picks the steps and their order; WORKS (default
# "generation sft dpo adamw") the bench's works.
# The tests run with CUBECL_AUTOTUNE_LEVEL=minimal (autotuning every new matmul shape of a test
# costs minutes) and --nocapture (a failure's message is printed when it happens, so a step cut
# by its timeout still says why). On cuda, f32 matmuls run in TF32 (cubek-matmul's accelerated
# kernels on a GPU that has it), and the tests compare at that precision there.
# Order: every backend's tests (cuda, then wgpu), then the benches, the loops last. A lent machine's
# time is short, so every step runs under `timeout` within BUDGET_S seconds for the whole run
# (default 470): a step that would start past it is skipped and says so, and what finished is
# kept. srlm bench runs one work per process, each to its own JSON-lines file, and PyTorch
# (`tools/bench/torch_bench.py --model random:smollm2 --device cuda`, the machine's python3) runs
# beside the first backend only (TORCH_WITH, default cuda; `none` to skip it).
# Beside srlm on cuda PyTorch multiplies float32 in TF32 too (`srlm bench --torch` passes it
# `--tf32`: srlm's cuda float32 products run in TF32), so both sides compute at one precision.
# It ends with one table: tests passed/failed, tokens/s against PyTorch's on the same GPU, MFU of
# the training steps (model FLOPs per token: 6 × parameters, 4 × with LoRA's frozen weights, no
# recomputation counted; against the peak of the products' precision: TF32 on cuda, bf16 for bf16
# rows, FP32 on wgpu), decode weight bandwidth against the memory peak, and each side's peak
# device memory. Peaks come from the GPU's name (H100, H200, A100) or PEAK_TFLOPS (FP32),
# PEAK_TF32, PEAK_BF16 and PEAK_GBPS. Results (JSON lines, logs, summary.md) go to $OUT (or
# .gpu/out).
set -euo pipefail
cd "$(dirname "$0")/.."

# SmolLM2-135M's parameter count (tied head), for MFU and bandwidth; Llama-3-8B's.
readonly PARAMS=134515008
readonly PARAMS_8B=8030261248
readonly TEST_CRATES=(srlm-model srlm-dpo srlm-loop)

build() {
  bash scripts/setup-llvm.sh
  # One feature set for every binary, so the dependencies compile once: wgpu and cuda (burn's
  # `cpu` is not needed there). cuda links LLVM statically: each binary is ~160 MB stripped,
  # ~35 MB xz-compressed on its own (measured 2026-12-08) — hence the archives below.
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
  strip .gpu/srlm .gpu/*-tests
  ls -la .gpu
  # One solid xz stream per archive: the three test binaries share most of their bytes (burn,
  # cubecl, the LLVM that cuda links), and a dictionary that holds a whole binary stores the
  # shared part once. Compressing takes ~3 GB of memory, decompressing 256 MiB.
  local tree status=0
  tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  pack srlm.tar.xz "$tree" srlm || status=1
  pack tests.tar.xz "$tree" model-tests dpo-tests loop-tests || status=1
  rm .gpu/srlm .gpu/*-tests
  return "$status"
}

# `pack ARCHIVE TREE_BYTES FILE...`: FILE... of .gpu into .gpu/ARCHIVE, sized with the working
# tree against the 64 MiB a GPU machine takes in one call.
pack() {
  local archive=$1 tree=$2 bytes
  shift 2
  (cd .gpu && tar -cf - "$@") | xz -T1 -9 --lzma2=preset=9,dict=256MiB >".gpu/$archive"
  bytes=$(stat -c %s ".gpu/$archive")
  echo "$archive: $((bytes / 1048576)) MiB; with the working tree: $(((bytes + tree) / 1048576)) MiB of 64"
  if ((bytes + tree > 64 * 1048576)); then
    echo "$archive is too large to carry in one call" >&2
    return 1
  fi
}

# Dense peak TFLOPS (FP32, TF32 and bf16 tensor cores) and memory GB/s of the GPU, from its name
# unless given.
peaks() {
  local name fp32="" tf32="" bf16="" gbps=""
  name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
  case "$name" in
  *H200*) fp32=67 tf32=494.7 bf16=989.4 gbps=4800 ;;
  *H100*PCIe*) fp32=51 tf32=378 bf16=756 gbps=2000 ;;
  *H100*) fp32=67 tf32=494.7 bf16=989.4 gbps=3350 ;;
  *A100*) fp32=19.5 tf32=156 bf16=312 gbps=2039 ;;
  esac
  PEAK_TFLOPS=${PEAK_TFLOPS:-$fp32}
  PEAK_TF32=${PEAK_TF32:-$tf32}
  PEAK_BF16=${PEAK_BF16:-$bf16}
  PEAK_GBPS=${PEAK_GBPS:-$gbps}
  echo "GPU: ${name:-unknown}; dense peaks: FP32 ${PEAK_TFLOPS:-?}, TF32 ${PEAK_TF32:-?}, bf16 ${PEAK_BF16:-?} TFLOPS; ${PEAK_GBPS:-?} GB/s"
}

# "passed failed" of a libtest log.
counts() {
  [[ -f "$1" ]] || {
    printf "0 0\n"
    return
  }
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
       END { printf "%d %d\n", p, f }' "$1"
}

# `capped CAP COMMAND...`: COMMAND under `timeout`, for at most CAP seconds and never past the
# run's budget; a step with under 10 s left is skipped (status 124, as a timeout).
capped() {
  local cap=$1 left
  shift
  left=$((BUDGET_S - (SECONDS - RUN_START)))
  ((left < cap)) && cap=$left
  if ((cap < 10)); then
    echo "skipped, the budget of ${BUDGET_S} s is spent: $*"
    return 124
  fi
  local status=0
  timeout -k 5 "$cap" "$@" || status=$?
  ((status == 124)) && echo "timed out after $cap s: $*"
  return "$status"
}

tests_backend() {
  local dev=$1 out=$2
  echo "== $dev: parity and training tests ($((SECONDS - RUN_START)) s) =="
  # The three suites at once (the GPU is shared; the test binaries are independent).
  # The SmolLM2 tests need the model file, which does not travel.
  local name
  for name in model dpo loop; do
    SRLM_TEST_DEVICE=$dev CUBECL_AUTOTUNE_LEVEL=minimal capped "${TEST_CAP_S:-170}" \
      .gpu/$name-tests --test-threads 6 --skip smollm2 --nocapture >"$out/$dev-$name-tests.log" 2>&1 &
  done
  wait || true
  for name in model dpo loop; do
    echo "$name: $(counts "$out/$dev-$name-tests.log") (passed failed)"
    grep -E '^test .* FAILED$|panicked|timed out|skipped' "$out/$dev-$name-tests.log" | head -5 || true
  done
}

bench_backend() {
  local dev=$1 out=$2 work torch=()
  [[ "${TORCH_WITH:-cuda}" == "$dev" ]] && torch=(--torch --torch-device "${TORCH_DEVICE:-cuda}")
  for work in ${WORKS:-generation sft dpo adamw}; do
    if [[ $work == adamw ]]; then
      bench_adamw "$dev" "$out" "${torch[@]}"
      continue
    fi
    echo "== $dev: srlm bench --work $work${torch:+ --torch}, SmolLM2-135M shapes, random weights ($((SECONDS - RUN_START)) s) =="
    capped "${BENCH_CAP_S:-120}" .gpu/srlm --device "$dev" bench --model random:smollm2 --work "$work" \
      --batches 1,8,32 --reps "${REPS:-3}" "${torch[@]}" --json "$out/$dev-bench-$work.jsonl" ||
      echo "BENCH $dev $work FAILED"
  done
}

# The optimizer phase alone (issue 39): clipping + AdamW over SmolLM2's 135 M parameters per
# tensor (the default; beside PyTorch's foreach AdamW, given its flags after DEV OUT) and in flat
# buckets.
bench_adamw() {
  local dev=$1 out=$2 layout torch=("${@:3}")
  for layout in per-tensor buckets; do
    [[ $layout == buckets ]] && torch=()
    echo "== $dev: srlm bench --work adamw, layout $layout ($((SECONDS - RUN_START)) s) =="
    SRLM_ADAMW_LAYOUT=$layout capped "${BENCH_CAP_S:-120}" .gpu/srlm --device "$dev" bench \
      --model random:smollm2 --work adamw --reps "${REPS:-3}" "${torch[@]}" \
      --json "$out/$dev-bench-adamw-$layout.jsonl" || echo "BENCH $dev adamw $layout FAILED"
  done
}

# Issue 39: one LoRA r16 + layer-checkpointing DPO step on Llama-3-8B's shapes (random weights,
# 4 pairs × 2 × 256 tokens) beside PyTorch + PEFT with gradient checkpointing on the same GPU:
# over an f32 base (both sides' float32 products in TF32), then over a bf16 base with bf16
# activations (PyTorch: the model in bf16, PEFT's adapters in float32).
lora_8b() {
  local dev=$1 out=$2
  echo "== $dev: srlm bench --work dpo --lora 16 --checkpointing --torch, Llama-3-8B shapes ($((SECONDS - RUN_START)) s) =="
  capped "${LORA_CAP_S:-240}" .gpu/srlm --device "$dev" bench --model random:llama-3-8b --work dpo \
    --lora 16 --checkpointing --reps 2 --torch --torch-device "${TORCH_DEVICE:-cuda}" \
    --json "$out/$dev-bench-dpo-lora-8b.jsonl" || echo "BENCH $dev dpo-lora-8b FAILED"
  echo "== $dev: the same with --lora-base bf16 --lora-compute bf16 ($((SECONDS - RUN_START)) s) =="
  capped "${LORA_CAP_S:-240}" .gpu/srlm --device "$dev" bench --model random:llama-3-8b --work dpo \
    --lora 16 --lora-base bf16 --lora-compute bf16 --checkpointing --reps 2 --torch \
    --torch-device "${TORCH_DEVICE:-cuda}" \
    --json "$out/$dev-bench-dpo-lora-8b-bf16.jsonl" || echo "BENCH $dev dpo-lora-8b-bf16 FAILED"
}

loop_backend() {
  local dev=$1 out=$2
  echo "== $dev: srlm run --quick on a random SmolLM2-shaped model ($((SECONDS - RUN_START)) s) =="
  if capped "${LOOP_CAP_S:-90}" .gpu/srlm --device "$dev" run --quick --out "$out/$dev-run" \
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
  # Each backend as `DEV=PASSED/FAILED` over its three suites (counts() above).
  local dev name tests=()
  for dev in "${backends[@]}"; do
    local p=0 f=0 tp tf
    for name in model dpo loop; do
      read -r tp tf < <(counts "$out/$dev-$name-tests.log")
      p=$((p + tp)) f=$((f + tf))
    done
    tests+=("$dev=$p/$f")
  done
  python3 - "$out" "$PARAMS" "$PARAMS_8B" "${PEAK_TFLOPS:-0}" "${PEAK_TF32:-0}" "${PEAK_BF16:-0}" \
    "${PEAK_GBPS:-0}" "${tests[@]}" <<'PY'
import glob, json, os, sys

out = sys.argv[1]
params_smollm2, params_8b = int(sys.argv[2]), int(sys.argv[3])
fp32, tf32, bf16, gbps = (float(v or 0) for v in sys.argv[4:8])
tests_of = dict(arg.split("=", 1) for arg in sys.argv[8:])
backends = list(tests_of)

# Records per side, each with the parameters of the model its file measured.
records = {}
for path in sorted(glob.glob(os.path.join(out, "*-bench-*.jsonl"))):
    dev = os.path.basename(path).split("-bench-")[0]
    params = params_8b if "-8b" in os.path.basename(path) else params_smollm2
    for line in open(path):
        r = json.loads(line)
        r["params"] = params
        side = dev if r.get("side", "srlm") == "srlm" else "torch"
        records.setdefault(side, []).append(r)
torch = {(r["work"], r["batch"], r["params"]): r for r in records.get("torch", [])}


def mfu(dev, r):
    """Model FLOPs (6 × parameters per token, 4 × over LoRA's frozen weights) against the peak
    of the products' precision: bf16 rows, TF32 on cuda (both sides), FP32 on wgpu."""
    work = r["work"]
    if not (work.startswith("sft") or work.startswith("dpo")):
        return "-"
    peak, precision = (bf16, "bf16") if "bf16" in work else (tf32, "TF32") if dev in ("cuda", "torch") else (fp32, "FP32")
    if peak <= 0:
        return "-"
    flops = (4 if "+lora" in work else 6) * r["params"] * r["tokens_per_s"]
    return f"{100 * flops / (peak * 1e12):.1f} % {precision}"


print("| backend | tests passed/failed | work | batch | tokens/s | PyTorch tokens/s | ratio | MFU | decode weight GB/s (of peak) | peak device MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for dev in backends + ["torch"]:
    tests = tests_of.get(dev, "–")
    rows = records.get(dev, [])
    if not rows:
        if dev != "torch":
            print(f"| {dev} | {tests} | (no bench records) | | | | | | | |")
        continue
    for r in rows:
        work, batch, tps = r["work"], r["batch"], r["tokens_per_s"]
        theirs = torch.get((work, batch, r["params"]))
        bw = "-"
        if work == "decode":
            g = tps / batch * r["params"] * 4 / 1e9
            bw = f"{g:.0f} ({100 * g / gbps:.1f} %)" if gbps > 0 else f"{g:.0f}"
        pt = "-" if theirs is None or dev == "torch" else f"{theirs['tokens_per_s']:.1f}"
        ratio = "-" if theirs is None or dev == "torch" else f"{tps / theirs['tokens_per_s']:.2f}"
        name = "PyTorch eager" if dev == "torch" else dev
        model = "Llama-3-8B" if r["params"] == params_8b else "SmolLM2"
        device = r.get("peak_device_mib")
        device = "-" if device is None else f"{device:.0f}"
        print(f"| {name} | {tests} | {work} ({model}) | {batch} | {tps:.1f} | {pt} | {ratio} | {mfu(dev, r)} | {bw} | {device} |")
PY
}

# Where the machine's CUDA libraries are, when the loader's cache does not list NVRTC (cubecl's
# cudarc loads libcuda and libnvrtc at run time).
cuda_libraries() {
  if ! ldconfig -p | grep -q 'libnvrtc\.so'; then
    local dirs
    dirs=$(find /usr/local /opt /usr/lib -maxdepth 9 -name 'libnvrtc.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd: || true)
    [[ -n "$dirs" ]] && export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  echo "NVRTC: $(ldconfig -p | grep -m1 -o 'libnvrtc\.so[^ ]*' || true) ${LD_LIBRARY_PATH:+(LD_LIBRARY_PATH=$LD_LIBRARY_PATH)}"
}

run() {
  RUN_START=$SECONDS
  BUDGET_S=${BUDGET_S:-470}
  if [[ -d .gl ]]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  # The NVIDIA Vulkan driver's manifest, wherever this machine's driver installation put it
  # (unless VK_DRIVER_FILES names it).
  if [[ -z "${VK_DRIVER_FILES:-}" ]]; then
    VK_DRIVER_FILES=$(find /usr/local/nvidia /usr /etc -maxdepth 6 -name nvidia_icd.json -path '*icd.d*' 2>/dev/null | head -1 || true)
    [[ -n "$VK_DRIVER_FILES" ]] && export VK_DRIVER_FILES
  fi
  if [[ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" && -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]]; then
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
  ldconfig -p | grep -q 'libGLdispatch\.so\.0' ||
    echo "warning: no libGLdispatch.so.0 (glvnd): wgpu will find no NVIDIA adapter; carry .gl with libglvnd0"
  echo "Vulkan driver manifest: ${VK_DRIVER_FILES:-none found}"
  cuda_libraries
  export SRLM_FIXTURES="$PWD/tests/fixtures"
  local archive
  for archive in .gpu/srlm.tar.xz .gpu/tests.tar.xz; do
    [[ -f "$archive" ]] && xz -dc "$archive" | tar -xf - -C .gpu
  done
  local out="${OUT:-.gpu/out}"
  mkdir -p "$out"
  read -r -a backends <<<"${BACKENDS:-cuda wgpu}"
  peaks
  echo "unpacked in $((SECONDS - RUN_START)) s: $(cd .gpu && ls srlm ./*-tests 2>/dev/null | tr '\n' ' ')"
  [[ -x .gpu/srlm ]] && .gpu/srlm random-model --like tests/fixtures/tiny-llama3 --out "$out/random-smollm2"
  local dev step
  for step in ${STEPS:-tests bench lora8b loop}; do
    if [[ $step == tests && ! -x .gpu/model-tests ]] || [[ $step != tests && ! -x .gpu/srlm ]]; then
      echo "skipped, its binaries did not travel (carry .gpu/$([[ $step == tests ]] && echo tests || echo srlm).tar.xz): $step"
      continue
    fi
    case "$step" in
    tests) for dev in "${backends[@]}"; do tests_backend "$dev" "$out"; done ;;
    bench) for dev in "${backends[@]}"; do bench_backend "$dev" "$out"; done ;;
    lora8b) [[ " ${backends[*]} " == *" cuda "* ]] && lora_8b cuda "$out" ;;
    loop) for dev in "${backends[@]}"; do loop_backend "$dev" "$out"; done ;;
    *) echo "unknown step $step (STEPS: tests bench lora8b loop)" >&2 ;;
    esac
  done
  echo "done in $((SECONDS - RUN_START)) s"
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
