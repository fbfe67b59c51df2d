//! The server key: from the environment or file the config names, else generated once into data/.
use std::path::Path;

use anyhow::Context as _;

use crate::config::Config;

pub fn load_or_create(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = config
        .server
        .secret
        .read()
        .context("server.secret_file cannot be read")?
    {
        if s.len() < 32 {
            anyhow::bail!(
                "server.secret_env: the secret in ${} must be at least 32 characters",
                config.server.secret.env
            );
        }
        return Ok(s.into_bytes());
    }
    if config.database.path().is_none() {
        // Not SQLite: several replicas, and every one must hold the same key.
        anyhow::bail!(
            "server.secret_env: replicas sharing a PostgreSQL database must share one secret: set ${} \
             (at least 32 characters) or server.secret_file, the same on every replica",
            config.server.secret.env
        );
    }
    let path = config.database.data_dir().join("secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(existing.trim().as_bytes().to_vec());
        }
    }
    let fresh = crate::tokens::new_token();
    write_private(&path, &fresh).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a server secret (set ${} to choose your own)", config.server.secret.env);
    Ok(fresh.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}
