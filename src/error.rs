//! The one error type the command layer returns, its exit code, and its
//! rendering for people (`error:` / `caused by:` / `hint:`).

use std::fmt;
use std::process::ExitCode;

use crate::ci::escape::log_line;

/// Exit codes. Documented in README.md; keep them stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The job ended FAILED or CANCELLED.
    DeployFailed,
    /// Bad input: nothing was changed on the service side.
    BadInput,
    /// AWS refused or failed a call (credentials, permissions, not found, …).
    Aws,
    /// `--timeout` passed.
    Timeout,
    /// `--verify strict`: deployed, but the site does not serve it yet.
    NotLive,
    /// SIGINT/SIGTERM.
    Interrupted,
}

impl ErrorClass {
    pub fn code(self) -> u8 {
        match self {
            ErrorClass::DeployFailed => 1,
            ErrorClass::BadInput => 2,
            ErrorClass::Aws => 3,
            ErrorClass::Timeout => 4,
            ErrorClass::NotLive => 5,
            ErrorClass::Interrupted => 130,
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }
}

/// A failure as the user sees it: one line saying what failed with the
/// values involved, then the causes, then what to do.
#[derive(Debug)]
pub struct RunError {
    pub class: ErrorClass,
    pub message: String,
    pub causes: Vec<String>,
    pub hint: Option<String>,
}

impl RunError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        RunError {
            class,
            message: message.into(),
            causes: Vec::new(),
            hint: None,
        }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::BadInput, message)
    }

    pub fn aws(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Aws, message)
    }

    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        let cause = cause.into();
        if !cause.is_empty() && !self.causes.contains(&cause) {
            self.causes.push(cause);
        }
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The causes of a std error chain, one line each.
    pub fn caused_by(mut self, err: &(dyn std::error::Error + 'static)) -> Self {
        let mut source = Some(err);
        while let Some(e) = source {
            self = self.cause(one_line(&e.to_string()));
            source = e.source();
        }
        self
    }
}

impl RunError {
    /// The lines people see: `error: …`, `  caused by: …`, `  hint: …`.
    /// Messages and causes carry outside text (file names, service
    /// messages), so every line goes through [`log_line`]: one line per
    /// part, and none of them a GitHub workflow command.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![log_line(&format!("error: {}", self.message))];
        for cause in &self.causes {
            lines.push(log_line(&format!("  caused by: {cause}")));
        }
        if let Some(hint) = &self.hint {
            lines.push(log_line(&format!("  hint: {hint}")));
        }
        lines
    }
}

/// A packaging error as bad input, with the OS's reason ("Permission
/// denied (os error 13)") as its cause.
impl From<crate::package::PackageError> for RunError {
    fn from(e: crate::package::PackageError) -> RunError {
        let err = RunError::input(format!("{e}"));
        match std::error::Error::source(&e) {
            Some(source) => err.caused_by(source),
            None => err,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

impl std::error::Error for RunError {}

/// Fold a possibly multi-line message into one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_message_causes_and_hint() {
        let e = RunError::aws("no Amplify app d1 in us-east-1")
            .cause("NotFoundException: App d1 not found.")
            .cause("request id: abc")
            .hint("check app-id and region");
        assert_eq!(
            e.to_string(),
            "error: no Amplify app d1 in us-east-1\n  caused by: NotFoundException: App d1 not found.\n  caused by: request id: abc\n  hint: check app-id and region"
        );
        assert_eq!(e.class.code(), 3);
    }

    #[test]
    fn hostile_parts_stay_on_their_line_and_make_no_command() {
        let e = RunError::input("cannot read ::error::pwned")
            .cause("::add-mask::x\n::stop-commands::tok")
            .cause("##[error]x")
            .hint("check\r\n::warning::y");
        assert_eq!(
            e.to_string(),
            "error: cannot read ::error::pwned\n  caused by: ::add-mask::x ::stop-commands::tok\n  caused by: ##\\[error]x\n  hint: check ::warning::y"
        );
        for line in e.to_string().lines() {
            assert!(
                !line.trim_start().starts_with("::") && !line.contains("##["),
                "{line}"
            );
        }
    }

    #[test]
    fn exit_codes_are_stable() {
        let codes: Vec<u8> = [
            ErrorClass::DeployFailed,
            ErrorClass::BadInput,
            ErrorClass::Aws,
            ErrorClass::Timeout,
            ErrorClass::Interrupted,
        ]
        .iter()
        .map(|c| c.code())
        .collect();
        assert_eq!(codes, [1, 2, 3, 4, 130]);
    }
}
