#!/usr/bin/env bash
# Check that the repository (the current directory) is ready for a release
# phase; prints what it checked, fails with the first problem.
#
#   check.sh prepare VERSION   phase one, before building: Cargo.toml has
#       VERSION; CHANGELOG.md has a `## [VERSION]` section with entries and no
#       date yet (the release PR adds it); no tag vVERSION and no
#       checksums/vVERSION.sha256 exist yet.
#   check.sh publish VERSION   phase two, on the tag: Cargo.toml has VERSION;
#       the changelog section is dated (`## [VERSION] - YYYY-MM-DD`);
#       checksums/vVERSION.sha256 is committed and well formed.
#
# CHANGELOG (default CHANGELOG.md) names the changelog, in Keep a Changelog
# form (https://keepachangelog.com/en/1.1.0/).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=scripts/release/lib.sh
source "$here/lib.sh"

[[ $# == 2 && ($1 == prepare || $1 == publish) ]] || die "usage: check.sh prepare|publish VERSION"
mode=$1
version=$(release_version "$2")
changelog=${CHANGELOG:-CHANGELOG.md}

cargo=$(cargo_version Cargo.toml)
[[ $cargo == "$version" ]] || die "Cargo.toml has version '$cargo', not $version: bump it (and Cargo.lock) first"
echo "ok: Cargo.toml version is $version"

if [[ $mode == prepare ]]; then
  if git rev-parse -q --verify "refs/tags/v$version" >/dev/null; then
    die "tag v$version exists already: a released version is never rebuilt; bump the version"
  fi
  [[ ! -e checksums/v$version.sha256 ]] ||
    die "checksums/v$version.sha256 exists already: $version was released; bump the version"
  echo "ok: no tag v$version and no checksums/v$version.sha256 yet"
fi

[[ -f $changelog ]] || die "no $changelog"
heading=$(changelog_heading "$changelog" "$version")
[[ -n $heading ]] || die "$changelog has no '## [$version]' section: move the Unreleased entries under it"
grep -q '^- \|^\* ' < <(changelog_section "$changelog" "$version") ||
  die "$changelog's section for $version lists no change"
dated="^## \[$version\] - [0-9]{4}-[0-9]{2}-[0-9]{2}$"
case $mode in
  prepare)
    [[ $heading == "## [$version]" ]] ||
      die "$changelog's heading for $version is '$heading': leave it undated, '## [$version]'; the release PR adds the date"
    echo "ok: $changelog has an undated section for $version with entries"
    ;;
  publish)
    [[ $heading =~ $dated ]] ||
      die "$changelog's heading for $version is '$heading', not '## [$version] - YYYY-MM-DD': merge the release PR first"
    echo "ok: $changelog dates $version (${heading##* - })"
    sums=checksums/v$version.sha256
    [[ -f $sums ]] || die "$sums is not committed at this commit: tag the merged release PR, not the release branch"
    bash "$here/verify-sums-file.sh" "$version" "$sums"
    ;;
esac
