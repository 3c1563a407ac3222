//! Which Amplify branches are previews of this tool, and so the only ones
//! `previews prune` and eviction may ever delete. One rule, in
//! [`our_preview`]: the ownership tag this tool stamps on the previews it
//! creates (with the pull request's number), or, for previews created
//! before that tag existed, a name `{preview-prefix}{digits}` with stage
//! `PULL_REQUEST`. Every other branch (production, a hand-made `pr-7` of
//! another stage, a tagged branch of another tool) is never touched.

use std::collections::BTreeMap;

use crate::amplify::Branch;
use crate::provenance::{format_time, parse_time};

/// Tag key: this branch is a preview made by amplify-deploy; the value is
/// the pull request's number.
pub const PREVIEW_TAG: &str = "amplify-deploy:preview";
/// Tag key: when the preview expires (RFC 3339, UTC), renewed on each deploy.
pub const EXPIRES_TAG: &str = "amplify-deploy:preview-expires";

/// How a branch was recognised as our preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// It carries [`PREVIEW_TAG`].
    Tagged,
    /// Made before the tag: `{prefix}{digits}`, stage `PULL_REQUEST`.
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

/// Whether `branch` is a preview this tool made (see the module's rule),
/// `prefix` being `--preview-prefix`.
pub fn our_preview(branch: &Branch, prefix: &str) -> Option<Owned> {
    let tags = branch.tags.as_ref();
    if let Some(value) = tags.and_then(|t| t.get(PREVIEW_TAG)) {
        // A tag of ours that does not name a pull request is not trusted;
        // the legacy rule below may still recognise the branch.
        if let Some(pr) = pr_number(value.trim()) {
            return Some(Owned {
                pr,
                ownership: Ownership::Tagged,
            });
        }
    }
    let name = branch.branch_name.as_deref()?;
    let pr = name.strip_prefix(prefix).and_then(pr_number)?;
    (branch.stage.as_deref() == Some("PULL_REQUEST")).then_some(Owned {
        pr,
        ownership: Ownership::Legacy,
    })
}

/// The expiry a branch's tags carry, in epoch seconds.
pub fn expiry(branch: &Branch) -> Option<i64> {
    let value = branch.tags.as_ref()?.get(EXPIRES_TAG)?;
    parse_time(value)
}

/// The tags a preview of pull request `pr` carries: ownership, and the
/// expiry `ttl` seconds from `now` when `--preview-ttl` is given.
pub fn tags(pr: u64, now: i64, ttl: Option<std::time::Duration>) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([(PREVIEW_TAG.to_owned(), pr.to_string())]);
    let secs = ttl.map(|t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
    if let Some(at) = secs.and_then(|s| now.checked_add(s)).and_then(format_time) {
        tags.insert(EXPIRES_TAG.to_owned(), at);
    }
    tags
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

    #[test]
    fn tagged_branches_are_ours_whatever_their_name_or_stage() {
        let b = branch("feature-x", "PRODUCTION", &[(PREVIEW_TAG, "12")]);
        assert_eq!(our_preview(&b, "pr-"), owned(12, Ownership::Tagged));
        // The tag names the pull request, not the branch name.
        let b = branch("pr-3", "PULL_REQUEST", &[(PREVIEW_TAG, "4")]);
        assert_eq!(our_preview(&b, "pr-"), owned(4, Ownership::Tagged));
    }

    #[test]
    fn legacy_previews_need_prefix_digits_and_the_pull_request_stage() {
        let legacy = |name: &str, stage: &str| our_preview(&branch(name, stage, &[]), "pr-");
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
        assert_eq!(our_preview(&b, "preview/"), owned(7, Ownership::Legacy));
        assert_eq!(our_preview(&b, "pr-"), None);
        // No stage, no name: not ours.
        let mut b = branch("pr-7", "PULL_REQUEST", &[]);
        b.stage = None;
        assert_eq!(our_preview(&b, "pr-"), None);
        b.branch_name = None;
        assert_eq!(our_preview(&b, "pr-"), None);
    }

    #[test]
    fn a_tag_that_names_no_pull_request_is_not_trusted() {
        for bad in ["", "x", "0", "-1", "7 ", "1e3"] {
            let b = branch("feature", "PRODUCTION", &[(PREVIEW_TAG, bad)]);
            // "7 " is trimmed: a number.
            let expected = (bad == "7 ").then_some(Owned {
                pr: 7,
                ownership: Ownership::Tagged,
            });
            assert_eq!(our_preview(&b, "pr-"), expected, "{bad:?}");
        }
        // The legacy rule still applies to a branch with a bad tag.
        let b = branch("pr-5", "PULL_REQUEST", &[(PREVIEW_TAG, "x")]);
        assert_eq!(our_preview(&b, "pr-"), owned(5, Ownership::Legacy));
        // Other tools' tags mean nothing.
        let b = branch("feature", "PRODUCTION", &[("preview", "5")]);
        assert_eq!(our_preview(&b, "pr-"), None);
    }

    #[test]
    fn tags_carry_the_pull_request_and_the_expiry() {
        let now = parse_time("2026-11-29T08:00:00Z").unwrap();
        let t = tags(7, now, Some(Duration::from_secs(14 * 86_400)));
        assert_eq!(t[PREVIEW_TAG], "7");
        assert_eq!(t[EXPIRES_TAG], "2026-12-13T08:00:00Z");
        assert!(!tags(7, now, None).contains_key(EXPIRES_TAG));
        let b = branch("pr-7", "PULL_REQUEST", &[(EXPIRES_TAG, &t[EXPIRES_TAG])]);
        assert_eq!(expiry(&b), Some(now + 14 * 86_400));
        assert_eq!(expiry(&branch("pr-7", "PULL_REQUEST", &[])), None);
    }
}
