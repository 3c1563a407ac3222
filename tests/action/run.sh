#!/usr/bin/env bash
# Test action.yml the way a Linux runner runs it (see run_action.py):
#   install: a verified release asset lands in the tool cache and is reused
#            only while its hash matches the committed binary hash; a
#            tampered asset or binary, a checksum file without the binary
#            hash, a plain-http mirror, a missing asset, an explicit version
#            without checksums and a bad or hostile version are refused;
#   deploy:  with no checksum for the action's own version, and with
#            `version: source`, the action builds itself from source and
#            deploys a folder to amplify-emulator.
# Prints `N passed, M failed` last; exits non-zero if anything failed.
# AMPLIFY_ACTION_TEST_SKIP_SOURCE=1 skips the (slow) build-from-source case.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/action-test.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
cases=()
check() {
  local name=$1
  shift
  if "$@"; then
    echo "ok   - $name"
    passed=$((passed + 1))
  else
    echo "FAIL - $name"
    failed=$((failed + 1))
  fi
}

if ! python3 -c 'import yaml' 2>/dev/null; then
  python3 -m pip install --quiet pyyaml || { echo "cannot install PyYAML"; echo "0 passed, 1 failed"; exit 1; }
fi

# run_case NAME [run_action.py args...]: run the whole action (the one in
# $action_dir if set, else this checkout); keep its log.
run_case() {
  local name=$1
  shift
  cases+=("$name")
  python3 "$here/run_action.py" "${action_dir:-$root}" "$tmp/$name.json" "$@" >"$tmp/$name.log" 2>&1
  local rc=$?
  if [[ $rc != 0 ]]; then
    # The emulation itself failed (not the action): nothing else is meaningful.
    cat "$tmp/$name.log"
    echo "FAIL - case $name: the runner emulation failed ($rc)"
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
  fi
}
# field NAME KEY: the action's exit code (`exit`) or an output (`outputs.X`).
field() {
  python3 - "$tmp/$1.json" "$2" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
for part in sys.argv[2].split(".", 1):
    data = data[part]
print(data, end="")
EOF
}
equals() { [[ $1 == "$2" ]] || { echo "    expected '$2', got '$1'"; return 1; }; }
matches() { [[ $1 =~ $2 ]] || { echo "    '$1' does not match $2"; return 1; }; }
summary_has() { field "$1" summary | grep -qF -- "$2" || { echo "    summary of $1 lacks: $2"; return 1; }; }
log_has() { grep -qF -- "$2" "$tmp/$1.log" || { echo "    log of $1 lacks: $2"; return 1; }; }
downloads() { grep -c "$1" "$tmp/server.log" 2>/dev/null || true; }

# --- a fake release, served over local HTTPS ----------------------------------
target=x86_64-unknown-linux-musl
make_release() { # VERSION MESSAGE: write the release archive, print its path
  local dir="$tmp/release/v$1" name="amplify-deploy-v$1-$target"
  mkdir -p "$dir/$name"
  # The fake binary reports, through the action's outputs, what the run step
  # gave it: inputs via env, `deploy` as argument, empty inputs unset.
  cat >"$dir/$name/amplify-deploy" <<EOF
#!/usr/bin/env bash
echo "$2"
{
  echo "job-id=fake:\$AMPLIFY_APP_ID:\$AMPLIFY_BRANCH:\$*"
  echo "status=SUCCEED"
  echo "url=\$AMPLIFY_WAIT"
  echo "package-sha256=\${AMPLIFY_TIMEOUT-unset}"
  echo "package-bytes=\$(printf '%s\n' "\$AMPLIFY_EXCLUDE" | wc -l)"
  echo "file-count=\$(env | grep -c '^AMPLIFY_[A-Z_]*=\$')"
} >>"\$GITHUB_OUTPUT"
EOF
  chmod +x "$dir/$name/amplify-deploy"
  tar -czf "$dir/$name.tar.gz" -C "$dir" "$name"
  rm -rf "${dir:?}/$name"
  echo "$dir/$name.tar.gz"
}

