#!/usr/bin/env python3
"""Run a composite action's steps the way the GitHub runner does on Linux.

Only what action.yml needs is supported, and anything else is an error
rather than a silent difference from the runner:
  * steps with `run:` and `shell: bash` (no `uses:`, no `if:`);
  * `${{ inputs.X }}`, `${{ github.action_path }}`, `${{ github.action_ref }}`,
    `${{ github.action_repository }}`, `${{ github.token }}` and
    `${{ steps.S.outputs.X }}` in input defaults, `env:` and output values;
  * no expression at all inside `run:` (inputs go through `env:`).

Each step gets its own $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY file, like the
runner; outputs are parsed (`k=v` and `k<<DELIM` forms) into
`steps.<id>.outputs`, summaries are concatenated.

Usage: run_action.py ACTION_DIR RESULT_JSON [--input name=value]... [--github key=value]...
Prints the steps' output; writes {"exit": N, "outputs": {...}, "summary": "..."}.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Unsupported(Exception):
    pass


def evaluate(text, ctx):
    """Substitute every ${{ expr }} in text; only the known forms are allowed."""

    def one(m):
        expr = m.group(1)
        parts = expr.split(".")
        if len(parts) == 2 and parts[0] == "inputs":
            if parts[1] not in ctx["inputs"]:
                raise Unsupported(f"undeclared input in ${{{{ {expr} }}}}")
            return ctx["inputs"][parts[1]]
        if len(parts) == 2 and parts[0] == "github":
            if parts[1] not in ("action_path", "action_ref", "action_repository", "token"):
                raise Unsupported(f"github context {parts[1]!r} is not emulated")
            return ctx["github"].get(parts[1], "")
        if len(parts) == 4 and parts[0] == "steps" and parts[2] == "outputs":
            return ctx["steps"].get(parts[1], {}).get(parts[3], "")
        raise Unsupported(f"expression not emulated: ${{{{ {expr} }}}}")

    return EXPR.sub(one, str(text))


def parse_output_file(path):
    """$GITHUB_OUTPUT as the runner reads it."""
    outputs = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        heredoc = line.find("<<")
        equals = line.find("=")
        if heredoc > 0 and (equals < 0 or heredoc < equals):
            key, delim = line[:heredoc], line[heredoc + 2 :]
            value = []
            while True:
                if i >= len(lines):
                    raise ValueError(f"GITHUB_OUTPUT: no closing {delim!r} for {key!r}")
                if lines[i] == delim:
                    i += 1
                    break
                value.append(lines[i])
                i += 1
            outputs[key] = "\n".join(value)
        elif equals > 0:
            outputs[line[:equals]] = line[equals + 1 :]
        else:
            raise ValueError(f"GITHUB_OUTPUT: malformed line {line!r}")
    return outputs


def main(argv):
    action_dir, result_path = argv[1], argv[2]
    given, github = {}, {}
    rest = argv[3:]
    while rest:
        flag, pair = rest[0], rest[1]
        rest = rest[2:]
        key, _, value = pair.partition("=")
        {"--input": given, "--github": github}[flag][key] = value
    github["action_path"] = action_dir

    with open(os.path.join(action_dir, "action.yml"), encoding="utf-8") as f:
        action = yaml.safe_load(f)
    if action["runs"]["using"] != "composite":
        raise Unsupported("only composite actions are emulated")

    ctx = {"inputs": {}, "github": github, "steps": {}}
    for name, spec in (action.get("inputs") or {}).items():
        spec = spec or {}
        if name in given:
            ctx["inputs"][name] = given.pop(name)
        else:
            ctx["inputs"][name] = evaluate(spec.get("default", ""), ctx)
    if given:
        raise Unsupported(f"inputs not declared by the action: {sorted(given)}")

    work = tempfile.mkdtemp(prefix="action-run-")
    runner_temp = os.path.join(work, "runner-temp")
    os.makedirs(runner_temp)
    summary = []
    code = 0
    for n, step in enumerate(action["runs"]["steps"]):
        unknown = set(step) - {"name", "id", "shell", "env", "run"}
        if unknown:
            raise Unsupported(f"step {n}: keys not emulated: {sorted(unknown)}")
        if step.get("shell") != "bash":
            raise Unsupported(f"step {n}: shell must be bash")
        if EXPR.search(step["run"]):
            raise Unsupported(f"step {n}: expression inside run: (pass it through env:)")
        out_file = os.path.join(work, f"output-{n}")
        sum_file = os.path.join(work, f"summary-{n}")
        script = os.path.join(work, f"step-{n}.sh")
        for p in (out_file, sum_file):
            open(p, "w").close()
        with open(script, "w", encoding="utf-8") as f:
            f.write(step["run"])
        env = dict(os.environ)
        env.update(
            GITHUB_ACTIONS="true",
            GITHUB_ACTION_PATH=action_dir,
            GITHUB_OUTPUT=out_file,
            GITHUB_STEP_SUMMARY=sum_file,
            RUNNER_OS="Linux",
            RUNNER_ARCH="X64",
            RUNNER_TEMP=runner_temp,
        )
        env.setdefault("RUNNER_TOOL_CACHE", os.path.join(work, "toolcache"))
        for key, value in (step.get("env") or {}).items():
            env[key] = evaluate(value, ctx)
        print(f"##[step] {step.get('name', n)}", flush=True)
        code = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], env=env)
        with open(sum_file, encoding="utf-8") as f:
            summary.append(f.read())
        if "id" in step:
            ctx["steps"][step["id"]] = parse_output_file(out_file)
        if code != 0:
            print(f"##[error] step {step.get('name', n)} exited with {code}", flush=True)
            break

    outputs = {}
    for name, spec in (action.get("outputs") or {}).items():
        outputs[name] = evaluate(spec.get("value", ""), ctx)
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump({"exit": code, "outputs": outputs, "summary": "".join(summary)}, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (Unsupported, ValueError, KeyError) as e:
        print(f"run_action.py: {e}", file=sys.stderr)
        sys.exit(99)
