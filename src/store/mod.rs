//! Every SQL statement daypass runs lives under this module.
mod approvals;
mod audit;
mod builder;
mod changes;
mod chat_messages;
mod copy;
mod grants;
mod leadership;
mod login_codes;
mod outbox;
mod rate_limits;
mod request_timers;
mod requests;
mod review_tokens;
mod sessions;
mod states;

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, ConnectOptions, Executor, Transaction};

pub use approvals::ApprovalRow;
pub use audit::{AuditEvent, AuditFilter, NewAudit, Origin};
pub use changes::ChangeFeed;
pub use chat_messages::ChatMessageRow;
pub use grants::{GrantRow, NewGrant};
pub use leadership::{Leadership, DISCORD_GATEWAY};
pub use login_codes::LoginCodeRow;
pub use outbox::{NewMessage, OutboxRow};
pub use requests::{NewRequest, RequestRow};
pub use review_tokens::ReviewTokenRow;
pub use sessions::SessionRow;
pub use states::{AuditAction, Channel, GrantState, RequestState, Via};

pub type Tx = Transaction<'static, Any>;
pub type Pool = sqlx::AnyPool;

/// The database engine behind `database.url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// One file, one process: the embedded default.
    Sqlite,
    /// One server for several replicas.
    Postgres,
}

impl Engine {
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!(
                "database.url: expected sqlite://PATH or postgres://USER@HOST/DB, got {:?}",
                url.split(['?', '@']).next().unwrap_or_default()
            )
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The advisory lock every PostgreSQL write transaction takes: writes are serialized across
/// replicas as SQLite serializes them in one process, so each read-then-write sees the latest
/// state and audit events become visible in the order of their ids (the followers rely on it).
const WRITE_LOCK: i64 = 0x6461_7970_6173_7301;

/// The database: many readers, one writer at a time.
#[derive(Clone)]
pub struct Store {
    read: Pool,
    write: Pool,
    engine: Engine,
    url: String,
}

impl Store {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of_url(url)?;
        match engine {
            Engine::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?;
                let file = options.get_filename().to_path_buf();
                if let Some(parent) = file.parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent)?;
                    }
                }
                let options =
                    AnyConnectOptions::from_str(&format!("sqlite://{}?mode=rwc", file.display()))?
                        .disable_statement_logging();
                let pool = |max| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                                )
                                .await
                                .map(|_| ())
                            })
                        })
                        .connect_with(options.clone())
                };
                let write = pool(1).await?;
                let read = pool(4).await?;
                Ok(Self {
                    read,
                    write,
                    engine,
                    url: url.to_string(),
                })
            }
            Engine::Postgres => {
                let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
                // Readers (the follower, look-ups for /auth, pages) have a pool of their own, so
                // writers waiting on the write lock never starve them of connections.
                let pool = |max| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .connect_with(options.clone())
                };
                let write = pool(12).await?;
                let read = pool(12).await?;
                Ok(Self {
                    read,
                    write,
                    engine,
                    url: url.to_string(),
                })
            }
        }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self.engine {
            Engine::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.write)
                    .await?
            }
            Engine::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.write)
                    .await?
            }
        }
        Ok(())
    }

    /// A write transaction that holds the one write lock from its start: SQLite's
    /// `BEGIN IMMEDIATE` (it waits on `busy_timeout` instead of failing with SQLITE_BUSY), and
    /// an advisory lock on PostgreSQL.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        match self.engine {
            Engine::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await,
            Engine::Postgres => {
                let mut tx = self.write.begin().await?;
                sqlx::query("SELECT true FROM pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    pub fn reader(&self) -> &Pool {
        &self.read
    }

    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}
