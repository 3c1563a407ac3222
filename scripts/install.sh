#!/usr/bin/env bash
# Install the amplify-deploy binary for the action's run step.
#
# A released version is downloaded and run only if it matches the SHA-256
# hashes committed in this repository (checksums/v{version}.sha256): the
# archive's, and the extracted binary's. A binary already in the tool cache
# is hashed again and reused only if it matches the committed binary hash; a
# marker stored next to it would prove nothing, since whoever can replace the
# binary can replace the marker.
#
# Which version:
#   `version: 1.2.3` (or v1.2.3)  that release; an error if this checkout of
#                                 the action has no checksums for it (it is
#                                 never built from a different source)
#   `version: source`             build the action's own source with cargo
#   no version                    the release matching the action's ref
#                                 (`@v1.2.3`), or the version in the action's
#                                 Cargo.toml (`@v1`, `@<commit>`, `./`); when
#                                 that has no committed checksums, or the ref
#                                 is a branch, the action's own source is
#                                 built, with a notice
# The version input is validated before it is printed anywhere.
#
# A download is also checked for build provenance with `gh attestation
# verify` where gh and a token (GH_TOKEN) are available; the log says which
# checks passed.
#
# Inputs (environment):
#   AMPLIFY_DEPLOY_VERSION            wanted version (1.2.3 or v1.2.3), or `source`
#   AMPLIFY_DEPLOY_ACTION_REF         ref the action was used at (github.action_ref)
#   AMPLIFY_DEPLOY_ACTION_REPOSITORY  owner/repo of the action (github.action_repository)
#   AMPLIFY_DEPLOY_DOWNLOAD_BASE      for testing and mirrors only: https URL that
#                                     replaces https://github.com/{owner}/{repo}/releases/download
#   AMPLIFY_DEPLOY_CHECKSUMS_DIR      for testing only: directory used instead of checksums/
#   GH_TOKEN                          token for gh attestation verify (optional)
#   GITHUB_ACTION_PATH, GITHUB_OUTPUT, RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP
# Output: `path` (the binary) and `version` in $GITHUB_OUTPUT.
set -euo pipefail

