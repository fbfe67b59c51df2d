//! `daypass migrate` and `daypass copy-db`, and opening the config's database for the others.
use anyhow::Context as _;

use crate::config::Config;
use crate::store::Store;

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    open(config).await?;
    println!("database is up to date");
    Ok(())
}

pub async fn copy_db(from: &str, to: &str) -> anyhow::Result<()> {
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

pub(crate) async fn open(config: &Config) -> anyhow::Result<Store> {
    let store = Store::open(&config.database.url).await.with_context(|| {
        format!(
            "database.url: cannot open {}",
            redacted(&config.database.url)
        )
    })?;
    store.migrate().await?;
    Ok(store)
}
