//! What a click in Discord does. One plain function from a parsed interaction to the response,
//! shared by the HTTP interactions endpoint and the gateway.
use serde::Deserialize;
use serenity::all::{
    CreateActionRow, CreateEmbed, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateModal, InputTextStyle,
};

use super::message::RequestView;
use crate::context::Context;
use crate::decisions::{self, temporary_for, DecideError, Origin, Verdict};
use crate::domain::{Email, GrantDuration, Reason};
use crate::grants::{self, RevokeError};
use crate::store::Store;

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
    let now = ctx.clock.now_ms();
    let request_id = match &action {
        Action::Pick(id, _)
        | Action::Approve(id, _)
        | Action::AskDenyReason(id)
        | Action::Deny(id, _) => *id,
        Action::Revoke(grant_id) => match Store::grant(ctx.store.reader(), *grant_id).await? {
            Some(g) => g.request_id,
            None => return Ok(ephemeral("There is no such grant.")),
        },
    };
    let Some(request) = Store::request(ctx.store.reader(), request_id).await? else {
        return Ok(ephemeral("There is no such request."));
    };
    let Some((_, temporary)) = temporary_for(ctx, &request) else {
        return Ok(ephemeral("The policy of this request no longer exists."));
    };
    let requester = Email::parse(&request.requester).map_err(anyhow::Error::msg)?;
    if let Err(why) = crate::policy::may_decide(
        temporary,
        &approver.email,
        &requester,
        request.escalated_at.is_some(),
    ) {
        return Ok(ephemeral(format!("{why} Nothing changed.")));
    }
    // A replayed interaction (same id) shows the current state and decides nothing again.
    let fresh = i.id.is_empty() || ctx.store.first_sight_of_interaction(&i.id, now).await?;
    let origin = Origin {
        channel: "discord",
        client_ip: None,
        discord_user: Some(&user.id),
    };
    let mut selected = None;
    if fresh {
        match action {
            Action::Pick(_, d) => selected = Some(d),
            Action::AskDenyReason(id) => return Ok(deny_modal(id)),
            Action::Approve(id, d) => {
                if let Some(r) = refusal(
                    decisions::decide(ctx, id, &approver.email, origin, Verdict::Approve(d)).await,
                )? {
                    return Ok(r);
                }
            }
            Action::Deny(id, reason) => {
                if let Some(r) = refusal(
                    decisions::decide(ctx, id, &approver.email, origin, Verdict::Deny(reason))
                        .await,
                )? {
                    return Ok(r);
                }
            }
            Action::Revoke(grant_id) => {
                let by = approver.email.as_str();
                match grants::revoke(&ctx.store, &ctx.config, grant_id, by, origin, None, now).await
                {
                    Ok(g) => {
                        ctx.cache.put_grant(&g);
                        ctx.wake_outbox();
                    }
                    Err(RevokeError::Db(e)) => return Err(e.into()),
                    Err(e) => return Ok(ephemeral(e.to_string())),
                }
            }
        }
    }
    Ok(CreateInteractionResponse::UpdateMessage(
        current_message(ctx, request_id, selected).await?,
    ))
}

/// `Ok(Some(..))`: tell the clicker why nothing changed.
fn refusal<T>(r: Result<T, DecideError>) -> anyhow::Result<Option<CreateInteractionResponse>> {
    match r {
        Ok(_) => Ok(None),
        Err(DecideError::Db(e)) => Err(e.into()),
        Err(e) => Ok(Some(ephemeral(e.to_string()))),
    }
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

/// A request's message as it should look now.
pub struct Rendered {
    pub embed: CreateEmbed,
    pub components: Vec<CreateActionRow>,
    pub message_id: Option<String>,
}

pub async fn render(
    ctx: &Context,
    request_id: i64,
    selected: Option<GrantDuration>,
) -> anyhow::Result<Option<Rendered>> {
    let Some(request) = Store::request(ctx.store.reader(), request_id).await? else {
        return Ok(None);
    };
    let grant = match request.extends_grant_id {
        Some(g) => Store::grant(ctx.store.reader(), g).await?,
        None => ctx.store.grant_for_request(request_id).await?,
    };
    let approvals = Store::approvals(ctx.store.reader(), request_id).await?;
    let approvals = crate::policy::counted(&ctx.config, &request, &approvals);
    let policy = temporary_for(ctx, &request);
    let view = RequestView {
        request: &request,
        grant: grant.as_ref(),
        app_name: policy.map(|p| p.0).unwrap_or(&request.app_slug),
        max: policy.map(|p| p.1.max_duration),
        selected,
        approvals: &approvals,
        now: ctx.clock.now_ms(),
    };
    Ok(Some(Rendered {
        embed: super::message::embed(&view),
        components: super::message::components(&view),
        message_id: request.discord_message_id.clone(),
    }))
}

async fn current_message(
    ctx: &Context,
    request_id: i64,
    selected: Option<GrantDuration>,
) -> anyhow::Result<CreateInteractionResponseMessage> {
    let r = render(ctx, request_id, selected)
        .await?
        .ok_or_else(|| anyhow::anyhow!("request {request_id} vanished"))?;
    Ok(CreateInteractionResponseMessage::new()
        .embed(r.embed)
        .components(r.components))
}
