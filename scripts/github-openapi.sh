#!/usr/bin/env bash
# Fetches GitHub's published API descriptions, which the tests' fake GitHub
# checks every request against (tests/support/contract/): the REST API
# (npm @octokit/openapi) and the webhook event payloads
# (npm @octokit/openapi-webhooks). The versions are pinned here and nowhere
# else; a file already fetched at the pinned version is not fetched again.
#
# Usage: scripts/github-openapi.sh [DIR]
# DIR defaults to $GITHUB_OPENAPI_DIR, else target/github-openapi, where the
# tests look when GITHUB_OPENAPI_DIR is unset. Writes DIR/openapi.json and
# DIR/openapi-webhooks.json (each package's generated/api.github.com.json).
set -euo pipefail
cd "$(dirname "$0")/.."

# name, version, the registry's integrity (`npm view NAME@VERSION dist.integrity`).
packages=(
  "@octokit/openapi 23.0.2 sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3D7gZXbFx5AHzLUVRBXGDhg=="
  "@octokit/openapi-webhooks 12.1.0 sha512-Z5eDsLCUNbx1zHpZb1LNQirADqdMTvWJQ/deahi0ws+tWWnwHXB+Pr4jfmM9OrETS9Y5iW8ZRu1fdbudObhLrg=="
)

dir=${1:-${GITHUB_OPENAPI_DIR:-target/github-openapi}}
mkdir -p "$dir"
sha512() {
  node -e 'const h = require("crypto").createHash("sha512");
    h.update(require("fs").readFileSync(process.argv[1]));
    process.stdout.write("sha512-" + h.digest("base64"));' "$1"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for entry in "${packages[@]}"; do
  read -r name version integrity <<<"$entry"
  out="$dir/${name#@octokit/}.json"
  if [[ -f $out && -f $out.version && $(<"$out.version") == "$name@$version" ]]; then
    continue
  fi
  if ! command -v npm >/dev/null; then
    echo "error: npm (Debian: apt-get install nodejs npm) fetches $name@$version: it is not on PATH" >&2
    exit 1
  fi
  echo "fetching $name@$version into $out" >&2
  rm -rf "${tmp:?}"/*
  tarball=$(cd "$tmp" && npm pack --silent "$name@$version")
  actual=$(sha512 "$tmp/$tarball")
  if [[ $actual != "$integrity" ]]; then
    echo "error: $name@$version from npm has integrity $actual, not the pinned $integrity" >&2
    exit 1
  fi
  # The package is 28 MB packed (every GitHub edition); keep only api.github.com.
  tar -xzf "$tmp/$tarball" -C "$tmp" package/generated/api.github.com.json
  mv "$tmp/package/generated/api.github.com.json" "$out"
  echo "$name@$version" >"$out.version"
done
