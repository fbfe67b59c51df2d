//! The words of every email daypass sends.
use maud::{html, Markup};

use super::Event;
use crate::clock::show;
use crate::config::Config;

pub struct Mail {
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub request_id: Option<i64>,
}

fn human_ms(ms: i64) -> String {
    crate::domain::duration_text(ms)
}

fn wrap(body: Markup) -> String {
    html! {
        (maud::DOCTYPE)
        html { head { meta charset="utf-8"; }
            body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 36rem" {
                (body)
                p style="color: #555; font-size: 0.9em" { "— daypass" }
            }
        }
    }
    .into_string()
}

pub fn render(config: &Config, event: &Event<'_>) -> Vec<Mail> {
    let origin = config.server.origin();
    match event {
        Event::LoginCode { to, code } => vec![Mail {
            kind: "login_code",
            to: to.to_string(),
            subject: format!("Your daypass code: {code}"),
            text: format!(
                "Your daypass sign-in code is {code}\n\nIt works for 10 minutes. If you did not ask for it, ignore this email.\n"
            ),
            html: wrap(html! {
                p { "Your daypass sign-in code is" }
                p style="font-size: 2em; letter-spacing: 0.2em; font-weight: bold" { (code) }
                p { "It works for 10 minutes. If you did not ask for it, ignore this email." }
            }),
            request_id: None,
        }],
        Event::RequestCreated { request, app_name, links } => links
            .iter()
            .map(|(approver, link)| {
                let wished = request
                    .wished_ms
                    .map(human_ms)
                    .unwrap_or_else(|| "not specified".into());
                let text = format!(
                    "{who} asks for access to {app_name}.\n\nWhy: {why}\nWished duration: {wished}\nAsked at: {at}\nThis request expires: {exp}\n\nReview it (sign-in required): {link}\n",
                    who = request.requester,
                    why = request.justification,
                    at = show(request.created_at),
                    exp = show(request.expires_at),
                );
                Mail {
                    kind: "review_request",
                    to: approver.clone(),
                    subject: format!("Access request #{}: {} → {app_name}", request.id, request.requester),
                    text,
                    html: wrap(html! {
                        p { strong { (request.requester) } " asks for access to " strong { (app_name) } "." }
                        table {
                            tr { th align="left" { "Why" } td style="white-space: pre-wrap" { (request.justification) } }
                            tr { th align="left" { "Wished duration" } td { (wished) } }
                            tr { th align="left" { "Asked at" } td { (show(request.created_at)) } }
                            tr { th align="left" { "Request expires" } td { (show(request.expires_at)) } }
                        }
                        p { a href=(link) { "Review the request" } " (you will be asked to sign in)" }
                    }),
                    request_id: Some(request.id),
                }
            })
            .collect(),
        Event::RequestDecided { request, app_name, grant } => {
            let by = request.decided_by.as_deref().unwrap_or("an approver");
            let status = format!("{origin}/requests/{}", request.id);
            let (subject, text, body) = match grant {
                Some(g) => (
                    format!("Approved: your access to {app_name}"),
                    format!(
                        "{by} approved your access to {app_name} for {dur}.\nIt ends at {end}.\n\n{status}\n",
                        dur = human_ms(g.expires_at - g.approved_at),
                        end = show(g.expires_at),
                    ),
                    html! {
                        p { (by) " approved your access to " strong { (app_name) } " for "
                            (human_ms(g.expires_at - g.approved_at)) "." }
                        p { "It ends at " strong { (show(g.expires_at)) } "." }
                        p { a href=(status) { "Open your request" } }
                    },
                ),
                None => {
                    let reason = request.reason.clone().unwrap_or_default();
                    (
                        format!("Denied: your access to {app_name}"),
                        format!(
                            "{by} denied your request for {app_name}.{}\n\n{status}\n",
                            if reason.is_empty() { String::new() } else { format!("\nReason: {reason}") }
                        ),
                        html! {
                            p { (by) " denied your request for " strong { (app_name) } "." }
                            @if !reason.is_empty() { p { "Reason: " (reason) } }
                            p { a href=(status) { "Open your request" } }
                        },
                    )
                }
            };
            vec![Mail {
                kind: "request_decided",
                to: request.requester.clone(),
                subject,
                text,
                html: wrap(body),
                request_id: Some(request.id),
            }]
        }
        Event::RequestExpired { request, app_name } => vec![Mail {
            kind: "request_expired",
            to: request.requester.clone(),
            subject: format!("Expired: your request for {app_name}"),
            text: format!(
                "Nobody answered your request for {app_name} in time, so it expired.\nYou can ask again: {origin}/request/{}\n",
                request.app_slug
            ),
            html: wrap(html! {
                p { "Nobody answered your request for " strong { (app_name) } " in time, so it expired." }
                p { a href=(format!("{origin}/request/{}", request.app_slug)) { "Ask again" } }
            }),
            request_id: Some(request.id),
        }],
        Event::GrantEnded { grant, app_name } => {
            let how = if grant.state == "revoked" {
                format!(
                    "was revoked by {}{}",
                    grant.ended_by.as_deref().unwrap_or("an administrator"),
                    grant.end_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                )
            } else {
                "has ended: its time is up".to_string()
            };
            let again = format!("{origin}/request/{}", grant.app_slug);
            vec![Mail {
                kind: "access_ended",
                to: grant.email.clone(),
                subject: format!("Access ended: {app_name}"),
                text: format!("Your access to {app_name} {how}.\nTo come back, ask again: {again}\n"),
                html: wrap(html! {
                    p { "Your access to " strong { (app_name) } " " (how) "." }
                    p { a href=(again) { "Ask again" } }
                }),
                request_id: Some(grant.request_id),
            }]
        }
    }
}
