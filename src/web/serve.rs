//! The HTTP/1.1 server loop. A proxy's `GET /auth` is answered straight from the connection,
//! before the router: no routing, no request extensions, no boxed future, no counter shared
//! between cores. Everything else goes through the router with the peer address as `ConnectInfo`.
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower_service::Service;

use super::forward_auth;
use crate::context::Context;

/// Serves `router` (and `/auth` for `ctx`) until `shutdown` completes, then lets every open
/// connection finish the request it is on, for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<Context>,
    router: Router,
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
        let (ctx, router) = (ctx.clone(), router.clone());
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            answer(&ctx, &router, peer, req)
        });
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

/// One request on a connection from `peer`.
fn answer(ctx: &Context, router: &Router, peer: SocketAddr, req: Request<Incoming>) -> Answer {
    if req.method() == Method::GET && req.uri().path() == "/auth" {
        let response = forward_auth::answer(ctx, req.headers(), req.uri(), Some(peer));
        return Answer::Ready(std::future::ready(Ok(response)));
    }
    let mut req = req.map(Body::new);
    req.extensions_mut().insert(ConnectInfo(peer));
    Answer::Routed(router.clone().call(req))
}

/// The response future: ready at once for `/auth`, the router's otherwise.
enum Answer {
    Ready(std::future::Ready<Result<Response, Infallible>>),
    Routed(<Router as Service<Request<Body>>>::Future),
}

impl Future for Answer {
    type Output = Result<Response, Infallible>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        // Both futures are `Unpin`, so the enum is too.
        match self.get_mut() {
            Answer::Ready(f) => std::pin::Pin::new(f).poll(cx),
            Answer::Routed(f) => std::pin::Pin::new(f).poll(cx),
        }
    }
}
