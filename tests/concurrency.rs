//! Several CI runs deploying to one branch at once: each waits for the
//! others' jobs and never touches them.

use std::time::Duration;

use crate::support::*;

/// Start `runs` deploys of `site` to one branch at the same moment, with
/// the default `--on-busy wait`, and wait for all of them.
async fn simultaneous(emu: &Emulator, site: &std::path::Path, runs: usize) -> Vec<Run> {
    let children: Vec<_> = (0..runs)
        .map(|_| {
            let mut c = deploy_cmd(emu, site);
            c.args(["--timeout", "120s"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().expect("spawn")
        })
        .collect();
    let mut out = Vec::new();
    for child in children {
        let o = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
            .await
            .expect("join");
        out.push(Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        });
    }
    out
}

async fn runs_to_one_branch_all_succeed(runs: usize) {
    let emu = emulator().await;
    // Every run lists the branch's jobs (none unfinished), then its
    // CreateDeployment is held: the first one performed creates a job, the
    // others are told that job is not finished while it is still PENDING
    // (uploads are slow too), and jobs take a while.
    emu.set_job_duration(Duration::from_millis(400));
    emu.push_fault(fault(
        "CreateDeployment",
        1000,
        FaultAction::Delay { ms: 500 },
    ));
    emu.push_fault(fault("Upload", 1000, FaultAction::Delay { ms: 700 }));
    let site = tiny_site();
    let results = simultaneous(&emu, site.path(), runs).await;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.code, 0, "run {i}: {r:?}");
        assert!(!r.stderr.contains("answer was lost"), "run {i}: {r:?}");
    }
    let jobs = emu.jobs(APP, "main");
    assert_eq!(
        jobs.iter().map(|j| j.status.as_str()).collect::<Vec<_>>(),
        vec!["SUCCEED"; runs],
        "{results:?}"
    );
    assert_eq!(count(&emu, "StopJob"), 0, "{results:?}");
    // One after another: each run followed a job of its own.
    let mut followed: Vec<String> = results
        .iter()
        .map(|r| {
            r.stderr
                .lines()
                .find_map(|l| l.strip_prefix("started job "))
                .expect("each run started a job")
                .trim()
                .to_owned()
        })
        .collect();
    followed.sort_by_key(|id| id.parse::<u64>().unwrap_or(0));
    let expected: Vec<String> = (1..=runs).map(|n| n.to_string()).collect();
    assert_eq!(followed, expected, "{results:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn three_simultaneous_runs_to_one_branch_all_succeed() {
    runs_to_one_branch_all_succeed(3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_simultaneous_runs_to_one_branch_all_succeed() {
    runs_to_one_branch_all_succeed(8).await;
}
