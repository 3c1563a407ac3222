#!/usr/bin/env bash
# A full deployment against the bundled emulator, no AWS account needed:
# packaging, upload, job, and the URL where the deployed site is served.
# Usage: scripts/demo.sh [SITE_DIR]   (default: examples/site)
set -euo pipefail
cd "$(dirname "$0")/.."
site=${1:-examples/site}

echo "==> building amplify-deploy and amplify-emulator"
cargo build --locked --quiet -p amplify-deploy -p amplify-emulator

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
target/debug/amplify-emulator --listen "127.0.0.1:$port" --app d1example --branch main --job-duration 2s >"$log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/__emulator/state" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "==> emulator listening on http://127.0.0.1:$port"

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
# The live check fetches https://main.d1example.amplifyapp.com/: send it to
# the emulator, which serves each branch by Host name.
export AMPLIFY_RESOLVE="*=http://127.0.0.1:$port"

echo "==> amplify-deploy deploy --app-id d1example --branch main --path $site"
target/debug/amplify-deploy deploy --app-id d1example --branch main --path "$site" --poll-interval 500ms

url="http://127.0.0.1:$port/__site/d1example/main/"
echo "==> the emulator serves the deployed site at $url"
curl -fsS "$url" | head -n 20
echo
echo "==> emulator log"
cat "$log"
