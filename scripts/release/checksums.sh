#!/usr/bin/env bash
# Print a release's checksums file (checksums/vX.Y.Z.sha256, the SHA256SUMS
# asset): for every archive of the version in DIR, two lines in `sha256sum`
# format, the archive's hash and the hash of the amplify-deploy binary inside
# it, named by its path in the archive:
#   <sha256>  amplify-deploy-v1.2.3-x86_64-unknown-linux-musl.tar.gz
#   <sha256>  amplify-deploy-v1.2.3-x86_64-unknown-linux-musl/amplify-deploy
# `sha256sum -c` checks both in a directory where the archives have been
# unpacked; install.sh checks a download against the first and a binary in
# the tool cache against the second.
# Usage: scripts/release/checksums.sh DIR VERSION >SHA256SUMS
set -euo pipefail
export LC_ALL=C

die() {
  echo "checksums.sh: $*" >&2
  exit 1
}
[[ $# == 2 ]] || die "usage: checksums.sh DIR VERSION"
dir=$1 version=${2#v}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "'$2' is not a version like 1.2.3"
cd "$dir"

shopt -s nullglob
archives=("amplify-deploy-v$version-"*.tar.gz "amplify-deploy-v$version-"*.zip)
((${#archives[@]})) || die "no amplify-deploy-v$version-*.tar.gz or .zip in $dir"

sha256() { sha256sum -- "$1" | awk '{print $1}'; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for asset in "${archives[@]}"; do
  case $asset in
    *.tar.gz) top=${asset%.tar.gz} binary=amplify-deploy ;;
    *.zip) top=${asset%.zip} binary=amplify-deploy.exe ;;
  esac
  mkdir "$work/$asset"
  case $asset in
    *.tar.gz) tar -xzf "$asset" -C "$work/$asset" ;;
    *.zip) unzip -q "$asset" -d "$work/$asset" ;;
  esac
  [[ -f $work/$asset/$top/$binary ]] || die "$asset holds no $top/$binary"
  printf '%s  %s\n' "$(sha256 "$asset")" "$asset"
  printf '%s  %s\n' "$(sha256 "$work/$asset/$top/$binary")" "$top/$binary"
done
