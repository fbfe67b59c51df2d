//! `daypass serve` and `daypass check-config`.
use crate::app::App;
use crate::clock::Clock;
use crate::config::Config;

pub fn check_config(path: &std::path::Path, config: &Config) -> anyhow::Result<()> {
    println!(
        "{}: ok ({} applications, {} approvers)",
        path.display(),
        config.applications.len(),
        config.approvers.len()
    );
    if let Some(note) = crate::config::cookie_domain::unshared_note(config) {
        eprintln!("note: {note}");
    }
    Ok(())
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    if let Some(note) = crate::config::cookie_domain::unshared_note(&config) {
        tracing::warn!(
            note,
            "applications on other hosts will not receive the sign-in cookie"
        );
    }
    let stop = shutdown_signal();
    let app = App::build(config, Clock::default()).await?;
    app.run_until_stopped(stop).await
}

/// Completes on SIGTERM or Ctrl-C. The handlers are installed now, before serving starts, so a
/// signal that arrives early is not met by the default action (dying mid-write).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::spawn(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    async move {
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
