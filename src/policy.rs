//! The IAM policies amplify-deploy needs, from one list: the actions each
//! feature calls. `init` writes them filled in for an app and a repository,
//! and docs/iam.md shows them with placeholder values (a test checks the
//! docs against [`iam_policy`], the role policies and the trust policies),
//! so a feature that calls a new operation adds it here and nowhere else.
//!
//! `init` writes two roles (docs/iam.md): **production** may deploy only
//! the production branch; **preview** may change only branches named
//! `{prefix}*` and their jobs, except for the actions whose only resource
//! type is the app ([`resource_type`], from the Service Authorization
//! Reference for AWS Amplify). A build never holds either.

use std::collections::BTreeMap;

use serde::Serialize;

/// What a role is used for; each needs the actions [`Feature::actions`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// `deploy` to an existing branch (with its clean-up: `StopJob`).
    Deploy,
    /// `--create-branch`, and previews (their branches are created).
    CreateBranch,
    /// `delete-branch`, and previews (removed when the pull request closes).
    DeleteBranch,
    /// Provenance tags on the branch (optional: without it, a warning).
    TagBranch,
    /// Previews that look after themselves: `previews list|prune` and
    /// `--max-previews` list the branches; a preview is created with its
    /// ownership tag (TagResource, in [`Feature::TagBranch`]); `--basic-auth`
    /// on an existing branch updates it; a redeploy without `--preview-ttl`
    /// removes the expiry tag (UntagResource).
    PreviewLifecycle,
    /// `rules sync` and `deploy --sync-rules`: read and replace the app's
    /// redirects and rewrites (`customRules`).
    SyncRules,
    /// What incident response runs beyond a deploy: taking a deployment
    /// down (`delete-job`), stopping a job, and the lock (`lock`,
    /// `unlock`): never in a deploy role, only in the incident policy.
    Incident,
}

impl Feature {
    /// The Amplify actions the feature calls.
    pub fn actions(self) -> &'static [&'static str] {
        match self {
            Feature::Deploy => &[
                "amplify:GetApp",
                "amplify:GetBranch",
                "amplify:ListJobs",
                "amplify:GetJob",
                "amplify:CreateDeployment",
                "amplify:StartDeployment",
                "amplify:StopJob",
            ],
            Feature::CreateBranch => &["amplify:CreateBranch"],
            Feature::DeleteBranch => &["amplify:DeleteBranch"],
            Feature::TagBranch => &["amplify:TagResource"],
            Feature::PreviewLifecycle => &[
                "amplify:ListBranches",
                "amplify:UpdateBranch",
                "amplify:UntagResource",
            ],
            Feature::SyncRules => &["amplify:GetApp", "amplify:UpdateApp"],
            Feature::Incident => &[
                "amplify:GetApp",
                "amplify:GetBranch",
                "amplify:ListJobs",
                "amplify:GetJob",
                "amplify:StopJob",
                "amplify:DeleteJob",
                "amplify:TagResource",
                "amplify:UntagResource",
            ],
        }
    }
}

/// The narrowest resource an Amplify action can be granted on, as the
/// Service Authorization Reference for AWS Amplify lists its resource
/// types (`apps`, `branches`, `jobs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    /// Only the app (`apps/APP`): the action cannot be narrowed to a branch.
    App,
    /// A branch (`apps/APP/branches/NAME`).
    Branch,
    /// A job (`apps/APP/branches/NAME/jobs/ID`).
    Job,
    /// The app, a branch or a job (tagging).
    Any,
}

/// The resource type of each action this tool calls; `None` for another.
pub fn resource_type(action: &str) -> Option<ResourceType> {
    Some(match action.strip_prefix("amplify:")? {
        "GetApp" | "ListBranches" | "CreateBranch" | "UpdateApp" => ResourceType::App,
        "GetBranch" | "ListJobs" | "CreateDeployment" | "StartDeployment" | "DeleteBranch"
        | "UpdateBranch" => ResourceType::Branch,
        "GetJob" | "StopJob" | "DeleteJob" => ResourceType::Job,
        "TagResource" | "UntagResource" => ResourceType::Any,
        _ => return None,
    })
}

