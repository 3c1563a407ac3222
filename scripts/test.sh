#!/usr/bin/env bash
# Runs every check and test of the project, installing what a fresh Debian
# machine lacks first. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

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

apt_install zip unzip openssl curl ca-certificates python3-yaml
rustup component add rustfmt clippy >/dev/null 2>&1 || true

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings

log "cargo test"
cargo test --locked --workspace

if [[ -f scripts/lint-workflows.sh ]]; then
  log "workflow and action lints"
  bash scripts/lint-workflows.sh
fi

if [[ -f tests/action/run.sh ]]; then
  log "action test (action.yml steps run the way the runner does)"
  bash tests/action/run.sh
fi
