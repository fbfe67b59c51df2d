//! The Slack message that shows one request (Block Kit): the facts, a status line, and the
//! controls that still make sense (a duration menu with Approve and Deny while the request is
//! open, Revoke while its grant is live). Requesters' text goes in `plain_text` objects, so it
//! never formats, links or mentions.
use serde_json::{json, Value};

use crate::access::view::RequestView;
use crate::clock::show;
use crate::domain::{duration_text, first_choice, presets, GrantDuration};
use crate::store::{GrantState, RequestState};

pub struct Rendered {
    /// The notification text (and what screen readers say).
    pub text: String,
    pub blocks: Value,
}

fn plain(text: &str) -> Value {
    // Slack refuses empty text objects and texts over 3000 characters.
    let mut t: String = text.chars().take(2900).collect();
    if t.trim().is_empty() {
        t = "—".into();
    }
    json!({ "type": "plain_text", "text": t, "emoji": false })
}

/// Where the request stands, in words.
pub fn status(view: &RequestView, now: i64) -> String {
    let r = &view.request;
    let by = r.decided_by.as_deref().unwrap_or("an approver");
    let live = view.live_grant(now);
    match (r.state, &view.grant) {
        (RequestState::Pending, _) if r.approvals_needed > 1 => {
            let who: Vec<String> = view
                .approvals
                .iter()
                .map(|a| format!("{} ({})", a.approver, duration_text(a.duration_ms)))
                .collect();
            let list = if who.is_empty() {
                String::new()
            } else {
                format!(": {}", who.join(", "))
            };
            format!(
                "{} of {} approvals{list} · the request expires {}",
                view.approvals.len(),
                r.approvals_needed,
                show(r.expires_at)
            )
        }
        (RequestState::Pending, _) => format!(
            "Waiting for an approver · the request expires {}",
            show(r.expires_at)
        ),
        (RequestState::Approved, Some(g)) if r.extends_grant_id.is_some() => format!(
            "Extended by {by} at {} — access now ends {}",
            show(r.decided_at.unwrap_or(now)),
            show(g.expires_at)
        ),
        (RequestState::Approved, Some(g)) if live.is_some() => format!(
            "Approved by {} for {} — until {}",
            g.approved_by,
            duration_text(g.expires_at - g.extended_at.unwrap_or(g.approved_at)),
            show(g.expires_at)
        ),
        (RequestState::Approved, Some(g)) if g.state == GrantState::Revoked => format!(
            "Revoked by {}{}",
            g.ended_by.as_deref().unwrap_or("an administrator"),
            g.end_reason
                .as_deref()
                .filter(|x| !x.is_empty())
                .map(|x| format!(": {x}"))
                .unwrap_or_default()
        ),
        (RequestState::Approved, Some(g)) => format!(
            "Expired — access ended at {} (approved by {})",
            show(g.expires_at),
            g.approved_by
        ),
        (RequestState::Approved, None) => "Approved".into(),
        (RequestState::Denied, _) => format!(
            "Denied by {by}{}",
            r.reason
                .as_deref()
                .filter(|x| !x.is_empty())
                .map(|x| format!(": {x}"))
                .unwrap_or_default()
        ),
        (RequestState::Expired, _) => "Expired unanswered".into(),
        (RequestState::Cancelled, _) => "Cancelled by the requester".into(),
    }
}

/// The message for `view` at `now`, with `selected` picked in the duration menu.
pub fn render(view: &RequestView, selected: Option<GrantDuration>, now: i64) -> Rendered {
    let r = &view.request;
    let kind = if r.extends_grant_id.is_some() {
        "Extension request"
    } else {
        "Access request"
    };
    let title = format!("{kind} #{}: {}", r.id, view.app_name);
    let status = status(view, now);
    let mut fields = vec![
        plain(&format!("Requester: {}", r.requester)),
        plain(&format!("Application: {}", view.app_name)),
        plain(&format!("Asked at: {}", show(r.created_at))),
        plain(&format!("Request expires: {}", show(r.expires_at))),
    ];
    if let Some(w) = r.wished_ms {
        fields.push(plain(&format!("Wished duration: {}", duration_text(w))));
    }
    if let (Some(_), Some(g), RequestState::Pending) = (r.extends_grant_id, &view.grant, r.state) {
        fields.push(plain(&format!("Access now ends: {}", show(g.expires_at))));
    }
    if r.approvals_needed > 1 {
        fields.push(plain(&format!("Approvals needed: {}", r.approvals_needed)));
    }
    let mut blocks = vec![
        json!({ "type": "header", "text": plain(&title) }),
        json!({ "type": "section", "text": plain(&r.justification), "fields": fields }),
        json!({ "type": "context", "elements": [plain(&status)] }),
    ];
    let max = view.temporary.as_ref().map(|t| t.max_duration);
    match (r.state, max, view.live_grant(now)) {
        (RequestState::Pending, Some(max), _) if r.is_open(now) => {
            let picked = first_choice(selected, r.wished_ms, max);
            let option = |d: GrantDuration| json!({ "text": plain(&d.to_string()), "value": format!("{}:{}", r.id, d.minutes()) });
            let options: Vec<Value> = presets(max).into_iter().map(option).collect();
            blocks.push(json!({
                "type": "actions",
                "block_id": format!("daypass:{}", r.id),
                "elements": [
                    { "type": "static_select", "action_id": "duration",
                      "placeholder": plain("Duration"), "options": options,
                      "initial_option": option(picked) },
                    { "type": "button", "action_id": "approve", "style": "primary",
                      "text": plain(&format!("Approve for {picked}")),
                      "value": format!("{}:{}", r.id, picked.minutes()) },
                    { "type": "button", "action_id": "deny", "style": "danger",
                      "text": plain("Deny"), "value": r.id.to_string() },
                ]
            }));
        }
        (RequestState::Approved, _, Some(g)) => blocks.push(json!({
            "type": "actions",
            "block_id": format!("daypass:grant:{}", g.id),
            "elements": [
                { "type": "button", "action_id": "revoke", "style": "danger",
                  "text": plain("Revoke"), "value": g.id.to_string() },
            ]
        })),
        _ => {}
    }
    Rendered {
        text: format!("{title} — {}: {status}", r.requester),
        blocks: Value::Array(blocks),
    }
}

/// The modal that asks for a deny's reason; submitting it denies request `id`.
pub fn deny_modal(id: i64) -> Value {
    json!({
        "type": "modal",
        "callback_id": format!("daypass:deny:{id}"),
        "title": plain("Deny the request"),
        "submit": plain("Deny"),
        "close": plain("Cancel"),
        "blocks": [{
            "type": "input",
            "block_id": "reason",
            "optional": true,
            "label": plain("Reason (optional, shown to the requester)"),
            "element": { "type": "plain_text_input", "action_id": "reason", "multiline": true, "max_length": 1000 }
        }]
    })
}
