//! Which Amplify branches are this repository's previews, and so the only
//! ones `previews prune` and eviction may ever delete. One rule, in
//! [`our_preview`]:
//! - a branch with the repository tag is ours only when the tag names this
//!   repository (and the prefix tag this prefix) and its name is
//!   `{prefix}{number}` for the pull request its tag names: another
//!   repository's preview on the same app is never touched;
//! - a preview made before the repository tag (the pull request's number
//!   alone) is ours only when it is named `{prefix}{number}` with our
//!   prefix;
//! - a preview made before any tag: a name `{prefix}{digits}` with stage
//!   `PULL_REQUEST`.
//!
//! Every other branch (production, a hand-made `pr-7` of another stage, a
//! tagged branch of another tool or another repository) is never touched.

use std::collections::BTreeMap;

use crate::amplify::Branch;
use crate::provenance::{format_time, parse_time, sanitise};

/// Tag key: this branch is a preview made by amplify-deploy; the value is
/// the pull request's number.
pub const PREVIEW_TAG: &str = "amplify-deploy:preview";
/// Tag key: the repository (`owner/name`) whose pull request it previews.
pub const REPOSITORY_TAG: &str = "amplify-deploy:preview-repository";
/// Tag key: the `--preview-prefix` it was made with.
pub const PREFIX_TAG: &str = "amplify-deploy:preview-prefix";
/// Tag key: when the preview expires (RFC 3339, UTC), renewed on each deploy.
pub const EXPIRES_TAG: &str = "amplify-deploy:preview-expires";

/// Whose previews a run looks after: this repository's (`GITHUB_REPOSITORY`,
/// `None` when not known), made with this prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ours<'a> {
    pub repository: Option<&'a str>,
    pub prefix: &'a str,
}

/// How a branch was recognised as our preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Its tags name this repository and prefix.
    Tagged,
    /// Made before the repository tag: its name is `{prefix}{number}`.
    Legacy,
}

/// A branch that is our preview, and of which pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owned {
    pub pr: u64,
    pub ownership: Ownership,
}

/// A pull request number: digits only, at least 1.
fn pr_number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| *n > 0)
}

/// Whether `branch` is a preview of our repository, made with our prefix
/// (see the module's rule).
pub fn our_preview(branch: &Branch, ours: &Ours<'_>) -> Option<Owned> {
    let name = branch.branch_name.as_deref()?;
    let tags = branch.tags.as_ref();
    let tag = |key: &str| tags.and_then(|t| t.get(key)).map(|v| v.trim());
    // A tag of ours that does not name a pull request is not trusted; the
    // untagged rule below may still recognise the branch.
    let tagged_pr = tag(PREVIEW_TAG).and_then(pr_number);
    let named = |pr: u64| name == format!("{}{pr}", ours.prefix);
    if let Some(repository) = tag(REPOSITORY_TAG) {
        let same = ours
            .repository
            .is_some_and(|r| sanitise(r).eq_ignore_ascii_case(repository))
            && tag(PREFIX_TAG).is_none_or(|p| p == sanitise(ours.prefix));
        let pr = tagged_pr.filter(|pr| same && named(*pr))?;
        return Some(Owned {
            pr,
            ownership: Ownership::Tagged,
        });
    }
    if let Some(pr) = tagged_pr {
        return named(pr).then_some(Owned {
            pr,
            ownership: Ownership::Legacy,
        });
    }
    let pr = name.strip_prefix(ours.prefix).and_then(pr_number)?;
    (branch.stage.as_deref() == Some("PULL_REQUEST")).then_some(Owned {
        pr,
        ownership: Ownership::Legacy,
    })
}

