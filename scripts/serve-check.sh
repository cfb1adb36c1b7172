#!/usr/bin/env bash
# The loop's judge and candidate roles on a real OpenAI-compatible server, on this machine:
# `transformers serve` (pip-installed into a venv) on 127.0.0.1 serving SmolLM2-135M-Instruct
# converted to a Hugging Face folder, then `srlm run --quick` with those roles on it, then
# `srlm eval --judge-url` against it. Needs PyPI (torch, transformers); CI does not run it.
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

"$python" -m transformers.cli.transformers serve --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null && break
  kill -0 $server 2>/dev/null || {
    echo "error: the server exited; see $work/server.log" >&2
    exit 1
  }
  sleep 1
done
url="http://127.0.0.1:$port"
echo "== server up at $url, serving $model"

rm -rf "$work/run"
# One request at a time: transformers serve without continuous batching answers them in turn.
time "$srlm" run --quick --out "$work/run" \
  --judge-url "$url" --judge-model-name "$model" \
  --candidates-url "$url" --candidates-model-name "$model" \
  --set http.concurrency=1 --set http.read_timeout_secs=300
echo "== srlm eval with the server as the head-to-head judge"
time "$srlm" eval --run "$work/run" --fresh --judge-url "$url" --judge-model-name "$model" \
  --http-concurrency 1 --prompts 4 --held-out-prompts 2 --samples 2 --max-tokens 96
sed -n '/## Head-to-head/,/win_rates/p' "$work/run/report/report.md"
