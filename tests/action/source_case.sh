# shellcheck shell=bash disable=SC2154  # root, tmp, target, pids: run.sh's
# Sourced by run.sh: case (a). With no `version` input and no checksum for
# the action's own version, and again with `version: source`, the install
# step builds the binary from source (cargo build --release --locked), then
# the run step deploys a folder to amplify-emulator.

version=$(awk '/^\[/{p=($0=="[package]")} p&&/^version *=/{gsub(/.*= *"|".*/,"");print;exit}' "$root/Cargo.toml")
mkdir -p "$tmp/no-checksums"

echo "building amplify-emulator"
if ! cargo build --quiet --locked -p amplify-emulator --manifest-path "$root/Cargo.toml"; then
  check "source: emulator builds" false
else
  emu_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${CARGO_TARGET_DIR:-$root/target}/debug/amplify-emulator" --listen "127.0.0.1:$emu_port" >"$tmp/emulator.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$emu_port") 2>/dev/null && break; sleep 0.1; done

  mkdir -p "$tmp/workspace/site/assets"
  echo '<h1>hello</h1>' >"$tmp/workspace/site/index.html"
  echo 'body{}' >"$tmp/workspace/site/assets/app.css"
  echo 'map' >"$tmp/workspace/site/assets/app.js.map"

  pushd "$tmp/workspace" >/dev/null || exit 1
  # The emulator's default app and key. The test-only build profile keeps
  # `cargo build --release` as the action runs it, minus LTO and
  # optimisation, in its own target dir.
  source_run() {
    local -x AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
      AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
      AWS_REGION=us-east-1 \
      AMPLIFY_RESOLVE="*=http://127.0.0.1:$emu_port" \
      AMPLIFY_DEPLOY_CHECKSUMS_DIR="$tmp/no-checksums" \
      RUNNER_TOOL_CACHE="$tmp/toolcache-source" \
      CARGO_TARGET_DIR="$root/target/action-test" \
      CARGO_PROFILE_RELEASE_LTO=false \
      CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
      CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
      CARGO_PROFILE_RELEASE_INCREMENTAL=true
    run_case "$1" "${@:2}" --input app-id=d1example --input branch=main --input path=site \
      --input 'exclude=*.map' --input "endpoint-url=http://127.0.0.1:$emu_port" --input timeout=2m
  }
  # No version input, no checksum for the action's own version.
  source_run source
  # Asked for; the second build reuses the first one's target dir.
  source_run sourceinput --input version=source
  popd >/dev/null || exit 1

  check "source: action succeeds" equals "$(field source exit)" 0
  check "source: says it builds from source, and why" log_has source \
    "::notice title=amplify-deploy::Building amplify-deploy from the action's source: no checksum for amplify-deploy-v$version-$target.tar.gz"
  check "source: job-id output" test -n "$(field source outputs.job-id)"
  check "source: status output is SUCCEED" equals "$(field source outputs.status)" SUCCEED
  check "source: url output" matches "$(field source outputs.url)" '^https?://'
  check "source: exclude honoured (2 files)" equals "$(field source outputs.file-count)" 2
  check "source: package-sha256 output" matches "$(field source outputs.package-sha256)" '^[0-9a-f]{64}$'
  check "source: job summary has the table" summary_has source '| Status | SUCCEED |'
  check "source: job summary names the app" summary_has source '| App | d1example |'

  check "version source: action succeeds" equals "$(field sourceinput exit)" 0
  check "version source: says it builds from source because it was asked" log_has sourceinput \
    "::notice title=amplify-deploy::Building amplify-deploy from the action's source: version 'source'"
  check "version source: status output is SUCCEED" equals "$(field sourceinput outputs.status)" SUCCEED
fi