# The checksum files are written by the release workflow's own script.
checksums_of() { bash "$root/scripts/release/checksums.sh" "$(dirname "$1")" "$2"; }
mkdir -p "$tmp/checksums"
good=$(make_release 0.0.0-test "genuine fake binary")
checksums_of "$good" 0.0.0-test >"$tmp/checksums/v0.0.0-test.sha256"
binsha=$(awk 'NR == 2 {print $1}' "$tmp/checksums/v0.0.0-test.sha256")
# Tampered: the committed checksums are the genuine release's, the served archive is not.
make_release 0.0.1-test "TAMPERED binary" >/dev/null
sed 's/0\.0\.0-test/0.0.1-test/' "$tmp/checksums/v0.0.0-test.sha256" >"$tmp/checksums/v0.0.1-test.sha256"
# Listed but never published.
sed 's/0\.0\.0-test/0.0.2-test/' "$tmp/checksums/v0.0.0-test.sha256" >"$tmp/checksums/v0.0.2-test.sha256"
# The archive matches, the binary inside it does not match its committed hash.
other=$(make_release 0.0.3-test "binary with another hash")
checksums_of "$other" 0.0.3-test | awk -v b="$binsha" 'NR == 2 {$1 = b; $0 = $1 "  " $2} {print}' >"$tmp/checksums/v0.0.3-test.sha256"
# The old format: the archive's hash alone, nothing to check a cached binary against.
old=$(make_release 0.0.4-test "binary of an archive-only checksum file")
checksums_of "$old" 0.0.4-test | head -n 1 >"$tmp/checksums/v0.0.4-test.sha256"
# A file with one line not in sha256sum form (here: an upper-case hash) is not trusted in part.
sed 's/0\.0\.0-test/0.0.5-test/' "$tmp/checksums/v0.0.0-test.sha256" >"$tmp/checksums/v0.0.5-test.sha256"
echo "${binsha^^}  amplify-deploy-v0.0.5-test-other/amplify-deploy" >>"$tmp/checksums/v0.0.5-test.sha256"
# A fake cargo that records being run: the refusals must not build anything.
mkdir -p "$tmp/fake-cargo"
printf '#!/bin/sh\necho "$*" >>"%s"\nexit 1\n' "$tmp/cargo-calls" >"$tmp/fake-cargo/cargo"
chmod +x "$tmp/fake-cargo/cargo"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
python3 "$here/https_server.py" "$tmp/release" "$tmp/cert.pem" "$tmp/key.pem" "$tmp/server.log" >"$tmp/port" &
pids+=($!)
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
port=$(cat "$tmp/port")

export CURL_CA_BUNDLE="$tmp/cert.pem"
export RUNNER_TOOL_CACHE="$tmp/toolcache"
export AMPLIFY_DEPLOY_CHECKSUMS_DIR="$tmp/checksums"
export AMPLIFY_DEPLOY_DOWNLOAD_BASE="https://127.0.0.1:$port"
inputs=(--input app-id=d1fake --input branch=main --input path=site --input $'exclude=*.map\n*.bak')

# --- (c) the genuine asset verifies, installs into the tool cache, runs -------
run_case verified --input version=0.0.0-test "${inputs[@]}"
cached="$RUNNER_TOOL_CACHE/amplify-deploy/0.0.0-test/$target/amplify-deploy"
check "verified asset: action succeeds" equals "$(field verified exit)" 0
check "verified asset: installed into the tool cache" test -x "$cached"
check "verified asset: the cached binary has the committed binary hash" equals "$(sha256sum <"$cached" | cut -d' ' -f1)" "$binsha"
check "verified asset: the installed binary ran" log_has verified "genuine fake binary"
check "run step: inputs via env, 'deploy' as argument" equals "$(field verified outputs.job-id)" "fake:d1fake:main:deploy"
check "run step: default input reaches the binary" equals "$(field verified outputs.url)" "true"
check "run step: empty input is unset, not empty" equals "$(field verified outputs.package-sha256)" "unset"
check "run step: no AMPLIFY_ variable is set empty" equals "$(field verified outputs.file-count)" "0"
check "run step: multi-line input keeps its lines" equals "$(field verified outputs.package-bytes | tr -d ' ')" "2"
check "verified asset: downloaded once" equals "$(downloads v0.0.0-test)" 1