/// What the production role `init` writes needs: deploy one existing
/// branch, with provenance. No DeleteBranch, no CreateBranch.
pub const PRODUCTION: &[Feature] = &[Feature::Deploy, Feature::TagBranch];

/// What the preview role `init` writes needs: pull request previews and
/// their lifecycle (the nightly prune runs with it too).
pub const PREVIEWS: &[Feature] = &[
    Feature::Deploy,
    Feature::CreateBranch,
    Feature::DeleteBranch,
    Feature::TagBranch,
    Feature::PreviewLifecycle,
];

/// The app a policy is for; docs/iam.md uses [`AppRef::placeholder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRef {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub app_id: String,
}

impl AppRef {
    /// The values docs/iam.md shows.
    pub fn placeholder() -> AppRef {
        AppRef {
            partition: "aws".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            app_id: "d1a2b3c4d5e6f7".into(),
        }
    }

    /// Read an app ARN, `arn:PARTITION:amplify:REGION:ACCOUNT:apps/APP_ID`.
    pub fn from_arn(arn: &str) -> Option<AppRef> {
        let mut parts = arn.splitn(6, ':');
        let (arn_, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
        let app_id = resource.strip_prefix("apps/")?;
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let valid = arn_ == "arn"
            && service == "amplify"
            && [partition, region, app_id].into_iter().all(word)
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit());
        valid.then(|| AppRef {
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
            app_id: app_id.into(),
        })
    }

    fn arn(&self) -> String {
        format!(
            "arn:{}:amplify:{}:{}:apps/{}",
            self.partition, self.region, self.account, self.app_id
        )
    }
}

/// A policy document, its members in the order IAM shows them (`Version`
/// first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    version: &'static str,
    statement: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'static str>,
    effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<Principal>,
    action: Actions,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<Vec<String>>,
    /// Operator, then key, then value(s).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    condition: BTreeMap<&'static str, BTreeMap<String, Values>>,
}

