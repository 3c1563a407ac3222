#!/usr/bin/env bash
# Install the amplify-deploy binary for the action's run step.
#
# A released version is downloaded and run only if its SHA-256 matches the
# one committed in this repository (checksums/v{version}.sha256), so a
# replaced release asset cannot run in anyone's workflow. A ref with no
# release (a branch, a fork, an unreleased commit) is built from the
# action's own source instead.
#
# Inputs (environment):
#   AMPLIFY_DEPLOY_VERSION            wanted version (1.2.3 or v1.2.3), or `source`
#   AMPLIFY_DEPLOY_ACTION_REF         ref the action was used at (github.action_ref)
#   AMPLIFY_DEPLOY_ACTION_REPOSITORY  owner/repo of the action (github.action_repository)
#   AMPLIFY_DEPLOY_DOWNLOAD_BASE      for testing and mirrors only: https URL that
#                                     replaces https://github.com/{owner}/{repo}/releases/download
#   AMPLIFY_DEPLOY_CHECKSUMS_DIR      for testing only: directory used instead of checksums/
#   GITHUB_ACTION_PATH, GITHUB_OUTPUT, RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP
# Output: `path` (the binary) and `version` in $GITHUB_OUTPUT.
set -euo pipefail

fail() {
  # Our own messages hold no newline or `%`, so no workflow-command escaping.
  echo "::error title=amplify-deploy install::$*"
  exit 1
}

action_path=${GITHUB_ACTION_PATH:?run this script as a step of the action (GITHUB_ACTION_PATH is unset)}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  else
    fail "neither sha256sum nor shasum is installed: cannot verify the download"
  fi
}

# The [package] version in the action's Cargo.toml: the release built from
# this very source.
source_version() {
  awk '
    /^\[/ { in_package = ($0 == "[package]") }
    in_package && /^version[ \t]*=/ { gsub(/.*=[ \t]*"|".*/, ""); print; exit }
  ' "$action_path/Cargo.toml"
}

semver='^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$'

# --- which version -----------------------------------------------------------
version=${AMPLIFY_DEPLOY_VERSION:-}
version=${version#v}
ref=${AMPLIFY_DEPLOY_ACTION_REF:-}
if [[ -z $version ]]; then
  if [[ $ref =~ ^v([0-9]+\.[0-9]+\.[0-9]+.*)$ ]]; then
    version=${BASH_REMATCH[1]}        # uses: owner/amplify-deploy@v1.2.3
  elif [[ -z $ref || $ref =~ ^[0-9a-f]{40}$ || $ref =~ ^v[0-9]+(\.[0-9]+)?$ ]]; then
    version=$(source_version)         # local action, pinned commit, or v1 / v1.2 moving tag
  else
    version=source                    # a branch: its code need not match any release
  fi
fi
if [[ $version != source && ! $version =~ $semver ]]; then
  fail "version '$version' is not a release number like 1.2.3 (or 'source' to build the action's code)"
fi

# --- which binary ------------------------------------------------------------
exe=""
archive=tar.gz
case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  # Windows on Arm runs x64 programs through emulation.
  Windows/X64 | Windows/ARM64) target=x86_64-pc-windows-msvc exe=.exe archive=zip ;;
  *) target="" ;;
esac
case "${RUNNER_OS:-}" in Windows) exe=.exe ;; esac

expected=""
why=""
if [[ $version == source ]]; then
  why="version 'source' (ref '${ref:-local}')"
elif [[ -z $target ]]; then
  why="no release build for runner ${RUNNER_OS:-unknown}/${RUNNER_ARCH:-unknown}"
else
  asset="amplify-deploy-v$version-$target.$archive"
  checksums="${AMPLIFY_DEPLOY_CHECKSUMS_DIR:-$action_path/checksums}/v$version.sha256"
  if [[ -f $checksums ]]; then
    expected=$(awk -v name="$asset" '{ f = $2; sub(/^\*/, "", f); if (f == name) { print tolower($1); exit } }' "$checksums")
  fi
  if [[ -z $expected ]]; then
    why="no checksum for $asset in checksums/v$version.sha256 (unreleased version $version)"
  elif [[ ! $expected =~ ^[0-9a-f]{64}$ ]]; then
    fail "checksum entry for $asset in $checksums is not a SHA-256: '$expected'"
  fi
fi

write_outputs() {
  echo "amplify-deploy $2 at $1"
  if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    printf 'path=%s\nversion=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
}

# --- build from source -------------------------------------------------------
if [[ -z $expected ]]; then
  echo "::notice title=amplify-deploy::Building amplify-deploy from the action's source: $why. This takes a few minutes; use a released version to skip it."
  command -v cargo >/dev/null 2>&1 ||
    fail "cargo is not installed, so the action's source cannot be built ($why): install Rust first (e.g. dtolnay/rust-toolchain) or pin a released version"
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$action_path/target}
  cargo build --release --locked --manifest-path "$action_path/Cargo.toml" --bin amplify-deploy
  bin="$CARGO_TARGET_DIR/release/amplify-deploy$exe"
  [[ -x $bin ]] || fail "cargo build succeeded but $bin is missing"
  write_outputs "$bin" "source"
  exit 0
fi

# --- download, verify, cache -------------------------------------------------
cache="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/amplify-deploy/$version/$target"
bin="$cache/amplify-deploy$exe"
# The marker holds the archive's checksum: a cached binary is reused only if
# it came from exactly the archive this checkout of the action trusts.
if [[ -x $bin && -f $cache.complete && $(<"$cache.complete") == "$expected" ]]; then
  write_outputs "$bin" "$version"
  exit 0
fi

repository=${AMPLIFY_DEPLOY_ACTION_REPOSITORY:-${GITHUB_REPOSITORY:-}}
base=${AMPLIFY_DEPLOY_DOWNLOAD_BASE:-https://github.com/$repository/releases/download}
base=${base%/}
[[ $base == https://* ]] || fail "download base '$base' is not an https:// URL"
[[ -n $repository || -n ${AMPLIFY_DEPLOY_DOWNLOAD_BASE:-} ]] ||
  fail "cannot tell which repository the action comes from to download release $version"
url="$base/v$version/$asset"

work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/amplify-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "Downloading $url"
curl --proto '=https' --tlsv1.2 -fsSL --retry 5 --retry-all-errors -o "$work/$asset" "$url" ||
  fail "download of $url failed"

actual=$(sha256_of "$work/$asset")
if [[ $actual != "$expected" ]]; then
  fail "checksum mismatch for $asset: expected $expected (from checksums/v$version.sha256), downloaded file has $actual. Refusing to install it."
fi

mkdir -p "$work/x"
case $archive in
  tar.gz) tar -xzf "$work/$asset" -C "$work/x" ;;
  zip)
    if command -v unzip >/dev/null 2>&1; then
      unzip -q "$work/$asset" -d "$work/x"
    elif command -v 7z >/dev/null 2>&1; then
      7z x -y -o"$work/x" "$work/$asset" >/dev/null
    else
      fail "neither unzip nor 7z is installed: cannot unpack $asset"
    fi
    ;;
esac
found=$(find "$work/x" -type f -name "amplify-deploy$exe" | head -n 1)
[[ -n $found ]] || fail "$asset holds no amplify-deploy$exe"

mkdir -p "$cache"
cp "$found" "$bin.tmp"
chmod +x "$bin.tmp"
mv -f "$bin.tmp" "$bin"
printf '%s' "$expected" >"$cache.complete"
write_outputs "$bin" "$version"
