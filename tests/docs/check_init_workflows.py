#!/usr/bin/env python3
"""Check the GitHub workflows (or, with --gitlab, the GitLab pipeline)
`amplify-deploy init` wrote, as YAML.

The rules of least privilege that the workflows must keep (issue 22,
docs/iam.md), each a failure with the file and job it is about:

- every workflow starts from `permissions: {}`, and every job says what it
  needs, from a short list: a build reads the repository and nothing else;
- a job holding `id-token: write` (an AWS role) runs no command and checks
  nothing out: it downloads an artifact and runs amplify-deploy;
- the role a job assumes matches its environment (production, preview) or,
  with --no-environments, no job names an environment;
- a workflow with a trusted trigger (`pull_request_target`, `workflow_run`)
  checks nothing out, and no `run:` anywhere expands `${{ }}`;
- the build uploads the site under the name the trusted run looks up, and
  the deploy jobs download what the build uploaded.

On GitLab: the build gets no ID token; a job with one runs only
amplify-deploy in its script, and the production role only on the branch
its trust policy names (AMPLIFY_PRODUCTION_BRANCH).

Usage: tests/docs/check_init_workflows.py DIR [--no-environments | --gitlab]
(DIR is the repository init wrote into). Exit 0, or 1 with the findings.
"""

import glob
import os
import sys

import yaml

PREVIEW_ARTIFACT = "amplify-preview"
# Every scope a job may hold, and the values: anything else is a finding.
ALLOWED = {
    "contents": {"read"},
    "id-token": {"write"},
    "pull-requests": {"write"},
    "actions": {"read"},
}
TRUSTED_TRIGGERS = {"pull_request_target", "workflow_run"}


