//! A click in Discord: read into a `chat::clicks::Click` (who, what), answered with the message
//! as it is now or a note only the clicker sees. One plain function from a parsed interaction
//! to the response, shared by the HTTP interactions endpoint and the gateway.
use serde::Deserialize;
use serenity::all::{
    CreateActionRow, CreateInputText, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateModal, InputTextStyle,
};

use crate::access::view::RequestView;
use crate::chat::clicks::{self, Answer, Click};
use crate::chat::discord::message;
use crate::domain::{GrantDuration, Reason};
use crate::server::context::Context;
use crate::store::{Origin, Via};

/// The parts of a Discord interaction daypass reads (Discord sends much more).
#[derive(Debug, Deserialize)]
pub struct Interaction {
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Option<InteractionData>,
    pub member: Option<Member>,
    pub user: Option<User>,
}

#[derive(Debug, Deserialize)]
pub struct InteractionData {
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<String>,
    /// A modal's rows of text inputs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub components: Vec<Row>,
}

#[derive(Debug, Deserialize)]
pub struct Row {
    #[serde(default, deserialize_with = "null_as_default")]
    pub components: Vec<Input>,
}

#[derive(Debug, Deserialize)]
pub struct Input {
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Member {
    pub user: Option<User>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub username: String,
}

/// Discord (and serenity's re-serialization) sends `null` for absent lists and strings.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

pub const PING: u8 = 1;
pub const MESSAGE_COMPONENT: u8 = 3;
pub const MODAL_SUBMIT: u8 = 5;

fn ephemeral(text: impl Into<String>) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true),
    )
}

enum Action {
    Pick(i64, GrantDuration),
    Approve(i64, GrantDuration),
    AskDenyReason(i64),
    Deny(i64, Reason),
    Revoke(i64),
}

fn parse_action(i: &Interaction) -> Option<Action> {
    let data = i.data.as_ref()?;
    let parts: Vec<&str> = data.custom_id.split(':').collect();
    let num = |s: &str| s.parse::<i64>().ok();
    let minutes = |s: &str| num(s).and_then(|m| GrantDuration::from_minutes(m).ok());
    match (i.kind, parts.as_slice()) {
        (MESSAGE_COMPONENT, ["daypass", "duration", id]) => {
            Some(Action::Pick(num(id)?, minutes(data.values.first()?)?))
        }
        (MESSAGE_COMPONENT, ["daypass", "approve", id, m]) => {
            Some(Action::Approve(num(id)?, minutes(m)?))
        }
        (MESSAGE_COMPONENT, ["daypass", "deny", id]) => Some(Action::AskDenyReason(num(id)?)),
        (MESSAGE_COMPONENT, ["daypass", "revoke", id]) => Some(Action::Revoke(num(id)?)),
        (MODAL_SUBMIT, ["daypass", "deny-reason", id]) => {
            let text = data
                .components
                .iter()
                .flat_map(|r| &r.components)
                .find(|c| c.custom_id == "reason")
                .and_then(|c| c.value.clone())
                .unwrap_or_default();
            Some(Action::Deny(
                num(id)?,
                Reason::parse(&text).unwrap_or_default(),
            ))
        }
        _ => None,
    }
}

/// Answers one interaction. Never fails: problems become an ephemeral message to the clicker.
pub async fn handle(ctx: &Context, i: &Interaction) -> CreateInteractionResponse {
    if i.kind == PING {
        return CreateInteractionResponse::Pong;
    }
    match respond(ctx, i).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "Discord interaction failed");
            ephemeral("daypass could not handle that click; try again in a moment.")
        }
    }
}

async fn respond(ctx: &Context, i: &Interaction) -> anyhow::Result<CreateInteractionResponse> {
    let Some(action) = parse_action(i) else {
        return Ok(ephemeral("daypass does not know that button."));
    };
    let Some(user) = i
        .member
        .as_ref()
        .and_then(|m| m.user.as_ref())
        .or(i.user.as_ref())
    else {
        return Ok(ephemeral("daypass cannot tell who clicked."));
    };
    let Some(approver) = ctx
        .config
        .approvers
        .iter()
        .find(|a| a.discord_id.as_deref() == Some(user.id.as_str()))
    else {
        return Ok(ephemeral(
            "You are not a daypass approver, so nothing changed.",
        ));
    };
    let (action, selected) = match action {
        Action::AskDenyReason(id) => {
            // Only someone who may decide is asked for a reason; the deny itself is checked again.
            let show = clicks::Action::Show(id);
            return Ok(match click(ctx, i, approver, &user.id, show).await? {
                Answer::Current(_) => deny_modal(id),
                Answer::Refused(why) => ephemeral(why),
            });
        }
        Action::Pick(id, d) => (clicks::Action::Show(id), Some(d)),
        Action::Approve(id, d) => (clicks::Action::Approve(id, d), None),
        Action::Deny(id, reason) => (clicks::Action::Deny(id, reason), None),
        Action::Revoke(grant_id) => (clicks::Action::Revoke(grant_id), None),
    };
    match click(ctx, i, approver, &user.id, action).await? {
        Answer::Refused(why) => Ok(ephemeral(why)),
        Answer::Current(request_id) => Ok(CreateInteractionResponse::UpdateMessage(
            current_message(ctx, request_id, selected).await?,
        )),
    }
}

async fn click(
    ctx: &Context,
    i: &Interaction,
    approver: &crate::config::Approver,
    discord_user: &str,
    action: clicks::Action,
) -> sqlx::Result<Answer> {
    let origin = Origin {
        discord_user: Some(discord_user),
        ..Origin::new(Via::Discord)
    };
    let click = Click {
        approver,
        action,
        interaction_id: &i.id,
        origin,
    };
    clicks::handle(ctx, click).await
}

fn deny_modal(id: i64) -> CreateInteractionResponse {
    let input = CreateInputText::new(
        InputTextStyle::Paragraph,
        "Reason (optional, shown to the requester)",
        "reason",
    )
    .required(false)
    .max_length(1000);
    CreateInteractionResponse::Modal(
        CreateModal::new(format!("daypass:deny-reason:{id}"), "Deny the request")
            .components(vec![CreateActionRow::InputText(input)]),
    )
}

/// The request's message as it should look now, with `selected` picked in the menu.
async fn current_message(
    ctx: &Context,
    request_id: i64,
    selected: Option<GrantDuration>,
) -> anyhow::Result<CreateInteractionResponseMessage> {
    let view = RequestView::load(&ctx.store, &ctx.config, request_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("request {request_id} vanished"))?;
    let r = message::render(&view, selected, ctx.clock.now_ms());
    Ok(CreateInteractionResponseMessage::new()
        .embed(r.embed)
        .components(r.components))
}
