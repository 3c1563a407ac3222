# shellcheck shell=bash disable=SC2154  # root, tmp, target, port: run.sh's
# Sourced by run.sh: the two-phase release (docs/releasing.md), with its
# scripts under scripts/release/ run against a fixture repository and a fake
# `gh`, and the action installed from the commits the release produces:
#   phase one: check.sh prepare, checksums.sh, prepare-pr.sh (the PR's files);
#   phase two: check.sh publish, publish.sh (verifies the draft's assets,
#              refuses a mismatch), move-major-tag.sh;
#   install:   at the tagged commit (prebuilt, no cargo), at the moved major
#              tag (prebuilt), at the release branch's commit without
#              checksums (source build with a notice; an explicit version is
#              refused).

release_version=1.4.0
repo=$tmp/repo
mkdir -p "$repo/scripts" "$tmp/fake-gh"
cp -r "$root/action.yml" "$root/checksums" "$repo/"
cp -r "$root/scripts/install.sh" "$root/scripts/release" "$repo/scripts/"
rm -f "$repo"/checksums/v*.sha256
cat >"$repo/Cargo.toml" <<EOF
[package]
name = "amplify-deploy"
version = "$release_version"
EOF
cat >"$repo/CHANGELOG.md" <<EOF
# Changelog

## [Unreleased]

## [$release_version]

### Fixed
- A cached binary is checked against the committed hash.

## [1.3.0] - 2026-01-10

### Added
- Something older.
EOF
git_in() { git -C "$repo" -c user.name=test -c user.email=test@example.invalid "$@"; }
git_in init --quiet --initial-branch=main
git_in add -A
git_in commit --quiet -m "1.3.0 and the changes of $release_version"
git_in tag v1.3.0
git_in tag v1
git init --quiet --bare "$tmp/remote.git"
git_in push --quiet "$tmp/remote.git" main v1.3.0 v1

in_repo() { (cd "$repo" && "$@"); }
fails_with() { # MESSAGE COMMAND...: the command fails and says MESSAGE
  local message=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "    succeeded: $*"
    return 1
  fi
  grep -qF -- "$message" <<<"$out" || { printf '    output lacks %s:\n%s\n' "$message" "$out"; return 1; }
}
release=$repo/scripts/release

# --- phase one: checks, build, checksums, the PR's files ----------------------
check "release prepare: a ready repository passes" in_repo bash "$release/check.sh" prepare "$release_version"
check "release prepare: a version not in Cargo.toml is refused" \
  fails_with "Cargo.toml has version '$release_version', not 1.5.0" in_repo bash "$release/check.sh" prepare 1.5.0
sed "s/^## \[$release_version\]$/## [$release_version] - 2026-11-29/" "$repo/CHANGELOG.md" >"$tmp/CHANGELOG-dated.md"
check "release prepare: an already dated section is refused" \
  fails_with "leave it undated" in_repo env CHANGELOG="$tmp/CHANGELOG-dated.md" bash "$release/check.sh" prepare "$release_version"
grep -v '^- A cached binary' "$repo/CHANGELOG.md" >"$tmp/CHANGELOG-empty.md"
check "release prepare: a section without entries is refused" \
  fails_with "lists no change" in_repo env CHANGELOG="$tmp/CHANGELOG-empty.md" bash "$release/check.sh" prepare "$release_version"
check "release publish: refused before the release PR is merged" \
  fails_with "merge the release PR first" in_repo bash "$release/check.sh" publish "$release_version"

# The build job's archive, and the draft release's assets.
make_release "$release_version" "genuine release binary" >/dev/null
draft=$tmp/draft
mkdir -p "$draft"
cp "$tmp/release/v$release_version/"*.tar.gz "$draft/"
bash "$release/checksums.sh" "$draft" "$release_version" >"$tmp/SHA256SUMS"
cp "$tmp/SHA256SUMS" "$draft/SHA256SUMS"
check "release: SHA256SUMS has the archive and the binary line" equals "$(awk '{print $2}' "$tmp/SHA256SUMS" | tr '\n' ' ')" \
  "amplify-deploy-v$release_version-$target.tar.gz amplify-deploy-v$release_version-$target/amplify-deploy "
# The draft's SHA256SUMS passes `sha256sum -c` where the archives are unpacked.
check "release: SHA256SUMS passes sha256sum -c" bash -c \
  "cd '$draft' && tar -xzf amplify-deploy-v$release_version-$target.tar.gz && sha256sum --quiet -c SHA256SUMS && rm -rf amplify-deploy-v$release_version-$target"

