//! What the request page says about a person's access beyond the form: how the last one
//! ended, and why the application may keep sending them back although it is live.
use maud::{html, Markup};

use crate::config::Application;
use crate::server::context::Context;
use crate::store::{GrantRow, GrantState};
use crate::web::pages::layout::when;

/// The proxy sends a person here only when `/auth` saw no sign-in: with a live grant, that
/// means the application's host does not receive daypass's cookie.
pub fn cookie_hint(ctx: &Context, app: &Application) -> Markup {
    let own = ctx.config.server.public_url.host_str().unwrap_or_default();
    html! {
        p.hint {
            "If " (app.name) " keeps sending you back here, your browser is not sending it your daypass sign-in: "
            @match ctx.config.server.cookie_domain.as_deref() {
                None => {
                    "the cookie belongs to " (own) " alone, which does not cover " (app.host)
                    ". Whoever runs daypass can fix that with " code { "server.cookie_domain" }
                    " (" code { "daypass check-config" } " says what would work)."
                }
                Some(domain) => {
                    "check that this browser allows cookies for " (domain) " on " (app.host) "."
                }
            }
        }
    }
}

/// Says that (and how) the person's last access here ended: they come back to this page when
/// the application sends them away again.
pub fn ended(g: &GrantRow) -> Markup {
    let revoker = g.ended_by.as_deref().unwrap_or("an approver");
    html! {
        p.error role="status" {
            "Your access ended at " (when(g.ended_at.unwrap_or(g.expires_at)))
            @if g.state == GrantState::Revoked {
                @if revoker == g.email.as_str() { ": you ended it." }
                @else {
                    ": revoked by " (revoker)
                    @if let Some(r) = g.end_reason.as_deref().filter(|r| !r.is_empty()) { " (" (r) ")" }
                    "."
                }
            } @else { ": its time was up." }
            " Ask again below if you still need it."
        }
    }
}