impl Statement {
    /// Allow `actions` on `resource`.
    fn allow(sid: &'static str, actions: Vec<&'static str>, resource: Vec<String>) -> Statement {
        Statement {
            sid: Some(sid),
            effect: "Allow",
            principal: None,
            action: Actions::Many(actions),
            resource: Some(resource),
            condition: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Principal {
    #[serde(skip_serializing_if = "Option::is_none")]
    federated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
enum Actions {
    One(&'static str),
    Many(Vec<&'static str>),
}

/// A condition's value: one, or any of several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
enum Values {
    One(String),
    Many(Vec<String>),
}

impl From<String> for Values {
    fn from(v: String) -> Values {
        Values::One(v)
    }
}

impl Policy {
    fn new(statement: Statement) -> Policy {
        Policy::of(vec![statement])
    }

    fn of(statement: Vec<Statement>) -> Policy {
        Policy {
            version: "2012-10-17",
            statement,
        }
    }

    /// As written to a file: indented JSON ending with a newline.
    pub fn to_file_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// The permissions policy for `features` on one app (and its branches).
pub fn iam_policy(app: &AppRef, features: &[Feature]) -> Policy {
    let arn = app.arn();
    Policy::new(Statement {
        sid: None,
        effect: "Allow",
        principal: None,
        action: Actions::Many(actions(features)),
        resource: Some(vec![arn.clone(), format!("{arn}/*")]),
        condition: BTreeMap::new(),
    })
}

/// The actions of `features`, each once, in order.
fn actions(features: &[Feature]) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Vec::new();
    for a in features.iter().flat_map(|f| f.actions()) {
        if !all.contains(a) {
            all.push(a);
        }
    }
    all
}

/// A branch name or prefix as an ARN pattern matches it literally: IAM
/// reads `*`, `?` and `$` in a resource as wildcards or variables, and
/// `${*}`, `${?}`, `${$}` as the characters themselves.
fn literal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '*' | '?' | '$' => {
                out.push_str("${");
                out.push(c);
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out
}

/// A role's policy: the actions of `features` whose only resource is the
/// app on the app, every other one on `branches` (ARN patterns, each
/// with its jobs).
fn role_policy(app: &AppRef, features: &[Feature], branches: &[String]) -> Policy {
    let arn = app.arn();
    let (on_app, on_branches): (Vec<&'static str>, Vec<&'static str>) = actions(features)
        .into_iter()
        .partition(|a| resource_type(a) == Some(ResourceType::App));
    let mut resources = Vec::new();
    for b in branches {
        resources.push(format!("{arn}/branches/{b}"));
        resources.push(format!("{arn}/branches/{b}/jobs/*"));
    }
    let mut statements = Vec::new();
    if !on_app.is_empty() {
        statements.push(Statement::allow("OnTheAppOnly", on_app, vec![arn.clone()]));
    }
    statements.push(Statement::allow("OnItsBranches", on_branches, resources));
    Policy::of(statements)
}

/// The production role's permissions: deploy `branch` (the production
/// branch) and nothing else; no DeleteBranch, no CreateBranch.
pub fn production_policy(app: &AppRef, branch: &str) -> Policy {
    role_policy(app, PRODUCTION, &[literal(branch)])
}

/// The preview role's permissions: create previews, and change only
/// branches named `{prefix}*` and their jobs. CreateBranch, ListBranches
/// and GetApp are granted on the app: IAM knows no narrower resource for
/// them (docs/iam.md).
pub fn preview_policy(app: &AppRef, prefix: &str) -> Policy {
    role_policy(app, PREVIEWS, &[format!("{}*", literal(prefix))])
}

/// The incident policy (docs/iam.md): delete a deployment that must not be
/// served (DeleteJob), for a person or a break-glass role, never a deploy
/// role.
pub fn incident_policy(app: &AppRef) -> Policy {
    iam_policy(app, &[Feature::Incident])
}

/// Who may assume a role `init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Deploys the production branch.
    Production,
    /// Deploys, removes and prunes previews.
    Preview,
}

/// GitHub's OIDC provider.
const GITHUB_OIDC: &str = "token.actions.githubusercontent.com";
/// gitlab.com's OIDC provider.
const GITLAB_OIDC: &str = "gitlab.com";

/// The trust policy letting GitHub Actions runs of `repo` (`owner/name`)
/// assume `role` through GitHub's OIDC provider, each `sub` exact:
/// - with environments, only jobs in environment `production` (or
///   `preview`), whatever the event or branch;
/// - without (`--no-environments`), production trusts pushes and other
///   runs on `branch` (`ref:refs/heads/BRANCH`), and preview trusts every
///   pull request run and the runs on `branch` (nightly prune, the trusted
///   fork path): no narrower subject exists for them.
pub fn github_trust_policy(
    app: &AppRef,
    repo: &str,
    role: Role,
    environments: bool,
    branch: &str,
) -> Policy {
    let on_branch = format!("repo:{repo}:ref:refs/heads/{branch}");
    let subjects = match (role, environments) {
        (Role::Production, true) => vec![format!("repo:{repo}:environment:production")],
        (Role::Preview, true) => vec![format!("repo:{repo}:environment:preview")],
        (Role::Production, false) => vec![on_branch],
        (Role::Preview, false) => vec![format!("repo:{repo}:pull_request"), on_branch],
    };
    trust(app, GITHUB_OIDC, "StringEquals", subjects)
}

/// The trust policy letting GitLab CI jobs of project `path` assume `role`
/// through gitlab.com's OIDC provider (the job's `id_tokens` audience is
/// `sts.amazonaws.com`, as docs/gitlab.md sets it). AWS can test only
/// `sub` and `aud`, and GitLab's `sub` names the project and the branch:
/// production trusts `branch` exactly, previews every branch.
pub fn gitlab_trust_policy(app: &AppRef, path: &str, role: Role, branch: &str) -> Policy {
    let sub = |r: &str| format!("project_path:{path}:ref_type:branch:ref:{r}");
    match role {
        Role::Production => trust(app, GITLAB_OIDC, "StringEquals", vec![sub(branch)]),
        Role::Preview => trust(app, GITLAB_OIDC, "StringLike", vec![sub("*")]),
    }
}

/// `sub` tested with `operator` (one value, or any of several), `aud`
/// with StringEquals.
fn trust(app: &AppRef, host: &str, operator: &'static str, subjects: Vec<String>) -> Policy {
    let key = |k: &str| format!("{host}:{k}");
    let sub = match <[String; 1]>::try_from(subjects) {
        Ok([one]) => Values::One(one),
        Err(many) => Values::Many(many),
    };
    let mut condition = BTreeMap::from([(
        "StringEquals",
        BTreeMap::from([(key("aud"), Values::from("sts.amazonaws.com".to_owned()))]),
    )]);
    condition
        .entry(operator)
        .or_default()
        .insert(key("sub"), sub);
    Policy::new(Statement {
        sid: None,
        effect: "Allow",
        principal: Some(Principal {
            federated: Some(format!(
                "arn:{}:iam::{}:oidc-provider/{host}",
                app.partition, app.account
            )),
            service: None,
        }),
        action: Actions::One("sts:AssumeRoleWithWebIdentity"),
        resource: None,
        condition,
    })
}

/// The S3 actions of `--artifact-store` for the deploy role:
/// HeadBucket (`s3:ListBucket`, which also makes a missing key a 404),
/// HeadObject (`s3:GetObject`) and PutObject, on the bucket and prefix.
pub const ARTIFACT_STORE_ACTIONS: &[&str] = &["s3:ListBucket", "s3:GetObject", "s3:PutObject"];

/// `arn:PARTITION:s3:::BUCKET` and the prefix's objects, `…/PREFIX/*`.
fn s3_arns(app: &AppRef, bucket: &str, prefix: &str) -> (String, String) {
    let bucket_arn = format!("arn:{}:s3:::{bucket}", app.partition);
    let objects = match prefix.trim_matches('/') {
        "" => format!("{bucket_arn}/*"),
        p => format!("{bucket_arn}/{p}/*"),
    };
    (bucket_arn, objects)
}

/// The deploy role's permissions for `--artifact-store s3://BUCKET/PREFIX`
/// (added to [`iam_policy`]'s).
pub fn artifact_store_policy(app: &AppRef, bucket: &str, prefix: &str) -> Policy {
    let (bucket_arn, objects) = s3_arns(app, bucket, prefix);
    let (list, objects_actions) = ARTIFACT_STORE_ACTIONS.split_at(1);
    Policy {
        version: "2012-10-17",
        statement: vec![
            Statement {
                sid: None,
                effect: "Allow",
                principal: None,
                action: Actions::One(list[0]),
                resource: Some(vec![bucket_arn]),
                condition: BTreeMap::new(),
            },
            Statement {
                sid: None,
                effect: "Allow",
                principal: None,
                action: Actions::Many(objects_actions.to_vec()),
                resource: Some(vec![objects]),
                condition: BTreeMap::new(),
            },
        ],
    }
}

/// The bucket policy letting Amplify read the stored packages of the app's
/// branches (the Amplify user guide's "deploy with SDKs" policy, its
/// `aws:SourceArn` widened from one branch to `branches/*`).
pub fn amplify_bucket_policy(app: &AppRef, bucket: &str, prefix: &str) -> Policy {
    let (bucket_arn, objects) = s3_arns(app, bucket, prefix);
    let condition = || {
        BTreeMap::from([
            (
                "StringEquals",
                BTreeMap::from([("aws:SourceAccount".to_owned(), app.account.clone().into())]),
            ),
            (
                "ArnLike",
                BTreeMap::from([(
                    "aws:SourceArn".to_owned(),
                    format!("{}/branches/*", app.arn()).into(),
                )]),
            ),
        ])
    };
    let amplify = || {
        Some(Principal {
            federated: None,
            service: Some("amplify.amazonaws.com"),
        })
    };
    Policy {
        version: "2012-10-17",
        statement: vec![
            Statement {
                sid: None,
                effect: "Allow",
                principal: amplify(),
                action: Actions::One("s3:GetObject"),
                resource: Some(vec![objects]),
                condition: condition(),
            },
            Statement {
                sid: None,
                effect: "Allow",
                principal: amplify(),
                action: Actions::One("s3:ListBucket"),
                resource: Some(vec![bucket_arn]),
                condition: condition(),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_arn_gives_partition_region_account_and_app() {
        let app = AppRef::from_arn("arn:aws:amplify:eu-west-1:123456789012:apps/d1a2b3c4d5e6f7");
        assert_eq!(app, Some(AppRef::placeholder()));
        for bad in [
            "",
            "arn:aws:amplify:eu-west-1:12345:apps/d1",
            "arn:aws:s3:eu-west-1:123456789012:apps/d1",
            "arn:aws:amplify:eu-west-1:123456789012:apps/",
            "arn:aws:amplify:eu-west-1:123456789012:apps/d1\"}",
        ] {
            assert_eq!(AppRef::from_arn(bad), None, "{bad}");
        }
    }

    /// Each statement of `policy`: its actions and resources.
    fn statements(policy: &Policy) -> Vec<(Vec<String>, Vec<String>)> {
        let v = serde_json::to_value(policy).unwrap();
        let strings = |v: &serde_json::Value| -> Vec<String> {
            match v {
                serde_json::Value::String(s) => vec![s.clone()],
                serde_json::Value::Array(a) => {
                    a.iter().map(|s| s.as_str().unwrap().to_owned()).collect()
                }
                _ => Vec::new(),
            }
        };
        v["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|st| (strings(&st["Action"]), strings(&st["Resource"])))
            .collect()
    }

    const APP: &str = "arn:aws:amplify:eu-west-1:123456789012:apps/d1a2b3c4d5e6f7";

    #[test]
    fn every_action_of_every_feature_has_a_known_resource_type() {
        let all = [
            Feature::Deploy,
            Feature::CreateBranch,
            Feature::DeleteBranch,
            Feature::TagBranch,
            Feature::PreviewLifecycle,
            Feature::SyncRules,
            Feature::Incident,
        ];
        for a in all.iter().flat_map(|f| f.actions()) {
            assert!(resource_type(a).is_some(), "{a}: no resource type");
        }
        assert_eq!(
            resource_type("amplify:CreateBranch"),
            Some(ResourceType::App)
        );
        assert_eq!(resource_type("amplify:StopJob"), Some(ResourceType::Job));
        assert_eq!(resource_type("s3:GetObject"), None);
    }

    #[test]
    fn the_preview_role_changes_only_branches_with_its_prefix() {
        let policy = preview_policy(&AppRef::placeholder(), "docs-pr-");
        let mut granted = Vec::new();
        for (actions, resources) in statements(&policy) {
            for a in &actions {
                granted.push(a.clone());
                if resource_type(a) == Some(ResourceType::App) {
                    // No narrower resource exists: the app, and only it.
                    assert_eq!(resources, [APP], "{a}");
                    continue;
                }
                for r in &resources {
                    let rest = r.strip_prefix(APP).unwrap_or_else(|| panic!("{r}"));
                    assert!(rest.starts_with("/branches/docs-pr-"), "{a} on {r}");
                }
            }
        }
        let app_wide: Vec<&String> = granted
            .iter()
            .filter(|a| resource_type(a) == Some(ResourceType::App))
            .collect();
        assert_eq!(
            app_wide,
            [
                "amplify:GetApp",
                "amplify:CreateBranch",
                "amplify:ListBranches"
            ]
        );
        for needed in [
            "amplify:DeleteBranch",
            "amplify:UntagResource",
            "amplify:CreateDeployment",
        ] {
            assert!(granted.iter().any(|a| a == needed), "{needed}");
        }
        assert!(!granted.iter().any(|a| a == "amplify:DeleteJob"));
        assert!(!granted.iter().any(|a| a == "amplify:UpdateApp"));
    }

    #[test]
    fn the_production_role_deploys_its_branch_and_deletes_nothing() {
        let policy = production_policy(&AppRef::placeholder(), "main");
        let st = statements(&policy);
        let actions: Vec<&String> = st.iter().flat_map(|(a, _)| a).collect();
        for never in [
            "amplify:DeleteBranch",
            "amplify:CreateBranch",
            "amplify:DeleteJob",
            "amplify:UpdateBranch",
        ] {
            assert!(!actions.iter().any(|a| *a == never), "{never}");
        }
        assert_eq!(
            st[0],
            (vec!["amplify:GetApp".to_owned()], vec![APP.to_owned()])
        );
        assert_eq!(
            st[1].1,
            [
                format!("{APP}/branches/main"),
                format!("{APP}/branches/main/jobs/*")
            ]
        );
    }

    #[test]
    fn branch_names_are_matched_literally() {
        let p = production_policy(&AppRef::placeholder(), "a*b?$c");
        assert_eq!(
            statements(&p)[1].1[0],
            format!("{APP}/branches/a${{*}}b${{?}}${{$}}c")
        );
        let p = preview_policy(&AppRef::placeholder(), "x*");
        assert_eq!(statements(&p)[1].1[0], format!("{APP}/branches/x${{*}}*"));
    }

    /// The `sub` condition of a trust policy, under its operator.
    fn subjects(policy: &Policy) -> Vec<(String, Vec<String>)> {
        let v = serde_json::to_value(policy).unwrap();
        let mut out = Vec::new();
        for (op, tests) in v["Statement"][0]["Condition"].as_object().unwrap() {
            for (key, value) in tests.as_object().unwrap() {
                if key.ends_with(":sub") {
                    let values = match value {
                        serde_json::Value::Array(a) => {
                            a.iter().map(|s| s.as_str().unwrap().to_owned()).collect()
                        }
                        s => vec![s.as_str().unwrap().to_owned()],
                    };
                    out.push((op.clone(), values));
                }
            }
        }
        out
    }

    #[test]
    fn github_roles_trust_exact_subjects_and_no_wildcard() {
        let app = AppRef::placeholder();
        let cases = [
            (
                Role::Production,
                true,
                vec!["repo:o/r:environment:production"],
            ),
            (Role::Preview, true, vec!["repo:o/r:environment:preview"]),
            (
                Role::Production,
                false,
                vec!["repo:o/r:ref:refs/heads/main"],
            ),
            (
                Role::Preview,
                false,
                vec!["repo:o/r:pull_request", "repo:o/r:ref:refs/heads/main"],
            ),
        ];
        for (role, environments, want) in cases {
            let p = github_trust_policy(&app, "o/r", role, environments, "main");
            let got = subjects(&p);
            assert_eq!(got.len(), 1, "{got:?}");
            assert_eq!(got[0].0, "StringEquals");
            assert_eq!(got[0].1, want);
            assert!(got[0].1.iter().all(|s| !s.contains('*')), "{got:?}");
        }
    }

    #[test]
    fn gitlab_production_trusts_one_branch_and_previews_any() {
        let app = AppRef::placeholder();
        let p = gitlab_trust_policy(&app, "g/s/p", Role::Production, "main");
        assert_eq!(
            subjects(&p),
            [(
                "StringEquals".to_owned(),
                vec!["project_path:g/s/p:ref_type:branch:ref:main".to_owned()]
            )]
        );
        let p = gitlab_trust_policy(&app, "g/s/p", Role::Preview, "main");
        assert_eq!(
            subjects(&p),
            [(
                "StringLike".to_owned(),
                vec!["project_path:g/s/p:ref_type:branch:ref:*".to_owned()]
            )]
        );
    }

    #[test]
    fn delete_job_is_only_in_the_incident_policy() {
        let app = AppRef::placeholder();
        let has = |p: &Policy| {
            statements(p)
                .iter()
                .any(|(a, _)| a.iter().any(|a| a == "amplify:DeleteJob"))
        };
        assert!(has(&incident_policy(&app)));
        assert!(!has(&production_policy(&app, "main")));
        assert!(!has(&preview_policy(&app, "pr-")));
    }
}
