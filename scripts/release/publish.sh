#!/usr/bin/env bash
# Phase two of a release, run on the tag (see docs/releasing.md): download
# the draft release's assets, verify them against the checksums committed in
# the tagged commit (and their build provenance), then publish the draft as
# it is, never rebuilding. Refuses, and changes nothing, on any mismatch.
# Needs `gh` authenticated for the repository (GH_TOKEN, GH_REPO).
# Usage: publish.sh VERSION   (in the tagged commit's checkout)
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=scripts/release/lib.sh
source "$here/lib.sh"

[[ $# == 1 ]] || die "usage: publish.sh VERSION"
version=$(release_version "$1")
tag=v$version
sums=checksums/v$version.sha256

bash "$here/check.sh" publish "$version"

draft=$(gh release view "$tag" --json isDraft --jq .isDraft) || die "no release $tag: run phase one (release-prepare) first"
[[ $draft == true ]] || die "release $tag is published already: nothing to do"

# The assets were built from the draft's target commit; the tagged commit
# may differ from it only by the release PR's files, or the release would
# publish binaries of another source under this tag.
built=$(gh release view "$tag" --json targetCommitish --jq .targetCommitish)
git cat-file -e "$built^{commit}" 2>/dev/null ||
  die "the commit the draft was built from, $built, is not in this checkout: fetch it (fetch-depth: 0)"
changed=$(git diff --name-only "$built" HEAD -- . ':(exclude)checksums' ':(exclude)CHANGELOG.md')
[[ -z $changed ]] || die "the tagged commit's source differs from the commit the draft was built from ($built): $(echo "$changed" | head -n 5 | tr '\n' ' ')- tag the merged release PR with nothing else in between, or prepare the release again"
echo "ok: the tagged commit is the built commit $built plus the release PR's files"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gh release download "$tag" --dir "$work"
bash "$here/verify-assets.sh" "$version" "$work" "$sums"

# Provenance, a second line: the attestations phase one made for each
# archive must verify for this repository.
for asset in "$work"/amplify-deploy-*; do
  gh attestation verify "$asset" --repo "${GH_REPO:?GH_REPO names the repository}" >/dev/null ||
    die "the build provenance of ${asset##*/} does not verify: refusing to publish"
done
echo "ok: build provenance verified for every archive"

prerelease=false
[[ $version != *-* ]] || prerelease=true
gh release edit "$tag" --draft=false --prerelease="$prerelease" --tag "$tag" --verify-tag
echo "published $tag"
