//! The command layer (uv's `commands/`): one function per command, chosen
//! by one `match` on the resolved [`Settings`]. Commands drive the layers
//! below (the deploy pipeline, previews, packaging, the Amplify client);
//! nothing below imports this.

mod artifacts;
mod branch;
mod completions;
mod delete_job;
mod deploy;
mod history;
mod incident;
mod init;
mod package;
mod previews;
mod promote;
mod rollback;
mod rules_sync;

use std::time::Instant;

use crate::error::RunError;
use crate::report::Reporter;
use crate::settings::Settings;

/// Run the command the settings describe, within its `--timeout` (deploy,
/// rollback and promote keep their own, which stops their job).
pub async fn run(settings: &Settings, reporter: &Reporter) -> Result<(), RunError> {
    match settings.timeout() {
        Some(timeout) => {
            let deadline = Instant::now() + timeout;
            crate::deadline::within(timeout, deadline, dispatch(settings, reporter)).await
        }
        None => dispatch(settings, reporter).await,
    }
}

async fn dispatch(settings: &Settings, reporter: &Reporter) -> Result<(), RunError> {
    match settings {
        Settings::Deploy(s) => deploy::deploy(s, reporter).await,
        Settings::Package(s) => package::package(s, reporter).await,
        Settings::DeleteBranch { target, if_exists } => {
            branch::delete_branch(target, *if_exists, reporter).await
        }
        Settings::DeleteJob(s) => delete_job::delete_job(s, reporter).await,
        Settings::Status { job, json } => branch::status(job, *json, reporter).await,
        Settings::Stop(job) => branch::stop(job, reporter).await,
        Settings::Completions(shell) => completions::completions(*shell),
        Settings::Init(s) => init::init(s, reporter).await,
        Settings::Previews(s) => previews::previews(s, reporter).await,
        Settings::RulesSync(s) => rules_sync::sync(s, reporter).await,
        Settings::History(s) => history::history(s, reporter).await,
        Settings::Rollback(s) => rollback::rollback(s, reporter).await,
        Settings::Promote(s) => promote::promote(s, reporter).await,
        Settings::Lock(s) => incident::lock(s, reporter).await,
        Settings::Unlock(s) => incident::unlock(s, reporter).await,
    }
}
