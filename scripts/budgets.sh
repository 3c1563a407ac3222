#!/usr/bin/env bash
# Budgets that later features must justify growing past (run by scripts/test.sh):
#   - the static binary's size;
#   - peak memory of `amplify-deploy package` on a generated tree (many small
#     pages, medium assets, large incompressible files);
#   - one HTTP client and one TLS provider in the binary's dependency tree.
#
# Usage: scripts/budgets.sh STATIC_BINARY   (the musl release binary users run)
# Budgets can be raised here, in a commit that says why.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 STATIC_BINARY" >&2; exit 2; }
cd "$(dirname "$0")/.."

BINARY_BUDGET_BYTES=8000000   # 8 MB; 7.30 MB measured on 2026-12-07 with the lock, fork previews and typed settings, cold code optimised for size (11.2 MB before one TLS stack)
RSS_BUDGET_KB=65536           # 64 MiB peak RSS while packaging the generated tree

static_bin=$1
fail=0

size=$(stat -c %s "$static_bin")
if ((size > BINARY_BUDGET_BYTES)); then
  echo "error: budget: $static_bin is $size bytes, over the budget of $BINARY_BUDGET_BYTES" >&2
  fail=1
else
  echo "budget: static binary $size bytes (budget $BINARY_BUDGET_BYTES)"
fi

# One HTTP stack and one TLS provider: aws-config must not bring its own
# client (aws-smithy-http-client) nor a second crypto provider (aws-lc-rs).
for crate in aws-lc-rs aws-lc-sys aws-smithy-http-client openssl-sys native-tls; do
  if cargo tree --locked -p amplify-deploy -e normal -i "$crate" >/dev/null 2>&1; then
    echo "error: budget: the binary depends on $crate (one HTTP client and one TLS provider: see src/http/sdk.rs)" >&2
    cargo tree --locked -p amplify-deploy -e normal -i "$crate" | head -5 >&2
    fail=1
  fi
done
echo "budget: one HTTP client (reqwest) and one TLS provider (ring) in the dependency tree"

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
# 20,000 pages of 1-4 kB, 400 assets of 64-256 kB (compressible text and
# random bytes), 3 random files of 48 MiB: every packaging path at once.
awk -v root="$tree" 'BEGIN {
  srand(7)
  for (i = 0; i < 20000; i++) {
    if (i % 100 == 0) system("mkdir -p " root "/d" int(i / 100))
    f = sprintf("%s/d%d/page%05d.html", root, int(i / 100), i)
    for (j = 0; j < 20 + i % 60; j++)
      printf "<p>line %d of page %d: a static site built for Amplify</p>\n", j, i > f
    close(f)
  }
  system("mkdir -p " root "/assets")
  for (i = 0; i < 200; i++) {
    f = sprintf("%s/assets/app%03d.js", root, i)
    n = 1000 + (i * 37) % 3000
    for (j = 0; j < n; j++) printf "var v%d = %d; // %d\n", j, int(rand() * 1e6), i > f
    close(f)
  }
}'
for i in $(seq 0 199); do head -c $(((64 + i % 192) << 10)) /dev/urandom >"$tree/assets/img$i.bin"; done
for i in 1 2 3; do head -c $((48 << 20)) /dev/urandom >"$tree/blob$i.bin"; done

out=$(mktemp)
rss=$(mktemp)
/usr/bin/time -f '%M' -o "$rss" "$static_bin" package --path "$tree" --output "$out" >/dev/null
rss_kb=$(tail -1 "$rss")
rm -f "$out" "$rss"
if ((rss_kb > RSS_BUDGET_KB)); then
  echo "error: budget: packaging the generated tree peaked at $((rss_kb / 1024)) MiB, over the budget of $((RSS_BUDGET_KB / 1024)) MiB" >&2
  fail=1
else
  echo "budget: packaging peak RSS $((rss_kb / 1024)) MiB (budget $((RSS_BUDGET_KB / 1024)) MiB)"
fi
exit "$fail"
