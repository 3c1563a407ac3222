//! TagResource, UntagResource and ListTagsForResource on a branch ARN
//! (`/tags/{resourceArn}`, routed by [`super::route_tags`]).

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use super::input::json_object;
use super::ApiCall;
use crate::error::ApiError;
use crate::shared::Shared;

/// TagResource: `{"tags": {key: value}}`, merged into the branch's tags.
pub(super) fn tag(shared: &Shared, call: &ApiCall, body: &[u8]) -> Result<Value, ApiError> {
    let input = json_object(body)?;
    let Some(tags) = from_input(&input)? else {
        return Err(ApiError::bad_request("tags is required"));
    };
    let mut state = shared.state();
    state.branch_mut(&call.app_id, call.branch())?.tag(tags)?;
    Ok(json!({}))
}

/// The `tags` member of an input (TagResource, CreateBranch), if given.
pub(super) fn from_input(
    input: &serde_json::Map<String, Value>,
) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let given = match input.get("tags") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(given)) => given,
        Some(_) => return Err(ApiError::serialization("Expected a map for member 'tags'.")),
    };
    let mut tags = BTreeMap::new();
    for (key, value) in given {
        let Value::String(value) = value else {
            return Err(ApiError::serialization("Tag values must be strings."));
        };
        tags.insert(key.clone(), value.clone());
    }
    Ok(Some(tags))
}

/// UntagResource: `?tagKeys=a&tagKeys=b`.
pub(super) fn untag(
    shared: &Shared,
    call: &ApiCall,
    query: Option<&str>,
) -> Result<Value, ApiError> {
    let keys: Vec<String> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("tagKeys="))
        .map(|k| percent_decode_str(k).decode_utf8_lossy().into_owned())
        .collect();
    let mut state = shared.state();
    let branch = state.branch_mut(&call.app_id, call.branch())?;
    for key in keys {
        branch.tags.remove(&key);
    }
    Ok(json!({}))
}

/// ListTagsForResource.
pub(super) fn list(shared: &Shared, call: &ApiCall) -> Result<Value, ApiError> {
    let state = shared.state();
    let branch = state.branch(&call.app_id, call.branch())?;
    Ok(json!({ "tags": branch.tags }))
}
