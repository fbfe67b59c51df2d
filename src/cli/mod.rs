//! `daypass <command>`: serve, check the config, and look after requests, grants and the audit
//! log. One file per command group; this one reads the command line and hands it on.
mod audit;
mod database;
mod grants;
pub mod health;
mod requests;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;

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

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::CopyDb { from, to } = &cli.command {
        return database::copy_db(from, to).await;
    }
    let config = load(&cli.config)?;
    match cli.command {
        Command::CopyDb { .. } => Ok(()),
        Command::CheckConfig => serve::check_config(&cli.config, &config),
        Command::Serve => serve::serve(config).await,
        Command::Healthcheck => health::run(&config).await,
        Command::Migrate => database::migrate(&config).await,
        Command::Requests {
            command: RequestsCommand::List { status },
        } => requests::list(&config, status).await,
        Command::Grants {
            command: GrantsCommand::List { active },
        } => grants::list(&config, active).await,
        Command::Grants {
            command: GrantsCommand::Revoke { id, reason },
        } => grants::revoke(&config, id, reason).await,
        Command::Audit { since, json } => audit::show(&config, since, json).await,
    }
}
