//! The server: build it from a config, then run it until told to stop.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::access::sweep;
use crate::chat::discord::Discord;
use crate::chat::slack::Slack;
use crate::clock::Clock;
use crate::config::{Config, DiscordMode};
use crate::identity::secret;
use crate::notify::email::Mailer;
use crate::server::access_cache::AccessCache;
use crate::server::context::Context;
use crate::server::jobs;
use crate::store::Channel;
use crate::store::Store;
use crate::{notify, web};

pub struct App {
    listener: TcpListener,
    ctx: Arc<Context>,
    grace: Duration,
}

/// How long a stop waits for requests in flight before closing their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl App {
    /// Opens and migrates the database, catches up on everything that expired while daypass
    /// was down, loads the access cache and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("server.listen: cannot listen on {}", config.server.listen))?;
        Self::build_with_listener(config, clock, listener).await
    }

    /// As `build`, on a listener the caller bound (tests bind port 0 first to learn the URL).
    pub async fn build_with_listener(
        config: Config,
        clock: Clock,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let store = Store::open(&config.database.url)
            .await
            .with_context(|| format!("database.url: cannot open {}", config.database.url))?;
        store
            .migrate()
            .await
            .context("cannot apply database migrations")?;
        let secret = secret::load_or_create(&config)?;
        let mailer =
            Mailer::new(&config.email).context("email: cannot set up the mail transport")?;
        let discord = Discord::from_config(&config.discord)?;
        let slack = Slack::from_config(&config.slack)?;
        let now = clock.now_ms();
        // Before the cache is loaded from the database, which then holds the result: the
        // change needs no applying (and the outbox workers look at their queues when they start).
        let report = sweep::sweep(&store, &config, &secret, now)
            .await
            .context("catching up on expired grants")?
            .elsewhere();
        if !report.grants_expired.is_empty() || !report.requests_expired.is_empty() {
            tracing::info!(
                grants = report.grants_expired.len(),
                requests = report.requests_expired.len(),
                "caught up on what expired while daypass was down"
            );
        }
        let cache = AccessCache::load(&store, &config, now).await?;
        let limits = crate::server::rate_limit::Limits::for_store(&store);
        let oidc = crate::identity::oidc::Provider::from_config(&config)?;
        let ctx = Arc::new(Context {
            config,
            store,
            cache,
            clock,
            secret,
            mailer,
            discord,
            slack,
            oidc,
            webhooks: crate::notify::webhooks::Sender::new()?,
            limits,
            last_sweep_ms: std::sync::atomic::AtomicI64::new(now),
            following: Default::default(),
            gateway_held: Default::default(),
            outbox_wakeups: Channel::ALL.iter().map(|_| Notify::new()).collect(),
        });
        Ok(Self {
            listener,
            ctx,
            grace: SHUTDOWN_GRACE,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// How long a stop waits for requests in flight (`SHUTDOWN_GRACE` unless set).
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    pub fn context(&self) -> Arc<Context> {
        self.ctx.clone()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests and stops the workers.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let ctx = self.ctx.clone();
        let ctx_for_drain = self.ctx.clone();
        let workers: Vec<_> = Channel::ALL
            .iter()
            .map(|&channel| {
                tokio::spawn(notify::outbox::run_worker(
                    ctx.clone(),
                    channel,
                    stop_rx.clone(),
                ))
            })
            .collect();
        let socket = match &ctx.slack {
            Some(s) if s.app_token.is_some() => Some(tokio::spawn(
                crate::chat::slack::socket::run(ctx.clone(), stop_rx.clone()),
            )),
            _ => None,
        };
        let gateway = match &ctx.discord {
            Some(d) if ctx.config.discord.mode == DiscordMode::Gateway => {
                Some(tokio::spawn(crate::chat::discord::gateway::run_as_leader(
                    ctx.clone(),
                    d.token.clone(),
                    stop_rx.clone(),
                )))
            }
            _ => None,
        };
        let follower = tokio::spawn(jobs::follow_audit_log(ctx.clone(), stop_rx));
        let mut sched = jobs::start(ctx.clone()).await?;
        tracing::info!(addr = %self.local_addr(), public_url = %ctx.config.server.public_url, "daypass is serving");
        let site = web::router(ctx.clone());
        web::serve(self.listener, site, shutdown, self.grace).await;
        let _ = stop_tx.send(true);
        let _ = sched.shutdown().await;
        for w in workers {
            let _ = w.await;
        }
        // Send what is due before going: a stop never strands a notification that could go now.
        for &channel in Channel::ALL {
            let drain = notify::outbox::try_execute_tasks(&ctx_for_drain, channel);
            if tokio::time::timeout(Duration::from_secs(10), drain)
                .await
                .is_err()
            {
                tracing::warn!(
                    %channel,
                    "stopped before the outbox was empty; the rest goes at next start"
                );
            }
        }
        let _ = follower.await;
        if let Some(s) = socket {
            let _ = s.await;
        }
        if let Some(g) = gateway {
            g.abort();
        }
        Ok(())
    }
}
