//! Which remote call is on the wire: each call marks itself ([`calling`])
//! in a slot that an enclosing [`naming_calls`] (or `crate::deadline`)
//! scope owns, so that a timeout can name the service that accepted and
//! never answered. Transport-level: it knows nothing of errors or commands.

use std::future::Future;
use std::sync::{Arc, Mutex};

/// The slot a scope owns: the call most recently sent.
pub type Slot = Arc<Mutex<Option<String>>>;

tokio::task_local! {
    static ON_THE_WIRE: Slot;
}

/// Run `fut` with its calls named (see [`on_the_wire`]).
pub async fn naming_calls<F: Future>(fut: F) -> F::Output {
    if ON_THE_WIRE.try_with(|_| ()).is_ok() {
        return fut.await;
    }
    ON_THE_WIRE.scope(Slot::default(), fut).await
}

/// Run `fut` with its calls named in `slot`, which the caller keeps.
pub async fn naming_calls_in<F: Future>(slot: Slot, fut: F) -> F::Output {
    ON_THE_WIRE.scope(slot, fut).await
}

/// Note the call now sent, e.g. "Amplify ListJobs at amplify.us-east-1.amazonaws.com".
pub fn calling(what: impl FnOnce() -> String) {
    let _ = ON_THE_WIRE.try_with(|slot| {
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(what());
    });
}

/// The call most recently sent in this scope.
pub fn on_the_wire() -> Option<String> {
    ON_THE_WIRE
        .try_with(|slot| slot.lock().unwrap_or_else(|p| p.into_inner()).clone())
        .ok()
        .flatten()
}
