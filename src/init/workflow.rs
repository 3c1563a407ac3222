//! The CI files `init` writes: a GitHub workflow, or a GitLab pipeline.
//! Values that come from the user are quoted for YAML.

use super::{Params, IAM_POLICY, ROLE_NAME, TRUST_POLICY};

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

fn role_arn(p: &Params) -> String {
    format!(
        "arn:{}:iam::{}:role/{ROLE_NAME}",
        p.app.partition, p.app.account
    )
}

/// Deploy on push to the production branch; one preview per pull request,
/// commented on it and removed when it closes.
pub fn github(p: &Params) -> String {
    let header = format!(
        "# Written by `amplify-deploy init` for Amplify app {app} ({region}).\n\
         # A push to {branch} deploys to production; each pull request gets a preview\n\
         # (Amplify branch pr-NUMBER), commented on it and removed when it closes;\n\
         # a nightly job prunes the previews of closed pull requests that remain.\n\
         # The role: {IAM_POLICY} and {TRUST_POLICY}.\n",
        app = p.app.app_id,
        region = p.app.region,
        branch = p.branch,
    );
    let body = fill(
        GITHUB,
        &[
            ("branch", quoted(&p.branch)),
            ("uses", p.action.uses()),
            ("app", p.app.app_id.clone()),
            ("region", p.app.region.clone()),
            ("path", quoted(&p.path)),
            ("role", role_arn(p)),
        ],
    );
    header + &body
}

const GITHUB: &str = r#"name: Amplify deploy
on:
  push:
    branches: [{branch}]
  pull_request:
    types: [opened, synchronize, reopened, closed]
  schedule:
    - cron: '17 3 * * *' # nightly: prune previews of closed pull requests
permissions: {}
concurrency:
  group: amplify-deploy-${{ github.event.pull_request.number || github.ref }}
  cancel-in-progress: false
jobs:
  deploy:
    if: github.event_name != 'schedule'
    runs-on: ubuntu-latest
    permissions:
      contents: read
      id-token: write # role-to-assume
      pull-requests: write # the preview's comment
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        if: github.event.action != 'closed'
        with:
          persist-credentials: false
      - name: Build
        if: github.event.action != 'closed'
        run: npm ci && npm run build # your build, writing the site to the path below
      - name: Deploy
        uses: {uses}
        with:
          app-id: {app}
          region: {region}
          role-to-assume: {role}
          branch: {branch}
          path: {path}
          preview: true
  prune-previews:
    if: github.event_name == 'schedule'
    runs-on: ubuntu-latest
    permissions:
      id-token: write # role-to-assume
      pull-requests: write # read each pull request, update its comment
    steps:
      - name: Prune previews of closed pull requests, and expired ones
        uses: {uses}
        with:
          app-id: {app}
          region: {region}
          role-to-assume: {role}
          command: previews-prune
"#;

/// Deploy on the default branch; one review app per merge request, removed
/// when its environment stops (docs/gitlab.md).
pub fn gitlab(p: &Params) -> String {
    let header = format!(
        "# Written by `amplify-deploy init` for Amplify app {app} ({region}).\n\
         # The default branch deploys to Amplify branch {branch}; each merge request\n\
         # gets a review app (Amplify branch mr-IID), removed when its environment stops.\n\
         # The role: {IAM_POLICY} and {TRUST_POLICY}.\n",
        app = p.app.app_id,
        region = p.app.region,
        branch = p.branch,
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
            ("role", role_arn(p)),
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
    AWS_ROLE_ARN: {role}
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
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  variables:
    AMPLIFY_BRANCH: {branch}
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
  script:
    - >
      amplify-deploy deploy --branch "mr-$CI_MERGE_REQUEST_IID" --create-branch
      --stage PULL_REQUEST --dotenv deploy.env
  artifacts:
    reports:
      dotenv: deploy.env
  environment:
    name: review/mr-$CI_MERGE_REQUEST_IID
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
  script:
    - amplify-deploy delete-branch --branch "mr-$CI_MERGE_REQUEST_IID" --if-exists
  environment:
    name: review/mr-$CI_MERGE_REQUEST_IID
    action: stop
"#;
