//! GitHub's REST API as this program uses it: the client (retries,
//! pagination, deployments), the preview comment, and the event payload a
//! workflow runs for. The preview integration that drives them is
//! `crate::preview`.

pub mod client;
pub mod comment;
pub mod event;
