#!/usr/bin/env bash
# Runs every check and test of the project, installing what a fresh Debian
# machine lacks first. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# CI machines may have only a few GB of disk: no incremental caches, and
# line tables instead of full debug info (backtraces keep file and line).
# Set once here so every step below shares one build.
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=line-tables-only
df -h "${CARGO_TARGET_DIR:-.}" | awk 'NR == 2 { print "disk: " $4 " free of " $2 }'

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

apt_install zip unzip openssl curl ca-certificates python3-yaml musl-tools binutils time
rustup component add rustfmt clippy >/dev/null 2>&1 || true

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings

log "windows: the Windows code paths compile lint-clean (x86_64-pc-windows-gnu)"
# The TLS crates build C code: Debian's MinGW cross-compiler provides it.
if apt_install gcc-mingw-w64-x86-64 && rustup target add x86_64-pc-windows-gnu >/dev/null 2>&1; then
  cargo clippy --locked --target x86_64-pc-windows-gnu -p amplify-deploy --all-targets -- -D warnings
else
  echo "warning: the x86_64-pc-windows-gnu target or its C compiler could not be installed here: Windows clippy skipped" >&2
fi

log "moto (the S3 server the artifact store's tests run against)"
if ! command -v moto_server >/dev/null; then
  python3 -m pip install --quiet "moto[server]==5.2.1"
  # pyenv puts new console scripts on PATH only after a rehash.
  if command -v pyenv >/dev/null; then pyenv rehash; fi
  command -v moto_server >/dev/null || { echo "error: moto_server is not on PATH after installing moto[server]" >&2; exit 1; }
fi

log "GitHub's API descriptions (npm; the fake GitHub checks every request against them)"
bash scripts/github-openapi.sh

log "cargo test"
cargo test --locked --workspace

log "zip64: an entry over 4 GiB (a sparse 4 GiB file; the per-byte crates are optimised in tests too)"
cargo test --locked --lib package::tests::zip64 -- --ignored

log "static release build (x86_64-unknown-linux-musl)"
if rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1; then
  cargo build --release --locked --target x86_64-unknown-linux-musl -p amplify-deploy
  static_bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release/amplify-deploy
  if readelf -l "$static_bin" | grep -q 'program interpreter' || readelf -d "$static_bin" | grep -q NEEDED; then
    echo "error: $static_bin is not statically linked" >&2
    exit 1
  fi
  "$static_bin" --version

  log "budgets: binary size, packaging memory, one HTTP and TLS stack"
  bash scripts/budgets.sh "$static_bin"

  log "container image: a deploy inside the Dockerfile's file tree (chroot)"
  bash tests/image/run.sh "$static_bin"
else
  echo "warning: the x86_64-unknown-linux-musl target could not be installed here: static build skipped" >&2
fi

log "entry names as unzip and Python's zipfile read them"
cargo build --locked -p amplify-deploy
python3 tests/names.py "${CARGO_TARGET_DIR:-target}/debug/amplify-deploy"

log "README tables against action.yml and --help"
python3 tests/docs/check_readme.py README.md action.yml "${CARGO_TARGET_DIR:-target}/debug/amplify-deploy"

if [[ -f scripts/lint-workflows.sh ]]; then
  log "workflow and action lints"
  bash scripts/lint-workflows.sh
fi

if [[ -f tests/action/run.sh ]]; then
  log "action test (action.yml steps run the way the runner does)"
  bash tests/action/run.sh
fi
