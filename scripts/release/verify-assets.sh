#!/usr/bin/env bash
# Verify a release's assets (the draft's, downloaded into DIR) against the
# checksums committed in the tagged commit: the hashes of every archive and
# of the binary inside it must be exactly the committed lines, no committed
# archive may be missing, no other asset may be there, and a SHA256SUMS asset
# must be the committed file byte for byte. Any difference fails, naming it.
# Usage: verify-assets.sh VERSION DIR SUMS_FILE
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=scripts/release/lib.sh
source "$here/lib.sh"
export LC_ALL=C

[[ $# == 3 ]] || die "usage: verify-assets.sh VERSION DIR SUMS_FILE"
version=$(release_version "$1")
dir=$2 sums=$3
bash "$here/verify-sums-file.sh" "$version" "$sums" >/dev/null

problems=0
problem() {
  echo "mismatch: $*" >&2
  problems=$((problems + 1))
}

shopt -s nullglob
for path in "$dir"/*; do
  name=${path##*/}
  case $name in
    SHA256SUMS) cmp -s "$path" "$sums" || problem "the SHA256SUMS asset differs from the committed $sums" ;;
    "amplify-deploy-v$version-"*.tar.gz | "amplify-deploy-v$version-"*.zip)
      awk -v n="$name" '$2 == n { found = 1 } END { exit !found }' "$sums" ||
        problem "asset $name is not in the committed $sums" ;;
    *) problem "asset $name is not a release archive of $version" ;;
  esac
done

# What the assets hash to, in the committed file's form.
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
if ! bash "$here/checksums.sh" "$dir" "$version" >"$actual"; then
  problem "the assets could not be hashed (see above)"
fi
while read -r hash name; do
  got=$(awk -v n="$name" '$2 == n { print $1 }' "$actual")
  if [[ -z $got ]]; then
    problem "$name: committed, but not in the assets"
  elif [[ $got != "$hash" ]]; then
    problem "$name: committed SHA-256 $hash, the asset has $got"
  fi
done <"$sums"

((problems == 0)) || die "$problems mismatch(es) between the assets in $dir and $sums: refusing to publish them"
echo "ok: every asset of v$version, and the binary inside each, matches $sums"
