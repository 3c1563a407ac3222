#!/usr/bin/env bash
# Test the container image's file tree without a container engine: build the
# tree of the Dockerfile's final stage (tests/image/image.py carries out its
# instructions, and fails on one it does not know), then run a real deploy
# inside it with chroot, as `docker run` would: the image's ENTRYPOINT, ENV
# and WORKDIR, the site at /site, against amplify-emulator on 127.0.0.1.
#   - the deploy succeeds and the emulator serves the site, in the default
#     (final) stage's tree and in the `prebuilt` stage's;
#   - /tmp is there with mode 1777;
#   - the same tree without /tmp fails, so the test does see /tmp.
# Usage: tests/image/run.sh [STATIC_BINARY]
#   (default: the static musl build, target/x86_64-unknown-linux-musl/release/amplify-deploy)
# Skips with a warning where it cannot run: not root, no chroot, no static build.
# Prints `N passed, M failed` last; exits non-zero if anything failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
binary=${1:-$target_dir/x86_64-unknown-linux-musl/release/amplify-deploy}

skip() {
  echo "warning: image test skipped: $*" >&2
  exit 0
}
[[ $(id -u) == 0 ]] || skip "chroot needs root"
command -v chroot >/dev/null 2>&1 || skip "no chroot here"
[[ -x $binary ]] || skip "no static build at $binary (the x86_64-unknown-linux-musl target is not installed?)"
if readelf -l "$binary" 2>/dev/null | grep -q 'program interpreter'; then
  echo "error: $binary is dynamically linked: the scratch image can only run a static build" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/image-test.XXXXXX")
emulator_pid=""
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  [[ -n $emulator_pid ]] && kill "$emulator_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
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
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed == 0 ]]
  exit
}

# --- the image's tree ----------------------------------------------------------
if ! python3 "$here/image.py" build "$root/Dockerfile" "$root" "$binary" "$tmp/root" "$tmp/image.json"; then
  check "the Dockerfile's instructions build a tree" false
  finish
fi
check "/tmp exists with mode 1777" test "$(stat -c %a "$tmp/root/tmp" 2>/dev/null)" = 1777

# --- the emulator --------------------------------------------------------------
emulator=$target_dir/debug/amplify-emulator
if [[ ! -x $emulator ]]; then
  cargo build --quiet --locked -p amplify-emulator --manifest-path "$root/Cargo.toml" ||
    { check "amplify-emulator builds" false; finish; }
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$emulator" --listen "127.0.0.1:$port" --app d1example --branch main --job-duration 1s >"$tmp/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/__emulator/state" >/dev/null 2>&1 && break
  sleep 0.1
done

# docker run -v "$PWD/site:/site:ro" -e AWS_... amplify-deploy --app-id … --path /site
deploy_in() { # ROOT LOG BRANCH [IMAGE_CONFIG]
  python3 "$here/image.py" run "$1" "${4:-$tmp/image.json}" \
    -e AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
    -e AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
    -e AWS_REGION=us-east-1 \
    -e "AWS_ENDPOINT_URL=http://127.0.0.1:$port" \
    -e "AMPLIFY_RESOLVE=*=http://127.0.0.1:$port" \
    -- --app-id d1example --branch "$3" --path /site --create-branch --poll-interval 200ms --timeout 60s \
    >"$2" 2>&1
}
mkdir -p "$tmp/root/site/assets"
marker="image test $RANDOM$RANDOM"
echo "<h1>$marker</h1>" >"$tmp/root/site/index.html"
echo 'body{}' >"$tmp/root/site/assets/app.css"

deploy_in "$tmp/root" "$tmp/deploy.log" main
status=$?
check "deploy inside the image's tree succeeds" test "$status" = 0
served=$(curl -fsS "http://127.0.0.1:$port/__site/d1example/main/" 2>/dev/null)
check "the emulator serves the deployed site" grep -qF "$marker" <<<"$served"
# The `prebuilt` stage packages a binary built elsewhere (a release asset):
# docker build --build-arg PREBUILT=amplify-deploy --target prebuilt .
mkdir -p "$tmp/prebuilt-context"
cp "$binary" "$tmp/prebuilt-context/amplify-deploy"
if python3 "$here/image.py" build "$root/Dockerfile" "$tmp/prebuilt-context" "$binary" \
  "$tmp/root-prebuilt" "$tmp/image-prebuilt.json" prebuilt; then
  check "prebuilt stage: /tmp exists with mode 1777" test "$(stat -c %a "$tmp/root-prebuilt/tmp" 2>/dev/null)" = 1777
  cp -a "$tmp/root/site" "$tmp/root-prebuilt/site"
  deploy_in "$tmp/root-prebuilt" "$tmp/deploy-prebuilt.log" prebuilt "$tmp/image-prebuilt.json"
  check "prebuilt stage: deploy inside its tree succeeds" test "$?" = 0
  check "prebuilt stage: the emulator serves the site" grep -qF "$marker" \
    <<<"$(curl -fsS "http://127.0.0.1:$port/__site/d1example/prebuilt/" 2>/dev/null)"
else
  check "prebuilt stage: the Dockerfile's instructions build a tree" false
fi

# The same tree without /tmp (the image before it had one) must fail: else
# this test would pass whether or not the image has /tmp.
cp -a "$tmp/root" "$tmp/root-no-tmp"
rm -rf "$tmp/root-no-tmp/tmp"
deploy_in "$tmp/root-no-tmp" "$tmp/deploy-no-tmp.log" no-tmp
status=$?
check "without /tmp the deploy fails" test "$status" != 0

if [[ $failed != 0 ]]; then
  for log in deploy.log deploy-prebuilt.log deploy-no-tmp.log emulator.log; do
    [[ -f $tmp/$log ]] && sed "s/^/    [$log] /" "$tmp/$log"
  done
fi
finish
