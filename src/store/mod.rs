//! Every SQL statement daypass runs lives under this module.
mod approvals;
mod audit;
mod chat_messages;
mod grants;
mod login_codes;
mod outbox;
mod request_timers;
mod requests;
mod review_tokens;
mod sessions;
mod states;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub use approvals::ApprovalRow;
pub use audit::{AuditEvent, AuditFilter, NewAudit, Origin};
pub use chat_messages::ChatMessageRow;
pub use grants::{GrantRow, NewGrant};
pub use login_codes::LoginCodeRow;
pub use outbox::{NewMessage, OutboxRow};
pub use requests::{NewRequest, RequestRow};
pub use review_tokens::ReviewTokenRow;
pub use sessions::SessionRow;
pub use states::{AuditAction, Channel, GrantState, RequestState, Via};

pub type Tx = Transaction<'static, Sqlite>;

/// The SQLite database: many readers, one writer connection per process.
#[derive(Clone)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
}

impl Store {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = options.get_filename().parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(Self { read, write })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("./migrations").run(&self.write).await?;
        Ok(())
    }

    /// A write transaction that takes the write lock up front (`BEGIN IMMEDIATE`), so it waits
    /// on `busy_timeout` instead of failing with SQLITE_BUSY when another writer holds it.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        self.write.begin_with("BEGIN IMMEDIATE").await
    }

    pub fn reader(&self) -> &SqlitePool {
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
