//! GitHub Actions: workflow commands (`::add-mask::`, `::group::`,
//! annotations), step outputs in `$GITHUB_OUTPUT`, and appending to the
//! job summary in `$GITHUB_STEP_SUMMARY` (its Markdown is rendered by
//! [`super::summary`]).
//!
//! Workflow commands are lines on stdout that the runner interprets; they are
//! written only when `GITHUB_ACTIONS=true`, so a local run stays clean. The
//! two files only need their variables, so that a wrapper which sets them
//! (or a test) gets outputs without pretending to be a runner.
//!
//! Formats: <https://docs.github.com/actions/reference/workflows-and-actions/workflow-commands>.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::Digest;

use super::escape::log_line;
use super::CiError;

/// The GitHub Actions side of a run.
pub struct GitHub {
    active: bool,
    output_file: Option<PathBuf>,
    summary_file: Option<PathBuf>,
    commands: Mutex<Box<dyn Write + Send>>,
    /// SHA-256 of each value masked so far: a value is masked once (the
    /// credentials cache and the reporter both mask the same key).
    masked: Mutex<std::collections::HashSet<[u8; 32]>>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("active", &self.active)
            .field("output_file", &self.output_file)
            .field("summary_file", &self.summary_file)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// Read the runner's variables through `get`; workflow commands go to
    /// `commands`.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<OsString>,
        commands: Box<dyn Write + Send>,
    ) -> Self {
        let path = |name: &str| get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let active = get("GITHUB_ACTIONS").is_some_and(|v| v == "true");
        Self::new(
            active,
            path("GITHUB_OUTPUT"),
            path("GITHUB_STEP_SUMMARY"),
            commands,
        )
    }

    /// Explicit settings, for tests and wrappers.
    pub fn new(
        active: bool,
        output_file: Option<PathBuf>,
        summary_file: Option<PathBuf>,
        commands: Box<dyn Write + Send>,
    ) -> Self {
        GitHub {
            active,
            output_file,
            summary_file,
            commands: Mutex::new(commands),
            masked: Mutex::default(),
        }
    }

    /// Running inside GitHub Actions (`GITHUB_ACTIONS=true`).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Ask the runner to hide `secret` in the log. A multi-line secret is
    /// also masked line by line, since the log is matched one line at a time.
    pub fn mask(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let digest: [u8; 32] = sha2::Sha256::digest(secret.as_bytes()).into();
        let first = self
            .masked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest);
        if !first {
            return;
        }
        self.command(&format!("::add-mask::{}", escape_data(secret)));
        if secret.contains(['\n', '\r']) {
            for line in secret.lines().map(str::trim).filter(|l| !l.is_empty()) {
                self.command(&format!("::add-mask::{}", escape_data(line)));
            }
        }
    }

    /// Start a collapsible group of log lines.
    pub fn group(&self, title: &str) {
        self.command(&format!("::group::{}", escape_data(&log_line(title))));
    }

    pub fn end_group(&self) {
        self.command("::endgroup::");
    }

    /// An error annotation on the run; `title` may be empty.
    pub fn error(&self, title: &str, message: &str) {
        self.annotation("error", title, message);
    }

    pub fn warning(&self, title: &str, message: &str) {
        self.annotation("warning", title, message);
    }

    pub fn notice(&self, title: &str, message: &str) {
        self.annotation("notice", title, message);
    }

    fn annotation(&self, kind: &str, title: &str, message: &str) {
        self.command(&annotation_line(kind, title, message));
    }

    /// Write one workflow command line. A log line that cannot be written
    /// (closed stdout) must not fail the deploy, so errors are dropped.
    fn command(&self, line: &str) {
        if !self.active {
            return;
        }
        let mut sink = match self.commands.lock() {
            Ok(sink) => sink,
            Err(poisoned) => poisoned.into_inner(),
        };
        let _ = writeln!(sink, "{line}");
        let _ = sink.flush();
    }

    /// Append step outputs to `$GITHUB_OUTPUT`. Does nothing without the
    /// variable.
    pub fn set_outputs(&self, outputs: &[(&str, String)]) -> Result<(), CiError> {
        let Some(path) = &self.output_file else {
            return Ok(());
        };
        let mut text = String::new();
        for (key, value) in outputs {
            text.push_str(&output_entry(key, value, random_delimiter)?);
        }
        append(path, &text).map_err(|source| CiError::WriteOutputs {
            path: path.clone(),
            source,
        })
    }

    /// Append Markdown to `$GITHUB_STEP_SUMMARY`. Does nothing without the
    /// variable.
    pub fn append_summary(&self, markdown: &str) -> Result<(), CiError> {
        let Some(path) = &self.summary_file else {
            return Ok(());
        };
        append(path, markdown).map_err(|source| CiError::WriteSummary {
            path: path.clone(),
            source,
        })
    }
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())?;
    file.flush()
}

