#!/usr/bin/env bash
# Test action.yml the way a Linux runner runs it (see run_action.py):
#   install: a verified release asset lands in the tool cache and is reused;
#            a tampered asset, a plain-http mirror, a missing asset and a bad
#            version are refused;
#   deploy:  with no checksum for the version the action builds itself from
#            source and deploys a folder to amplify-emulator.
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

# run_case NAME [run_action.py args...]: run the whole action; keep its log.
run_case() {
  local name=$1
  shift
  cases+=("$name")
  python3 "$here/run_action.py" "$root" "$tmp/$name.json" "$@" >"$tmp/$name.log" 2>&1
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

good=$(make_release 0.0.0-test "genuine fake binary")
mkdir -p "$tmp/checksums"
(cd "$(dirname "$good")" && sha256sum "$(basename "$good")") >"$tmp/checksums/v0.0.0-test.sha256"
# Tampered: the committed checksum is the genuine archive's, the served file is not.
tampered=$(make_release 0.0.1-test "TAMPERED binary")
sha=$(awk '{print $1}' "$tmp/checksums/v0.0.0-test.sha256")
echo "$sha  $(basename "$tampered")" >"$tmp/checksums/v0.0.1-test.sha256"
# Listed but never published.
echo "$sha  amplify-deploy-v0.0.2-test-$target.tar.gz" >"$tmp/checksums/v0.0.2-test.sha256"

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
check "verified asset: cache marker holds the checksum" equals "$(cat "$RUNNER_TOOL_CACHE/amplify-deploy/0.0.0-test/$target.complete" 2>/dev/null)" "$sha"
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
