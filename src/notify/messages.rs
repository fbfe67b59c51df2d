//! The words of every email daypass sends.
use maud::{html, Markup};

use crate::clock::show;
use crate::config::Config;
use crate::domain::{duration_text, plain_text};
use crate::notify::Event;
use crate::policy;
use crate::store::{ApprovalRow, GrantState, RequestRow};

pub struct Mail {
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub request_id: Option<i64>,
    /// Mails about one request form one thread in each recipient's mailbox.
    pub thread: Option<String>,
    /// The first mail of the thread (the others reply to it).
    pub thread_root: bool,
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

fn thread(request_id: i64) -> Option<String> {
    Some(format!("request-{request_id}"))
}

/// Everyone who may decide `request` now (its approvers, and the escalation list once escalated).
fn deciders(config: &Config, request: &RequestRow) -> Vec<String> {
    config
        .temporary(&request.app_slug, &request.policy_name)
        .map(|(_, t)| {
            policy::deciders(t, &request.requester, request.escalated_at.is_some())
                .into_iter()
                .map(|e| e.to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn approvals_line(request: &RequestRow, approvals: &[ApprovalRow]) -> String {
    let who: Vec<String> = approvals
        .iter()
        .map(|a| format!("{} ({})", a.approver, duration_text(a.duration_ms)))
        .collect();
    format!(
        "{} of {} approvals: {}",
        approvals.len(),
        request.approvals_needed,
        who.join(", ")
    )
}

/// A review request (first, reminder or escalation) to each approver with their own link.
fn review_mails(
    request: &RequestRow,
    app_name: &str,
    links: &[(String, String)],
    heading: &str,
    root: bool,
) -> Vec<Mail> {
    let kind = if request.extends_grant_id.is_some() {
        "Extension request"
    } else {
        "Access request"
    };
    links
        .iter()
        .map(|(approver, link)| {
            let wished = request.wished_ms.map(duration_text).unwrap_or_else(|| "not specified".into());
            let needs = if request.approvals_needed > 1 {
                format!("It needs {} approvals.
", request.approvals_needed)
            } else {
                String::new()
            };
            let text = format!(
                "{heading}{who} asks for {what} {app_name}.\n\nWhy: {why}\nWished duration: {wished}\nAsked at: {at}\nThis request expires: {exp}\n{needs}\nReview it (sign-in required): {link}\n",
                who = request.requester,
                what = if request.extends_grant_id.is_some() { "more time on" } else { "access to" },
                why = plain_text(&request.justification),
                at = show(request.created_at),
                exp = show(request.expires_at),
            );
            Mail {
                kind: "review_request",
                to: approver.clone(),
                subject: format!("{}{kind} #{}: {} → {app_name}", if root { "" } else { "Reminder: " }, request.id, request.requester),
                text,
                html: wrap(html! {
                    @if !heading.is_empty() { p { strong { (heading.trim()) } } }
                    p { strong { (request.requester) } " asks for "
                        @if request.extends_grant_id.is_some() { "more time on " } @else { "access to " }
                        strong { (app_name) } "." }
                    table {
                        tr { th align="left" { "Why" } td style="white-space: pre-wrap" { (plain_text(&request.justification)) } }
                        tr { th align="left" { "Wished duration" } td { (wished) } }
                        tr { th align="left" { "Asked at" } td { (show(request.created_at)) } }
                        tr { th align="left" { "Request expires" } td { (show(request.expires_at)) } }
                    }
                    @if request.approvals_needed > 1 { p { "It needs " (request.approvals_needed) " approvals." } }
                    p { a href=(link) { "Review the request" } " (you will be asked to sign in)" }
                }),
                request_id: Some(request.id),
                thread: thread(request.id),
                thread_root: root,
            }
        })
        .collect()
}

/// The same note to every approver of a request.
fn to_deciders(
    config: &Config,
    request: &RequestRow,
    kind: &'static str,
    subject: String,
    text: String,
    body: Markup,
    except: Option<&str>,
) -> Vec<Mail> {
    let html = wrap(body);
    deciders(config, request)
        .into_iter()
        .filter(|a| Some(a.as_str()) != except)
        .map(|to| Mail {
            kind,
            to,
            subject: subject.clone(),
            text: text.clone(),
            html: html.clone(),
            request_id: Some(request.id),
            thread: thread(request.id),
            thread_root: false,
        })
        .collect()
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
            thread: None,
            thread_root: false,
        }],
        Event::RequestCreated { request, app_name, links, extends } => {
            let heading = extends
                .map(|g| format!("Their access now ends at {}.\n", show(g.expires_at)))
                .unwrap_or_default();
            review_mails(request, app_name, links, &heading, true)
        }
        Event::Reminder { request, app_name, links } => {
            let heading = format!("Still waiting for an answer since {}.\n", show(request.created_at));
            review_mails(request, app_name, links, &heading, false)
        }
        Event::Escalated { request, app_name, links } => {
            let heading = format!("Nobody has answered since {}, so you are asked too.\n", show(request.created_at));
            review_mails(request, app_name, links, &heading, true)
        }
        Event::ApprovalRecorded { request, app_name, approvals } => {
            let line = approvals_line(request, approvals);
            let subject = format!("Approval recorded: request #{} → {app_name}", request.id);
            let text = format!("{line}\nThe request waits for the rest.\n");
            let body = html! { p { (line) } p { "The request waits for the rest." } };
            let latest = approvals.last().map(|a| a.approver.as_str());
            to_deciders(config, request, "approval_recorded", subject, text, body, latest)
        }
        Event::RequestDecided { request, app_name, grant } => {
            let by = request.decided_by.as_deref().unwrap_or("an approver");
            let at = show(request.decided_at.unwrap_or(request.created_at));
            let status = format!("{origin}/requests/{}", request.id);
            let extension = request.extends_grant_id.is_some();
            let (subject, text, body, handled) = match grant {
                Some(g) => {
                    let span = duration_text(g.expires_at - g.extended_at.unwrap_or(g.approved_at));
                    let verb = if extension { "extended your access to" } else { "approved your access to" };
                    (
                        format!("{}: your access to {app_name}", if extension { "Extended" } else { "Approved" }),
                        format!("{by} {verb} {app_name} for {span}.\nIt ends at {end}.\n\n{status}\n", end = show(g.expires_at)),
                        html! {
                            p { (by) " " (verb) " " strong { (app_name) } " for " (span) "." }
                            p { "It ends at " strong { (show(g.expires_at)) } "." }
                            p { a href=(status) { "Open your request" } }
                        },
                        format!("{by} approved it at {at} for {span}; access ends at {}.", show(g.expires_at)),
                    )
                }
                None => {
                    let reason = plain_text(request.reason.as_deref().unwrap_or_default());
                    let why = if reason.is_empty() { String::new() } else { format!("\nReason: {reason}") };
                    (
                        format!("Denied: your request for {app_name}"),
                        format!("{by} denied your request for {app_name}.{why}\n\n{status}\n"),
                        html! {
                            p { (by) " denied your request for " strong { (app_name) } "." }
                            @if !reason.is_empty() { p { "Reason: " (reason) } }
                            p { a href=(status) { "Open your request" } }
                        },
                        format!("{by} denied it at {at}.{why}"),
                    )
                }
            };
            let mut mails = vec![Mail {
                kind: "request_decided",
                to: request.requester.to_string(),
                subject,
                text,
                html: wrap(body),
                request_id: Some(request.id),
                thread: None,
                thread_root: false,
            }];
            // Every other approver learns who handled it, in the thread of their review request.
            mails.extend(to_deciders(
                config,
                request,
                "request_handled",
                format!("Handled: request #{} by {} → {app_name}", request.id, request.requester),
                format!("{handled}\n"),
                html! { p { (handled) } },
                Some(by),
            ));
            mails
        }
        Event::RequestCancelled { request, app_name } => to_deciders(
            config,
            request,
            "request_cancelled",
            format!("Cancelled: request #{} by {} → {app_name}", request.id, request.requester),
            format!("{} cancelled the request; nothing to decide any more.\n", request.requester),
            html! { p { (request.requester) " cancelled the request; nothing to decide any more." } },
            None,
        ),
        Event::RequestExpired { request, app_name } => {
            let again = format!("{origin}/request/{}", request.app_slug);
            let mut mails = vec![Mail {
                kind: "request_expired",
                to: request.requester.to_string(),
                subject: format!("Expired: your request for {app_name}"),
                text: format!("Nobody answered your request for {app_name} in time, so it expired.\nYou can ask again: {again}\n"),
                html: wrap(html! {
                    p { "Nobody answered your request for " strong { (app_name) } " in time, so it expired." }
                    p { a href=(again) { "Ask again" } }
                }),
                request_id: Some(request.id),
                thread: None,
                thread_root: false,
            }];
            mails.extend(to_deciders(
                config,
                request,
                "request_expired",
                format!("Expired unanswered: request #{} by {} → {app_name}", request.id, request.requester),
                "Nobody answered in time; the request expired.\n".to_string(),
                html! { p { "Nobody answered in time; the request expired." } },
                None,
            ));
            mails
        }
        Event::GrantWarning { grant, app_name } => {
            let extend = format!("{origin}/grants/{}/extend", grant.id);
            vec![Mail {
                kind: "grant_warning",
                to: grant.email.to_string(),
                subject: format!("Ending soon: your access to {app_name}"),
                text: format!(
                    "Your access to {app_name} ends at {}.\nNeed more time? Ask for it: {extend}\n",
                    show(grant.expires_at)
                ),
                html: wrap(html! {
                    p { "Your access to " strong { (app_name) } " ends at " strong { (show(grant.expires_at)) } "." }
                    p { a href=(extend) { "Ask for more time" } }
                }),
                request_id: Some(grant.request_id),
                thread: None,
                thread_root: false,
            }]
        }
        Event::GrantEnded { grant, app_name } => {
            let how = if grant.state == GrantState::Revoked {
                format!(
                    "was revoked by {}{}",
                    grant.ended_by.as_deref().unwrap_or("an administrator"),
                    grant.end_reason.as_deref().map(|r| format!(" ({})", plain_text(r))).unwrap_or_default()
                )
            } else {
                "has ended: its time is up".to_string()
            };
            let again = format!("{origin}/request/{}", grant.app_slug);
            vec![Mail {
                kind: "access_ended",
                to: grant.email.to_string(),
                subject: format!("Access ended: {app_name}"),
                text: format!("Your access to {app_name} {how}.\nTo come back, ask again: {again}\n"),
                html: wrap(html! {
                    p { "Your access to " strong { (app_name) } " " (how) "." }
                    p { a href=(again) { "Ask again" } }
                }),
                request_id: Some(grant.request_id),
                thread: None,
                thread_root: false,
            }]
        }
    }
}