/// `::kind title=T::message`, escaped as the runner's parser expects. Each
/// line of the message goes through [`log_line`] first: the runner shows the
/// annotation's lines in the log, where they must not read as commands.
pub fn annotation_line(kind: &str, title: &str, message: &str) -> String {
    let message = message.lines().map(log_line).collect::<Vec<_>>().join("\n");
    if title.is_empty() {
        format!("::{kind}::{}", escape_data(&message))
    } else {
        format!(
            "::{kind} title={}::{}",
            escape_property(&log_line(title)),
            escape_data(&message)
        )
    }
}

/// Escape a workflow command's message (what follows the second `::`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command property value (`title=...`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn random_delimiter() -> String {
    format!("ghadelimiter_{:032x}", rand::random::<u128>())
}

/// One `$GITHUB_OUTPUT` entry: `key=value` for a single-line value, else the
/// heredoc form `key<<DELIM\nvalue\nDELIM` with a delimiter that cannot
/// occur in the value (the runner would end the value there).
pub fn output_entry(
    key: &str,
    value: &str,
    mut new_delimiter: impl FnMut() -> String,
) -> Result<String, CiError> {
    if !value.contains(['\n', '\r']) {
        return Ok(format!("{key}={value}\n"));
    }
    for _ in 0..16 {
        let delimiter = new_delimiter();
        if !delimiter.is_empty() && !value.contains(&delimiter) && !key.contains(&delimiter) {
            return Ok(format!("{key}<<{delimiter}\n{value}\n{delimiter}\n"));
        }
    }
    Err(CiError::NoDelimiter {
        key: key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A command sink the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn github(active: bool, dir: &Path) -> (GitHub, Captured) {
        let sink = Captured::default();
        let gh = GitHub::new(
            active,
            Some(dir.join("output")),
            Some(dir.join("summary")),
            Box::new(sink.clone()),
        );
        (gh, sink)
    }

    #[test]
    fn data_escapes_percent_cr_lf() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(escape_data("a:b,c"), "a:b,c");
        // `%` first, or `%0A` produced by the LF rule would be escaped again.
        assert_eq!(escape_data("%0A\n"), "%250A%0A");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn annotations_escape_title_and_message() {
        assert_eq!(
            annotation_line("error", "Deploy: failed, job 3", "line1\nline2 100%"),
            "::error title=Deploy%3A failed%2C job 3::line1%0Aline2 100%25"
        );
        assert_eq!(annotation_line("notice", "", "a:b"), "::notice::a:b");
    }

    #[test]
    fn commands_are_written_when_active() {
        let dir = tempfile::tempdir().unwrap();
        let (gh, sink) = github(true, dir.path());
        gh.mask("");
        gh.mask("s3cr%t");
        // Masked once, however often it is asked for.
        gh.mask("s3cr%t");
        gh.group("Package: dist");
        gh.end_group();
        gh.warning("Slow", "took 10m");
        gh.notice("", "ok");
        gh.error("Failed", "x");
        assert_eq!(
            sink.text(),
            "::add-mask::s3cr%25t\n::group::Package: dist\n::endgroup::\n\
             ::warning title=Slow::took 10m\n::notice::ok\n::error title=Failed::x\n"
        );
    }

    #[test]
    fn multi_line_secret_is_masked_whole_and_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let (gh, sink) = github(true, dir.path());
        gh.mask("abc\ndef\n");
        assert_eq!(
            sink.text(),
            "::add-mask::abc%0Adef%0A\n::add-mask::abc\n::add-mask::def\n"
        );
    }

    #[test]
    fn inactive_writes_no_commands_but_still_files() {
        let dir = tempfile::tempdir().unwrap();
        let (gh, sink) = github(false, dir.path());
        gh.mask("secret");
        gh.group("g");
        gh.error("t", "m");
        gh.set_outputs(&[("status", "SUCCEED".into())]).unwrap();
        gh.append_summary("# hi\n").unwrap();
        assert_eq!(sink.text(), "");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("output")).unwrap(),
            "status=SUCCEED\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("summary")).unwrap(),
            "# hi\n"
        );
    }

    #[test]
    fn outputs_append_and_use_heredoc_for_multi_line_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("output"), "earlier=1\n").unwrap();
        let (gh, _) = github(true, dir.path());
        gh.set_outputs(&[("job-id", "7".into()), ("url", "https://x".into())])
            .unwrap();
        gh.set_outputs(&[("note", "a\nb".into())]).unwrap();
        let text = std::fs::read_to_string(dir.path().join("output")).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("earlier=1"));
        assert_eq!(lines.next(), Some("job-id=7"));
        assert_eq!(lines.next(), Some("url=https://x"));
        let head = lines.next().unwrap();
        let delimiter = head.strip_prefix("note<<").unwrap();
        assert!(
            delimiter.len() > 20,
            "delimiter {delimiter} should be random and long"
        );
        assert_eq!(lines.next(), Some("a"));
        assert_eq!(lines.next(), Some("b"));
        assert_eq!(lines.next(), Some(delimiter));
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn carriage_return_alone_also_takes_the_heredoc_form() {
        let got = output_entry("k", "a\rb", || "D".into()).unwrap();
        assert_eq!(got, "k<<D\na\rb\nD\n");
    }

    #[test]
    fn delimiter_occurring_in_value_is_refused() {
        let mut offered = vec!["EOF".to_string(), "OTHER".to_string()].into_iter();
        let got = output_entry("k", "x\nEOF\ny", || offered.next().unwrap_or_default()).unwrap();
        assert_eq!(got, "k<<OTHER\nx\nEOF\ny\nOTHER\n");

        let err = output_entry("k", "x\nEOF", || "EOF".into()).unwrap_err();
        assert!(matches!(err, CiError::NoDelimiter { key } if key == "k"));
    }

    #[test]
    fn no_output_variable_means_no_output_file() {
        let sink = Captured::default();
        let gh = GitHub::from_lookup(
            |k| (k == "GITHUB_ACTIONS").then(|| "true".into()),
            Box::new(sink.clone()),
        );
        assert!(gh.is_active());
        gh.set_outputs(&[("a", "b".into())]).unwrap();
        gh.append_summary("x").unwrap();
        let off = GitHub::from_lookup(
            |k| (k == "GITHUB_ACTIONS").then(|| "false".into()),
            Box::new(sink),
        );
        assert!(!off.is_active());
    }

    #[test]
    fn unwritable_output_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("output");
        let gh = GitHub::new(
            true,
            Some(path.clone()),
            None,
            Box::new(Captured::default()),
        );
        let err = gh.set_outputs(&[("a", "b".into())]).unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn workflow_commands_carry_no_injected_command_or_line() {
        let dir = tempfile::tempdir().unwrap();
        let (gh, sink) = github(true, dir.path());
        gh.warning("skipped", "link ::error::pwned\n::add-mask::x\n##[error]x");
        gh.group("Packaging ##[group]g\n::endgroup::");
        let text = sink.text();
        assert_eq!(
            text,
            "::warning title=skipped::link ::error::pwned%0A\\::add-mask::x%0A##\\[error]x\n\
             ::group::Packaging ##\\[group]g ::endgroup::\n"
        );
        for line in text.lines() {
            assert!(!line.contains("##["), "{line}");
        }
    }
}
