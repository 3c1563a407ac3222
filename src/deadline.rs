//! `--timeout` for every command that calls a service, and what it names
//! when it runs out: the call that was on the wire (`crate::http::wire`),
//! so a service that accepts and never answers is named in the error ("no
//! answer from S3 HeadObject at 127.0.0.1:9000") instead of being taken for
//! bad input.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{ErrorClass, RunError};
use crate::http::wire::{self, Slot};

/// Run a command's `fut` until `deadline`; past it, a timeout error (exit
/// 4) naming the call that got no answer. `timeout` is what the user set.
pub async fn within<T>(
    timeout: Duration,
    deadline: Instant,
    fut: impl Future<Output = Result<T, RunError>>,
) -> Result<T, RunError> {
    let slot = Slot::default();
    let scoped = wire::naming_calls_in(slot.clone(), fut);
    match tokio::time::timeout_at(deadline.into(), scoped).await {
        Ok(result) => result,
        Err(_) => {
            let last = slot.lock().unwrap_or_else(|p| p.into_inner()).clone();
            Err(timed_out(timeout, last.as_deref()))
        }
    }
}

/// "timed out after 8s", caused by the call that got no answer.
pub fn timed_out(timeout: Duration, last_call: Option<&str>) -> RunError {
    let err = RunError::new(
        ErrorClass::Timeout,
        format!("timed out after {}", humantime::format_duration(timeout)),
    );
    match last_call {
        Some(call) => err.cause(format!("no answer from {call} in time")),
        None => err,
    }
    .hint("raise --timeout, or check that the service answers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_timeout_names_the_call_on_the_wire() {
        let err = within(
            Duration::from_millis(50),
            Instant::now() + Duration::from_millis(50),
            async {
                wire::calling(|| "Amplify GetApp at a.example".to_owned());
                wire::calling(|| "S3 HeadObject at 127.0.0.1:9".to_owned());
                std::future::pending::<Result<(), RunError>>().await
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Timeout);
        assert_eq!(err.message, "timed out after 50ms");
        assert_eq!(
            err.causes(),
            ["no answer from S3 HeadObject at 127.0.0.1:9 in time"]
        );
        // Outside a scope, calls are not recorded and nothing breaks.
        wire::calling(|| unreachable!("not evaluated outside a scope"));
        assert_eq!(wire::on_the_wire(), None);
    }
}
