//! Incident records on a branch, kept as tags beside the provenance (see
//! `crate::provenance`): the **lock**, which holds deploys and promotes off
//! a branch while an incident is handled, and the **rollback record**, the
//! packages rollbacks have moved away from, so that the next rollback walks
//! further back instead of forward to a release just undone. A deploy
//! writes only its provenance keys (TagResource adds or replaces the keys
//! it names), so both survive deploys; `unlock` removes the lock's keys.

use std::collections::{BTreeMap, HashMap};

use crate::provenance::{sanitise, PREFIX};

/// The lock's reason; its presence is the lock.
const LOCK: &str = "lock";
/// When the branch was locked (RFC 3339, UTC).
const LOCK_TIME: &str = "lock-time";
/// Which run or person locked it (a CI run's URL, else `user@host`).
const LOCK_BY: &str = "lock-by";
/// The rollback record: package SHA-256 prefixes, newest first.
const ROLLED_BACK: &str = "rolled-back";

/// Hex digits of a SHA-256 kept in the rollback record: 64 bits tell
/// packages apart, and 15 of them fit AWS's 256-character tag value.
const SHA_PREFIX: usize = 16;
/// AWS's longest tag value.
const MAX_VALUE_CHARS: usize = 256;

/// A branch's incident lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub reason: String,
    pub time: Option<String>,
    pub by: Option<String>,
}

impl Lock {
    /// The keys a lock is written under (what `unlock` removes).
    pub fn keys() -> [String; 3] {
        [LOCK, LOCK_TIME, LOCK_BY].map(|k| format!("{PREFIX}{k}"))
    }

    /// A lock taken now by `by` (a CI run's URL, else `user@host`).
    pub fn taken_now(reason: String, by: &str) -> Lock {
        let now = std::time::SystemTime::now();
        Lock {
            reason,
            time: Some(humantime::format_rfc3339_seconds(now).to_string()),
            by: Some(by.to_owned()),
        }
    }

    /// The lock the tags hold, if any.
    pub fn from_tags(tags: &HashMap<String, String>) -> Option<Lock> {
        let get = |key: &str| {
            tags.get(&format!("{PREFIX}{key}"))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let reason = tags.get(&format!("{PREFIX}{LOCK}"))?.trim().to_owned();
        Some(Lock {
            reason: if reason.is_empty() {
                "no reason given".to_owned()
            } else {
                reason
            },
            time: get(LOCK_TIME),
            by: get(LOCK_BY),
        })
    }

    /// The tags to write, each value sanitised to AWS's rules.
    pub fn to_tags(&self) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::new();
        let reason = Some(self.reason.as_str()).filter(|r| !r.trim().is_empty());
        let fields = [
            (LOCK, reason.or(Some("no reason given"))),
            (LOCK_TIME, self.time.as_deref()),
            (LOCK_BY, self.by.as_deref()),
        ];
        for (key, value) in fields {
            let value = value.map(sanitise).unwrap_or_default();
            tags.insert(format!("{PREFIX}{key}"), value);
        }
        tags
    }

    /// "at 2026-12-07T06:00:00Z by https://…/runs/1: bad release".
    pub fn describe(&self) -> String {
        format!(
            "at {} by {}: {}",
            self.time.as_deref().unwrap_or("an unknown time"),
            self.by.as_deref().unwrap_or("an unknown run"),
            self.reason
        )
    }
}

/// The packages rollbacks have moved away from, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolledBack {
    prefixes: Vec<String>,
}

impl RolledBack {
    /// The record the tags hold (empty when there is none).
    pub fn from_tags(tags: &HashMap<String, String>) -> RolledBack {
        let value = tags
            .get(&format!("{PREFIX}{ROLLED_BACK}"))
            .map_or("", String::as_str);
        RolledBack {
            prefixes: value
                .split_whitespace()
                .filter(|p| p.len() == SHA_PREFIX && p.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_ascii_lowercase)
                .collect(),
        }
    }

    /// Whether a rollback has moved away from package `sha256`.
    pub fn contains(&self, sha256: &str) -> bool {
        let sha = sha256.to_ascii_lowercase();
        self.prefixes.iter().any(|p| sha.starts_with(p.as_str()))
    }

    /// The record with `sha256` added as the newest entry (once); the
    /// oldest entries give way when the tag value would be too long.
    pub fn with(&self, sha256: &str) -> RolledBack {
        let newest = sha256
            .to_ascii_lowercase()
            .chars()
            .take(SHA_PREFIX)
            .collect::<String>();
        let mut prefixes = vec![newest.clone()];
        prefixes.extend(self.prefixes.iter().filter(|p| **p != newest).cloned());
        let fits = (MAX_VALUE_CHARS + 1) / (SHA_PREFIX + 1);
        prefixes.truncate(fits);
        RolledBack { prefixes }
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// The record as the one tag it is written to.
    pub fn to_tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(format!("{PREFIX}{ROLLED_BACK}"), self.prefixes.join(" "))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: BTreeMap<String, String>) -> HashMap<String, String> {
        pairs.into_iter().collect()
    }

    #[test]
    fn a_lock_survives_the_round_trip_and_is_sanitised() {
        let lock = Lock {
            reason: "bad release; see #12\n::error::x".into(),
            time: Some("2026-12-07T06:00:00Z".into()),
            by: Some("https://github.com/o/r/actions/runs/7".into()),
        };
        let read = Lock::from_tags(&tags(lock.to_tags())).unwrap();
        assert_eq!(read.reason, "bad release see 12 ::error::x");
        assert_eq!(read.time, lock.time);
        assert_eq!(read.by, lock.by);
        assert_eq!(
            read.describe(),
            "at 2026-12-07T06:00:00Z by https://github.com/o/r/actions/runs/7: bad release see 12 ::error::x"
        );
        assert_eq!(Lock::from_tags(&HashMap::new()), None);
        let keys = Lock::keys();
        assert!(lock.to_tags().keys().all(|k| keys.contains(k)));
    }

    #[test]
    fn the_rollback_record_keeps_the_newest_packages_that_fit_a_tag() {
        let sha = |n: u32| format!("{n:016x}{}", "ab".repeat(24));
        let mut record = RolledBack::default();
        for n in 0..20 {
            record = record.with(&sha(n));
        }
        let value = record.to_tags().into_values().next().unwrap();
        assert!(value.chars().count() <= 256, "{}", value.len());
        let read = RolledBack::from_tags(&tags(record.to_tags()));
        assert_eq!(read, record);
        assert!(read.contains(&sha(19)) && read.contains(&sha(5)));
        assert!(!read.contains(&sha(4)), "the oldest gave way");
        // Adding a package again moves it to the front, once.
        let again = read.with(&sha(5));
        assert_eq!(again.prefixes[0], format!("{:016x}", 5));
        assert_eq!(again.prefixes.len(), read.prefixes.len());
        assert!(RolledBack::from_tags(&HashMap::new()).is_empty());
        assert!(!RolledBack::default().contains(&sha(1)));
    }
}
