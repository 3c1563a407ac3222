#!/usr/bin/env bash
# Benchmark `amplify-deploy package` against Info-ZIP `zip -r -q -X`.
#
# Trees: (a) the Rust documentation shipped with the toolchain (~52k files,
# ~650 MB; override with BENCH_DOCS=DIR) and (b) a synthetic tree made here:
# many small HTML files plus a few large incompressible files.
# For each tool: wall time (hyperfine mean ± σ), peak RSS (GNU time) and
# archive size, printed as a Markdown table.
#
# Usage: scripts/bench.sh            (BENCH_RUNS=N to change the run count)
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${BENCH_RUNS:-5}

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
command -v zip >/dev/null 2>&1 || missing+=(zip)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --locked
bin=$PWD/target/release/amplify-deploy

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

docs=${BENCH_DOCS:-$(rustc --print sysroot)/share/doc/rust/html}
[ -d "$docs" ] || { echo "no Rust docs at $docs (rustup component add rust-docs)" >&2; exit 1; }

synthetic=$work/synthetic
mkdir -p "$synthetic"
for d in $(seq -w 0 199); do mkdir -p "$synthetic/d$d"; done
# 20,000 small pages, 1-4 kB each.
awk -v root="$synthetic" 'BEGIN {
  for (i = 0; i < 20000; i++) {
    f = sprintf("%s/d%03d/page%05d.html", root, i % 200, i)
    for (j = 0; j < 20 + i % 60; j++)
      printf "<p>line %d of page %d: a static site built for Amplify</p>\n", j, i > f
    close(f)
  }
}'
# Large incompressible files, without a telling extension.
for i in 1 2 3; do head -c $((64 << 20)) /dev/urandom >"$synthetic/blob$i.bin"; done

# name|command (run inside the tree; $out is the archive path)
commands=(
  "amplify-deploy|$bin package --path . --output \$out"
  "amplify-deploy --threads 1|$bin package --path . --output \$out --threads 1"
  "zip -r -q -X|zip -r -q -X \$out ."
)

bench_tree() {
  local label=$1 dir=$2
  local out=$work/out.zip
  local args=() names=()
  for entry in "${commands[@]}"; do
    names+=("${entry%%|*}")
    args+=(-n "${entry%%|*}" "cd '$dir' && out='$out' && ${entry#*|}")
  done
  hyperfine --style basic --warmup 1 --runs "$runs" --prepare "rm -f '$out'" \
    --export-json "$work/$label.json" "${args[@]}" >&2

  # mean and stddev of each command, in order.
  mapfile -t stats < <(awk -F'[:,]' '/"mean"/ {m=$2} /"stddev"/ {printf "%.2f ± %.2f\n", m, $2}' "$work/$label.json")
  echo
  echo "### $label ($(find "$dir" -type f | wc -l) files, $(du -sh --apparent-size "$dir" | cut -f1))"
  echo
  echo "| tool | wall time (s) | peak RSS (MB) | archive (bytes) |"
  echo "| --- | --- | --- | --- |"
  local i=0
  for entry in "${commands[@]}"; do
    rm -f "$out"
    local rss
    rss=$( (cd "$dir" && out=$out /usr/bin/time -f '%M' bash -c "${entry#*|}") 2>&1 >/dev/null | tail -1)
    unzip -tqq "$out" >/dev/null || echo "warning: unzip -t rejected the archive of ${names[$i]}" >&2
    printf '| %s | %s | %d | %d |\n' "${names[$i]}" "${stats[$i]}" "$((rss / 1024))" "$(stat -c %s "$out")"
    i=$((i + 1))
  done
}

echo "## amplify-deploy package benchmark ($(nproc) cores, $(date -u +%Y-%m-%d))"
bench_tree "Rust docs" "$docs"
bench_tree "synthetic" "$synthetic"
