//! `daypass audit`: the audit log, oldest first, as text or JSON lines.
use crate::cli::database::open;
use crate::clock::{self, Clock};
use crate::config::Config;
use crate::domain::parse_duration;

pub async fn show(config: &Config, since: Option<String>, json: bool) -> anyhow::Result<()> {
    let store = open(config).await?;
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
