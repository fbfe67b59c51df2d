//! A click in Slack (`block_actions`, or a modal's `view_submission`): read into a
//! `chat::clicks::Click`, answered in Slack's ways: the message is updated through the outbox, a
//! note only the clicker sees goes to the click's `response_url`, a deny opens a modal.
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::view::RequestView;
use crate::chat::clicks::{self, Answer, Click};
use crate::chat::slack::{message, Slack};
use crate::config::Approver;
use crate::domain::{GrantDuration, Reason};
use crate::server::context::Context;
use crate::store::{Origin, Via};

/// The parts of Slack's interaction payload daypass reads (Slack sends much more).
#[derive(Debug, Deserialize)]
pub struct Payload {
    #[serde(rename = "type")]
    pub kind: String,
    pub user: User,
    #[serde(default)]
    pub trigger_id: String,
    #[serde(default)]
    pub response_url: Option<String>,
    #[serde(default)]
    pub actions: Vec<Action>,
    #[serde(default)]
    pub view: Option<View>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct Action {
    pub action_id: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub selected_option: Option<SelectedOption>,
}

#[derive(Debug, Deserialize)]
pub struct SelectedOption {
    pub value: String,
}

#[derive(Debug, Deserialize)]
pub struct View {
    pub callback_id: String,
    #[serde(default)]
    pub state: Value,
}

/// What the endpoint answers Slack: nothing (200), or JSON (a modal's errors, say).
pub enum Reply {
    Empty,
    Json(Value),
}

enum Wanted {
    Pick(i64, GrantDuration),
    Approve(i64, GrantDuration),
    AskDenyReason(i64),
    Deny(i64, Reason),
    Revoke(i64),
}

fn parse(p: &Payload) -> Option<Wanted> {
    let num = |s: &str| s.parse::<i64>().ok();
    let pair = |s: &str| -> Option<(i64, GrantDuration)> {
        let (id, minutes) = s.split_once(':')?;
        Some((num(id)?, GrantDuration::from_minutes(num(minutes)?).ok()?))
    };
    match p.kind.as_str() {
        "block_actions" => {
            let a = p.actions.first()?;
            match a.action_id.as_str() {
                "duration" => {
                    let (id, d) = pair(&a.selected_option.as_ref()?.value)?;
                    Some(Wanted::Pick(id, d))
                }
                "approve" => pair(a.value.as_deref()?).map(|(id, d)| Wanted::Approve(id, d)),
                "deny" => Some(Wanted::AskDenyReason(num(a.value.as_deref()?)?)),
                "revoke" => Some(Wanted::Revoke(num(a.value.as_deref()?)?)),
                _ => None,
            }
        }
        "view_submission" => {
            let view = p.view.as_ref()?;
            let id = num(view.callback_id.strip_prefix("daypass:deny:")?)?;
            let text = view.state["values"]["reason"]["reason"]["value"]
                .as_str()
                .unwrap_or_default();
            Some(Wanted::Deny(id, Reason::parse(text).unwrap_or_default()))
        }
        _ => None,
    }
}

/// Answers one interaction. Problems become a note to the clicker, never an error to Slack.
pub async fn handle(ctx: &Context, slack: &Slack, p: &Payload) -> Reply {
    match respond(ctx, slack, p).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::error!(error = %e, "Slack interaction failed");
            tell(
                slack,
                p,
                "daypass could not handle that click; try again in a moment.",
            )
            .await
        }
    }
}

/// Slack wants the answer to a click within 3 seconds: what goes back to Slack by other calls
/// (a note, an updated menu, a modal) is sent beside the answer, not before it.
fn meanwhile(
    what: &'static str,
    call: impl std::future::Future<Output = Result<(), crate::notify::SendError>> + Send + 'static,
) {
    tokio::spawn(async move {
        if let Err(e) = call.await {
            tracing::warn!(error = %e.message, what, "a call to Slack failed");
        }
    });
}

/// A note only the clicker sees: on the click's `response_url`, or in the modal.
async fn tell(slack: &Slack, p: &Payload, text: &str) -> Reply {
    if p.kind == "view_submission" {
        return Reply::Json(json!({ "response_action": "errors", "errors": { "reason": text } }));
    }
    if let Some(url) = p.response_url.clone() {
        let note = json!({ "response_type": "ephemeral", "replace_original": false, "text": text });
        let client = slack.client.clone();
        meanwhile("a note to the clicker", async move {
            client.respond(&url, &note).await
        });
    }
    Reply::Empty
}

async fn respond(ctx: &Context, slack: &Slack, p: &Payload) -> anyhow::Result<Reply> {
    let Some(wanted) = parse(p) else {
        return Ok(tell(slack, p, "daypass does not know that button.").await);
    };
    let Some(approver) = ctx
        .config
        .approvers
        .iter()
        .find(|a| a.slack_id.as_deref() == Some(p.user.id.as_str()))
    else {
        return Ok(tell(
            slack,
            p,
            "You are not a daypass approver, so nothing changed.",
        )
        .await);
    };
    let (action, selected) = match wanted {
        Wanted::AskDenyReason(id) => {
            // Only someone who may decide is asked for a reason; the deny is checked again.
            return Ok(
                match click(ctx, p, approver, clicks::Action::Show(id)).await? {
                    Answer::Current(_) => {
                        let (client, trigger) = (slack.client.clone(), p.trigger_id.clone());
                        meanwhile("the deny dialog", async move {
                            client.open_view(&trigger, &message::deny_modal(id)).await
                        });
                        Reply::Empty
                    }
                    Answer::Refused(why) => tell(slack, p, &why).await,
                },
            );
        }
        Wanted::Pick(id, d) => (clicks::Action::Show(id), Some(d)),
        Wanted::Approve(id, d) => (clicks::Action::Approve(id, d), None),
        Wanted::Deny(id, reason) => (clicks::Action::Deny(id, reason), None),
        Wanted::Revoke(grant_id) => (clicks::Action::Revoke(grant_id), None),
    };
    match click(ctx, p, approver, action).await? {
        Answer::Refused(why) => Ok(tell(slack, p, &why).await),
        Answer::Current(request_id) => {
            // A pick changes only this message's menu and button; every other change reaches
            // the message through the outbox, whichever channel it came from.
            if let (Some(d), Some(url)) = (selected, p.response_url.clone()) {
                if let Some(view) = RequestView::load(&ctx.store, &ctx.config, request_id).await? {
                    let r = message::render(&view, Some(d), ctx.clock.now_ms());
                    let update =
                        json!({ "replace_original": true, "text": r.text, "blocks": r.blocks });
                    let client = slack.client.clone();
                    meanwhile("the picked duration", async move {
                        client.respond(&url, &update).await
                    });
                }
            }
            Ok(Reply::Empty)
        }
    }
}

async fn click(
    ctx: &Context,
    p: &Payload,
    approver: &Approver,
    action: clicks::Action,
) -> sqlx::Result<Answer> {
    // Slack gives each click its own trigger id: a replayed payload acts once.
    let interaction_id = if p.trigger_id.is_empty() {
        String::new()
    } else {
        format!("slack:{}", p.trigger_id)
    };
    let click = Click {
        approver,
        action,
        interaction_id: &interaction_id,
        origin: Origin::new(Via::Slack),
    };
    clicks::handle(ctx, click).await
}
