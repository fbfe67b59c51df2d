//! `daypass requests list`.
use crate::cli::database::open;
use crate::clock;
use crate::config::Config;
use crate::store::RequestState;

/// Lists requests, newest first, optionally only those in one state.
pub async fn list(config: &Config, status: Option<String>) -> anyhow::Result<()> {
    let status = match &status {
        None => None,
        Some(s) => Some(RequestState::parse(s).ok_or_else(|| {
            let all: Vec<&str> = RequestState::ALL.iter().map(|s| s.as_str()).collect();
            anyhow::anyhow!("--status: `{s}` is not one of {}", all.join(", "))
        })?),
    };
    let store = open(config).await?;
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
