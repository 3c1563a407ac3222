#!/usr/bin/env bash
# Benchmark a full deploy, side by side: today's shell recipe (zip, the AWS
# CLI, curl, a get-job polling loop) against `amplify-deploy deploy`, both
# against the bundled amplify-emulator on 127.0.0.1 (jobs take 1 s there;
# both tools poll every 1 s so that polling does not dominate).
#
# Trees: (a) the Rust documentation shipped with the toolchain (~52k files,
# ~620 MiB; override with BENCH_DOCS=DIR) and (b) a small generated site
# (200 files, ~2 MB) where per-call overhead dominates.
# For each tool: wall time (hyperfine mean ± σ), peak RSS (GNU time), the
# archive size and the HTTP requests one deploy makes, as a Markdown table.
#
# Usage: scripts/bench-deploy.sh
#   BENCH_RUNS=N      timed runs per tool and tree (default 3)
#   BENCH_WARMUP=N    untimed runs first (default 1; warms the page cache)
#   BENCH_DOCS=DIR    the large tree (default: the toolchain's Rust docs)
#   BENCH_AWS=PATH    the aws executable (default: `aws` on PATH; when there
#                     is none, `pip install awscli` into a venv for this run)
#   BENCH_SECTIONS=…  what to run (default "recipe store"): `recipe` is the
#                     two trees above; `store` times, on the large tree, a full
#                     deploy, an unchanged redeploy with --artifact-store
#                     --skip-unchanged, and a rollback, against a second
#                     emulator reading s3:// from a moto server (moto_server,
#                     `pip install "moto[server]"`)
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${BENCH_RUNS:-3}
warmup=${BENCH_WARMUP:-1}

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
command -v zip >/dev/null 2>&1 || missing+=(zip)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ -z "${BENCH_AWS:-}" ] && ! command -v aws >/dev/null 2>&1; then
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
fi
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --locked -p amplify-deploy -p amplify-emulator
bin=$PWD/target/release/amplify-deploy
emulator_bin=$PWD/target/release/amplify-emulator

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-deploy.XXXXXX")
emulator_pid=""
moto_pid=""
store_emulator_pid=""
cleanup() {
  for pid in "$moto_pid" "$store_emulator_pid"; do
    [ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  done
  if [ -n "$emulator_pid" ]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

docs=${BENCH_DOCS:-$(rustc --print sysroot)/share/doc/rust/html}
[ -d "$docs" ] || {
  echo "no Rust docs at $docs (rustup component add rust-docs)" >&2
  exit 1
}

# The AWS CLI users run today. A pyenv shim adds ~0.1 s to every call, which
# is pyenv's cost, not the CLI's: call the executable behind it.
aws_bin=${BENCH_AWS:-}
if [ -z "$aws_bin" ]; then
  if aws_bin=$(command -v aws); then
    case $aws_bin in
      */.pyenv/shims/*) aws_bin=$(pyenv which aws) ;;
    esac
  else
    echo "no aws on PATH: installing awscli from PyPI into $work/awscli" >&2
    python3 -m venv "$work/awscli"
    "$work/awscli/bin/pip" install -q awscli >&2
    aws_bin=$work/awscli/bin/aws
  fi
fi
mkdir -p "$work/bin"
ln -s "$aws_bin" "$work/bin/aws"

# Nothing from the caller's AWS or CI set-up may reach either tool.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_AMPLIFY AWS_ROLE_ARN \
  AWS_WEB_IDENTITY_TOKEN_FILE GITHUB_ACTIONS GITHUB_OUTPUT GITHUB_STEP_SUMMARY \
  GITHUB_EVENT_NAME GITHUB_EVENT_PATH
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(AMPLIFY|INPUT)_' || true)
export AWS_CONFIG_FILE=$work/no-aws-config AWS_SHARED_CREDENTIALS_FILE=$work/no-aws-credentials
export AWS_PAGER=""

# The emulator picks a free port and prints the `export` lines to use.
"$emulator_bin" --listen 127.0.0.1:0 --app d1example --branch main --job-duration 1s \
  >"$work/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do
  grep -q '^control:' "$work/emulator.log" && break
  kill -0 "$emulator_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q '^control:' "$work/emulator.log" || {
  echo "amplify-emulator did not start:" >&2
  cat "$work/emulator.log" >&2
  exit 1
}
eval "$(sed -n 's/^  export \(AWS_[A-Z_]*=[^ ]*\)$/export \1/p' "$work/emulator.log")"
[[ ${AWS_ENDPOINT_URL:-} == http://127.0.0.1:* ]] || {
  echo "no AWS_ENDPOINT_URL in the emulator's output" >&2
  exit 1
}
endpoint=$AWS_ENDPOINT_URL
app=d1example
branch=main

# AWS CLI v1 >= 1.29 and v2 >= 2.13 read AWS_ENDPOINT_URL; older ones need
# --endpoint-url, which the recipe then passes (as users of LocalStack do).
# An old CLI sends the probe to AWS itself: bound how long that may take.
endpoint_flag=""
if [ "$(PATH=$work/bin:$PATH AWS_MAX_ATTEMPTS=1 aws --cli-connect-timeout 5 --cli-read-timeout 5 \
  amplify get-app --app-id "$app" --query app.appId --output text 2>/dev/null)" != "$app" ]; then
  endpoint_flag=" --endpoint-url \"\$AWS_ENDPOINT_URL\""
  [ "$(PATH=$work/bin:$PATH aws --endpoint-url "$endpoint" amplify get-app --app-id "$app" --query app.appId --output text)" = "$app" ] || {
    echo "the AWS CLI ($aws_bin) cannot reach the emulator at $endpoint" >&2
    exit 1
  }
fi

# Today's recipe, as CI users run it, with `sleep 1` for `sleep 5`. The zip
# goes to an absolute path (the docs tree may not be writable), and an old
# one is removed first: `zip -r` would update it instead of starting afresh.
cat >"$work/recipe.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
rm -f "\$ZIP"
cd "\$SITE" && zip -r -q -X "\$ZIP" . && cd - >/dev/null
read -r JOB_ID URL < <(aws$endpoint_flag amplify create-deployment --app-id "\$APP" --branch-name "\$BR" --query '[jobId,zipUploadUrl]' --output text)
curl -fsS -X PUT -T "\$ZIP" -H 'Content-Type: application/zip' "\$URL"
aws$endpoint_flag amplify start-deployment --app-id "\$APP" --branch-name "\$BR" --job-id "\$JOB_ID"
while :; do
  S=\$(aws$endpoint_flag amplify get-job --app-id "\$APP" --branch-name "\$BR" --job-id "\$JOB_ID" --query job.summary.status --output text)
  case \$S in SUCCEED) break ;; FAILED | CANCELLED) exit 1 ;; esac
  sleep 1
done
EOF
recipe_zip=$work/site.zip
recipe="PATH='$work/bin':\"\$PATH\" SITE=\"\$SITE\" ZIP='$recipe_zip' APP=$app BR=$branch bash '$work/recipe.sh'"
deploy="'$bin' deploy --app-id $app --branch $branch --path \"\$SITE\" --poll-interval 1s --verify off"
names=("shell recipe (zip + aws CLI + curl)" "amplify-deploy")

# A small site: 170 pages of ~6 kB, 10 scripts and 10 style sheets of ~10 kB,
# 10 incompressible images of 80 kB (200 files, ~2 MB).
make_small_site() {
  local root=$1
  mkdir -p "$root/docs" "$root/blog" "$root/assets/js" "$root/assets/css" "$root/assets/img"
  awk -v root="$root" 'BEGIN {
    for (i = 0; i < 170; i++) {
      if (i == 0) f = root "/index.html"
      else f = sprintf("%s/%s/page%03d.html", root, i % 2 ? "docs" : "blog", i)
      printf "<!doctype html>\n<html><head><title>Page %d</title>", i > f
      print "<link rel=stylesheet href=/assets/css/site0.css></head><body>" > f
      for (j = 0; j < 75; j++)
        printf "<p>Paragraph %d of page %d, a small static site on Amplify.</p>\n", j, i > f
      print "</body></html>" > f
      close(f)
    }
    for (i = 0; i < 10; i++) {
      js = sprintf("%s/assets/js/app%d.js", root, i)
      css = sprintf("%s/assets/css/site%d.css", root, i)
      for (j = 0; j < 200; j++) {
        printf "function handler%d_%d(e) { return e.target.value + %d; }\n", i, j, j > js
        printf ".block-%d-%d { margin: %dpx; padding: %dpx; }\n", i, j, j % 16, j % 8 > css
      }
      close(js)
      close(css)
    }
  }'
  local i
  for i in $(seq 0 9); do
    head -c 81920 /dev/urandom >"$root/assets/img/photo$i.jpg"
  done
}

# Jobs on the branch with each status, as "STATUS COUNT" lines.
job_statuses() {
  curl -fsS "$endpoint/__emulator/state" |
    jq -r --arg app "$app" --arg branch "$branch" '.apps[] | select(.appId == $app)
      | .branches[] | select(.branchName == $branch) | .jobs | group_by(.status)[]
      | "\(.[0].status) \(length)"'
}
jobs_done() { job_statuses | awk '$1 == "SUCCEED" { n = $2 } END { print n + 0 }'; }
api_requests() {
  sleep 0.2 # the emulator logs a request after answering it
  grep -cE '^(GET|PUT|POST|DELETE) ' "$work/emulator.log" || true
}

bench_tree() {
  local label=$1 dir=$2
  export SITE=$dir
  local before
  before=$(jobs_done)

  hyperfine --style basic --warmup "$warmup" --runs "$runs" \
    --export-json "$work/$label.json" \
    -n "${names[0]}" "$recipe" -n "${names[1]}" "$deploy" >&2

  # One more run of each under GNU time, for the peak RSS, the requests one
  # deploy makes and the archive.
  local rss=() requests=() bytes=() files=() r0
  r0=$(api_requests)
  /usr/bin/time -f '%M' -o "$work/rss" bash -c "$recipe" >/dev/null 2>"$work/recipe.err" || {
    cat "$work/recipe.err" >&2
    exit 1
  }
  rss+=("$(cat "$work/rss")")
  requests+=($(($(api_requests) - r0)))
  bytes+=("$(stat -c %s "$recipe_zip")")
  files+=("$(unzip -Z1 "$recipe_zip" | grep -vc '/$')")

  r0=$(api_requests)
  /usr/bin/time -f '%M' -o "$work/rss" bash -c "$deploy --json '$work/deploy.json'" \
    >/dev/null 2>"$work/deploy.err" || {
    cat "$work/deploy.err" >&2
    exit 1
  }
  rss+=("$(cat "$work/rss")")
  requests+=($(($(api_requests) - r0)))
  bytes+=("$(jq -r .package.bytes "$work/deploy.json")")
  files+=("$(jq -r .package.fileCount "$work/deploy.json")")

  # Every deploy must have ended SUCCEED, or the times mean nothing.
  local expected=$((before + 2 * (warmup + runs + 1)))
  local done_now
  done_now=$(jobs_done)
  [ "$done_now" -eq "$expected" ] || {
    echo "expected $expected successful jobs on $app/$branch, found $done_now:" >&2
    job_statuses >&2
    exit 1
  }

  mapfile -t means < <(jq -r '.results[].mean' "$work/$label.json")
  # "mean ± σ|min … max|user + system" of each command, in order.
  mapfile -t stats < <(jq -r '.results[] | "\(.mean) \(.stddev) \(.min) \(.max) \(.user + .system)"' \
    "$work/$label.json" | awk '{ printf "%.2f ± %.2f|%.2f … %.2f|%.2f\n", $1, $2, $3, $4, $5 }')
  echo
  echo "### $label ($(find "$dir" -type f | wc -l) files, $(du -sb "$dir" | awk '{ printf "%.1f MiB", $1 / 1048576 }'))"
  echo
  echo "| tool | wall time (s) | min … max (s) | CPU (s) | peak RSS (MB) | archive (bytes) | files in archive | HTTP requests |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  local i
  for i in 0 1; do
    printf '| %s | %s | %s | %s | %d | %d | %d | %d |\n' "${names[$i]}" \
      "${stats[$i]%%|*}" "$(cut -d'|' -f2 <<<"${stats[$i]}")" "${stats[$i]##*|}" \
      "$((${rss[$i]} / 1024))" "${bytes[$i]}" "${files[$i]}" "${requests[$i]}"
  done
  echo
  awk -v a="${means[0]}" -v b="${means[1]}" 'BEGIN { printf "amplify-deploy: %.2fx the speed of the recipe; ", a / b }'
  jq -r '.phases | "its phases in the RSS run: package \(.package) s, upload \(.upload) s, start \(.start) s, wait \(.wait) s."' "$work/deploy.json"
}

# The artifact store, on one tree: a full deploy (package, upload, job), an
# unchanged redeploy with --artifact-store --skip-unchanged (package, one
# HeadObject, ListJobs: no job), and a rollback (ListJobs, HeadObject, a
# job started from the stored artifact: no packaging, no upload). A second
# emulator reads s3:// sources from a moto server, as Amplify reads S3.
bench_store() {
  local label=$1 dir=$2
  command -v moto_server >/dev/null 2>&1 || {
    echo "no moto_server (pip install \"moto[server]\"): skipping the store benchmark" >&2
    return 0
  }
  local port s3 auth
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  s3=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -fs -o /dev/null "$s3" && break; sleep 0.1; done
  # moto checks no signature outside its IAM mode; it reads the region here.
  auth="Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
  curl -fsS -X PUT -H "$auth" "$s3/bench" >/dev/null

  AWS_ENDPOINT_URL_S3=$s3 "$emulator_bin" --listen 127.0.0.1:0 --app d1store --branch main \
    --job-duration 1s >"$work/store-emulator.log" 2>&1 &
  store_emulator_pid=$!
  for _ in $(seq 100); do grep -q '^control:' "$work/store-emulator.log" && break; sleep 0.1; done
  local amplify
  amplify=$(sed -n 's/^  export AWS_ENDPOINT_URL=\(.*\)$/\1/p' "$work/store-emulator.log")
  [ -n "$amplify" ] || { cat "$work/store-emulator.log" >&2; exit 1; }

  local base="AWS_ENDPOINT_URL='$amplify' AWS_ENDPOINT_URL_S3='$s3' '$bin'"
  local target="--app-id d1store --branch main --poll-interval 1s --verify off"
  local store="--artifact-store s3://bench/site"
  local full="$base deploy $target --path '$dir'"
  local skip="$base deploy $target --path '$dir' $store --skip-unchanged"
  local rollback="$base rollback $target"
  # Two stored packages of the tree (one leaves a file out), so that the
  # rollback has an earlier release to return to; the second is live.
  local one_file
  one_file=$(cd "$dir" && find . -type f -name '*.html' | sed -n 2p)
  bash -c "$base deploy $target --path '$dir' $store --exclude '${one_file#./}'" >/dev/null 2>"$work/store.err" &&
    bash -c "$base deploy $target --path '$dir' $store --json '$work/second.json'" >/dev/null 2>>"$work/store.err" || {
    cat "$work/store.err" >&2
    exit 1
  }
  # Before each rollback, the second package is made live again from the
  # store (rollback walks back and never returns to a release it left:
  # without this, the second rollback would have nowhere to go).
  local second
  second=$(jq -r .package.sha256 "$work/second.json")
  local relive="$base deploy $target --source-url s3://bench/site/$second.zip --source-url-type ZIP"

  hyperfine --style basic --warmup "$warmup" --runs "$runs" --export-json "$work/store.json" \
    -n "full deploy (package, upload, job)" "$full" \
    -n "unchanged redeploy, --skip-unchanged" "$skip" >&2
  # The skip must have skipped (checked before the rollbacks change what
  # is live), and every rollback succeeded.
  bash -c "$skip --json '$work/skip.json'" >/dev/null 2>&1
  [ "$(jq -r .status "$work/skip.json")" = SKIPPED ] || {
    echo "the unchanged redeploy did not skip:" >&2
    cat "$work/skip.json" >&2
    exit 1
  }
  hyperfine --style basic --warmup "$warmup" --runs "$runs" --export-json "$work/rollback.json" \
    --prepare "$relive" \
    -n "rollback (stored artifact, new job)" "$rollback" >&2
  local failed
  failed=$(curl -fsS "$amplify/__emulator/state" | jq '[.apps[].branches[].jobs[] | select(.status != "SUCCEED")] | length')
  [ "$failed" -eq 0 ] || { echo "$failed jobs did not succeed" >&2; exit 1; }

  echo
  echo "### Artifact store: $label ($(find "$dir" -type f | wc -l) files)"
  echo
  echo "| run | wall time (s) | min … max (s) | CPU (s) |"
  echo "| --- | --- | --- | --- |"
  jq -r '.results[] | "\(.command)\t\(.mean)\t\(.stddev)\t\(.min)\t\(.max)\t\(.user + .system)"' "$work/store.json" "$work/rollback.json" |
    awk -F'\t' '{ printf "| %s | %.2f ± %.2f | %.2f … %.2f | %.2f |\n", $1, $2, $3, $4, $5, $6 }'
}

echo "## Deploy benchmark: shell recipe vs amplify-deploy ($(nproc) cores, $(date -u +%Y-%m-%d))"
echo
echo "Against amplify-emulator on 127.0.0.1 (jobs run 1 s), both tools polling every 1 s;"
echo "hyperfine, $runs runs after $warmup warm-up. $("$aws_bin" --version 2>&1 | cut -d' ' -f1,2),"
echo "$(zip -v | sed -n 2p | sed 's/^This is \(Zip [^ ]*\).*/\1/'), $(curl --version | head -1 | cut -d' ' -f1,2), $("$bin" --version)."

sections=${BENCH_SECTIONS:-recipe store}
docs_label="Rust docs"
[ -z "${BENCH_DOCS:-}" ] || docs_label=$(basename "$docs")
if [[ " $sections " == *" recipe "* ]]; then
  bench_tree "$docs_label" "$docs"
  small=$work/small-site
  make_small_site "$small"
  bench_tree "small site" "$small"
fi
if [[ " $sections " == *" store "* ]]; then
  bench_store "$docs_label" "$docs"
fi
echo
cat <<'EOF'
Notes: CPU is user + system time, mean over the timed runs (hyperfine). Peak RSS
of the recipe is GNU time on `bash recipe.sh`, i.e. the largest single process of
the recipe (zip, one aws CLI call or curl), not their sum; for amplify-deploy it
is its one process. HTTP requests are those the emulator answered during one
deploy (API calls and the upload). A job ends 1 s after StartDeployment, or once
the emulator has checked the zip if that takes longer; a poll landing just before
that costs one more poll interval, so a run can take 1 s more (see min … max and
σ), as can other work on this shared machine.
EOF