run_case cached --input version=v0.0.0-test "${inputs[@]}"
check "cached: second run succeeds" equals "$(field cached exit)" 0
check "cached: second run reuses the tool cache" equals "$(downloads v0.0.0-test)" 1

# --- a cached binary is re-checked against the committed binary hash ----------
printf '#!/bin/sh\necho "TAMPERED cached binary"\n' >"$cached"
run_case recached --input version=0.0.0-test "${inputs[@]}"
check "tampered cache: action succeeds" equals "$(field recached exit)" 0
check "tampered cache: says it discards the cached binary" log_has recached \
  "::warning title=amplify-deploy install::The cached $cached has SHA-256"
check "tampered cache: the tampered binary never ran" bash -c "! grep -q 'TAMPERED cached binary' '$tmp/recached.log'"
check "tampered cache: downloaded and verified again" equals "$(downloads v0.0.0-test)" 2
check "tampered cache: the genuine binary ran" log_has recached "genuine fake binary"
check "tampered cache: the cache holds the genuine binary again" equals "$(sha256sum <"$cached" | cut -d' ' -f1)" "$binsha"

# --- (b) a tampered asset is refused -----------------------------------------
run_case tampered --input version=0.0.1-test "${inputs[@]}"
check "tampered asset: action fails" test "$(field tampered exit)" != 0
check "tampered asset: clear error annotation" log_has tampered "::error title=amplify-deploy install::checksum mismatch for amplify-deploy-v0.0.1-test-$target.tar.gz"
check "tampered asset: was downloaded" equals "$(downloads v0.0.1-test)" 1
check "tampered asset: never ran" bash -c "! grep -q 'TAMPERED binary' '$tmp/tampered.log'"
check "tampered asset: nothing in the tool cache" test ! -e "$RUNNER_TOOL_CACHE/amplify-deploy/0.0.1-test"

# --- other refusals ----------------------------------------------------------
# A fresh tool cache, or the verified binary above would be reused.
RUNNER_TOOL_CACHE="$tmp/toolcache-2" AMPLIFY_DEPLOY_DOWNLOAD_BASE="http://127.0.0.1:$port" \
  run_case plainhttp --input version=0.0.0-test "${inputs[@]}"
check "plain-http mirror: refused" log_has plainhttp "is not an https:// URL"
check "plain-http mirror: action fails" test "$(field plainhttp exit)" != 0

run_case missing --input version=0.0.2-test "${inputs[@]}"
check "missing asset: action fails with the URL" log_has missing "download of https://127.0.0.1:$port/v0.0.2-test/amplify-deploy-v0.0.2-test-$target.tar.gz failed"

run_case badversion --input version=../../etc "${inputs[@]}"
check "bad version: refused" log_has badversion "is not a release number"
check "bad version: action fails" test "$(field badversion exit)" != 0

# --- the binary hash: checked after download, required in the file ------------
run_case binmismatch --input version=0.0.3-test "${inputs[@]}"
check "binary hash mismatch: action fails" test "$(field binmismatch exit)" != 0
check "binary hash mismatch: clear error annotation" log_has binmismatch \
  "::error title=amplify-deploy install::checksum mismatch for amplify-deploy-v0.0.3-test-$target/amplify-deploy (inside amplify-deploy-v0.0.3-test-$target.tar.gz)"
check "binary hash mismatch: never ran" bash -c "! grep -q 'binary with another hash' '$tmp/binmismatch.log'"
check "binary hash mismatch: nothing in the tool cache" test ! -e "$RUNNER_TOOL_CACHE/amplify-deploy/0.0.3-test/$target/amplify-deploy"

run_case archiveonly --input version=0.0.4-test "${inputs[@]}"
check "checksum file without the binary hash: action fails" test "$(field archiveonly exit)" != 0
check "checksum file without the binary hash: says so" log_has archiveonly \
  "lists amplify-deploy-v0.0.4-test-$target.tar.gz but not the binary inside it"
