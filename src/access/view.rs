//! A request as every page and message shows it: the request, its grant, the approvals that
//! count now, and its policy as configured now. Loaded in one place.
use crate::config::{Config, Temporary};
use crate::store::{ApprovalRow, GrantRow, RequestRow, Store};

#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: RequestRow,
    /// The grant it made, or for an extension the grant it extends.
    pub grant: Option<GrantRow>,
    /// The approvals that count under the config as it is now (see `policy::tally`).
    pub approvals: Vec<ApprovalRow>,
    pub app_name: String,
    /// The policy's `temporary` block as configured now; `None` if the policy is gone.
    pub temporary: Option<Temporary>,
}

impl RequestView {
    pub async fn load(
        store: &Store,
        config: &Config,
        request_id: i64,
    ) -> sqlx::Result<Option<RequestView>> {
        let Some(request) = Store::request(store.reader(), request_id).await? else {
            return Ok(None);
        };
        let grant = match request.extends_grant_id {
            Some(g) => Store::grant(store.reader(), g).await?,
            None => store.grant_for_request(request_id).await?,
        };
        let approvals = Store::approvals(store.reader(), request_id).await?;
        let approvals = crate::policy::tally::counted(config, &request, &approvals);
        let temporary = config
            .temporary(&request.app_slug, &request.policy_name)
            .map(|(_, t)| t.clone());
        Ok(Some(RequestView {
            app_name: config.app_name(&request.app_slug).to_string(),
            request,
            grant,
            approvals,
            temporary,
        }))
    }

    /// The grant, if it lets its holder in at `now`.
    pub fn live_grant(&self, now: i64) -> Option<&GrantRow> {
        self.grant.as_ref().filter(|g| g.is_live(now))
    }
}
