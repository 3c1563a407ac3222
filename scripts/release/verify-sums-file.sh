#!/usr/bin/env bash
# Check the form of a checksums file, as install.sh reads it: every line
# `<lowercase hex SHA-256>  <name>`, each name once, and every archive of
# VERSION followed by the line of the binary inside it.
# Usage: verify-sums-file.sh VERSION FILE
set -euo pipefail
# shellcheck source=scripts/release/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# == 2 ]] || die "usage: verify-sums-file.sh VERSION FILE"
version=$(release_version "$1")
file=$2
declare -A seen=()
archives=()
n=0
while IFS= read -r line || [[ -n $line ]]; do
  n=$((n + 1))
  [[ $line =~ ^([0-9a-f]{64})\ \ (.+)$ ]] || die "$file line $n is not '<sha256>  <name>'"
  name=${BASH_REMATCH[2]}
  [[ -z ${seen[$name]:-} ]] || die "$file lists $name twice"
  seen[$name]=1
  case $name in
    "amplify-deploy-v$version-"*.tar.gz | "amplify-deploy-v$version-"*.zip) archives+=("$name") ;;
    "amplify-deploy-v$version-"*/amplify-deploy | "amplify-deploy-v$version-"*/amplify-deploy.exe) ;;
    *) die "$file line $n names $name, not an archive of $version or the binary inside one" ;;
  esac
done <"$file"
((${#archives[@]})) || die "$file lists no archive of $version"
for archive in "${archives[@]}"; do
  case $archive in
    *.tar.gz) binary=${archive%.tar.gz}/amplify-deploy ;;
    *.zip) binary=${archive%.zip}/amplify-deploy.exe ;;
  esac
  [[ -n ${seen[$binary]:-} ]] || die "$file lists $archive but not the binary inside it, $binary"
done
echo "ok: $file lists ${#archives[@]} archive(s) of $version, each with its binary's hash"
