//! `daypass <command>`: serve, check the config, and look after requests, grants and the audit log.
pub mod healthcheck;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::app::App;
use crate::clock::{self, Clock};
use crate::config::Config;
use crate::domain::{duration_text, parse_duration};
use crate::store::{GrantState, Origin, RequestState, Store, Via};

#[derive(Parser, Debug)]
#[command(
    name = "daypass",
    version,
    about = "Temporary, approved access to internal web applications"
)]
pub struct Cli {
    /// The config file.
    #[arg(
        long,
        global = true,
        env = "DAYPASS_CONFIG",
        default_value = "config/daypass.toml"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Validate the config and name the key that is wrong.
    CheckConfig,
    /// Create or update the database schema.
    Migrate,
    /// Copy every request, grant, session, audit event and queued message of one database into
    /// another, empty one (e.g. from SQLite to PostgreSQL, to run several replicas).
    CopyDb {
        /// The database to copy: sqlite://PATH or postgres://USER@HOST/DATABASE.
        #[arg(long)]
        from: String,
        /// The new database; it is created (migrated) here, and must hold no rows.
        #[arg(long)]
        to: String,
    },
    /// Ask the running server's /healthz (on server.listen); exit 0 when healthy, 1 otherwise.
    Healthcheck,
    /// Access requests.
    Requests {
        #[command(subcommand)]
        command: RequestsCommand,
    },
    /// Grants of access.
    Grants {
        #[command(subcommand)]
        command: GrantsCommand,
    },
    /// The audit log, oldest first.
    Audit {
        /// Only events since this time: RFC 3339 (2026-11-25T10:00:00Z) or an age (2h, 30m).
        #[arg(long)]
        since: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum RequestsCommand {
    /// List requests, newest first.
    List {
        /// pending, approved, denied, expired or cancelled.
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GrantsCommand {
    /// List grants, newest first.
    List {
        /// Only grants that let someone through now.
        #[arg(long)]
        active: bool,
    },
    /// End a grant now.
    Revoke {
        id: i64,
        #[arg(long)]
        reason: Option<String>,
    },
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

async fn copy_db(from: &str, to: &str) -> anyhow::Result<()> {
    let source = Store::open(from)
        .await
        .with_context(|| format!("--from: cannot open {}", redacted(from)))?;
    source
        .migrate()
        .await
        .with_context(|| format!("--from: cannot bring {} up to date", redacted(from)))?;
    let target = Store::open(to)
        .await
        .with_context(|| format!("--to: cannot open {}", redacted(to)))?;
    target
        .migrate()
        .await
        .with_context(|| format!("--to: cannot create the schema in {}", redacted(to)))?;
    eprintln!("copying {} to {}", redacted(from), redacted(to));
    let copied = source
        .copy_into(&target, |table, n| eprintln!("  {table}: {n} rows"))
        .await
        .context("--to")?;
    let total: u64 = copied.iter().map(|(_, n)| n).sum();
    println!("copied {total} rows; point database.url at the new database and start daypass");
    source.close().await;
    target.close().await;
    Ok(())
}

/// A database URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

async fn open(config: &Config) -> anyhow::Result<Store> {
    let store = Store::open(&config.database.url).await.with_context(|| {
        format!(
            "database.url: cannot open {}",
            redacted(&config.database.url)
        )
    })?;
    store.migrate().await?;
    Ok(store)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::CopyDb { from, to } = &cli.command {
        return copy_db(from, to).await;
    }
    let config = load(&cli.config)?;
    match cli.command {
        Command::CopyDb { .. } => Ok(()),
        Command::CheckConfig => {
            println!(
                "{}: ok ({} applications, {} approvers)",
                cli.config.display(),
                config.applications.len(),
                config.approvers.len()
            );
            if let Some(note) = crate::config::cookie_domain::unshared_note(&config) {
                eprintln!("note: {note}");
            }
            Ok(())
        }
        Command::Serve => {
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
        Command::Healthcheck => {
            let addr = crate::cli::healthcheck::target(config.server.listen);
            let body = crate::cli::healthcheck::check(addr).await?;
            println!("{addr}: {body}");
            Ok(())
        }
        Command::Migrate => {
            open(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Requests {
            command: RequestsCommand::List { status },
        } => {
            let status = match &status {
                None => None,
                Some(s) => Some(RequestState::parse(s).ok_or_else(|| {
                    let all: Vec<&str> = RequestState::ALL.iter().map(|s| s.as_str()).collect();
                    anyhow::anyhow!("--status: `{s}` is not one of {}", all.join(", "))
                })?),
            };
            let store = open(&config).await?;
            println!(
                "{:>6}  {:<9}  {:<12}  {:<28}  {:<17}  justification",
                "id", "state", "app", "requester", "asked at"
            );
            for r in store.list_requests(status, 1000).await? {
                println!(
                    "{:>6}  {:<9}  {:<12}  {:<28}  {:<17}  {}",
                    r.id,
                    r.state,
                    r.app_slug,
                    r.requester,
                    clock::show(r.created_at).trim_end_matches(" UTC"),
                    r.justification.replace('\n', " ")
                );
            }
            Ok(())
        }
        Command::Grants {
            command: GrantsCommand::List { active },
        } => {
            let store = open(&config).await?;
            let now = Clock::default().now_ms();
            println!(
                "{:>6}  {:<8}  {:<12}  {:<28}  {:<8}  {:<17}  approved by",
                "id", "state", "app", "holder", "duration", "expires"
            );
            for g in store.list_grants(active, now, 1000).await? {
                let state = if g.state == GrantState::Active && !g.is_live(now) {
                    "expiring"
                } else {
                    g.state.as_str()
                };
                println!(
                    "{:>6}  {:<8}  {:<12}  {:<28}  {:<8}  {:<17}  {}",
                    g.id,
                    state,
                    g.app_slug,
                    g.email,
                    duration_text(g.expires_at - g.approved_at),
                    clock::show(g.expires_at).trim_end_matches(" UTC"),
                    g.approved_by
                );
            }
            Ok(())
        }
        Command::Grants {
            command: GrantsCommand::Revoke { id, reason },
        } => {
            let store = open(&config).await?;
            let reason = reason
                .map(|r| crate::domain::Reason::parse(&r))
                .transpose()
                .map_err(|m| anyhow::anyhow!("--reason: {m}"))?;
            let by = std::env::var("USER")
                .map(|u| format!("admin:{u}"))
                .unwrap_or_else(|_| "admin".into());
            let now = Clock::default().now_ms();
            // The running server learns of it from the audit log, so nothing is applied here.
            let g = crate::access::grants::revoke(
                &store,
                &config,
                id,
                &by,
                Origin::new(Via::Cli),
                reason.as_ref().and_then(|r| r.as_option()),
                now,
            )
            .await?
            .elsewhere();
            println!("revoked grant {} ({} at {})", g.id, g.email, g.app_slug);
            Ok(())
        }
        Command::Audit { since, json } => {
            let store = open(&config).await?;
            let since = match since {
                None => 0,
                Some(s) => parse_since(&s, Clock::default().now_ms())?,
            };
            let mut after = 0;
            loop {
                let events = store.audit_events(after, since, 1000).await?;
                let Some(last) = events.last() else { break };
                after = last.id;
                for e in &events {
                    if json {
                        println!("{}", e.json_line());
                    } else {
                        println!(
                            "{}  {:<17} {:<24} via {:<9} request={} grant={} {}{}",
                            clock::rfc3339(e.at),
                            e.action,
                            e.actor,
                            e.channel,
                            e.request_id.map(|v| v.to_string()).unwrap_or("-".into()),
                            e.grant_id.map(|v| v.to_string()).unwrap_or("-".into()),
                            e.subject.as_deref().unwrap_or(""),
                            e.reason
                                .as_deref()
                                .map(|r| format!(" reason={r:?}"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            Ok(())
        }
    }
}

/// `--since`: an RFC 3339 time, or an age such as `2h`.
fn parse_since(s: &str, now: i64) -> anyhow::Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    parse_duration(s)
        .map(|d| now - d.as_millis() as i64)
        .map_err(|_| {
            anyhow::anyhow!("--since: `{s}` is neither an RFC 3339 time nor an age like 2h")
        })
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