# The release branch's commit, without checksums: what phase one builds.
branch_commit=$(git_in rev-parse HEAD)
in_repo bash "$release/prepare-pr.sh" "$release_version" "$tmp/SHA256SUMS" 2026-11-29 >/dev/null
check "release PR: dates the changelog section" grep -qxF "## [$release_version] - 2026-11-29" "$repo/CHANGELOG.md"
check "release PR: commits the checksums" cmp -s "$tmp/SHA256SUMS" "$repo/checksums/v$release_version.sha256"
git_in add -A
git_in commit --quiet -m "Release $release_version: checksums and date"
git_in tag "v$release_version"
git_in push --quiet "$tmp/remote.git" main "v$release_version"
check "release publish: the tagged commit passes" in_repo bash "$release/check.sh" publish "$release_version"
check "release prepare: a released version is not prepared again" \
  fails_with "tag v$release_version exists already" in_repo bash "$release/check.sh" prepare "$release_version"

# --- phase two: publish the draft only if it matches --------------------------
cat >"$tmp/fake-gh/gh" <<'EOF'
#!/usr/bin/env bash
# gh as the release scripts and install.sh call it; records each call.
echo "$*" >>"$FAKE_GH_LOG"
case "$1 $2" in
  "release view") if [[ $* == *targetCommitish* ]]; then echo "$FAKE_GH_BUILT"; else echo true; fi ;;
  "release download") cp "$FAKE_GH_ASSETS"/* "${@: -1}/" ;; # release download TAG --dir DIR
  "attestation verify") [[ ${FAKE_GH_ATTESTATION:-ok} == ok ]] || { echo "fake gh: no attestation" >&2; exit 1; } ;;
  "release edit") ;;
  *) echo "fake gh: unexpected call: $*" >&2; exit 2 ;;
esac
EOF
chmod +x "$tmp/fake-gh/gh"
publish() { # ASSETS_DIR LOG [ATTESTATION: ok|bad]
  in_repo env PATH="$tmp/fake-gh:$PATH" FAKE_GH_ASSETS="$1" FAKE_GH_LOG="$2" FAKE_GH_ATTESTATION="${3:-ok}" \
    FAKE_GH_BUILT="$branch_commit" \
    GH_REPO=owner/amplify-deploy bash "$release/publish.sh" "$release_version"
}
check "publish: matching draft assets are published" publish "$draft" "$tmp/gh-good.log"
check "publish: by editing the draft, not rebuilding" grep -qx "release edit v$release_version --draft=false --prerelease=false --tag v$release_version --verify-tag" "$tmp/gh-good.log"
check "publish: provenance verified for the archive" grep -q "^attestation verify .*amplify-deploy-v$release_version-$target.tar.gz --repo owner/amplify-deploy" "$tmp/gh-good.log"

# A draft asset replaced after phase one.
cp -r "$draft" "$tmp/draft-tampered"
tar -xzf "$draft/amplify-deploy-v$release_version-$target.tar.gz" -C "$tmp/draft-tampered"
echo 'echo replaced' >>"$tmp/draft-tampered/amplify-deploy-v$release_version-$target/amplify-deploy"
tar -czf "$tmp/draft-tampered/amplify-deploy-v$release_version-$target.tar.gz" -C "$tmp/draft-tampered" "amplify-deploy-v$release_version-$target"
rm -rf "$tmp/draft-tampered/amplify-deploy-v$release_version-$target"
check "publish: a replaced draft asset is refused, naming it" fails_with \
  "amplify-deploy-v$release_version-$target.tar.gz: committed SHA-256" publish "$tmp/draft-tampered" "$tmp/gh-tampered.log"
check "publish: ... and the binary inside it" fails_with \
  "amplify-deploy-v$release_version-$target/amplify-deploy: committed SHA-256" publish "$tmp/draft-tampered" "$tmp/gh-tampered2.log"
check "publish: a refused draft is not published" bash -c "! grep -q '^release edit' '$tmp/gh-tampered.log'"
cp -r "$draft" "$tmp/draft-extra"
echo 'not ours' >"$tmp/draft-extra/install.sh"
check "publish: an extra draft asset is refused" fails_with "asset install.sh is not a release archive" \
  publish "$tmp/draft-extra" "$tmp/gh-extra.log"
mkdir -p "$tmp/draft-missing"
cp "$draft/SHA256SUMS" "$tmp/draft-missing/"
check "publish: a missing draft asset is refused" fails_with \
  "amplify-deploy-v$release_version-$target.tar.gz: committed, but not in the assets" publish "$tmp/draft-missing" "$tmp/gh-missing.log"
check "publish: failed provenance is refused" fails_with "build provenance of amplify-deploy-v$release_version-$target.tar.gz does not verify" \
  publish "$draft" "$tmp/gh-attest.log" bad
check "publish: failed provenance is not published" bash -c "! grep -q '^release edit' '$tmp/gh-attest.log'"

# A tag on a commit with more than the release PR's changes.
git_in switch --quiet -c other-source "v$release_version"
echo '// changed after the build' >>"$repo/Cargo.toml"
git_in commit --quiet -am "a change after the build"
check "publish: a tagged source that differs from the built one is refused" fails_with \
  "the tagged commit's source differs from the commit the draft was built from ($branch_commit): Cargo.toml" \
  publish "$draft" "$tmp/gh-source.log"
check "publish: ... and not published" bash -c "! grep -q '^release edit' '$tmp/gh-source.log'"
git_in switch --quiet main
git_in branch --quiet -D other-source

# The major tag follows the newest release, and only that.
in_repo bash "$release/move-major-tag.sh" "$release_version" "$tmp/remote.git" >/dev/null
check "major tag: v1 moved to the release's commit" equals "$(git -C "$tmp/remote.git" rev-parse v1)" "$(git_in rev-parse "v$release_version^{commit}")"
check "major tag: not moved back to an older release" bash -c \
  "cd '$repo' && bash '$release/move-major-tag.sh' 1.3.0 '$tmp/remote.git' | grep -q 'v$release_version is newer than v1.3.0' && test \"\$(git -C '$tmp/remote.git' rev-parse v1)\" = '$(git_in rev-parse "v$release_version^{commit}")'"

# --- install: the commits users pin ----------------------------------------------
# The action as GitHub runs it at a ref: that commit's tree, its own checksums.
export_at() { # REF DIR
  mkdir -p "$2"
  git -C "$tmp/remote.git" archive "$1" | tar -x -C "$2"
}
export_at "v$release_version" "$tmp/at-tag"
export_at v1 "$tmp/at-major"
export_at "$branch_commit" "$tmp/at-branch"
installed_at() { # NAME DIR REF [run_action.py args...]
  local name=$1 dir=$2 ref=$3
  shift 3
  local -x AMPLIFY_DEPLOY_CHECKSUMS_DIR="" RUNNER_TOOL_CACHE="$tmp/toolcache-$name"
  local -x PATH="$tmp/fake-cargo:$PATH"
  action_dir=$dir run_case "$name" --github "action_ref=$ref" --github action_repository=owner/amplify-deploy "$@" "${inputs[@]}"
}
rm -f "$tmp/cargo-calls"
installed_at attag "$tmp/at-tag" "v$release_version"
check "install @v$release_version: action succeeds" equals "$(field attag exit)" 0
check "install @v$release_version: prebuilt binary verified against the tagged commit's checksums" log_has attag \
  "Verified amplify-deploy-v$release_version-$target.tar.gz and the binary inside it against checksums/v$release_version.sha256"
check "install @v$release_version: the release binary ran" log_has attag "genuine release binary"
installed_at atmajor "$tmp/at-major" v1
check "install @v1 (moved): prebuilt binary of $release_version" log_has atmajor "amplify-deploy $release_version at"
check "install @v1 (moved): the release binary ran" log_has atmajor "genuine release binary"
check "install at tagged commits: cargo never ran" test ! -e "$tmp/cargo-calls"

installed_at atbranch "$tmp/at-branch" "$branch_commit"
check "install at a commit without checksums: builds its own source, with a notice" log_has atbranch \
  "::notice title=amplify-deploy::Building amplify-deploy from the action's source: no checksum for amplify-deploy-v$release_version-$target.tar.gz"
check "install at a commit without checksums: that is a cargo build" grep -q '^build --release --locked' "$tmp/cargo-calls"
rm -f "$tmp/cargo-calls"
installed_at atbranchpinned "$tmp/at-branch" "$branch_commit" --input "version=$release_version"
check "install at a commit without checksums, version pinned: refused" log_has atbranchpinned \
  "::error title=amplify-deploy install::version $release_version cannot be verified"
check "install at a commit without checksums, version pinned: no cargo" test ! -e "$tmp/cargo-calls"

# --- install: build provenance through gh, where it is available ---------------
attested() { # NAME ATTESTATION(ok|bad)
  local -x PATH="$tmp/fake-gh:$PATH" FAKE_GH_LOG="$tmp/gh-$1.log" FAKE_GH_ATTESTATION=$2
  installed_at "$1" "$tmp/at-tag" "v$release_version" --github token=fake-token
}
attested attestok ok
check "install with gh: provenance verified for the action's repository" grep -q \
  "^attestation verify .*/amplify-deploy-v$release_version-$target.tar.gz --repo owner/amplify-deploy$" "$tmp/gh-attestok.log"
check "install with gh: says which checks passed" log_has attestok \
  "Checks passed: archive SHA-256, binary SHA-256, build provenance (gh attestation verify --repo owner/amplify-deploy); build provenance: verified"
attested attestbad bad
check "install with gh, provenance fails: warns" log_has attestbad \
  "::warning title=amplify-deploy install::The build provenance of amplify-deploy-v$release_version-$target.tar.gz did not verify for owner/amplify-deploy"
check "install with gh, provenance fails: says the hashes passed" log_has attestbad \
  "Checks passed: archive SHA-256, binary SHA-256; build provenance: FAILED"
# (Here gh is not installed; on a GitHub runner it is, but has no token.)
check "install without gh or token: says provenance was not checked" log_has attag \
  "Checks passed: archive SHA-256, binary SHA-256; build provenance: not checked ("
