//! GitLab `artifacts:reports:dotenv`: `AMPLIFY_JOB_ID=…` lines that later
//! jobs receive as variables.
//!
//! GitLab's parser is stricter than the dotenv convention: ASCII
//! `[A-Za-z0-9_]` names, one `KEY=value` per line, no empty lines or
//! comments, no quoting or escapes (quotes are kept as typed), surrounding
//! blanks stripped, and a small size limit. So names are sanitised, line
//! breaks in values become spaces, and nothing is quoted.
//! <https://docs.gitlab.com/ci/yaml/artifacts_reports/#artifactsreportsdotenv>

use std::path::Path;

use super::CiError;
use crate::outcome::Outcome;

/// The report's text: one line per entry of [`Outcome::outputs`].
pub fn render(o: &Outcome) -> String {
    let mut text = String::new();
    for (key, value) in o.outputs() {
        text.push_str(&variable_name(key));
        text.push('=');
        text.push_str(&single_line(&value));
        text.push('\n');
    }
    text
}

/// Write the report to `path`, replacing what was there.
pub fn write_file(o: &Outcome, path: &Path) -> Result<(), CiError> {
    std::fs::write(path, render(o)).map_err(|source| CiError::WriteDotenv {
        path: path.to_path_buf(),
        source,
    })
}

/// `job-id` → `AMPLIFY_JOB_ID`; anything outside `[A-Za-z0-9_]` becomes `_`.
pub fn variable_name(key: &str) -> String {
    let tail: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("AMPLIFY_{tail}")
}

/// GitLab reads one value per line and trims it; say the same thing on one
/// line rather than let a value spill into a bogus next entry.
fn single_line(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::PackageFacts;

    #[test]
    fn names_are_upper_snake_with_prefix() {
        assert_eq!(variable_name("job-id"), "AMPLIFY_JOB_ID");
        assert_eq!(variable_name("package-sha256"), "AMPLIFY_PACKAGE_SHA256");
        assert_eq!(variable_name("weird.kéy"), "AMPLIFY_WEIRD_K_Y");
    }

    #[test]
    fn report_has_every_output_on_its_own_line() {
        let o = Outcome {
            job_id: Some("3".into()),
            job_arn: Some("arn:aws:amplify:eu-west-1:1:apps/d1/branches/main/jobs/3".into()),
            status: Some("SUCCEED".into()),
            url: Some("https://www.example.com".into()),
            urls: vec![
                "https://main.d1.amplifyapp.com".into(),
                "https://www.example.com".into(),
            ],
            package: Some(PackageFacts {
                file_count: 5,
                bytes: 1234,
                sha256: "00ff".into(),
            }),
            ..Default::default()
        };
        assert_eq!(
            render(&o),
            "AMPLIFY_JOB_ID=3\n\
             AMPLIFY_JOB_ARN=arn:aws:amplify:eu-west-1:1:apps/d1/branches/main/jobs/3\n\
             AMPLIFY_STATUS=SUCCEED\n\
             AMPLIFY_URL=https://www.example.com\n\
             AMPLIFY_URLS=https://main.d1.amplifyapp.com https://www.example.com\n\
             AMPLIFY_PACKAGE_SHA256=00ff\n\
             AMPLIFY_PACKAGE_BYTES=1234\n\
             AMPLIFY_FILE_COUNT=5\n"
        );
    }

    #[test]
    fn values_never_span_lines() {
        let o = Outcome {
            status: Some(" FAILED\r\n\nINJECTED=1 ".into()),
            ..Default::default()
        };
        let text = render(&o);
        assert!(
            text.contains("AMPLIFY_STATUS=FAILED INJECTED=1\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.lines().all(|l| !l.is_empty()));
    }

    #[test]
    fn write_file_replaces_and_reports_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deploy.env");
        std::fs::write(&path, "OLD=1\n").unwrap();
        write_file(&Outcome::default(), &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("AMPLIFY_JOB_ID=\n"), "{text}");
        assert!(!text.contains("OLD"));

        let bad = dir.path().join("no/such/dir.env");
        let err = write_file(&Outcome::default(), &bad).unwrap_err();
        assert!(err.to_string().contains("no/such/dir.env"), "{err}");
    }
}
