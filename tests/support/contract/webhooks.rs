//! Webhook event payloads (what `GITHUB_EVENT_PATH` holds) built from
//! GitHub's webhooks description (`@octokit/openapi-webhooks`): it has no
//! example payloads for these events, so each is made from the event's
//! schema (its own examples where it gives them, its required fields
//! throughout) and a test overrides only what it needs.

use serde_json::Value;

use super::schema::Validator;

/// The webhooks description.
pub struct Webhooks {
    pub doc: Value,
}

impl Webhooks {
    /// `info.version`: the package version it came from.
    pub fn version(&self) -> &str {
        self.doc["info"]["version"].as_str().unwrap_or("?")
    }

    /// The payload schema of `event` (`pull_request`) with `action`
    /// (`opened`; empty for events without one, such as `push`).
    /// `pull_request_target` carries `pull_request`'s payload.
    pub fn schema(&self, event: &str, action: &str) -> Result<&Value, String> {
        let event = match event {
            "pull_request_target" => "pull_request",
            other => other,
        };
        let mut key = event.replace('_', "-");
        if !action.is_empty() {
            key = format!("{key}-{}", action.replace('_', "-"));
        }
        self.doc["webhooks"]
            .get(&key)
            .and_then(|w| w.pointer("/post/requestBody/content/application~1json/schema"))
            .ok_or_else(|| {
                format!("GitHub documents no {event} event with action {action:?} (webhook {key})")
            })
    }

    /// A payload of `event`/`action` with `overrides` merged in; panics when
    /// an override names a field the event does not have or the result
    /// breaks the event's schema.
    pub fn payload(&self, event: &str, action: &str, overrides: &Value) -> Value {
        let schema = self.schema(event, action).unwrap_or_else(|e| panic!("{e}"));
        let v = Validator::new(&self.doc);
        let mut payload = v.instance(schema);
        if let Err(e) = v.merge(schema, &mut payload, overrides, "") {
            panic!("{event} {action} payload: {e}");
        }
        let errors = v.errors(schema, &payload);
        assert!(
            errors.is_empty(),
            "the {event} {action} payload breaks GitHub's schema:\n  {}",
            errors.join("\n  ")
        );
        payload
    }
}
