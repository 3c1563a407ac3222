# shellcheck shell=bash
# Shared by the release scripts: sourced, not run.

die() {
  echo "error: $*" >&2
  exit 1
}

# A release number as tags and checksum files spell it, without the `v`.
release_re='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'

# VERSION (1.2.3 or v1.2.3) -> 1.2.3, or die.
release_version() {
  local v=${1#v}
  [[ $v =~ $release_re ]] || die "'$1' is not a release number like 1.2.3"
  printf '%s' "$v"
}

# The [package] version of a Cargo.toml.
cargo_version() {
  awk '
    /^\[/ { in_package = ($0 == "[package]") }
    in_package && /^version[ \t]*=/ { gsub(/.*=[ \t]*"|".*/, ""); print; exit }
  ' "$1"
}

# The `## [VERSION]...` heading of a Keep-a-Changelog file, or nothing.
changelog_heading() { # FILE VERSION
  awk -v v="$2" 'index($0, "## [" v "]") == 1 { print; exit }' "$1"
}

# The lines of VERSION's section, heading excluded, up to the next `## `.
changelog_section() { # FILE VERSION
  awk -v v="$2" '
    index($0, "## [" v "]") == 1 { on = 1; next }
    on && /^## / { exit }
    on { print }
  ' "$1"
}
