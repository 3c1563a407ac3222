//! The incident lock: `lock`, `unlock`, `rollback --lock`, and what a
//! locked branch does to deploy (`--force` does not pass it,
//! `--override-lock` does), promote, status and history.

use std::process::Command;

use crate::support::*;

fn branch_cmd(emu: &Emulator, command: &str) -> Command {
    let mut c = cmd(emu);
    c.args([command, "--app-id", APP, "--branch", "main"]);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_branch_takes_no_deploy_until_unlocked_or_overridden() {
    let emu = emulator().await;
    let site = tiny_site();
    assert_eq!(run(&mut deploy_cmd(&emu, site.path())).await.code, 0);
    let mut lock = branch_cmd(&emu, "lock");
    lock.args(["--reason", "bad release, see INC-7"])
        .env("CI_JOB_URL", "https://gitlab.example/g/p/-/jobs/77");
    let r = run(&mut lock).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("locked d1test/main at 20"), "{r:?}");
    let tags = emu.tags(APP, "main");
    assert_eq!(tags["amplify-deploy:lock"], "bad release see INC-7");
    assert_eq!(
        tags["amplify-deploy:lock-by"],
        "https://gitlab.example/g/p/-/jobs/77"
    );

    // --force keeps its one meaning: still LOCKED, exit 0, nothing started.
    let out = tempfile::tempdir().unwrap();
    let r = run(deploy_cmd(&emu, site.path())
        .args(["--force", "--dotenv"])
        .arg(out.path().join("env")))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("warning: branch main is locked at 20"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("by https://gitlab.example/g/p/-/jobs/77: bad release see INC-7"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("locked d1test/main: nothing deployed"),
        "{r:?}"
    );
    let env = std::fs::read_to_string(out.path().join("env")).unwrap();
    assert!(env.contains("AMPLIFY_STATUS=LOCKED\n"), "{env}");
    assert_eq!(count(&emu, "CreateDeployment"), 1);

    // status and history show it.
    let r = run(&mut branch_cmd(&emu, "status")).await;
    assert!(r.stdout.contains("  locked   at 20"), "{r:?}");
    let r = run(branch_cmd(&emu, "status").arg("--json")).await;
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["live"]["lock"]["reason"], "bad release see INC-7", "{v}");
    let r = run(&mut branch_cmd(&emu, "history")).await;
    assert!(r.stdout.contains("LOCKED at 20"), "{r:?}");

    // --override-lock deploys; the lock stays.
    let r = run(deploy_cmd(&emu, site.path()).arg("--override-lock")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&emu, "CreateDeployment"), 2);
    assert!(emu.tags(APP, "main").contains_key("amplify-deploy:lock"));

    // unlock releases it; a second unlock has nothing to do.
    let r = run(&mut branch_cmd(&emu, "unlock")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("unlocked d1test/main (it was locked at"),
        "{r:?}"
    );
    assert!(!emu.tags(APP, "main").keys().any(|k| k.contains("lock")));
    let r = run(&mut branch_cmd(&emu, "unlock")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("d1test/main is not locked"), "{r:?}");
    assert_eq!(run(&mut deploy_cmd(&emu, site.path())).await.code, 0);
    assert_eq!(count(&emu, "CreateDeployment"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_and_unlock_fail_when_the_tags_cannot_be_written() {
    let emu = emulator().await;
    emu.push_fault(status_fault(
        "TagResource",
        1,
        403,
        Some("AccessDeniedException"),
    ));
    let r = run(&mut branch_cmd(&emu, "lock")).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("amplify:TagResource"), "{r:?}");
    assert!(!emu.tags(APP, "main").contains_key("amplify-deploy:lock"));

    assert_eq!(run(&mut branch_cmd(&emu, "lock")).await.code, 0);
    emu.push_fault(status_fault(
        "UntagResource",
        1,
        403,
        Some("AccessDeniedException"),
    ));
    let r = run(&mut branch_cmd(&emu, "unlock")).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("amplify:UntagResource"), "{r:?}");
    assert!(emu.tags(APP, "main").contains_key("amplify-deploy:lock"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_lock_locks_before_its_job_and_works_on_a_locked_branch() {
    let (emu, bucket) = crate::rollback::setup().await;
    let v1 = crate::rollback::store(&emu, &bucket, "one").await;
    let v2 = crate::rollback::store(&emu, &bucket, "two").await;
    for v in [&v1, &v2] {
        assert_eq!(
            crate::rollback::deploy_stored(&emu, &bucket, v).await.code,
            0
        );
    }
    let r = run(&mut crate::rollback::rollback(
        &emu,
        &["--lock", "--reason", "v2 leaks a page"],
    ))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("locked branch main at 20"), "{r:?}");
    // Locked before the job started: the lock line precedes "started job".
    let locked_at = r.stderr.find("locked branch main").unwrap();
    let started_at = r.stderr.find("started job 3").unwrap();
    assert!(locked_at < started_at, "{r:?}");
    assert_eq!(
        emu.tags(APP, "main")["amplify-deploy:lock"],
        "v2 leaks a page"
    );
    // A push now ends LOCKED; promote to it too.
    let r = run(&mut crate::rollback::rollback(&emu, &["--job-id", "2"])).await;
    assert_eq!(r.code, 0, "rollback works on a locked branch: {r:?}");
    let site = tiny_site();
    let r = run(&mut deploy_cmd(&emu, site.path())).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("locked d1test/main: nothing deployed"),
        "{r:?}"
    );
    emu.create_branch(APP, "staging");
    assert_eq!(
        run(cmd(&emu).args(["lock", "--app-id", APP, "--branch", "staging"]))
            .await
            .code,
        0
    );
    let r = run(crate::rollback::s3_cmd(&emu).args([
        "promote",
        "--app-id",
        APP,
        "--from-branch",
        "main",
        "--to-branch",
        "staging",
    ]))
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("locked d1test/staging: nothing deployed"),
        "{r:?}"
    );
    assert!(emu.jobs(APP, "staging").is_empty());
}
