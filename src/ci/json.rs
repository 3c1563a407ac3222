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
    serde_json::to_value(o)
        .unwrap_or_else(|e| serde_json::json!({ "error": format!("cannot render outcome: {e}") }))
}

/// One line of JSON, newline-terminated.
pub fn write_to(o: &Outcome, mut out: impl Write) -> std::io::Result<()> {
    serde_json::to_writer(&mut out, &to_json(o))?;
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
                log_url: None,
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
