//! The run's [`Outcome`] as one JSON object, for Jenkins, scripts and `jq`.
//! Field names are the camelCase of `Outcome`; phase durations are seconds.

use std::io::Write;
use std::path::Path;

use super::CiError;
use crate::outcome::Outcome;

/// `-` as a `--json` target means stdout.
pub const STDOUT: &str = "-";

pub fn to_json(o: &Outcome) -> serde_json::Value {
    // Outcome has only string keys and plain values, so this cannot fail;
    // should it ever, say so in the report instead of panicking.
    let mut v = serde_json::to_value(o)
        .unwrap_or_else(|e| serde_json::json!({ "error": format!("cannot render outcome: {e}") }));
    if let serde_json::Value::Object(map) = &mut v {
        map.insert("jobConsoleUrl".into(), o.job_console_url().into());
    }
    v
}

/// `value` as one line of JSON that the GitHub runner cannot mistake for a
/// workflow command when it is printed to stdout: the runner takes a line
/// holding `##[` anywhere as a legacy command, so such a `[` (only ever
/// inside a string) is written as the equivalent escape `\u005b`.
pub fn to_line(value: &serde_json::Value) -> String {
    value.to_string().replace("##[", "##\\u005b")
}

/// One line of JSON, newline-terminated.
pub fn write_to(o: &Outcome, mut out: impl Write) -> std::io::Result<()> {
    out.write_all(to_line(&to_json(o)).as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Write to `target`: a file path, or [`STDOUT`].
pub fn write(o: &Outcome, target: &str) -> Result<(), CiError> {
    let err = |source| CiError::WriteJson {
        target: target.to_string(),
        source,
    };
    if target == STDOUT {
        write_to(o, std::io::stdout().lock()).map_err(err)
    } else {
        let file = std::fs::File::create(Path::new(target)).map_err(err)?;
        write_to(o, std::io::BufWriter::new(file)).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{PackageFacts, StepFailure};
    use std::time::Duration;

    fn outcome() -> Outcome {
        Outcome {
            app_id: "d1".into(),
            branch: "main".into(),
            region: "us-east-1".into(),
            job_id: Some("4".into()),
            status: Some("FAILED".into()),
            package: Some(PackageFacts {
                file_count: 2,
                bytes: 10,
                sha256: "aa".into(),
            }),
            phases: vec![("upload".into(), Duration::from_millis(1500))],
            failures: vec![StepFailure {
                step: "DEPLOY".into(),
                reason: Some("boom".into()),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn json_fields_are_camel_case_and_phases_seconds() {
        let v = to_json(&outcome());
        assert_eq!(v["appId"], "d1");
        assert_eq!(v["jobId"], "4");
        assert_eq!(v["jobArn"], serde_json::Value::Null);
        assert_eq!(v["package"]["fileCount"], 2);
        assert_eq!(v["package"]["sha256"], "aa");
        assert_eq!(v["phases"]["upload"], 1.5);
        assert_eq!(v["failures"][0]["step"], "DEPLOY");
        assert_eq!(v["failures"][0]["reason"], "boom");
    }

    #[test]
    fn written_as_one_line_that_parses_back() {
        let mut buf = Vec::new();
        write_to(&outcome(), &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.ends_with('\n'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, to_json(&outcome()));
    }

    #[test]
    fn hostile_strings_cannot_make_the_line_a_workflow_command() {
        let mut o = outcome();
        o.failures[0].reason = Some("##[error]x ::error::y\n##[set-env name=a]b".into());
        let mut buf = Vec::new();
        write_to(&o, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(!text.contains("##["), "{text}");
        assert!(!text.trim_start().starts_with("::"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back["failures"][0]["reason"],
            "##[error]x ::error::y\n##[set-env name=a]b"
        );
    }

    #[test]
    fn the_job_console_page_is_reported() {
        let mut o = outcome();
        assert_eq!(
            to_json(&o)["jobConsoleUrl"],
            "https://us-east-1.console.aws.amazon.com/amplify/apps/d1/branches/main/deployments/4"
        );
        o.job_id = None;
        assert_eq!(to_json(&o)["jobConsoleUrl"], serde_json::Value::Null);
    }

    #[test]
    fn file_target_is_written_and_errors_name_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write(&outcome(), path.to_str().unwrap()).unwrap();
        let back: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back["status"], "FAILED");

        let bad = dir.path().join("nope/out.json");
        let err = write(&outcome(), bad.to_str().unwrap()).unwrap_err();
        assert!(err.to_string().contains("nope/out.json"), "{err}");
    }
}
