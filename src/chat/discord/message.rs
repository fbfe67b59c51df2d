//! The Discord message that shows one request: an embed with the facts, and the controls that
//! still make sense (a duration menu and Approve/Deny while pending, Revoke while a grant is live).
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption,
};

use crate::access::view::RequestView;
use crate::clock::show;
use crate::domain::{duration_text, first_choice, presets, GrantDuration};
use crate::store::{ApprovalRow, GrantRow, GrantState, RequestRow, RequestState};

/// A request's message as it should look now.
pub struct Rendered {
    pub embed: CreateEmbed,
    pub components: Vec<CreateActionRow>,
}

/// Renders the message for `view` at `now`, with `selected` picked in the duration menu.
pub fn render(view: &RequestView, selected: Option<GrantDuration>, now: i64) -> Rendered {
    let m = Message {
        request: &view.request,
        grant: view.grant.as_ref(),
        app_name: &view.app_name,
        max: view.temporary.as_ref().map(|t| t.max_duration),
        selected,
        approvals: &view.approvals,
        now,
    };
    Rendered {
        embed: embed(&m),
        components: components(&m),
    }
}

/// What one rendering of the message shows.
pub struct Message<'a> {
    pub request: &'a RequestRow,
    pub grant: Option<&'a GrantRow>,
    pub app_name: &'a str,
    /// The policy's cap as configured now; `None` if the policy is gone.
    pub max: Option<GrantDuration>,
    /// The duration picked in the menu, if someone picked one.
    pub selected: Option<GrantDuration>,
    /// Approvals so far, for a request that needs several.
    pub approvals: &'a [ApprovalRow],
    pub now: i64,
}

const GREY: u32 = 0x99_aa_b5;
const BLUE: u32 = 0x58_65_f2;
const GREEN: u32 = 0x2e_a0_43;
const RED: u32 = 0xcf_22_2e;

/// Discord markdown is live in embeds: requesters' text must not format, link or mention.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\*_~`|>#[]()<@".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `15:20 UTC`
fn hh_mm(ms: i64) -> String {
    crate::clock::from_ms(ms).format("%H:%M UTC").to_string()
}

