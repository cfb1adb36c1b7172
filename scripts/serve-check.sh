#!/usr/bin/env bash
# The loop's judge and candidate roles on a real OpenAI-compatible server, on this machine:
# `transformers serve` (pip-installed into a venv) on 127.0.0.1; `srlm run --quick` (two
# iterations) with those roles following Mt on it, switched between iterations by the restart
# hook (no hand restart), the identity checks printed from run.log; then `srlm eval --judge-url`
# with the server as a fixed judge (SmolLM2-135M-Instruct converted to a Hugging Face folder).
# Needs PyPI (torch, transformers); CI does not run it.
#
#   bash scripts/serve-check.sh              # venv in .serve/venv (~3 GB with torch's wheels)
#   PYTHON=python3 bash scripts/serve-check.sh   # an environment that has torch and transformers[serving]
#
# Everything goes to .serve/ (git-ignored): the model folder, the server's log, the run, the report.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly TRANSFORMERS="transformers[serving]==5.24.0"
port="${PORT:-8765}"
work="$PWD/.serve"
mkdir -p "$work"

if [[ -n "${PYTHON:-}" ]]; then
  python="$PYTHON"
else
  if [[ ! -x "$work/venv/bin/python" ]]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check torch "$TRANSFORMERS"
  fi
  python="$work/venv/bin/python"
fi
"$python" -c "import transformers, torch, fastapi, uvicorn" || {
  echo "error: $python lacks torch or $TRANSFORMERS" >&2
  exit 1
}

bash scripts/fetch-model.sh
model="$work/smollm2"
if [[ ! -f "$model/model.safetensors" ]]; then
  cargo run --quiet -p srlm-model --example convert -- assets/SmolLM2-135M-Instruct.Q4_1.gguf "$model"
fi
# transformers serve samples only when the folder's generation config says so; without this
# every candidate of a prompt is the same text and `srlm run` stops with "not sampling".
cat >"$model/generation_config.json" <<'EOF'
{"do_sample": true, "temperature": 0.7, "top_p": 0.9, "bos_token_id": 1, "eos_token_id": 2}
EOF

cargo build --quiet -p srlm-cli
srlm="$PWD/target/debug/srlm"


# The server is started (and restarted) by one script, the run's restart hook: its argument is
# the model folder to serve next. transformers serve loads the folder a request names, so the
# roles name one fixed path, `.serve/current`, a link the hook points at the folder before it
# restarts the server (which drops the model it had loaded); it also sets sampling in the
# folder's generation config (transformers serve samples only when it says so). Until the hook
# first runs the link does not exist and the server cannot answer: iteration 1 runs the hook too.
hook="$work/restart-server.sh"
{
  echo '#!/usr/bin/env bash'
  echo 'set -euo pipefail'
  echo "work='$work'; python='$python'; port='$port'"
  cat <<'HOOK'
if [[ -f "$work/server.pid" ]]; then kill "$(cat "$work/server.pid")" 2>/dev/null || true; sleep 2; fi
if [[ -n "${1:-}" ]]; then
  printf '%s' '{"do_sample": true, "temperature": 0.7, "top_p": 0.9, "bos_token_id": 1, "eos_token_id": 2}' >"$1/generation_config.json"
  ln -sfn "$1" "$work/current"
fi
nohup "$python" -m transformers.cli.transformers serve --host 127.0.0.1 --port "$port" >>"$work/server.log" 2>&1 &
echo $! >"$work/server.pid"
echo "server restarted (pid $!) for ${1:-the seed model}"
HOOK
} >"$hook"
trap 'kill "$(cat "$work/server.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
rm -f "$work/server.log"
bash "$hook"
url="http://127.0.0.1:$port"
for _ in $(seq 120); do
  curl -sf "$url/v1/models" >/dev/null && break
  kill -0 "$(cat "$work/server.pid")" 2>/dev/null || {
    echo "error: the server exited; see $work/server.log" >&2
    exit 1
  }
  sleep 1
done
echo "== server up at $url"

rm -rf "$work/run" "$work/current"
# Candidates and judge follow Mt on the server: before each iteration srlm checks that it serves
# Mt and, when it does not, runs the hook and waits for it. One request at a time: transformers
# serve without continuous batching answers them in turn.
time "$srlm" run --quick --out "$work/run" \
  --judge-url "$url" --judge-model-name "$work/current" \
  --candidates-url "$url" --candidates-model-name "$work/current" \
  --set "serve.on_new_model=\"bash $hook {dir}\"" --set serve.wait_secs=300.0 \
  --set serve.probe_tokens=48 \
  --set http.concurrency=1 --set http.read_timeout_secs=300
echo "== the identity checks and switches, from run.log"
grep -E "identity|on_new_model|switching" "$work/run/run.log" | sed -E 's/^[^ ]+ +//'
# The quick run's 135M judge parses too few of its verdicts to form pairs, so its M2 is M1 and
# iteration 2 needs no switch. Again with the expected-score judge (local: it reads the digit
# probabilities, so every candidate gets a score and pairs form) and a DPO rate that moves the
# model: M2 differs from M1, the server still serves M1 when iteration 2 starts, and the check
# must find it and run the hook.
rm -rf "$work/run2"
time "$srlm" run --quick --out "$work/run2" \
  --candidates-url "$url" --candidates-model-name "$work/current" \
  --set 'judge.method="expected"' --set dpo.train.peak_lr=1e-4 --set dpo.train.final_lr=1e-4 \
  --set "serve.on_new_model=\"bash $hook {dir}\"" --set serve.wait_secs=300.0 \
  --set serve.probe_tokens=48 --set http.concurrency=1 --set http.read_timeout_secs=300
echo "== the identity checks and switches of the run with pairs, from run.log"
grep -E "identity|on_new_model|switching" "$work/run2/run.log" | sed -E 's/^[^ ]+ +//'
grep -h '"stage":"pairs"' "$work/run2/metrics.jsonl" | sed -E 's/.*"iteration":([0-9]+).*"pairs":([0-9]+).*/iteration \1: \2 pairs/'
echo "== srlm eval with the server as a fixed head-to-head judge (the seed model)"
time "$srlm" eval --run "$work/run" --fresh --judge-url "$url" --judge-model-name "$model" \
  --http-concurrency 1 --prompts 4 --held-out-prompts 2 --samples 2 --max-tokens 96
sed -n '/## Head-to-head/,/win_rates/p' "$work/run/report/report.md"
