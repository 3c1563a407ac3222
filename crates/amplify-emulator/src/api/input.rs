//! Reading a request's input as Amplify's REST-JSON protocol does: the JSON
//! body as an object (an empty body is `{}`), string members, and the
//! `appId` label's pattern. Wrong shapes are `SerializationException`s,
//! missing or invalid values `BadRequestException`s, with the service's texts.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Amplify's pattern for app ids: `d[a-z0-9]+`, at most 20 characters.
pub(crate) fn check_app_id(app_id: &str) -> Result<(), ApiError> {
    let valid = (1..=20).contains(&app_id.len())
        && app_id.starts_with('d')
        && app_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "1 validation error detected: Value '{app_id}' at 'appId' failed to satisfy constraint: Member must satisfy regular expression pattern: d[a-z0-9]+"
        )))
    }
}

pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::serialization(
            "Start of structure or map found where not expected.",
        )),
        Err(e) => Err(ApiError::serialization(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

pub(crate) fn optional_string(
    input: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, ApiError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::serialization(format!(
            "Expected a string for member '{name}'."
        ))),
    }
}

pub(crate) fn optional_bool(
    input: &Map<String, Value>,
    name: &str,
) -> Result<Option<bool>, ApiError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::serialization(format!(
            "Expected a boolean for member '{name}'."
        ))),
    }
}

pub(crate) fn required_string(input: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    optional_string(input, name)?.ok_or_else(|| {
        ApiError::bad_request(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn malformed_bodies_are_serialization_errors() {
        assert_eq!(json_object(b"").map(|m| m.len()), Ok(0));
        let err = json_object(b"{not json").expect_err("bad json");
        assert_eq!(err.error_type, "SerializationException");
        assert!(json_object(b"[1]").is_err());
        let mut input = Map::new();
        input.insert("jobId".into(), json!(5));
        assert!(optional_string(&input, "jobId").is_err());
    }
}