check "checksum file without the binary hash: nothing downloaded" equals "$(downloads v0.0.4-test)" 0

run_case malformed --input version=0.0.5-test "${inputs[@]}"
check "malformed checksum file: action fails" test "$(field malformed exit)" != 0
check "malformed checksum file: names the line" log_has malformed \
  "::error title=amplify-deploy install::line 3 of checksums/v0.0.5-test.sha256 is not '<sha256, lowercase hex>  <file name>'"
check "malformed checksum file: nothing downloaded" equals "$(downloads v0.0.5-test)" 0

# --- an explicit version is that release or nothing ---------------------------
PATH="$tmp/fake-cargo:$PATH" run_case unreleased --input version=9.9.9 "${inputs[@]}"
check "explicit version without checksums: action fails" test "$(field unreleased exit)" != 0
check "explicit version without checksums: error names it and the way out" log_has unreleased \
  "::error title=amplify-deploy install::version 9.9.9 cannot be verified: no checksum for amplify-deploy-v9.9.9-$target.tar.gz"
check "explicit version without checksums: cargo never ran" test ! -e "$tmp/cargo-calls"
check "explicit version without checksums: no source-build notice" bash -c "! grep -q 'Building amplify-deploy' '$tmp/unreleased.log'"

# --- hostile strings never form a workflow command ----------------------------
# Every line the action prints that starts with `::` must be one of its own
# annotations, and no injected command may appear anywhere on a line.
only_own_commands() {
  local log="$tmp/$1.log"
  if grep -n '^::' "$log" | grep -v -e ':::error title=amplify-deploy install::' -e ':::notice title=amplify-deploy::'; then
    echo "    foreign workflow command in the log of $1"
    return 1
  fi
  if grep -n -e '::add-mask::' -e '::stop-commands::' -e '%0A' "$log"; then
    echo "    injected text in the log of $1"
    return 1
  fi
}
PATH="$tmp/fake-cargo:$PATH" run_case hostile1 --input 'version=1.0.0%0A::add-mask::x' "${inputs[@]}"
check "hostile version (%0A): action fails" test "$(field hostile1 exit)" != 0
check "hostile version (%0A): refused as not a release number" log_has hostile1 "is not a release number"
check "hostile version (%0A): no injected workflow command" only_own_commands hostile1
PATH="$tmp/fake-cargo:$PATH" run_case hostile2 --input $'version=1.0.0\n::add-mask::x\r::stop-commands::y' "${inputs[@]}"
check "hostile version (line breaks): action fails" test "$(field hostile2 exit)" != 0
check "hostile version (line breaks): no injected workflow command" only_own_commands hostile2
check "hostile versions: cargo never ran" test ! -e "$tmp/cargo-calls"
# A branch name is the action's ref, and git allows `%` in it.
PATH="$tmp/fake-cargo:$PATH" run_case hostileref --github 'action_ref=topic%0A::add-mask::x' "${inputs[@]}"
check "hostile ref: no injected workflow command" only_own_commands hostileref
check "hostile ref: built from source, with the ref folded in the notice" log_has hostileref \
  "::notice title=amplify-deploy::Building amplify-deploy from the action's source: version 'source' (ref 'topic?0A??add-mask??x')"

# --- the two-phase release, and installs at the commits it produces -----------
# shellcheck source=tests/action/release_case.sh
source "$here/release_case.sh"

# --- (a) no checksum: build from source, deploy to the emulator ---------------
if [[ ${AMPLIFY_ACTION_TEST_SKIP_SOURCE:-} == 1 ]]; then
  echo "skip - build from source (AMPLIFY_ACTION_TEST_SKIP_SOURCE=1)"
else
  # shellcheck source=tests/action/source_case.sh
  source "$here/source_case.sh"
fi

if [[ $failed != 0 ]]; then
  for name in "${cases[@]}"; do sed "s/^/    [$name] /" "$tmp/$name.log"; done
fi
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
