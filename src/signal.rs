//! Shutdown signals: the GitHub runner sends SIGINT, then SIGTERM 7.5 s
//! later, then kills; GitLab and Jenkins send SIGTERM; a terminal sends
//! SIGINT (Ctrl-C, also on Windows).

/// Resolves with the signal's name when one arrives.
pub async fn shutdown() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}
