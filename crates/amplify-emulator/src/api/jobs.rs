//! The job queries, StopJob and DeleteJob: GetJob (with its step's
//! presigned log URL), ListJobs with Amplify's paging (shared with
//! ListBranches), StopJob, DeleteJob.

use std::sync::Arc;

use serde_json::{json, Value};

use super::deploy::finish_cancel_later;
use super::render;
use super::route::ApiCall;
use crate::error::ApiError;
use crate::presign::query_pairs;
use crate::shared::Shared;
use crate::state::MAX_LIST_RESULTS;
use crate::upload;

/// GetJob: the job and its DEPLOY step, whose `logUrl` is presigned.
pub(super) fn get(shared: &Shared, call: &ApiCall) -> Result<Value, ApiError> {
    let state = shared.state();
    let job = state.job(&call.app_id, call.branch(), call.job_id())?;
    let log_url = upload::log_url(shared, (&call.app_id, call.branch(), &job.job_id), "DEPLOY");
    let job = render::job(&state.region, &call.app_id, call.branch(), job, &log_url);
    Ok(json!({ "job": job }))
}

/// StopJob: PENDING ends at once; RUNNING ends after a short CANCELLING.
pub(super) fn stop(shared: &Arc<Shared>, call: &ApiCall) -> Result<Value, ApiError> {
    let (job, needs_task) = shared
        .state()
        .stop_job(&call.app_id, call.branch(), call.job_id())?;
    if needs_task {
        finish_cancel_later(shared, job.serial);
    }
    let state = shared.state();
    let summary = render::job_summary(&state.region, &call.app_id, call.branch(), &job);
    Ok(json!({ "jobSummary": summary }))
}

/// DeleteJob: a finished job and its files are gone; answers the job's
/// summary as it was.
pub(super) fn delete(shared: &Shared, call: &ApiCall) -> Result<Value, ApiError> {
    let mut state = shared.state();
    let job = state.delete_job(&call.app_id, call.branch(), call.job_id())?;
    let summary = render::job_summary(&state.region, &call.app_id, call.branch(), &job);
    Ok(json!({ "jobSummary": summary }))
}

/// ListJobs: newest first, `maxResults` (≤ 50) per page, `nextToken`.
pub(super) fn list(
    shared: &Shared,
    call: &ApiCall,
    query: Option<&str>,
) -> Result<Value, ApiError> {
    let page = Page::from_query(query)?;
    let state = shared.state();
    let branch = state.branch(&call.app_id, call.branch())?;
    let newest_first: Vec<_> = branch.jobs.iter().rev().collect();
    let summaries = |job: &&crate::state::Job| {
        render::job_summary(&state.region, &call.app_id, call.branch(), job)
    };
    Ok(page.answer("jobSummaries", &newest_first, summaries))
}

/// One page of a listing: where it starts and how long it is, from
/// `maxResults` (0 or absent: 50, at most 50) and `nextToken`.
pub(super) struct Page {
    start: usize,
    max_results: usize,
}

impl Page {
    pub(super) fn from_query(query: Option<&str>) -> Result<Page, ApiError> {
        let mut page = Page {
            start: 0,
            max_results: MAX_LIST_RESULTS,
        };
        for (name, value) in query_pairs(query.unwrap_or_default()) {
            match name.as_str() {
                "maxResults" => {
                    let parsed: i64 = value.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "maxResults must be a number, got '{value}'."
                        ))
                    })?;
                    if !(0..=MAX_LIST_RESULTS as i64).contains(&parsed) {
                        return Err(ApiError::bad_request(format!(
                            "1 validation error detected: Value '{parsed}' at 'maxResults' failed to satisfy constraint: Member must have value between 0 and {MAX_LIST_RESULTS}"
                        )));
                    }
                    if parsed > 0 {
                        page.max_results = parsed as usize;
                    }
                }
                "nextToken" => {
                    page.start = decode_token(&value).ok_or_else(|| {
                        ApiError::bad_request(format!("Invalid nextToken: {value}"))
                    })?;
                }
                _ => {}
            }
        }
        Ok(page)
    }

    /// `{member: [this page of items], nextToken?}`.
    pub(super) fn answer<T>(
        &self,
        member: &str,
        items: &[T],
        render: impl Fn(&T) -> Value,
    ) -> Value {
        let page: Vec<Value> = items
            .iter()
            .skip(self.start)
            .take(self.max_results)
            .map(render)
            .collect();
        let mut output = json!({ member: page });
        let next = self.start + self.max_results;
        if next < items.len() {
            output["nextToken"] = json!(encode_token(next));
        }
        output
    }
}

/// Pagination tokens are opaque to clients; this one is an offset.
fn encode_token(offset: usize) -> String {
    format!("emulator-offset-{offset}")
}

fn decode_token(token: &str) -> Option<usize> {
    token.strip_prefix("emulator-offset-")?.parse().ok()
}
