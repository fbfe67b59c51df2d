//! The HTTP/1.1 server loop: accepts connections and hands each request to the site
//! (`FrontDoor`, built in `web::router`). It knows no paths.
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::web::forward_auth::FrontDoor;

/// Serves `site` until `shutdown` completes, then lets every open connection finish the request
/// it is on, for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    site: FrontDoor,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                // One client's connection went wrong before it was accepted: take the next.
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: the listener itself is fine.
                    tracing::warn!(error = %e, "cannot accept a connection; trying again in a second");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        // Small answers to proxies: send them at once rather than waiting to coalesce.
        let _ = tcp.set_nodelay(true);
        let site = site.clone();
        let service =
            hyper::service::service_fn(move |req: Request<Incoming>| site.answer(peer, req));
        let conn = http1::Builder::new().serve_connection(TokioIo::new(tcp), service);
        let conn = graceful.watch(conn);
        // Forget the connections that have ended, so the set holds only open ones.
        while connections.try_join_next().is_some() {}
        connections.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_seconds = grace.as_secs_f64(),
            "requests still unfinished when the grace period ended; closing them"
        );
    }
    connections.shutdown().await;
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}