fn unix(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

pub fn status_line(v: &Message<'_>) -> (String, u32) {
    let r = v.request;
    let by = r.decided_by.as_deref().unwrap_or("an approver");
    match (r.state, v.grant) {
        (RequestState::Pending, _) if r.approvals_needed > 1 => {
            let who: Vec<String> = v
                .approvals
                .iter()
                .map(|a| {
                    format!(
                        "{} ({})",
                        escape(a.approver.as_str()),
                        duration_text(a.duration_ms)
                    )
                })
                .collect();
            let list = if who.is_empty() {
                String::new()
            } else {
                format!(": {}", who.join(", "))
            };
            let (have, need) = (v.approvals.len(), r.approvals_needed);
            (
                format!(
                    "{have} of {need} approvals{list} · the request expires <t:{}:R>",
                    unix(r.expires_at)
                ),
                BLUE,
            )
        }
        (RequestState::Pending, _) => (
            format!(
                "Waiting for an approver · the request expires <t:{}:R>",
                unix(r.expires_at)
            ),
            BLUE,
        ),
        (RequestState::Approved, Some(g)) if r.extends_grant_id.is_some() => (
            format!(
                "Extended by {} at {} — access now ends {}",
                escape(by),
                hh_mm(r.decided_at.unwrap_or(v.now)),
                show(g.expires_at)
            ),
            GREEN,
        ),
        (RequestState::Approved, Some(g)) if g.is_live(v.now) => (
            format!(
                "Approved by {} at {} for {} — expires {}",
                escape(&g.approved_by),
                hh_mm(g.approved_at),
                duration_text(g.expires_at - g.extended_at.unwrap_or(g.approved_at)),
                hh_mm(g.expires_at)
            ),
            GREEN,
        ),
        (RequestState::Approved, Some(g)) if g.state == GrantState::Revoked => (
            format!(
                "Revoked by {}{}",
                escape(g.ended_by.as_deref().unwrap_or("an administrator")),
                g.end_reason
                    .as_deref()
                    .map(|x| format!(": {}", escape(x)))
                    .unwrap_or_default()
            ),
            GREY,
        ),
        (RequestState::Approved, Some(g)) => (
            format!(
                "Expired — access ended at {} (approved by {})",
                show(g.expires_at),
                escape(&g.approved_by)
            ),
            GREY,
        ),
        (RequestState::Denied, _) => (
            format!(
                "Denied by {}{}",
                escape(by),
                r.reason
                    .as_deref()
                    .filter(|x| !x.is_empty())
                    .map(|x| format!(": {}", escape(x)))
                    .unwrap_or_default()
            ),
            RED,
        ),
        (RequestState::Expired, _) => ("Expired unanswered".to_string(), GREY),
        (RequestState::Cancelled, _) => ("Cancelled by the requester".to_string(), GREY),
        (RequestState::Approved, None) => ("Approved".to_string(), GREY),
    }
}

fn embed(v: &Message<'_>) -> CreateEmbed {
    let r = v.request;
    let (status, colour) = status_line(v);
    let mut e = CreateEmbed::new()
        .title(format!(
            "{} #{}: {}",
            if r.extends_grant_id.is_some() {
                "Extension request"
            } else {
                "Access request"
            },
            r.id,
            v.app_name
        ))
        .description(escape(&r.justification))
        .colour(colour)
        .field("Requester", escape(r.requester.as_str()), true)
        .field("Application", escape(v.app_name), true)
        .field("Requested", format!("<t:{}:f>", unix(r.created_at)), true)
        .field(
            "Request expires",
            format!("<t:{}:f>", unix(r.expires_at)),
            true,
        );
    if let Some(w) = r.wished_ms {
        e = e.field("Wished duration", duration_text(w), true);
    }
    if let (Some(_), Some(g), RequestState::Pending) = (r.extends_grant_id, v.grant, r.state) {
        e = e.field(
            "Access now ends",
            format!("<t:{}:f>", unix(g.expires_at)),
            true,
        );
    }
    if r.approvals_needed > 1 {
        e = e.field("Approvals needed", r.approvals_needed.to_string(), true);
    }
    if let Some(max) = v.max {
        e = e.field("At most", max.to_string(), true);
    }
    e.field("Status", status, false)
        .footer(CreateEmbedFooter::new("daypass"))
}

fn components(v: &Message<'_>) -> Vec<CreateActionRow> {
    let r = v.request;
    match (r.state, v.grant, v.max) {
        (RequestState::Pending, _, Some(max)) if r.is_open(v.now) => {
            let picked = first_choice(v.selected, r.wished_ms, max);
            let options = presets(max)
                .into_iter()
                .map(|d| {
                    CreateSelectMenuOption::new(d.to_string(), d.minutes().to_string())
                        .default_selection(d == picked)
                })
                .collect();
            let menu = CreateSelectMenu::new(
                format!("daypass:duration:{}", r.id),
                CreateSelectMenuKind::String { options },
            )
            .placeholder("Duration");
            vec![
                CreateActionRow::SelectMenu(menu),
                CreateActionRow::Buttons(vec![
                    CreateButton::new(format!("daypass:approve:{}:{}", r.id, picked.minutes()))
                        .label(format!("Approve for {picked}"))
                        .style(ButtonStyle::Success),
                    CreateButton::new(format!("daypass:deny:{}", r.id))
                        .label("Deny")
                        .style(ButtonStyle::Danger),
                ]),
            ]
        }
        (RequestState::Approved, Some(g), _) if g.is_live(v.now) => {
            vec![CreateActionRow::Buttons(vec![CreateButton::new(format!(
                "daypass:revoke:{}",
                g.id
            ))
            .label("Revoke")
            .style(ButtonStyle::Danger)])]
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markdown_and_mentions_are_escaped() {
        assert_eq!(
            escape("**bold** @everyone <@123>"),
            "\\*\\*bold\\*\\* \\@everyone \\<\\@123\\>"
        );
        assert_eq!(escape("[x](https://evil)"), "\\[x\\]\\(https://evil\\)");
    }
}
