//! UpdateApp: the members the emulator keeps, `customRules` (redirects and
//! rewrites, shared by every branch) and `customHeaders` (YAML). Both are
//! checked against the service model's constraints (lengths, the status
//! pattern) with the service's validation message, then against what the
//! sites can apply: a status Amplify has no rule type for, a regex source
//! that does not compile, or headers YAML that does not read are refused
//! with a BadRequestException, so a bad rule fails where it is sent
//! rather than on the site.
//!
//! <https://docs.aws.amazon.com/amplify/latest/APIReference/API_UpdateApp.html>

use serde_json::{json, Map, Value};

use super::input::{json_object, optional_string};
use super::render;
use super::route::ApiCall;
use crate::error::ApiError;
use crate::headers;
use crate::rules::{CustomRule, Source, STATUSES};
use crate::shared::Shared;

/// Longest `source`, `target` and `condition` (the model's `max`).
const MAX_PATTERN: usize = 2048;
/// Longest `customHeaders` (the model's `max`).
const MAX_HEADERS: usize = 25_000;

/// UpdateApp: replaces the members it is given, returns the app.
pub(super) fn update(shared: &Shared, call: &ApiCall, body: &[u8]) -> Result<Value, ApiError> {
    let input = json_object(body)?;
    let rules = custom_rules(&input)?;
    let custom_headers = optional_string(&input, "customHeaders")?;
    let mut violations = Vec::new();
    if let Some(rules) = &rules {
        for (i, rule) in rules.iter().enumerate() {
            rule_violations(i + 1, rule, &mut violations);
        }
    }
    if let Some(text) = &custom_headers {
        length(&mut violations, "customHeaders", text, 0, MAX_HEADERS);
    }
    if !violations.is_empty() {
        return Err(validation_error(&violations));
    }
    let rules = rules.map(|rules| {
        rules
            .into_iter()
            .map(RuleInput::into_rule)
            .collect::<Vec<_>>()
    });
    if let Some(rules) = &rules {
        for (i, rule) in rules.iter().enumerate() {
            check_applicable(i + 1, rule)?;
        }
    }
    if let Some(text) = &custom_headers {
        headers::parse(text).map_err(|e| {
            ApiError::bad_request(format!(
                "customHeaders is not a valid custom headers YAML: {e}"
            ))
        })?;
    }
    let mut state = shared.state();
    let region = state.region.clone();
    let app = state.app_mut(&call.app_id)?;
    if let Some(rules) = rules {
        app.custom_rules = rules;
    }
    if let Some(text) = custom_headers {
        app.custom_headers = (!text.is_empty()).then_some(text);
    }
    Ok(json!({ "app": render::app(&region, app) }))
}

/// One rule as sent: `source` and `target` may be missing.
struct RuleInput {
    source: Option<String>,
    target: Option<String>,
    status: Option<String>,
    condition: Option<String>,
}

impl RuleInput {
    fn into_rule(self) -> CustomRule {
        CustomRule {
            source: self.source.unwrap_or_default(),
            target: self.target.unwrap_or_default(),
            status: self.status,
            condition: self.condition,
        }
    }
}

/// `customRules` as given: `None` when absent or null.
fn custom_rules(input: &Map<String, Value>) -> Result<Option<Vec<RuleInput>>, ApiError> {
    let list = match input.get("customRules") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(ApiError::serialization(
                "Expected a list for member 'customRules'.",
            ))
        }
    };
    list.iter()
        .map(|item| {
            let Value::Object(rule) = item else {
                return Err(ApiError::serialization(
                    "Expected a structure for a member of 'customRules'.",
                ));
            };
            Ok(RuleInput {
                source: optional_string(rule, "source")?,
                target: optional_string(rule, "target")?,
                status: optional_string(rule, "status")?,
                condition: optional_string(rule, "condition")?,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The model's constraints on one rule, as the service words them.
fn rule_violations(index: usize, rule: &RuleInput, out: &mut Vec<String>) {
    let at = |member: &str| format!("customRules.{index}.member.{member}");
    for (member, value) in [("source", &rule.source), ("target", &rule.target)] {
        match value {
            None => out.push(format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                at(member)
            )),
            Some(value) => length(out, &at(member), value, 1, MAX_PATTERN),
        }
    }
    if let Some(status) = &rule.status {
        length(out, &at("status"), status, 3, 7);
        let count = status.chars().count();
        if (3..=7).contains(&count) && status.contains('\n') {
            out.push(format!(
                "Value '{status}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: .{{3,7}}",
                at("status")
            ));
        }
    }
    if let Some(condition) = &rule.condition {
        length(out, &at("condition"), condition, 0, MAX_PATTERN);
    }
}

fn length(out: &mut Vec<String>, at: &str, value: &str, min: usize, max: usize) {
    let count = value.chars().count();
    if count < min {
        out.push(format!(
            "Value '{value}' at '{at}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        ));
    } else if count > max {
        out.push(format!(
            "Value '{value}' at '{at}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ));
    }
}

/// The service's `N validation error(s) detected: …; …`.
fn validation_error(violations: &[String]) -> ApiError {
    let count = violations.len();
    let noun = if count == 1 { "error" } else { "errors" };
    ApiError::bad_request(format!(
        "{count} validation {noun} detected: {}",
        violations.join("; ")
    ))
}

/// A rule the sites can apply: a known status and a source that compiles.
fn check_applicable(index: usize, rule: &CustomRule) -> Result<(), ApiError> {
    if let Some(status) = &rule.status {
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Custom rule {index} (source '{}') has status '{status}': the status must be one of {}.",
                rule.source,
                STATUSES.join(", ")
            )));
        }
    }
    Source::parse(&rule.source).map(|_| ()).map_err(|e| {
        ApiError::bad_request(format!(
            "Custom rule {index} has an invalid source '{}': {e}.",
            rule.source
        ))
    })
}
