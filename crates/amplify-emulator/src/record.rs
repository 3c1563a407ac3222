//! What the tests read back from an emulator: the jobs of a branch
//! ([`JobRecord`]) and the log of every request received
//! ([`RequestRecord`]), also served as JSON by the control endpoint.

use serde::Serialize;

/// One job as the tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobRecord {
    pub job_id: String,
    pub status: String,
    pub source_url: Option<String>,
    pub status_reason: Option<String>,
}

/// One request the emulator received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// The [`crate::Operation`]'s name: "CreateDeployment", …, "Upload",
    /// "Site", "StepLog", "Control", "Unknown".
    pub operation: String,
    pub method: String,
    /// The path without its query (still percent-encoded).
    pub path: String,
    /// The query string as received, if any (an upload URL's carries its
    /// signature: tests check it never reaches the client's output).
    pub query: Option<String>,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    /// The fault applied, by its `type` name ("drop", "status", …).
    pub fault: Option<String>,
    /// Lower-cased names, values as received (secrets included).
    pub headers: Vec<(String, String)>,
    /// Body bytes read.
    pub body_len: u64,
}
