//! `daypass healthcheck`: asks the running server's `/healthz`, for a container's HEALTHCHECK
//! (the image has no curl). Plain HTTP/1.1 over a socket: no client library for one GET.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the whole check may take; a server slower than this counts as unhealthy.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// The address to ask: `listen`, with an unspecified address (0.0.0.0, ::) replaced by loopback.
/// Asks the server the config describes and prints its answer.
pub async fn run(config: &crate::config::Config) -> anyhow::Result<()> {
    let addr = target(config.server.listen);
    let body = check(addr).await?;
    println!("{addr}: {body}");
    Ok(())
}

pub fn target(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, listen.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, listen.port()).into(),
        _ => listen,
    }
}

/// GETs `/healthz` at `addr`; `Ok` with the body when it answers 200, an error saying what
/// went wrong otherwise.
pub async fn check(addr: SocketAddr) -> anyhow::Result<String> {
    tokio::time::timeout(TIMEOUT, get_healthz(addr))
        .await
        .with_context(|| format!("{addr} did not answer within {} s", TIMEOUT.as_secs()))?
}

async fn get_healthz(addr: SocketAddr) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: daypass-healthcheck\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // /healthz answers a few hundred bytes; never read more than this from anyone.
    (&mut stream)
        .take(64 * 1024)
        .read_to_end(&mut response)
        .await
        .with_context(|| format!("reading the answer from {addr}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or_default();
    match status.split_whitespace().nth(1) {
        Some("200") => Ok(body.trim().to_string()),
        Some(_) => bail!("{addr}/healthz answered `{status}`: {}", body.trim()),
        None => bail!("{addr}/healthz did not answer HTTP"),
    }
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        for (listen, asked) in [
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:9000", "[::1]:9000"),
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("10.0.0.5:80", "10.0.0.5:80"),
        ] {
            assert_eq!(target(listen.parse().unwrap()).to_string(), asked);
        }
    }
}