def triggers(wf):
    # YAML 1.1 reads the key `on` as True.
    on = wf.get("on", wf.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {t: None for t in on}
    return on or {}


def action_step(job):
    for step in job.get("steps", []):
        if "amplify-deploy@" in step.get("uses", ""):
            return step
    return None


def environment_name(job):
    env = job.get("environment")
    if isinstance(env, dict):
        return env.get("name")
    return env


def check_job(where, job, trusted, environments, findings):
    perms = job.get("permissions")
    if not isinstance(perms, dict) or not perms:
        findings.append(f"{where}: no permissions of its own")
        perms = {}
    for scope, value in perms.items():
        if value not in ALLOWED.get(scope, set()):
            findings.append(f"{where}: permission {scope}: {value} is not needed")
    steps = job.get("steps", [])
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    runs = [s for s in steps if "run" in s]
    for s in runs:
        if "${{" in s["run"]:
            findings.append(f"{where}: a run: step expands ${{{{ }}}} (use env:)")
    for s in checkouts:
        if trusted:
            findings.append(f"{where}: checks out code in a trusted run")
        if (s.get("with") or {}).get("persist-credentials") is not False:
            findings.append(f"{where}: checkout keeps the token (persist-credentials: false)")
    env = environment_name(job)
    if not environments and env is not None:
        findings.append(f"{where}: environment {env} without environments")
    if perms.get("id-token") != "write":
        if action_step(job) is not None and "role-to-assume" in (action_step(job).get("with") or {}):
            findings.append(f"{where}: assumes a role without id-token: write")
        return
    if runs:
        findings.append(f"{where}: holds id-token: write and runs a command")
    if checkouts:
        findings.append(f"{where}: holds id-token: write and checks out code")
    for s in steps:
        uses = s.get("uses", "")
        if not (uses.startswith("actions/download-artifact@") or "amplify-deploy@" in uses):
            findings.append(f"{where}: holds id-token: write and uses {uses or s}")
    step = action_step(job)
    role = ((step or {}).get("with") or {}).get("role-to-assume", "")
    for name in ("production", "preview"):
        if role.endswith(f":role/amplify-deploy-{name}") and environments and env != name:
            findings.append(f"{where}: role amplify-deploy-{name} outside environment {name}")


def check_build(where, job, findings):
    if job.get("permissions") != {"contents": "read"}:
        findings.append(f"{where}: the build holds more than contents: read")
    uploads = [s for s in job.get("steps", []) if s.get("uses", "").startswith("actions/upload-artifact@")]
    if len(uploads) != 1 or PREVIEW_ARTIFACT not in str(uploads[0]["with"].get("name")):
        findings.append(f"{where}: does not upload the site as {PREVIEW_ARTIFACT} for pull requests")


def check_downloads(where, job, uploads, findings):
    step = action_step(job)
    path = ((step or {}).get("with") or {}).get("path")
    if path is None:
        return
    got = [
        s["with"] for s in job.get("steps", []) if s.get("uses", "").startswith("actions/download-artifact@")
    ]
    if not any(w.get("path") == path and w.get("name") in uploads for w in got):
        findings.append(f"{where}: deploys {path}, which no step downloads from the build")
    if "build" not in (job.get("needs") or []) and job.get("needs") != "build":
        findings.append(f"{where}: deploys the build's artifact without needs: build")


GITLAB_KEYWORDS = {"stages", "variables", "default", "include", "workflow", "image", "services"}


def check_gitlab(path):
    with open(path, encoding="utf-8") as f:
        ci = yaml.safe_load(f)
    findings = []
    templates = {k: v for k, v in ci.items() if k.startswith(".")}

    def resolved(job):
        base = templates.get(job.get("extends"), {}) if isinstance(job.get("extends"), str) else {}
        merged = {**base, **job}
        merged["variables"] = {**(base.get("variables") or {}), **(job.get("variables") or {})}
        return merged

    jobs = {k: resolved(v) for k, v in ci.items() if k not in GITLAB_KEYWORDS and not k.startswith(".")}
    if "AMPLIFY_PRODUCTION_BRANCH" not in (ci.get("variables") or {}):
        findings.append(".gitlab-ci.yml: no AMPLIFY_PRODUCTION_BRANCH")
    for name, job in jobs.items():
        where = f".gitlab-ci.yml: job {name}"
        role = str(job["variables"].get("AWS_ROLE_ARN", ""))
        if "id_tokens" not in job:
            if role:
                findings.append(f"{where}: a role without an ID token")
            continue
        if name == "build":
            findings.append(f"{where}: the build gets an ID token")
        for line in job.get("script", []):
            if not str(line).strip().startswith("amplify-deploy "):
                findings.append(f"{where}: holds an ID token and runs {line!r}")
        rules = str(job.get("rules"))
        production = role.endswith(":role/amplify-deploy-production")
        on_branch = "$CI_COMMIT_BRANCH == $AMPLIFY_PRODUCTION_BRANCH" in rules
        if not role.endswith((":role/amplify-deploy-production", ":role/amplify-deploy-preview")):
            findings.append(f"{where}: holds an ID token for no role init wrote ({role!r})")
        if production != on_branch:
            findings.append(f"{where}: role {role} with rules {rules}")
    return findings, len(jobs)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    environments = "--no-environments" not in sys.argv[1:]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    if "--gitlab" in sys.argv[1:]:
        findings, jobs = check_gitlab(os.path.join(args[0], ".gitlab-ci.yml"))
        for f in findings:
            print(f)
        print(f"{len(findings)} finding(s) in {jobs} job(s)")
        return 1 if findings else 0
    files = sorted(glob.glob(os.path.join(args[0], ".github", "workflows", "*.yml")))
    findings = []
    if len(files) != 2:
        findings.append(f"expected 2 workflows, found {files}")
    names = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            names[path] = yaml.safe_load(f)
    deploy_names = {wf.get("name") for wf in names.values() if "pull_request" in triggers(wf)}
    for path, wf in names.items():
        short = os.path.basename(path)
        on = triggers(wf)
        trusted = bool(TRUSTED_TRIGGERS & set(on))
        if wf.get("permissions") != {}:
            findings.append(f"{short}: top-level permissions are not {{}}")
        if "workflow_run" in on:
            watched = set((on["workflow_run"] or {}).get("workflows", []))
            if not watched or not watched <= deploy_names:
                findings.append(f"{short}: workflow_run watches {watched}, not the build's workflow")
        jobs = wf.get("jobs") or {}
        uploads = set()
        if "build" in jobs:
            check_build(f"{short}: build", jobs["build"], findings)
            for s in jobs["build"].get("steps", []):
                if s.get("uses", "").startswith("actions/upload-artifact@"):
                    name = str(s["with"].get("name"))
                    uploads |= {w for w in ("amplify-preview", "amplify-site") if w in name}
        for name, job in jobs.items():
            where = f"{short}: job {name}"
            check_job(where, job, trusted, environments, findings)
            check_downloads(where, job, uploads, findings)
    for f in findings:
        print(f)
    print(f"{len(findings)} finding(s) in {len(files)} workflow(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