/// Why `branch` is not our preview, for the log.
pub fn why_not_ours(branch: &Branch, ours: &Ours<'_>) -> String {
    let tags = branch.tags.as_ref();
    let tag = |key: &str| tags.and_then(|t| t.get(key)).map(|v| v.trim());
    match (tag(REPOSITORY_TAG), tag(PREVIEW_TAG)) {
        (Some(repository), pr) if ours.repository.is_none() => format!(
            "it is the preview of pull request #{} of {repository}, and this repository is not known (GITHUB_REPOSITORY)",
            pr.unwrap_or("?")
        ),
        (Some(repository), pr) => format!(
            "it is the preview of pull request #{} of {repository}",
            pr.unwrap_or("?")
        ),
        (None, Some(pr)) => format!("its tag names pull request #{pr}, not this name"),
        (None, None) => format!(
            "no ownership tag, stage {}",
            branch.stage.as_deref().unwrap_or("unknown")
        ),
    }
}

/// The expiry a branch's tags carry, in epoch seconds.
pub fn expiry(branch: &Branch) -> Option<i64> {
    let value = branch.tags.as_ref()?.get(EXPIRES_TAG)?;
    parse_time(value)
}

/// The tags a preview of pull request `pr` carries: ownership (the pull
/// request, the repository when known, the prefix), and the expiry `ttl`
/// seconds from `now` when `--preview-ttl` is given.
pub fn tags(
    ours: &Ours<'_>,
    pr: u64,
    now: i64,
    ttl: Option<std::time::Duration>,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([
        (PREVIEW_TAG.to_owned(), pr.to_string()),
        (PREFIX_TAG.to_owned(), sanitise(ours.prefix)),
    ]);
    if let Some(repository) = ours.repository {
        tags.insert(REPOSITORY_TAG.to_owned(), sanitise(repository));
    }
    let secs = ttl.map(|t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
    if let Some(at) = secs.and_then(|s| now.checked_add(s)).and_then(format_time) {
        tags.insert(EXPIRES_TAG.to_owned(), at);
    }
    tags
}

/// Our tags `branch` carries that `tags` no longer sets: the expiry, once
/// a deploy comes without `--preview-ttl`.
pub fn stale(branch: &Branch, tags: &BTreeMap<String, String>) -> Vec<&'static str> {
    let carries = |key: &str| branch.tags.as_ref().is_some_and(|t| t.contains_key(key));
    [EXPIRES_TAG]
        .into_iter()
        .filter(|key| carries(key) && !tags.contains_key(*key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    fn branch(name: &str, stage: &str, tags: &[(&str, &str)]) -> Branch {
        Branch {
            branch_name: Some(name.to_owned()),
            stage: Some(stage.to_owned()),
            tags: Some(
                tags.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<HashMap<_, _>>(),
            ),
            ..Branch::default()
        }
    }

    fn owned(pr: u64, ownership: Ownership) -> Option<Owned> {
        Some(Owned { pr, ownership })
    }

    const OURS: Ours<'static> = Ours {
        repository: Some("o/r"),
        prefix: "pr-",
    };

    fn scope(repository: Option<&'static str>, prefix: &'static str) -> Ours<'static> {
        Ours { repository, prefix }
    }

    #[test]
    fn a_preview_tagged_with_our_repository_and_prefix_is_ours_whatever_its_stage() {
        let tags = [
            (PREVIEW_TAG, "12"),
            (REPOSITORY_TAG, "o/r"),
            (PREFIX_TAG, "pr-"),
        ];
        let b = branch("pr-12", "PRODUCTION", &tags);
        assert_eq!(our_preview(&b, &OURS), owned(12, Ownership::Tagged));
        // GitHub's repository names are case-insensitive.
        assert_eq!(
            our_preview(&b, &scope(Some("O/R"), "pr-")),
            owned(12, Ownership::Tagged)
        );
        // Its name must be {prefix}{number} of the pull request it names.
        let b = branch(
            "pr-3",
            "PULL_REQUEST",
            &[(PREVIEW_TAG, "4"), (REPOSITORY_TAG, "o/r")],
        );
        assert_eq!(our_preview(&b, &OURS), None);
    }

    #[test]
    fn another_repositorys_preview_is_never_ours() {
        // o/docs made docs-pr-5; o/r's pull request #5 is not it, whatever
        // prefix o/r uses.
        let tags = [
            (PREVIEW_TAG, "5"),
            (REPOSITORY_TAG, "o/docs"),
            (PREFIX_TAG, "docs-pr-"),
        ];
        let b = branch("docs-pr-5", "PULL_REQUEST", &tags);
        assert_eq!(our_preview(&b, &OURS), None);
        assert_eq!(our_preview(&b, &scope(Some("o/r"), "docs-pr-")), None);
        assert_eq!(
            our_preview(&b, &scope(Some("o/docs"), "docs-pr-")),
            owned(5, Ownership::Tagged)
        );
        // Same repository, another prefix: another workflow's previews.
        assert_eq!(our_preview(&b, &scope(Some("o/docs"), "pr-")), None);
        let tags = [
            (PREVIEW_TAG, "5"),
            (REPOSITORY_TAG, "o/r"),
            (PREFIX_TAG, "pr-1"),
        ];
        let b = branch("pr-15", "PULL_REQUEST", &tags);
        assert_eq!(our_preview(&b, &OURS), None);
        // Not knowing our repository, no repository's preview is ours, even
        // one named and staged like a legacy preview.
        let tags = [(PREVIEW_TAG, "7"), (REPOSITORY_TAG, "o/r")];
        let b = branch("pr-7", "PULL_REQUEST", &tags);
        assert_eq!(our_preview(&b, &scope(None, "pr-")), None);
        assert!(why_not_ours(&b, &scope(None, "pr-")).contains("GITHUB_REPOSITORY"));
        let b = branch(
            "pr-7",
            "PULL_REQUEST",
            &[(PREVIEW_TAG, "7"), (REPOSITORY_TAG, "x/y")],
        );
        assert_eq!(
            why_not_ours(&b, &OURS),
            "it is the preview of pull request #7 of x/y"
        );
    }

    #[test]
    fn a_preview_tagged_with_its_number_alone_is_ours_only_under_our_prefix() {
        let b = branch("pr-12", "PRODUCTION", &[(PREVIEW_TAG, "12")]);
        assert_eq!(our_preview(&b, &OURS), owned(12, Ownership::Legacy));
        let b = branch("docs-pr-5", "PULL_REQUEST", &[(PREVIEW_TAG, "5")]);
        assert_eq!(our_preview(&b, &OURS), None);
        assert_eq!(
            our_preview(&b, &scope(Some("o/r"), "docs-pr-")),
            owned(5, Ownership::Legacy)
        );
        let b = branch("feature-x", "PULL_REQUEST", &[(PREVIEW_TAG, "12")]);
        assert_eq!(our_preview(&b, &OURS), None);
        let b = branch("pr-3", "PULL_REQUEST", &[(PREVIEW_TAG, "4")]);
        assert_eq!(our_preview(&b, &OURS), None);
    }

    #[test]
    fn legacy_previews_need_prefix_digits_and_the_pull_request_stage() {
        let legacy = |name: &str, stage: &str| our_preview(&branch(name, stage, &[]), &OURS);
        assert_eq!(legacy("pr-7", "PULL_REQUEST"), owned(7, Ownership::Legacy));
        assert_eq!(
            legacy("pr-007", "PULL_REQUEST"),
            owned(7, Ownership::Legacy)
        );
        // Other stages, names, prefixes: never ours.
        assert_eq!(legacy("pr-7", "PRODUCTION"), None);
        assert_eq!(legacy("pr-7", "DEVELOPMENT"), None);
        assert_eq!(legacy("main", "PULL_REQUEST"), None);
        assert_eq!(legacy("pr-", "PULL_REQUEST"), None);
        assert_eq!(legacy("pr-0", "PULL_REQUEST"), None);
        assert_eq!(legacy("pr-7a", "PULL_REQUEST"), None);
        assert_eq!(legacy("pr--7", "PULL_REQUEST"), None);
        assert_eq!(legacy("pr-+7", "PULL_REQUEST"), None);
        assert_eq!(legacy("pr-٣", "PULL_REQUEST"), None);
        assert_eq!(legacy("xpr-7", "PULL_REQUEST"), None);
        assert_eq!(legacy("PR-7", "PULL_REQUEST"), None);
        assert_eq!(legacy("pr-99999999999999999999999", "PULL_REQUEST"), None);
        let b = branch("preview/7", "PULL_REQUEST", &[]);
        assert_eq!(
            our_preview(&b, &scope(Some("o/r"), "preview/")),
            owned(7, Ownership::Legacy)
        );
        assert_eq!(our_preview(&b, &OURS), None);
        // No stage, no name: not ours.
        let mut b = branch("pr-7", "PULL_REQUEST", &[]);
        b.stage = None;
        assert_eq!(our_preview(&b, &OURS), None);
        b.branch_name = None;
        assert_eq!(our_preview(&b, &OURS), None);
    }

    #[test]
    fn a_tag_that_names_no_pull_request_is_not_trusted() {
        for bad in ["", "x", "0", "-1", "7 ", "1e3"] {
            let b = branch("pr-7", "PRODUCTION", &[(PREVIEW_TAG, bad)]);
            // "7 " is trimmed: a number.
            let expected = (bad == "7 ").then_some(Owned {
                pr: 7,
                ownership: Ownership::Legacy,
            });
            assert_eq!(our_preview(&b, &OURS), expected, "{bad:?}");
        }
        // The untagged rule still applies to a branch with a bad tag.
        let b = branch("pr-5", "PULL_REQUEST", &[(PREVIEW_TAG, "x")]);
        assert_eq!(our_preview(&b, &OURS), owned(5, Ownership::Legacy));
        // ...but not to one with another repository's tag.
        let b = branch(
            "pr-5",
            "PULL_REQUEST",
            &[(PREVIEW_TAG, "x"), (REPOSITORY_TAG, "o/r")],
        );
        assert_eq!(our_preview(&b, &OURS), None);
        // Other tools' tags mean nothing.
        let b = branch("feature", "PRODUCTION", &[("preview", "5")]);
        assert_eq!(our_preview(&b, &OURS), None);
    }

    #[test]
    fn tags_carry_the_pull_request_repository_prefix_and_expiry() {
        let now = parse_time("2026-11-29T08:00:00Z").unwrap();
        let t = tags(&OURS, 7, now, Some(Duration::from_secs(14 * 86_400)));
        assert_eq!(t[PREVIEW_TAG], "7");
        assert_eq!(t[REPOSITORY_TAG], "o/r");
        assert_eq!(t[PREFIX_TAG], "pr-");
        assert_eq!(t[EXPIRES_TAG], "2026-12-13T08:00:00Z");
        let b = branch("pr-7", "PULL_REQUEST", &[(EXPIRES_TAG, &t[EXPIRES_TAG])]);
        assert_eq!(expiry(&b), Some(now + 14 * 86_400));
        assert_eq!(expiry(&branch("pr-7", "PULL_REQUEST", &[])), None);
        // What they say is what the rule reads back.
        let tagged: Vec<(&str, &str)> = t.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let b = branch("pr-7", "PULL_REQUEST", &tagged);
        assert_eq!(our_preview(&b, &OURS), owned(7, Ownership::Tagged));

        // Without the TTL no expiry, and the old one is stale.
        let without = tags(&OURS, 7, now, None);
        assert!(!without.contains_key(EXPIRES_TAG));
        assert_eq!(stale(&b, &without), [EXPIRES_TAG]);
        assert!(stale(&b, &t).is_empty());
        // An unknown repository is not tagged (a legacy preview, then).
        assert!(!tags(&scope(None, "pr-"), 7, now, None).contains_key(REPOSITORY_TAG));
    }
}
