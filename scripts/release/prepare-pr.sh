#!/usr/bin/env bash
# Phase one's last step, after the draft release holds the assets: write
# the files of the release pull request, in the current checkout:
#   checksums/vVERSION.sha256   the draft's SHA256SUMS, checked for form
#   CHANGELOG.md                `## [VERSION]` dated DATE
# Usage: prepare-pr.sh VERSION SHA256SUMS DATE(YYYY-MM-DD)
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=scripts/release/lib.sh
source "$here/lib.sh"

[[ $# == 3 ]] || die "usage: prepare-pr.sh VERSION SHA256SUMS DATE"
version=$(release_version "$1")
sums=$2 date=$3
changelog=${CHANGELOG:-CHANGELOG.md}
[[ $date =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || die "'$date' is not a date like 2026-01-31"

bash "$here/verify-sums-file.sh" "$version" "$sums"
mkdir -p checksums
cp "$sums" "checksums/v$version.sha256"

[[ $(changelog_heading "$changelog" "$version") == "## [$version]" ]] ||
  die "$changelog has no undated '## [$version]' heading"
tmp=$(mktemp)
awk -v h="## [$version]" -v d="$date" '$0 == h && !done { $0 = h " - " d; done = 1 } { print }' "$changelog" >"$tmp"
cat "$tmp" >"$changelog"
rm -f "$tmp"
echo "wrote checksums/v$version.sha256 and dated $version $date in $changelog"
