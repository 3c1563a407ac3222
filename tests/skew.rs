//! `--skew-protection` in the deploy: set on a branch it creates when the
//! app has been deployed, else right after the first SUCCEED; on an
//! existing branch only when it differs; applied under `--skip-unchanged`;
//! a refusal is a warning.

use crate::support::*;

fn skew(on: &str) -> [&str; 2] {
    ["--skew-protection", on]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_branch_of_a_deployed_app_is_created_protected() {
    let emu = emulator().await;
    let site = tiny_site();
    assert_eq!(run(&mut deploy_cmd(&emu, site.path())).await.code, 0);
    let mut c = cmd(&emu);
    c.args([
        "deploy",
        "--app-id",
        APP,
        "--branch",
        "feature/x",
        "--create-branch",
    ])
    .args(skew("true"))
    .arg("--path")
    .arg(site.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(emu.skew_protection(APP, "feature/x"));
    assert!(
        r.stderr
            .contains("skew protection on for branch feature/x: from its first deployment"),
        "{r:?}"
    );
    assert_eq!(count(&emu, "UpdateBranch"), 0, "set by CreateBranch");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_new_app_protection_follows_the_first_deploy() {
    let emu = emulator().await;
    emu.create_app("d2fresh", "WEB");
    let site = tiny_site();
    let mut c = cmd(&emu);
    c.args([
        "deploy",
        "--app-id",
        "d2fresh",
        "--branch",
        "main",
        "--create-branch",
    ])
    .args(skew("true"))
    .arg("--path")
    .arg(site.path());
    let r = run(&mut c).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(emu.skew_protection("d2fresh", "main"));
    assert!(
        r.stderr.contains("this first deployment is not protected"),
        "{r:?}"
    );
    // Turned on after the job succeeded, not before.
    let ops = operations(&emu);
    let job_done = ops.iter().rposition(|o| o == "GetJob").unwrap();
    let update = ops.iter().position(|o| o == "UpdateBranch").unwrap();
    assert!(update > job_done, "{ops:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_branch_is_updated_only_when_it_differs_even_when_skipped() {
    let emu = emulator().await;
    let site = tiny_site();
    let deploy = |on: &str, skip: bool| {
        let mut c = deploy_cmd(&emu, site.path());
        c.args(skew(on));
        if skip {
            c.arg("--skip-unchanged");
        }
        c
    };
    let r = run(&mut deploy("true", false)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(emu.skew_protection(APP, "main"));
    assert!(
        r.stderr
            .contains("it protects deployments from this one on"),
        "{r:?}"
    );
    assert_eq!(count(&emu, "UpdateBranch"), 1);
    // The same value: nothing to update.
    let r = run(&mut deploy("true", false)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(count(&emu, "UpdateBranch"), 1);
    // Unchanged site, another value: skipped, the setting applied.
    let jobs = job_statuses(&emu, "main").len();
    let r = run(&mut deploy("false", true)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("updated skew protection on branch main without a new job"),
        "{r:?}"
    );
    assert!(!emu.skew_protection(APP, "main"));
    assert_eq!(job_statuses(&emu, "main").len(), jobs);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_is_a_warning_not_a_failed_deploy() {
    let emu = emulator().await;
    let site = tiny_site();
    emu.push_fault(Fault {
        operation: Some("UpdateBranch".into()),
        times: 1,
        action: FaultAction::RefuseSkewProtection { message: None },
    });
    let r = run(deploy_cmd(&emu, site.path()).args(skew("true"))).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("warning: skew protection not turned on on branch main"),
        "{r:?}"
    );
    assert!(!emu.skew_protection(APP, "main"));
    assert_eq!(job_statuses(&emu, "main"), ["SUCCEED"]);
}
