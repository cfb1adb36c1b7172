#!/usr/bin/env bash
# The library seams that a dependency graph can show (docs/ARCHITECTURE.md, "Invariants"):
# - the `srlm` facade pulls in no command-line machinery (that is `srlm-cli`);
# - `srlm-judge`, `srlm-data`, `srlm-generation` and `srlm-fs` build without burn when no local
#   model is wanted.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
cli=$(cargo tree -p srlm -e normal --prefix none | grep -E '^(clap|clap_builder|indicatif|anyhow|tracing-subscriber) ' | sort -u || true)
if [ -n "$cli" ]; then
  echo "srlm (the library facade) depends on command-line crates:"; echo "$cli"; fail=1
fi
for crate in "srlm-judge --no-default-features" "srlm-data --no-default-features" "srlm-generation" "srlm-fs" "srlm-verifiable"; do
  burn=$(cargo tree -p $crate -e normal --prefix none | grep -E '^(burn|cubecl)' | sort -u || true)
  if [ -n "$burn" ]; then
    echo "$crate depends on burn:"; echo "$burn"; fail=1
  fi
done
[ "$fail" = 0 ] || exit 1
cargo check --quiet -p srlm-judge --no-default-features
cargo check --quiet -p srlm-data --no-default-features
echo "seams: srlm has no CLI dependencies; srlm-judge and srlm-data (no default features), srlm-generation, srlm-fs and srlm-verifiable build without burn"
