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
///
/// The causes keep their types until they are rendered: a typed error
/// given with [`RunError::source`] is walked link by link (one `caused by:`
/// line each) only in [`RunError::lines`]; text given with
/// [`RunError::cause`] is one line as it is.
#[derive(Debug)]
pub struct RunError {
    pub class: ErrorClass,
    pub message: String,
    /// In the order given; rendered by [`RunError::causes`].
    causes: Vec<Cause>,
    pub hint: Option<String>,
}

/// One cause of a [`RunError`].
#[derive(Debug)]
enum Cause {
    /// A line of text.
    Text(String),
    /// A typed error and its chain; `below`: the error's own text is the
    /// message already, so its lines start at its source.
    Chain {
        error: Box<dyn std::error::Error + Send + Sync>,
        below: bool,
    },
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

    /// A cause that is only text (a service's message, a refused line).
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(Cause::Text(cause.into()));
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `err` and its chain as causes, kept typed: one line per link when
    /// rendered. (Named as the builder it is; `Error::source` of a
    /// `RunError` is reached as `std::error::Error::source(&e)`.)
    pub fn source<E>(mut self, err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        self.causes.push(Cause::Chain {
            error: Box::new(err),
            below: false,
        });
        self
    }

    /// The chain below `err` as causes, `err` kept typed: for an error
    /// whose message already says what `err` says.
    pub fn sources_of<E>(mut self, err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        self.causes.push(Cause::Chain {
            error: Box::new(err),
            below: true,
        });
        self
    }

    /// The causes of a borrowed error chain, one line each, as text (for
    /// callers that do not own the error; prefer [`RunError::source`]).
    pub fn caused_by(mut self, err: &(dyn std::error::Error + 'static)) -> Self {
        let mut source = Some(err);
        while let Some(e) = source {
            self = self.cause(one_line(&e.to_string()));
            source = e.source();
        }
        self
    }

    /// The `caused by:` lines: every cause in order, a typed one link by
    /// link (each folded to one line), none empty, none twice.
    pub fn causes(&self) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut add = |line: String| {
            if !line.is_empty() && !lines.contains(&line) {
                lines.push(line);
            }
        };
        for cause in &self.causes {
            match cause {
                Cause::Text(text) => add(text.clone()),
                Cause::Chain { error, below } => {
                    let error: &(dyn std::error::Error + 'static) = &**error;
                    let mut link = if *below { error.source() } else { Some(error) };
                    while let Some(e) = link {
                        add(one_line(&e.to_string()));
                        link = e.source();
                    }
                }
            }
        }
        lines
    }
}

impl RunError {
    /// The lines people see: `error: …`, `  caused by: …`, `  hint: …`.
    /// Messages and causes carry outside text (file names, service
    /// messages), so every line goes through [`log_line`]: one line per
    /// part, and none of them a GitHub workflow command.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![log_line(&format!("error: {}", self.message))];
        for cause in self.causes() {
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
        RunError::input(format!("{e}")).sources_of(e)
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

/// The typed chain: the first typed cause (below it, for one given with
/// [`RunError::sources_of`]). Text causes are not errors and are left out.
impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.causes.iter().find_map(|cause| match cause {
            Cause::Text(_) => None,
            Cause::Chain { error, below } => {
                let error: &(dyn std::error::Error + 'static) = &**error;
                if *below {
                    error.source()
                } else {
                    Some(error)
                }
            }
        })
    }
}

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

    /// A two-link chain: `outer` over an io error.
    #[derive(Debug, thiserror::Error)]
    #[error("cannot read site/index.html:\n  {source}")]
    struct Outer {
        source: std::io::Error,
    }

    fn outer() -> Outer {
        Outer {
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied"),
        }
    }

    #[test]
    fn a_typed_source_renders_as_its_chain_did_as_text() {
        let typed = RunError::input("packaging failed")
            .cause("first")
            .source(outer())
            .cause("Permission denied")
            .cause("")
            .hint("check the folder");
        let text = RunError::input("packaging failed")
            .cause("first")
            .caused_by(&outer())
            .cause("Permission denied")
            .cause("")
            .hint("check the folder");
        assert_eq!(typed.to_string(), text.to_string());
        assert_eq!(
            typed.lines(),
            [
                "error: packaging failed",
                "  caused by: first",
                "  caused by: cannot read site/index.html: Permission denied",
                "  caused by: Permission denied",
                "  hint: check the folder",
            ]
        );
        // The chain is still typed after the builder.
        let source = std::error::Error::source(&typed).expect("a typed source");
        assert!(source.downcast_ref::<Outer>().is_some());
    }

    #[test]
    fn sources_of_starts_below_the_error_it_keeps() {
        let e = RunError::input(outer().to_string()).sources_of(outer());
        assert_eq!(e.causes(), ["Permission denied"]);
        let source = std::error::Error::source(&e).expect("a typed source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        // Text only: no typed source.
        assert!(std::error::Error::source(&RunError::aws("x").cause("y")).is_none());
    }

    #[test]
    fn a_run_error_crosses_threads() {
        fn send_sync<T: Send + Sync + 'static>(_: &T) {}
        send_sync(&RunError::input("x").source(outer()));
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
