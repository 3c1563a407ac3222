//! How the run prints, as settings resolved it (`crate::settings` resolves
//! it; the reporter carries it).

use std::time::Duration;

use crate::choices::Verbosity;

/// How the run prints: resolved once, carried by the `Reporter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSettings {
    pub verbosity: Verbosity,
    /// ANSI colour on stderr (never in files, outputs, JSON or dotenv).
    pub color: bool,
    pub progress: ProgressMode,
}

/// How long-running steps show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// `--quiet`: none.
    Off,
    /// CI or not a terminal: one plain line at most this often.
    Lines(Duration),
    /// A terminal: one line redrawn in place.
    Live,
}

/// Plain progress lines at most this often (`AMPLIFY_PROGRESS_INTERVAL`
/// lowers it in tests).
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);
