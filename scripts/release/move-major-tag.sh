#!/usr/bin/env bash
# Point the major tag (v1 for v1.2.3) at a release's commit and push it, so
# `uses: owner/amplify-deploy@v1` runs the newest v1 release, whose commit
# holds its checksums. Not moved for a pre-release (1.3.0-rc.1), nor when a
# newer release of the same major exists (re-publishing v1.2.3 after v1.3.0
# must not take v1 back).
# Usage: move-major-tag.sh VERSION REMOTE   (REMOTE: a git remote or URL)
set -euo pipefail
# shellcheck source=scripts/release/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C

[[ $# == 2 ]] || die "usage: move-major-tag.sh VERSION REMOTE"
version=$(release_version "$1")
remote=$2
if [[ $version == *-* ]]; then
  echo "v$version is a pre-release: the major tag stays where it is"
  exit 0
fi
major=v${version%%.*}
commit=$(git rev-parse -q --verify "refs/tags/v$version^{commit}") || die "no tag v$version here"
newest=$(git tag -l "$major.*" | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1)
if [[ $newest != "v$version" ]]; then
  echo "$newest is newer than v$version: $major stays where it is"
  exit 0
fi
git tag -f "$major" "$commit" >/dev/null
git push --quiet --force "$remote" "refs/tags/$major"
echo "moved $major to $commit (v$version)"
