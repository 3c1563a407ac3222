//! The CI files `init` writes: a GitHub workflow, or a GitLab pipeline.
//! Values that come from the user are quoted for YAML.

use super::{
    role_files, Params, GITHUB_PREVIEW_WORKFLOW, PREVIEW_ARTIFACT, PREVIEW_LABEL, SITE_ARTIFACT,
};
use crate::policy::Role;

/// The prefix previews get when none is given.
pub const DEFAULT_PREFIX: &str = "pr-";

/// A YAML single-quoted scalar (the caller keeps control characters out).
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `template` with each `{key}` replaced by its value, in one pass (a value
/// is never read as a key).
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let hit = values
            .iter()
            .find(|(key, _)| rest[1..].starts_with(key) && rest[1 + key.len()..].starts_with('}'));
        match hit {
            Some((key, value)) => {
                out.push_str(value);
                rest = &rest[key.len() + 2..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The values every GitHub template takes.
fn github_values(p: &Params) -> Vec<(&'static str, String)> {
    // The action's default prefix needs no input; another one is passed
    // to every step that deploys, removes or prunes previews.
    let prefix = match p.preview_prefix.as_str() {
        DEFAULT_PREFIX => String::new(),
        other => format!("\n          preview-prefix: {}", quoted(other)),
    };
    vec![
        ("branch", quoted(&p.branch)),
        ("uses", p.action.uses()),
        ("app", p.app.app_id.clone()),
        ("region", p.app.region.clone()),
        ("path", quoted(&p.path)),
        ("production_role", p.role_arn(Role::Production)),
        ("preview_role", p.role_arn(Role::Preview)),
        ("prefix", prefix),
        ("label", PREVIEW_LABEL.to_owned()),
        ("preview_artifact", PREVIEW_ARTIFACT.to_owned()),
        ("site_artifact", SITE_ARTIFACT.to_owned()),
        ("env_production", environment(p, "production", true)),
        ("env_preview_url", environment(p, "preview", true)),
        ("env_preview", environment(p, "preview", false)),
    ]
}

/// `, environment NAME` for the header, when there are environments.
fn in_environment(p: &Params, name: &str) -> String {
    match p.environments {
        true => format!(", environment {name}"),
        false => String::new(),
    }
}

/// A job's `environment:` lines (with the deploy's URL when `url`), or
/// none without environments: a job in an environment gets the subject
/// `environment:NAME`, which the `--no-environments` roles do not trust.
fn environment(p: &Params, name: &str, url: bool) -> String {
    match (p.environments, url) {
        (false, _) => String::new(),
        (true, true) => format!(
            "    environment:\n      name: {name}\n      url: ${{{{ steps.deploy.outputs.url }}}}\n"
        ),
        (true, false) => format!("    environment: {name}\n"),
    }
}

/// Build without AWS rights, then deploy: a push to the production branch
/// to production, a pull request of this repository to its preview; a
/// nightly job prunes previews.
pub fn github(p: &Params) -> String {
    let header = format!(
        "# Written by `amplify-deploy init` for Amplify app {app} ({region}).\n\
         # The build job runs your build with no AWS rights and uploads the site;\n\
         # the deploy jobs download it and run nothing but amplify-deploy:\n\
         # - a push to {branch} deploys to production\n\
         #   (role {production}{in_production});\n\
         # - a pull request of this repository deploys its preview, Amplify branch\n\
         #   {prefix}NUMBER (role {preview}{in_preview});\n\
         # - a pull request from a fork is built here and deployed by\n\
         #   {GITHUB_PREVIEW_WORKFLOW}, which also removes previews on close;\n\
         # - a nightly job prunes the previews of closed pull requests.\n",
        app = p.app.app_id,
        region = p.app.region,
        branch = p.branch,
        production = role_files(Role::Production).name,
        preview = role_files(Role::Preview).name,
        prefix = p.preview_prefix,
        in_production = in_environment(p, "production"),
        in_preview = in_environment(p, "preview"),
    );
    header + &fill(GITHUB, &github_values(p))
}

const GITHUB: &str = r#"name: Amplify deploy
on:
  push:
    branches: [{branch}]
  pull_request:
    types: [opened, synchronize, reopened]
  schedule:
    - cron: '17 3 * * *' # nightly: prune previews of closed pull requests
permissions: {}
concurrency:
  group: amplify-deploy-${{ github.event.pull_request.number || github.ref }}
  cancel-in-progress: false
jobs:
  build:
    if: github.event_name != 'schedule'
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - name: Build
        run: npm ci && npm run build # your build, writing the site to the path below
      - name: Upload the site
        uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
        with:
          # {preview_artifact}: the name the trusted run of a fork's pull request looks up.
          name: ${{ github.event_name == 'pull_request' && '{preview_artifact}' || '{site_artifact}' }}
          path: {path}
          include-hidden-files: true # deploy the folder as it is (.well-known/ too)
          if-no-files-found: error
          retention-days: 14
  production:
    needs: build
    if: github.event_name == 'push'
    runs-on: ubuntu-latest
{env_production}    permissions:
      id-token: write # role-to-assume
    steps:
      - uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0
        with:
          name: {site_artifact}
          path: site
      - id: deploy
        uses: {uses}
        with:
          app-id: {app}
          region: {region}
          role-to-assume: {production_role}
          branch: {branch}
          path: site
  preview:
    needs: build
    # A fork's pull request gets no OIDC token here: the trusted run deploys it.
    if: github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository
    runs-on: ubuntu-latest
{env_preview_url}    permissions:
      id-token: write # role-to-assume
      pull-requests: write # the preview's comment
    steps:
      - uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0
        with:
          name: {preview_artifact}
          path: site
      - id: deploy
        uses: {uses}
        with:
          app-id: {app}
          region: {region}
          role-to-assume: {preview_role}
          path: site
          preview: true{prefix}
  prune-previews:
    if: github.event_name == 'schedule'
    runs-on: ubuntu-latest
{env_preview}    permissions:
      id-token: write # role-to-assume
      pull-requests: write # read each pull request, update its comment
    steps:
      - name: Prune previews of closed pull requests, and expired ones
        uses: {uses}
        with:
          app-id: {app}
          region: {region}
          role-to-assume: {preview_role}
          command: previews-prune{prefix}
"#;

/// The trusted runs: deploy the preview of a fork's pull request from the
/// artifact its build uploaded, once approved; take the approval back on
/// a new push; remove any pull request's preview on close.
pub fn github_trusted(p: &Params) -> String {
    let header = format!(
        "# Written by `amplify-deploy init` for Amplify app {app} ({region}).\n\
         # Previews of pull requests from forks (docs/previews.md#forks). A fork's build\n\
         # runs in amplify-deploy.yml with no secrets and no OIDC token and uploads the\n\
         # site as artifact {PREVIEW_ARTIFACT}; the runs here hold the preview role\n\
         # ({preview}) and deploy that artifact to Amplify branch {prefix}NUMBER\n\
         # once the pull request is approved: label {PREVIEW_LABEL}, or an author who is\n\
         # an owner, member or collaborator (fork-previews: approved).\n",
        app = p.app.app_id,
        region = p.app.region,
        preview = role_files(Role::Preview).name,
        prefix = p.preview_prefix,
    );
    header + &fill(GITHUB_TRUSTED, &github_values(p))
}

const GITHUB_TRUSTED: &str = r#"name: Amplify preview
# workflow_run and pull_request_target run this file as it is on the default
# branch, with the base repository's token: that is the point, a fork's run
# has neither. They are safe here because no job checks out or runs the pull
# request's code (amplify-deploy checks the artifact as untrusted input, as
# files to serve, never to run), and no pull request text (title, branch,
# label, body) reaches a shell: the one `run:` step takes only the
# repository's name and the pull request's number, through the environment.
on:
  workflow_run: # zizmor: ignore[dangerous-triggers] deploys a fork's built files, never runs them
    workflows: [Amplify deploy]
    types: [completed]
  pull_request_target: # zizmor: ignore[dangerous-triggers] no checkout, no pull request text in a shell
    types: [labeled, synchronize, closed]
permissions: {}
jobs:
  fork-preview:
    # A fork's pull request was built: deploy its artifact, if approved.
    if: >-
      github.event_name == 'workflow_run' &&
      github.event.workflow_run.conclusion == 'success' &&
      github.event.workflow_run.event == 'pull_request' &&
      github.event.workflow_run.head_repository.full_name != github.repository
    runs-on: ubuntu-latest
{env_preview_url}    permissions:
      actions: read # the build run's artifact
      id-token: write # role-to-assume
      pull-requests: write # find the pull request, comment on it
    steps:
      - id: deploy
        uses: {uses}
        with:
          app-id: {app}
          region: {region}
          role-to-assume: {preview_role}
          preview: true # no path: the artifact of the build run
          fork-previews: approved
          preview-label: {label}
          preview-artifact: {preview_artifact}{prefix}
  approved-preview:
    # The approval label was added later: deploy the newest successful build.
    if: >-
      github.event_name == 'pull_request_target' &&
      github.event.action == 'labeled' &&
      github.event.label.name == '{label}' &&
      github.event.pull_request.head.repo.full_name != github.repository
    runs-on: ubuntu-latest
{env_preview_url}    permissions:
      actions: read # find the build run, download its artifact
      id-token: write # role-to-assume
      pull-requests: write # comment on the pull request
    steps:
      - id: deploy
        uses: {uses}
        with:
          app-id: {app}
          region: {region}
          role-to-assume: {preview_role}
          preview: true # no path: the artifact of the newest successful build
          fork-previews: approved
          preview-label: {label}
          preview-artifact: {preview_artifact}{prefix}
  revoke-approval:
    # The label approved the commit it was given for: a fork's new push
    # takes it away (no AWS, no checkout).
    if: >-
      github.event_name == 'pull_request_target' &&
      github.event.action == 'synchronize' &&
      github.event.pull_request.head.repo.full_name != github.repository &&
      contains(github.event.pull_request.labels.*.name, '{label}')
    runs-on: ubuntu-latest
    permissions:
      pull-requests: write # remove the label
    steps:
      - name: Remove the approval label # gh: on GitHub-hosted runners
        env:
          GH_TOKEN: ${{ github.token }}
          REPOSITORY: ${{ github.repository }}
          NUMBER: ${{ github.event.pull_request.number }}
        run: gh api --method DELETE "repos/$REPOSITORY/issues/$NUMBER/labels/{label}"
  close-preview:
    # Any pull request, from a fork or not: remove its preview.
    if: github.event_name == 'pull_request_target' && github.event.action == 'closed'
    runs-on: ubuntu-latest
{env_preview}    permissions:
      id-token: write # role-to-assume
      pull-requests: write # update the preview's comment
    steps:
      - uses: {uses}
        with:
          app-id: {app}
          region: {region}
          role-to-assume: {preview_role}
          preview: true # on close: stop, delete the branch, update the comment{prefix}
"#;

/// Deploy the production branch with the production role; one review app
/// per merge request with the preview role, removed when its environment
/// stops (docs/gitlab.md).
pub fn gitlab(p: &Params) -> String {
    let header = format!(
        "# Written by `amplify-deploy init` for Amplify app {app} ({region}).\n\
         # The build job has no AWS token. Branch {branch} deploys to Amplify branch\n\
         # {branch} with role {production}; each merge request gets a review\n\
         # app, Amplify branch {prefix}IID, with role {preview}, removed when\n\
         # its environment stops.\n",
        app = p.app.app_id,
        region = p.app.region,
        branch = p.branch,
        production = role_files(Role::Production).name,
        preview = role_files(Role::Preview).name,
        prefix = p.preview_prefix,
    );
    let version = p.action.version.trim_start_matches('v');
    let body = fill(
        GITLAB,
        &[
            ("region", p.app.region.clone()),
            ("app", p.app.app_id.clone()),
            ("version", version.to_owned()),
            ("branch", quoted(&p.branch)),
            ("path", quoted(&p.path)),
            ("production_role", p.role_arn(Role::Production)),
            ("preview_role", p.role_arn(Role::Preview)),
            ("prefix", p.preview_prefix.clone()),
            ("repository", p.action.repository.clone()),
        ],
    );
    header + &body
}

const GITLAB: &str = r#"stages: [build, deploy]

variables:
  AWS_REGION: {region}
  AMPLIFY_APP_ID: {app}
  AMPLIFY_PATH: {path}
  # The branch that deploys to production, in Git and in Amplify: the
  # production role trusts exactly this branch's jobs.
  AMPLIFY_PRODUCTION_BRANCH: {branch}
  AMPLIFY_DEPLOY_VERSION: "{version}"
  # From the release's SHA256SUMS.
  AMPLIFY_DEPLOY_SHA256: "<sha256 of amplify-deploy-v{version}-x86_64-unknown-linux-musl.tar.gz>"

build:
  stage: build
  image: node:22
  script:
    - npm ci
    - npm run build # your build, writing the site to AMPLIFY_PATH
  artifacts:
    paths: [{path}]

.amplify:
  image: alpine:3.20
  id_tokens:
    AWS_ID_TOKEN:
      aud: sts.amazonaws.com
  variables:
    AWS_WEB_IDENTITY_TOKEN_FILE: /tmp/aws-web-identity-token
  before_script:
    - apk add --no-cache curl
    - |
      set -eu
      name="amplify-deploy-v${AMPLIFY_DEPLOY_VERSION}-x86_64-unknown-linux-musl"
      curl --proto '=https' --tlsv1.2 -fsSL --retry 3 -o "/tmp/$name.tar.gz" \
        "https://github.com/{repository}/releases/download/v${AMPLIFY_DEPLOY_VERSION}/$name.tar.gz"
      echo "${AMPLIFY_DEPLOY_SHA256}  /tmp/$name.tar.gz" | sha256sum -c -
      tar -xzf "/tmp/$name.tar.gz" -C /tmp
      install -m 0755 "/tmp/$name/amplify-deploy" /usr/local/bin/amplify-deploy
    - printf '%s' "$AWS_ID_TOKEN" > "$AWS_WEB_IDENTITY_TOKEN_FILE"

deploy:
  extends: .amplify
  stage: deploy
  needs: [build]
  rules:
    - if: $CI_COMMIT_BRANCH == $AMPLIFY_PRODUCTION_BRANCH
  variables:
    AMPLIFY_BRANCH: $AMPLIFY_PRODUCTION_BRANCH
    AWS_ROLE_ARN: {production_role}
  script:
    - amplify-deploy deploy --dotenv deploy.env
  artifacts:
    reports:
      dotenv: deploy.env
  environment:
    name: production
    url: $AMPLIFY_URL

review:
  extends: .amplify
  stage: deploy
  needs: [build]
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  variables:
    AWS_ROLE_ARN: {preview_role}
  script:
    - >
      amplify-deploy deploy --branch "{prefix}$CI_MERGE_REQUEST_IID" --create-branch
      --stage PULL_REQUEST --dotenv deploy.env
  artifacts:
    reports:
      dotenv: deploy.env
  environment:
    name: review/{prefix}$CI_MERGE_REQUEST_IID
    url: $AMPLIFY_URL
    on_stop: stop_review
    auto_stop_in: 1 week

stop_review:
  extends: .amplify
  stage: deploy
  needs: [review]
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      when: manual
  allow_failure: true
  variables:
    GIT_STRATEGY: none
    AWS_ROLE_ARN: {preview_role}
  script:
    - amplify-deploy delete-branch --branch "{prefix}$CI_MERGE_REQUEST_IID" --if-exists
  environment:
    name: review/{prefix}$CI_MERGE_REQUEST_IID
    action: stop
"#;
