use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::amplify::{Branch, JobStatus, Secret};
use crate::cli::{try_parse_from, Command};
use crate::incident::Lock;
use crate::settings::{DeploySettings, Env, LockRequest, Undo};

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// The plan of `deploy` with these flags, in an empty environment.
fn settings(flags: &[&str]) -> DeploySettings {
    let mut argv = vec![
        "amplify-deploy",
        "deploy",
        "--app-id",
        "d1",
        "--branch",
        "main",
        "--source-url",
        "https://example.com/site.zip",
    ];
    argv.extend(flags);
    let cli = try_parse_from(argv, |_| None).unwrap();
    let Some(Command::Deploy(args)) = cli.command else {
        panic!("not deploy")
    };
    DeploySettings::resolve(&args, &Env::from_map(BTreeMap::new())).unwrap()
}

fn plan(flags: &[&str]) -> DeploySettings {
    settings(flags)
}

fn job(id: &str, status: JobStatus) -> JobSummary {
    JobSummary {
        job_id: Some(id.into()),
        status: Some(status),
        ..JobSummary::default()
    }
}

/// Branch `main` serving job 3 (package A, commit of `commit_time`), with
/// `extra` tags.
fn facts(commit_time: &str, extra: BTreeMap<String, String>) -> Facts {
    let mut tags: HashMap<String, String> = Provenance {
        job_id: "3".into(),
        sha256: Some(SHA_A.into()),
        commit: Some("c3".into()),
        commit_time: Some(commit_time.into()),
        tree: Some("tree-a".into()),
        bytes: Some("156".into()),
        ..Provenance::default()
    }
    .to_tags()
    .into_iter()
    .collect();
    tags.extend(extra);
    Facts {
        branch: Some(Branch {
            branch_arn: Some("arn:aws:amplify:us-east-1:1:apps/d1/branches/main".into()),
            active_job_id: Some("3".into()),
            tags: Some(tags),
            ..Branch::default()
        }),
        jobs: vec![job("4", JobStatus::Failed), job("3", JobStatus::Succeed)],
        ..Facts::default()
    }
}

fn lock() -> BTreeMap<String, String> {
    Lock {
        reason: "incident 7".into(),
        time: Some("2026-12-07T06:00:00Z".into()),
        by: Some("alice@laptop".into()),
    }
    .to_tags()
}

const OLD: &str = "2026-01-01T00:00:00Z";
const ZIP_A: Ours<'static> = Ours {
    sha256: Some(SHA_A),
    tree: None,
};

fn decided(v: Verdict) -> Decision {
    match v {
        Verdict::Decided(d) => d,
        other => panic!("not decided: {other:?}"),
    }
}

#[test]
fn a_lock_holds_every_deploy_but_an_override_or_a_rollback() {
    let f = facts(OLD, lock());
    let d = decided(decide(&plan(&[]), &f, ZIP_A));
    assert!(
        matches!(&d, Decision::Locked(l) if l.reason == "incident 7"),
        "{d:?}"
    );
    // --force keeps its one meaning: it does not walk past a lock.
    let d = decided(decide(&plan(&["--force"]), &f, ZIP_A));
    assert!(matches!(d, Decision::Locked(_)), "{d:?}");
    let d = decided(decide(&plan(&["--override-lock"]), &f, ZIP_A));
    assert!(matches!(d, Decision::Deploy { .. }), "{d:?}");
    let mut s = settings(&[]);
    s.options.undo = Some(Undo {
        lock: Some(LockRequest {
            reason: None,
            by: "me".into(),
        }),
    });
    let d = decided(decide(&s, &f, ZIP_A));
    assert!(matches!(d, Decision::Deploy { .. }), "{d:?}");
}

#[test]
fn an_older_commit_is_superseded_before_anything_else_is_weighed() {
    // Our commit (from CI_COMMIT_TIMESTAMP) is older than the live one.
    let mut s = settings(&["--on-busy", "fail", "--skip-unchanged"]);
    s.commit.time = crate::provenance::parse_time("2025-06-01T00:00:00Z");
    let p = s.clone();
    let mut f = facts(OLD, BTreeMap::new());
    f.jobs.insert(0, job("5", JobStatus::Running));
    let d = decided(decide(&p, &f, ZIP_A));
    let Decision::Superseded(why) = d else {
        panic!("{d:?}")
    };
    assert!(
        why.contains("serves a newer commit, c3 (2026-01-01T00:00:00Z) (job 3)"),
        "{why}"
    );
    // --force deploys it anyway (here: busy, and --on-busy fail).
    s.commit.force = true;
    let d = decided(decide(&s, &f, ZIP_A));
    assert_eq!(
        d,
        Decision::Busy {
            job_id: "5".into(),
            status: "RUNNING".into()
        }
    );
    // A newer commit of ours deploys.
    s.commit.force = false;
    s.commit.time = crate::provenance::parse_time("2026-06-01T00:00:00Z");
    let d = decided(decide(&s, &f, ZIP_A));
    assert!(matches!(d, Decision::Busy { .. }), "{d:?}");
}

