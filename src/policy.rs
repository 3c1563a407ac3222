//! The IAM policies amplify-deploy needs, from one list: the actions each
//! feature calls. `init` writes them filled in for an app and a repository,
//! and docs/iam.md shows them with placeholder values (a test checks the
//! docs against [`iam_policy`] and the trust policies), so a feature that
//! calls a new operation adds it here and nowhere else.

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
        }
    }
}

/// What a pushed deploy plus pull request previews need, with provenance:
/// what `init` writes.
pub const DEPLOY_AND_PREVIEWS: &[Feature] = &[
    Feature::Deploy,
    Feature::CreateBranch,
    Feature::DeleteBranch,
    Feature::TagBranch,
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
    effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<Principal>,
    action: Actions,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<Vec<String>>,
    /// Operator, then key, then value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    condition: BTreeMap<&'static str, BTreeMap<String, String>>,
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

impl Policy {
    fn new(statement: Statement) -> Policy {
        Policy {
            version: "2012-10-17",
            statement: vec![statement],
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
        effect: "Allow",
        principal: None,
        action: Actions::Many(features.iter().flat_map(|f| f.actions()).copied().collect()),
        resource: Some(vec![arn.clone(), format!("{arn}/*")]),
        condition: BTreeMap::new(),
    })
}

/// The trust policy letting GitHub Actions runs of `repo` (`owner/name`)
/// assume the role through GitHub's OIDC provider.
pub fn github_trust_policy(app: &AppRef, repo: &str) -> Policy {
    let host = "token.actions.githubusercontent.com";
    trust(app, host, &format!("repo:{repo}:*"))
}

/// The trust policy letting GitLab CI jobs of project `path` assume the
/// role through gitlab.com's OIDC provider (the job's `id_tokens` audience
/// is `sts.amazonaws.com`, as docs/gitlab.md sets it).
pub fn gitlab_trust_policy(app: &AppRef, path: &str) -> Policy {
    trust(app, "gitlab.com", &format!("project_path:{path}:*"))
}

fn trust(app: &AppRef, host: &str, sub: &str) -> Policy {
    let test = |key: &str, value: &str| BTreeMap::from([(format!("{host}:{key}"), value.into())]);
    Policy::new(Statement {
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
        condition: BTreeMap::from([
            ("StringEquals", test("aud", "sts.amazonaws.com")),
            ("StringLike", test("sub", sub)),
        ]),
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
                effect: "Allow",
                principal: None,
                action: Actions::One(list[0]),
                resource: Some(vec![bucket_arn]),
                condition: BTreeMap::new(),
            },
            Statement {
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
                BTreeMap::from([("aws:SourceAccount".to_owned(), app.account.clone())]),
            ),
            (
                "ArnLike",
                BTreeMap::from([(
                    "aws:SourceArn".to_owned(),
                    format!("{}/branches/*", app.arn()),
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
                effect: "Allow",
                principal: amplify(),
                action: Actions::One("s3:GetObject"),
                resource: Some(vec![objects]),
                condition: condition(),
            },
            Statement {
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
}