# Workflow-command data: `%`, CR and LF escaped, so a message cannot end the
# command early or start another one on a new line.
command_data() {
  local s=$1
  s=${s//%/%25}
  s=${s//$'\r'/%0D}
  s=${s//$'\n'/%0A}
  printf '%s' "$s"
}
fail() {
  echo "::error title=amplify-deploy install::$(command_data "$*")"
  exit 1
}
# A value from outside (an input, a ref) as shown in messages: at most 64
# characters, anything but [0-9A-Za-z._+/-] replaced by `?`. No `:`, `%` or
# line break survives, so it cannot form a workflow command however printed.
shown() {
  local s=${1:0:64}
  printf '%s' "${s//[^0-9A-Za-z._+\/-]/?}"
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

release_re='^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'

# --- which version -----------------------------------------------------------
# Validated before anything prints it.
input=${AMPLIFY_DEPLOY_VERSION:-}
ref=${AMPLIFY_DEPLOY_ACTION_REF:-}
explicit=false
if [[ -n $input ]]; then
  explicit=true
  if [[ $input == source ]]; then
    version=source
  elif [[ $input =~ $release_re ]]; then
    version=${input#v}
  else
    fail "the version input '$(shown "$input")' is not a release number like 1.2.3 or v1.2.3, nor 'source' (build the action's own code)"
  fi
elif [[ $ref =~ $release_re && $ref == v* ]]; then
  version=${ref#v}                  # uses: owner/amplify-deploy@v1.2.3
elif [[ -z $ref || $ref =~ ^[0-9a-f]{40}$ || $ref =~ ^v[0-9]+(\.[0-9]+)?$ ]]; then
  version=$(source_version)         # local action, pinned commit, or v1 / v1.2 moving tag
  [[ $version =~ $release_re ]] ||
    fail "the version in $action_path/Cargo.toml, '$(shown "$version")', is not a release number"
else
  version=source                    # a branch: its code need not match any release
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

# The committed hashes for this version and target, from a file in
# `sha256sum` format with two lines per target (see checksums/README.md):
#   <sha256>  amplify-deploy-v1.2.3-<target>.tar.gz
#   <sha256>  amplify-deploy-v1.2.3-<target>/amplify-deploy
# Any line not of that form fails the install: a file that does not parse is
# not trusted in part.
expected_archive=""
expected_binary=""
read_checksums() { # FILE ARCHIVE_NAME BINARY_NAME
  local file=$1 line hash name n=0
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    line=${line%$'\r'}
    [[ $line =~ ^([0-9a-f]{64})\ [\ *](.+)$ ]] ||
      fail "line $n of checksums/v$version.sha256 is not '<sha256, lowercase hex>  <file name>': refusing to trust the file"
    hash=${BASH_REMATCH[1]} name=${BASH_REMATCH[2]}
    if [[ $name == "$2" || $name == "$3" ]]; then
      local var=expected_archive
      [[ $name == "$3" ]] && var=expected_binary
      [[ -z ${!var} ]] || fail "checksums/v$version.sha256 lists $name twice"
      printf -v "$var" '%s' "$hash"
    fi
  done <"$file"
}

why=""
if [[ $version == source ]]; then
  why="version 'source' (ref '$(shown "${ref:-local}")')"
elif [[ -z $target ]]; then
  why="no release build for runner $(shown "${RUNNER_OS:-unknown}/${RUNNER_ARCH:-unknown}")"
else
  asset="amplify-deploy-v$version-$target.$archive"
  binary_entry="amplify-deploy-v$version-$target/amplify-deploy$exe"
  checksums="${AMPLIFY_DEPLOY_CHECKSUMS_DIR:-$action_path/checksums}/v$version.sha256"
  if [[ -f $checksums ]]; then
    read_checksums "$checksums" "$asset" "$binary_entry"
  fi
  if [[ -n $expected_archive && -z $expected_binary ]]; then
    fail "checksums/v$version.sha256 lists $asset but not the binary inside it ($binary_entry): a cached binary could not be checked, so it is not trusted"
  elif [[ -z $expected_archive && -n $expected_binary ]]; then
    fail "checksums/v$version.sha256 lists $binary_entry but not its archive $asset"
  elif [[ -z $expected_archive ]]; then
    why="no checksum for $asset in checksums/v$version.sha256 (unreleased version $version)"
  fi
fi

write_outputs() {
  echo "amplify-deploy $2 at $1"
  if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    printf 'path=%s\nversion=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
}

# --- build from source -------------------------------------------------------
if [[ -z $expected_archive ]]; then
  # An explicit release number means that release: building this checkout's
  # source instead would run different code under its name.
  if [[ $explicit == true && $version != source ]]; then
    fail "version $version cannot be verified: $why. This checkout of the action only runs releases whose SHA-256 is committed in checksums/; pick one of those, or set 'version: source' to build the action's own code"
  fi
  echo "::notice title=amplify-deploy::$(command_data "Building amplify-deploy from the action's source: $why. This takes a few minutes; use a released version to skip it.")"
  command -v cargo >/dev/null 2>&1 ||
    fail "cargo is not installed, so the action's source cannot be built ($why): install Rust first (e.g. dtolnay/rust-toolchain) or pin a released version"
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$action_path/target}
  cargo build --release --locked --manifest-path "$action_path/Cargo.toml" --bin amplify-deploy
  bin="$CARGO_TARGET_DIR/release/amplify-deploy$exe"
  [[ -x $bin ]] || fail "cargo build succeeded but $bin is missing"
  write_outputs "$bin" "source"
  exit 0
fi

# --- reuse the tool cache, only if the binary still matches --------------------
cache="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/amplify-deploy/$version/$target"
bin="$cache/amplify-deploy$exe"
if [[ -e $bin ]]; then
  cached=$(sha256_of "$bin")
  if [[ $cached == "$expected_binary" ]]; then
    [[ -x $bin ]] || chmod +x "$bin"
    echo "Reusing $bin: its SHA-256 matches the committed binary hash"
    write_outputs "$bin" "$version"
    exit 0
  fi
  echo "::warning title=amplify-deploy install::$(command_data "The cached $bin has SHA-256 $cached, not the committed $expected_binary (checksums/v$version.sha256): discarding it and downloading the release again.")"
  rm -f "$bin"
fi

# --- download, verify, cache -------------------------------------------------
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
if [[ $actual != "$expected_archive" ]]; then
  fail "checksum mismatch for $asset: expected $expected_archive (from checksums/v$version.sha256), downloaded file has $actual. Refusing to install it."
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
found="$work/x/$binary_entry"
[[ -f $found ]] || fail "$asset holds no $binary_entry"
actual=$(sha256_of "$found")
if [[ $actual != "$expected_binary" ]]; then
  fail "checksum mismatch for $binary_entry (inside $asset): expected $expected_binary (from checksums/v$version.sha256), extracted file has $actual. Refusing to install it."
fi
echo "Verified $asset and the binary inside it against checksums/v$version.sha256"

# Build provenance, a second line behind the committed hashes: where gh can
# ask GitHub, the archive's attestation must name this repository. Releases
# made before attestations have none, so a failure warns; the hashes above
# are what is enforced.
passed="archive SHA-256, binary SHA-256"
if [[ -z $repository ]]; then
  provenance="not checked (no repository to check it against)"
elif ! command -v gh >/dev/null 2>&1; then
  provenance="not checked (gh is not installed)"
elif [[ -z ${GH_TOKEN:-${GITHUB_TOKEN:-}} ]]; then
  provenance="not checked (no GitHub token for gh)"
elif gh attestation verify "$work/$asset" --repo "$repository" >"$work/attestation.log" 2>&1; then
  passed+=", build provenance (gh attestation verify --repo $repository)"
  provenance="verified"
else
  provenance="FAILED"
  echo "::warning title=amplify-deploy install::$(command_data "The build provenance of $asset did not verify for $repository (gh attestation verify): $(tail -n 1 "$work/attestation.log"). Installing it on the strength of the committed checksums.")"
fi
echo "Checks passed: $passed; build provenance: $provenance"

mkdir -p "$cache"
cp "$found" "$bin.tmp.$$"
chmod +x "$bin.tmp.$$"
mv -f "$bin.tmp.$$" "$bin"
write_outputs "$bin" "$version"
