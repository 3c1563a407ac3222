#!/usr/bin/env python3
"""Keep the README's Inputs and Outputs tables in step with action.yml and
the binary's own --help.

Usage: check_readme.py README.md action.yml BINARY

Checks, each a failure naming the row:
- every action input is a row of the Inputs table, and every input named in
  the table is in action.yml;
- every flag in the table is a flag of `BINARY deploy --help`, and every
  variable named for a flag is the one the binary documents for it;
- action.yml passes each input to the binary as the table's variable;
- every action output is a row of the Outputs table and the reverse.
"""
import re
import subprocess
import sys

import yaml


def table(readme, heading):
    """Rows (lists of cell strings) of the first table under `## heading`."""
    lines = readme.split("\n")
    start = lines.index(f"## {heading}")
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if set("".join(cells)) <= set("-: "):
                continue
            rows.append(cells)
        elif rows:
            break
    return rows[1:]  # without the header


def code(cell):
    """The first `code` span of a cell, or None."""
    m = re.search(r"`([^`]+)`", cell)
    return m.group(1) if m else None


def main():
    readme_path, action_path, binary = sys.argv[1:4]
    readme = open(readme_path, encoding="utf-8").read()
    action = yaml.safe_load(open(action_path, encoding="utf-8"))
    errors = []

    help_text = subprocess.run(
        [binary, "deploy", "--help"], capture_output=True, text=True, check=True
    ).stdout
    # clap prints "--flag <X>" then, in the same entry, "[env: VAR=]".
    help_flags = {}
    for entry in re.split(r"\n(?=\s*(?:-\w, )?--)", help_text):
        m = re.match(r"\s*(?:-\w, )?(--[a-z0-9-]+)", entry)
        if m:
            env = re.search(r"\[env: ([A-Z0-9_]+)=?", entry)
            help_flags[m.group(1)] = env.group(1) if env else None

    deploy_env = {}
    for step in action["runs"]["steps"]:
        for var, value in (step.get("env") or {}).items():
            m = re.fullmatch(r"\$\{\{ inputs\.([a-z0-9-]+) \}\}", str(value))
            if m:
                deploy_env[m.group(1)] = var

    inputs = set(action["inputs"])
    seen = set()
    for row in table(readme, "Inputs"):
        name, flags, var = code(row[0]), row[1], code(row[2])
        if name:
            seen.add(name)
            if name not in inputs:
                errors.append(f"README input {name!r} is not an input of action.yml")
            elif deploy_env.get(name) != var:
                errors.append(
                    f"README says input {name!r} is {var}, action.yml passes it as {deploy_env.get(name)}"
                )
        for flag in re.findall(r"`(--[a-z0-9-]+)", flags):
            if flag not in help_flags:
                errors.append(f"README flag {flag} is not in `deploy --help`")
            elif help_flags[flag] and flag != "--no-wait" and help_flags[flag] != var:
                errors.append(
                    f"README says {flag} reads {var}, --help says {help_flags[flag]}"
                )
    for name in sorted(inputs - seen):
        errors.append(f"action.yml input {name!r} is missing from the README's Inputs table")

    outputs = set(action["outputs"])
    rows = {code(r[0]) for r in table(readme, "Outputs")}
    for name in sorted(outputs - rows):
        errors.append(f"action.yml output {name!r} is missing from the README's Outputs table")
    for name in sorted(rows - outputs):
        errors.append(f"README output {name!r} is not an output of action.yml")

    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"README tables match action.yml ({len(inputs)} inputs, {len(outputs)} outputs) and --help ({len(help_flags)} flags)")


if __name__ == "__main__":
    main()
