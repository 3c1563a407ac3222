//! The Markdown job summary of a deploy (`$GITHUB_STEP_SUMMARY`; written
//! by [`super::github::GitHub::append_summary`]). Every value from outside
//! passes through [`markdown`], the Markdown sink's one escaping function.

use std::fmt::Write as _;
use std::time::Duration;

use super::escape::{markdown, markdown_link};
use crate::amplify::JobStatus;
use crate::outcome::{Outcome, RunStatus};
use crate::package::human_bytes;

/// The job summary: one table of what the run did, the console link, and for
/// a failed job each failed step's reason. Every value from outside goes
/// through [`markdown`]; step log URLs are presigned and never appear here:
/// the job's console page shows the logs.
pub fn summary_markdown(o: &Outcome) -> String {
    let status = o.status.as_ref().map_or("NOT STARTED", RunStatus::as_str);
    let icon = match &o.status {
        Some(RunStatus::Job(JobStatus::Succeed)) => "✅",
        Some(RunStatus::Job(JobStatus::Failed | JobStatus::Cancelled)) | None => "❌",
        Some(RunStatus::DryRun) => "📝",
        Some(
            RunStatus::Superseded
            | RunStatus::Skipped
            | RunStatus::Deferred
            | RunStatus::AwaitingApproval
            | RunStatus::Disabled,
        ) => "⏭️",
        Some(RunStatus::Locked) => "🔒",
        _ => "⏳",
    };
    let mut md = String::new();
    let _ = writeln!(md, "### {icon} Amplify deploy: {}\n", markdown(status));
    md.push_str("| | |\n|---|---|\n");
    let mut row = |name: &str, value: String| {
        let _ = writeln!(md, "| {name} | {value} |");
    };
    row("App", markdown(&o.app_id));
    row("Branch", markdown(&o.branch));
    if !o.region.is_empty() {
        row("Region", markdown(&o.region));
    }
    row("Job", markdown(o.job_id.as_deref().unwrap_or("-")));
    row("Status", markdown(status));
    if let Some(url) = &o.url {
        row("URL", markdown_link(url, url));
    }
    if let Some(v) = &o.verify {
        row("Live check", markdown(&v.shown()));
    }
    if let Some(source) = &o.source_url {
        row("Source", markdown(&crate::http::redact_url(source)));
    }
    if let Some(p) = &o.package {
        row("Files", p.file_count.to_string());
        row(
            "Size",
            format!("{} ({} bytes)", human_bytes(p.bytes), p.bytes),
        );
        row("SHA-256", format!("<code>{}</code>", markdown(&p.sha256)));
    }
    for (phase, took) in &o.phases {
        row(&format!("Time: {}", markdown(phase)), human_duration(*took));
    }
    console_link_and_failures(o, &mut md);
    md.push('\n');
    md
}

/// The link to the job's console page (or the app's deployments), and the
/// failed steps' table.
fn console_link_and_failures(o: &Outcome, md: &mut String) {
    if let Some(job_page) = o.job_console_url() {
        let _ = writeln!(
            md,
            "\n{}",
            markdown_link(
                "Open the job and its logs in the Amplify console",
                &job_page
            )
        );
    } else if !o.console_url.is_empty() {
        let _ = writeln!(
            md,
            "\n{}",
            markdown_link(
                "Open the deployments in the Amplify console",
                &o.console_url
            )
        );
    }
    if !o.failures.is_empty() {
        md.push_str("\n#### Failed steps\n\n| Step | Reason |\n|---|---|\n");
        for f in &o.failures {
            let reason = f.reason.as_deref().map_or_else(|| "-".into(), markdown);
            let _ = writeln!(md, "| {} | {reason} |", markdown(&f.step));
        }
    }
}

fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        let whole = d.as_secs();
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{PackageFacts, StepFailure};

    fn outcome() -> Outcome {
        Outcome {
            app_id: "d1example".into(),
            branch: "main".into(),
            region: "us-east-1".into(),
            job_id: Some("12".into()),
            job_arn: Some(
                "arn:aws:amplify:us-east-1:123:apps/d1example/branches/main/jobs/12".into(),
            ),
            status: Some("SUCCEED".into()),
            url: Some("https://main.d1example.amplifyapp.com".into()),
            console_url: crate::outcome::console_url("us-east-1", "d1example", "main"),
            package: Some(PackageFacts {
                file_count: 42,
                bytes: 3 * 1024 * 1024 + 512,
                sha256: "ab".repeat(32),
            }),
            source_url: None,
            phases: vec![
                ("package".into(), Duration::from_millis(1250)),
                ("deploy".into(), Duration::from_secs(125)),
            ],
            failures: vec![],
            ..Outcome::default()
        }
    }

    #[test]
    fn summary_has_every_fact_of_a_success() {
        let md = summary_markdown(&outcome());
        for want in [
            "### ✅ Amplify deploy: SUCCEED",
            "| App | d1example |",
            "| Branch | main |",
            "| Region | us-east-1 |",
            "| Job | 12 |",
            "| Status | SUCCEED |",
            "| URL | [https://main.d1example.amplifyapp.com](https://main.d1example.amplifyapp.com) |",
            "| Files | 42 |",
            "| Size | 3.0 MiB (3146240 bytes) |",
            &format!("| SHA-256 | <code>{}</code> |", "ab".repeat(32)),
            "| Time: package | 1.2 s |",
            "| Time: deploy | 2m 05s |",
            "[Open the job and its logs in the Amplify console](https://us-east-1.console.aws.amazon.com/amplify/apps/d1example/branches/main/deployments/12)",
        ] {
            assert!(md.contains(want), "summary lacks {want:?}:\n{md}");
        }
        assert!(!md.contains("Failed steps"));
    }

    #[test]
    fn summary_lists_failed_steps_and_escapes_cells() {
        let mut o = outcome();
        o.status = Some("FAILED".into());
        o.branch = "feat|x".into();
        o.failures = vec![
            StepFailure {
                step: "DEPLOY".into(),
                reason: Some("bad | file\r\nsecond <b>line</b>".into()),
            },
            StepFailure {
                step: "VERIFY".into(),
                reason: None,
            },
        ];
        let md = summary_markdown(&o);
        assert!(md.contains("### ❌ Amplify deploy: FAILED"), "{md}");
        assert!(md.contains("| Branch | feat\\|x |"), "{md}");
        assert!(md.contains("#### Failed steps"), "{md}");
        assert!(
            md.contains("| DEPLOY | bad \\| file second &lt;b&gt;line&lt;/b&gt; |"),
            "{md}"
        );
        assert!(md.contains("| VERIFY | - |"), "{md}");
        // The job's console page (with its logs), never a log URL.
        assert!(
            md.contains("[Open the job and its logs in the Amplify console](https://us-east-1.console.aws.amazon.com/amplify/apps/d1example/branches/feat%7Cx/deployments/12)"),
            "{md}"
        );
        // Every table row keeps exactly its columns.
        for line in md.lines().filter(|l| l.starts_with("| DEPLOY")) {
            assert_eq!(line.replace("\\|", "").matches('|').count(), 3, "{line}");
        }
    }

    #[test]
    fn hostile_service_strings_render_as_text() {
        let hostile = "![x](https://evil/x.png) <img src=x> | a\n::error::y";
        let mut o = outcome();
        o.status = Some("FAILED".into());
        o.failures = vec![StepFailure {
            step: hostile.into(),
            reason: Some(hostile.into()),
        }];
        o.source_url = Some("https://b.s3.amazonaws.com/s.zip?X-Amz-Signature=SIG".into());
        let md = summary_markdown(&o);
        // A renderer sees headings, the links we made, and text.
        let (markup, cells) = crate::ci::escape::tests::parse(&md);
        assert!(
            markup.iter().all(|e| e.contains("Heading")
                || e.contains("Link")
                || e.contains("\"<code>\"")
                || e.contains("\"</code>\"")),
            "{markup:?}"
        );
        let links = markup
            .iter()
            .filter(|e| e.starts_with("Start(Link"))
            .count();
        assert_eq!(links, 2, "URL and console page only: {markup:?}");
        let folded = "![x](https://evil/x.png) <img src=x> | a ::error::y";
        assert!(
            cells.iter().filter(|c| *c == folded).count() == 2,
            "{cells:?}"
        );
        assert!(!md.contains("!["), "{md}");
        assert!(!md.contains("<img"), "{md}");
        assert!(!md.contains("\n::"), "{md}");
        assert!(!md.contains("X-Amz-Signature"), "{md}");
        for line in md.lines().filter(|l| l.starts_with('|')) {
            let columns = line.replace("\\|", "").matches('|').count();
            assert_eq!(columns, 3, "{line}");
        }
    }

    #[test]
    fn summary_of_a_run_that_never_started() {
        let o = Outcome {
            app_id: "d1".into(),
            branch: "main".into(),
            ..Default::default()
        };
        let md = summary_markdown(&o);
        assert!(md.contains("### ❌ Amplify deploy: NOT STARTED"), "{md}");
        assert!(md.contains("| Job | - |"), "{md}");
        assert!(!md.contains("Amplify console"), "{md}");
    }
}