#[test]
fn a_busy_branch_is_waited_for_failed_or_stopped_as_on_busy_says() {
    let mut f = facts(OLD, BTreeMap::new());
    f.jobs.insert(0, job("5", JobStatus::Pending));
    assert_eq!(decide(&plan(&[]), &f, ZIP_A), Verdict::WaitForBusy);
    let d = decided(decide(&plan(&["--on-busy", "stop"]), &f, ZIP_A));
    assert!(matches!(d, Decision::Deploy { .. }), "{d:?}");
    // Skipping is judged on a free branch only.
    let d = decided(decide(
        &plan(&["--on-busy", "stop", "--skip-unchanged"]),
        &f,
        ZIP_A,
    ));
    let Decision::Deploy { note, .. } = d else {
        panic!("{d:?}")
    };
    assert_eq!(note.as_deref(), Some("a job is running on the branch"));
    // A dry run says what it would do, and waits for nothing.
    let d = decided(decide(&plan(&["--dry-run"]), &f, ZIP_A));
    assert_eq!(
        d,
        Decision::DryRun("wait for job 5 (the branch is busy), then decide again".into())
    );
}

#[test]
fn skip_unchanged_needs_the_package_and_every_setting_live() {
    let f = facts(OLD, BTreeMap::new());
    let skip = plan(&["--skip-unchanged"]);
    let d = decided(decide(&skip, &f, ZIP_A));
    assert!(
        matches!(&d, Decision::Skipped { sha256, changes, .. } if sha256 == SHA_A && *changes == Changes::default()),
        "{d:?}"
    );
    let other = Ours {
        sha256: Some(SHA_B),
        tree: None,
    };
    let d = decided(decide(&skip, &f, other));
    assert!(
        matches!(&d, Decision::Deploy { note: Some(n), .. } if n == "live job 3 serves another package"),
        "{d:?}"
    );
    // The same package with a new password: skipped, the password applied.
    let with_auth = plan(&["--skip-unchanged", "--basic-auth", "ci:new-secret"]);
    let mut protected = f.clone();
    let b = protected.branch.as_mut().unwrap();
    b.enable_basic_auth = Some(true);
    b.basic_auth_credentials = Some(Secret(
        crate::settings::BasicAuth {
            user: "ci".into(),
            password: "old-secret".into(),
        }
        .encoded(),
    ));
    let d = decided(decide(&with_auth, &protected, ZIP_A));
    let Decision::Skipped { changes, .. } = d else {
        panic!("{d:?}")
    };
    assert!(changes.basic_auth && !changes.create_branch);
    // The same password: nothing to apply.
    let same = plan(&["--skip-unchanged", "--basic-auth", "ci:old-secret"]);
    let d = decided(decide(&same, &protected, ZIP_A));
    assert!(
        matches!(&d, Decision::Skipped { changes, .. } if !changes.basic_auth),
        "{d:?}"
    );
}

#[test]
fn the_tree_digest_decides_before_any_zip_and_anything_unsure_deploys() {
    let skip = plan(&["--skip-unchanged"]);
    let f = facts(OLD, BTreeMap::new());
    let same_tree = Ours {
        sha256: None,
        tree: Some("tree-a"),
    };
    let d = decided(decide(&skip, &f, same_tree));
    assert!(
        matches!(&d, Decision::Skipped { sha256, .. } if sha256 == SHA_A),
        "{d:?}"
    );
    let other_tree = Ours {
        sha256: None,
        tree: Some("tree-b"),
    };
    let d = decided(decide(&skip, &f, other_tree));
    assert!(
        matches!(&d, Decision::Deploy { note: Some(n), .. } if n == "live job 3 serves another package"),
        "{d:?}"
    );
    // The live job records no tree: only the zip can tell.
    let mut untreed = f.clone();
    let tags = untreed.branch.as_mut().unwrap().tags.as_mut().unwrap();
    tags.insert(format!("{}tree", crate::provenance::PREFIX), String::new());
    assert_eq!(decide(&skip, &untreed, other_tree), Verdict::NeedZip);
    // The live job is disputed (activeJobId names another): deploy.
    let mut disputed = f.clone();
    disputed.branch.as_mut().unwrap().active_job_id = Some("2".into());
    let d = decided(decide(&skip, &disputed, same_tree));
    assert!(matches!(d, Decision::Deploy { .. }), "{d:?}");
    // No branch yet: created, never skipped.
    let d = decided(decide(&skip, &Facts::default(), same_tree));
    assert!(
        matches!(&d, Decision::Deploy { changes, .. } if changes.create_branch),
        "{d:?}"
    );
}

#[test]
fn after_a_wait_a_lock_or_a_newer_commit_still_stops_the_run() {
    let mut s = settings(&[]);
    s.commit.time = crate::provenance::parse_time("2025-06-01T00:00:00Z");
    let p = s.clone();
    assert!(matches!(
        recheck(&p, &facts(OLD, BTreeMap::new())),
        Some(Decision::Superseded(_))
    ));
    assert!(matches!(
        recheck(&p, &facts(OLD, lock())),
        Some(Decision::Locked(_))
    ));
    assert_eq!(recheck(&plan(&[]), &facts(OLD, BTreeMap::new())), None);
}
