//! The difference between an app's `customRules` and the rules a sync
//! would write, as people read a diff: unchanged rules with two spaces,
//! removed with `-`, added with `+`, in the new order.

use crate::amplify::CustomRule;

/// A rule as one readable line: `/old -> /new 301`, `[if <US>]`.
pub fn rule_line(rule: &CustomRule) -> String {
    let mut line = format!(
        "{} -> {} {}",
        rule.source,
        rule.target,
        rule.status.as_deref().unwrap_or("(no status)")
    );
    if let Some(c) = rule.condition.as_deref().filter(|c| !c.is_empty()) {
        line.push_str(&format!(" if {c}"));
    }
    line
}

/// The diff from `old` to `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDiff {
    /// `' '`, `'-'` or `'+'`, and the rule's line.
    pub lines: Vec<(char, String)>,
}

impl RuleDiff {
    /// Whether the app's rules would change.
    pub fn changed(&self) -> bool {
        self.lines.iter().any(|(mark, _)| *mark != ' ')
    }

    pub fn added(&self) -> usize {
        self.lines.iter().filter(|(m, _)| *m == '+').count()
    }

    pub fn removed(&self) -> usize {
        self.lines.iter().filter(|(m, _)| *m == '-').count()
    }
}

/// A longest-common-subsequence diff of the two lists. Rules compare as
/// the service holds them: an absent condition equals an empty one.
pub fn diff(old: &[CustomRule], new: &[CustomRule]) -> RuleDiff {
    let old: Vec<String> = old.iter().map(rule_line).collect();
    let new: Vec<String> = new.iter().map(rule_line).collect();
    // lcs[i][j]: the common length of old[i..] and new[j..].
    let mut lcs = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut lines) = (0, 0, Vec::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            lines.push((' ', old[i].clone()));
            (i, j) = (i + 1, j + 1);
        } else if i < old.len() && (j == new.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals first where both fit, as `diff -u` shows a change.
            lines.push(('-', old[i].clone()));
            i += 1;
        } else {
            lines.push(('+', new[j].clone()));
            j += 1;
        }
    }
    RuleDiff { lines }
}
