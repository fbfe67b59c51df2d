//! `/admin` for the `[[admins]]`: live access with Revoke, sessions with "Sign out everywhere",
//! and `/admin/audit`, the audit log searched and exported. Every action is audited with the
//! administrator as actor. Anyone else signed in gets 403; someone not signed in, 404 (nothing
//! tells a stranger the page exists).
use std::sync::Arc;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::access::grants;
use crate::domain::{duration_text, Email, Reason};
use crate::identity::login;
use crate::server::context::Context;
use crate::store::{AuditAction, AuditEvent, AuditFilter, Origin, RequestState};
use crate::web::csrf::CsrfForm;
use crate::web::error::{WebError, WebResult};
use crate::web::id::Id;
use crate::web::identity::{identify_or_look_up, peer, ClientIp};
use crate::web::pages::layout::{csrf_field, page, when, PageHeader};

/// A signed-in administrator.
pub struct Admin(pub Email);

impl FromRequestParts<Arc<Context>> for Admin {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Context>) -> Result<Self, WebError> {
        match identify_or_look_up(ctx, &parts.headers, peer(&parts.extensions)).await {
            None => Err(WebError::NotFound("There is no such page.".into())),
            Some(e) if ctx.config.is_admin(&e) => Ok(Admin(e)),
            Some(_) => Err(WebError::Forbidden(
                "Only daypass's administrators ([[admins]] in the config) may open this page."
                    .into(),
            )),
        }
    }
}

pub async fn show(
    State(ctx): State<Arc<Context>>,
    Admin(_): Admin,
    header: PageHeader,
) -> WebResult<Html<String>> {
    let now = ctx.clock.now_ms();
    let live = ctx.store.list_grants(true, now, 1000).await?;
    let sessions = ctx.store.sessions_by_person(now).await?;
    let body = html! {
        p { a href="/admin/requests" { "Requests" } " · " a href="/admin/audit" { "Search the audit log" } }
        h2 { "Live access" }
        @if live.is_empty() { p { "Nobody holds temporary access now." } }
        ul.apps {
            @for g in &live {
                li {
                    strong { (g.email) } " → " (ctx.config.app_name(&g.app_slug))
                    dl {
                        dt { "Since" } dd { (when(g.extended_at.unwrap_or(g.approved_at))) }
                        dt { "Until" } dd { (when(g.expires_at)) }
                        dt { "Approved by" } dd { (g.approved_by) }
                        dt { "Request" } dd { a href=(format!("/requests/{}", g.request_id)) { "#" (g.request_id) } }
                    }
                    form method="post" action=(format!("/admin/grants/{}/revoke", g.id)) {
                        (csrf_field(&header.csrf))
                        label for=(format!("reason-{}", g.id)) { "Reason (required, shown to the holder)" }
                        input id=(format!("reason-{}", g.id)) name="reason" required maxlength="1000";
                        button.danger type="submit" { "Revoke" }
                    }
                }
            }
        }
        h2 { "Sessions" }
        @if sessions.is_empty() { p { "Nobody is signed in." } }
        ul.apps {
            @for (email, n, until) in &sessions {
                li {
                    strong { (email) } " · " (n) " session" @if *n != 1 { "s" } " · until " (when(*until))
                    form.inline method="post" action="/admin/sessions/end" {
                        (csrf_field(&header.csrf))
                        input type="hidden" name="email" value=(email);
                        button.secondary type="submit" { "Sign out everywhere" }
                    }
                }
            }
        }
    };
    Ok(page("Administration", &header, None, body))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    reason: String,
}

pub async fn revoke(
    State(ctx): State<Arc<Context>>,
    Admin(me): Admin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> WebResult<Response> {
    let reason = Reason::parse(&form.reason).map_err(WebError::BadRequest)?;
    let Some(reason) = reason.as_option() else {
        return Err(WebError::BadRequest(
            "Say why: the holder is told the reason.".into(),
        ));
    };
    let now = ctx.clock.now_ms();
    let origin = Origin::web(ip.as_deref());
    let by = me.as_str();
    ctx.apply(grants::revoke(&ctx.store, &ctx.config, id, by, origin, Some(reason), now).await?);
    Ok(Redirect::to("/admin").into_response())
}

#[derive(Deserialize)]
pub struct EndSessionsForm {
    #[serde(default)]
    email: String,
}

pub async fn end_sessions(
    State(ctx): State<Arc<Context>>,
    Admin(me): Admin,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<EndSessionsForm>,
) -> WebResult<Response> {
    let who = Email::parse(&form.email).map_err(WebError::BadRequest)?;
    let now = ctx.clock.now_ms();
    let origin = Origin::web(ip.as_deref());
    let ended = ctx.apply(login::end_sessions(&ctx.store, &who, me.as_str(), origin, now).await?);
    tracing::info!(admin = %me, person = %who, ended, "signed out everywhere");
    Ok(Redirect::to("/admin").into_response())
}

#[derive(Deserialize, Default)]
pub struct RequestsQuery {
    state: Option<String>,
    app: Option<String>,
    person: Option<String>,
}

/// `/admin/requests`: requests by state, application and person, each linked to its page.
pub async fn requests(
    State(ctx): State<Arc<Context>>,
    Admin(_): Admin,
    header: PageHeader,
    Query(q): Query<RequestsQuery>,
) -> WebResult<Html<String>> {
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase)
    };
    let state = match text(&q.state) {
        None => None,
        Some(s) => Some(
            RequestState::parse(&s)
                .ok_or_else(|| WebError::BadRequest(format!("`{s}` is not a state")))?,
        ),
    };
    let (app, person) = (text(&q.app), text(&q.person));
    let found = ctx
        .store
        .find_requests(state, app.as_deref(), person.as_deref(), 200)
        .await?;
    let body = html! {
        form method="get" action="/admin/requests" {
            label for="state" { "State" }
            select #state name="state" {
                option value="" { "Any" }
                @for s in RequestState::ALL {
                    option value=(s.as_str()) selected[state == Some(*s)] { (s.as_str()) }
                }
            }
            label for="app" { "Application (slug)" }
            input #app name="app" value=(app.clone().unwrap_or_default());
            label for="person" { "Requester" }
            input #person name="person" value=(person.clone().unwrap_or_default());
            button type="submit" { "Filter" }
        }
        @if found.is_empty() { p { "No requests match." } }
        ul.apps {
            @for r in &found {
                li {
                    a href=(format!("/requests/{}", r.id)) { "#" (r.id) } " · " strong { (r.state.as_str()) }
                    " · " (r.requester) " → " (ctx.config.app_name(&r.app_slug)) " · " (when(r.created_at))
                    br; span.hint { (r.justification) }
                }
            }
        }
    };
    Ok(page("Requests", &header, None, body))
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    since: Option<String>,
    until: Option<String>,
    app: Option<String>,
    person: Option<String>,
    action: Option<String>,
    before: Option<i64>,
    /// `csv` or `jsonl`: the whole result as a file instead of a page.
    format: Option<String>,
}

const PAGE: i64 = 50;
const EXPORT_MAX: i64 = 100_000;

fn filter(q: &AuditQuery) -> WebResult<AuditFilter> {
    let time = |v: &Option<String>, what: &str| -> WebResult<Option<i64>> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| Some(t.timestamp_millis()))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| {
                        Some(
                            d.and_hms_opt(0, 0, 0)
                                .unwrap_or_default()
                                .and_utc()
                                .timestamp_millis(),
                        )
                    })
                })
                .map_err(|_| {
                    WebError::BadRequest(format!(
                        "{what}: `{s}` is not a date (2026-11-26) or an RFC 3339 time"
                    ))
                }),
        }
    };
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase)
    };
    let action = match text(&q.action) {
        None => None,
        Some(a) => Some(
            AuditAction::parse(&a)
                .ok_or_else(|| WebError::BadRequest(format!("`{a}` is not an action")))?,
        ),
    };
    Ok(AuditFilter {
        since: time(&q.since, "From")?,
        until: time(&q.until, "Until")?,
        app: text(&q.app),
        person: text(&q.person),
        action,
    })
}

/// One CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

const CSV_HEADER: &str = "id,at,action,actor,channel,request_id,grant_id,app_slug,subject,justification,duration_ms,reason,client_ip,discord_user";

fn csv_line(e: &AuditEvent) -> String {
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let s = |v: &Option<String>| csv_field(v.as_deref().unwrap_or(""));
    [
        e.id.to_string(),
        crate::clock::rfc3339(e.at),
        e.action.to_string(),
        csv_field(&e.actor),
        e.channel.to_string(),
        opt(e.request_id),
        opt(e.grant_id),
        s(&e.app_slug),
        s(&e.subject),
        s(&e.justification),
        opt(e.duration_ms),
        s(&e.reason),
        s(&e.client_ip),
        s(&e.discord_user),
    ]
    .join(",")
}

fn download(kind: &'static str, name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

pub async fn audit(
    State(ctx): State<Arc<Context>>,
    Admin(_): Admin,
    header: PageHeader,
    Query(q): Query<AuditQuery>,
) -> WebResult<Response> {
    let f = filter(&q)?;
    match q.format.as_deref() {
        Some("csv") => {
            let events = ctx.store.search_audit(&f, None, EXPORT_MAX).await?;
            let mut out = String::from(CSV_HEADER);
            out.push('\n');
            for e in &events {
                out.push_str(&csv_line(e));
                out.push('\n');
            }
            return Ok(download(
                "text/csv; charset=utf-8",
                "daypass-audit.csv",
                out,
            ));
        }
        Some("jsonl") => {
            let events = ctx.store.search_audit(&f, None, EXPORT_MAX).await?;
            let mut out = String::new();
            for e in &events {
                out.push_str(&e.json_line());
                out.push('\n');
            }
            return Ok(download("application/x-ndjson", "daypass-audit.jsonl", out));
        }
        Some(other) => {
            return Err(WebError::BadRequest(format!(
                "`{other}` is not csv or jsonl"
            )))
        }
        None => {}
    }
    let events = ctx.store.search_audit(&f, q.before, PAGE).await?;
    let kept = |v: &Option<String>| v.clone().unwrap_or_default();
    let query = |extra: &[(&str, String)]| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("since", &q.since),
            ("until", &q.until),
            ("app", &q.app),
            ("person", &q.person),
            ("action", &q.action),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                s.append_pair(k, v);
            }
        }
        for (k, v) in extra {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let older = (events.len() as i64 == PAGE)
        .then(|| {
            events
                .last()
                .map(|e| query(&[("before", e.id.to_string())]))
        })
        .flatten();
    let body = html! {
        form method="get" action="/admin/audit" {
            label for="since" { "From (a date like 2026-11-26, or an RFC 3339 time)" }
            input #since name="since" value=(kept(&q.since));
            label for="until" { "Until" }
            input #until name="until" value=(kept(&q.until));
            label for="app" { "Application (slug)" }
            input #app name="app" value=(kept(&q.app));
            label for="person" { "Person (requester or actor)" }
            input #person name="person" value=(kept(&q.person));
            label for="action" { "Action" }
            select #action name="action" {
                option value="" { "Any" }
                @for a in AuditAction::ALL {
                    option value=(a.as_str()) selected[q.action.as_deref() == Some(a.as_str())] { (a.as_str()) }
                }
            }
            button type="submit" { "Search" }
        }
        p {
            a href=(format!("/admin/audit?{}", query(&[("format", "csv".into())]))) { "Export as CSV" } " · "
            a href=(format!("/admin/audit?{}", query(&[("format", "jsonl".into())]))) { "Export as JSON lines" }
        }
        @if events.is_empty() { p { "No events match." } }
        ul.apps {
            @for e in &events {
                li {
                    (when(e.at)) " · " strong { (e.action.as_str()) } " by " (e.actor) " (" (e.channel.as_str()) ")"
                    @if let Some(s) = &e.subject { " · " (s) }
                    @if let Some(a) = &e.app_slug { " → " (ctx.config.app_name(a)) }
                    @if let Some(id) = e.request_id { " · " a href=(format!("/requests/{id}")) { "#" (id) } }
                    @if let Some(ms) = e.duration_ms { " · " (duration_text(ms)) }
                    @if let Some(r) = e.reason.as_deref().filter(|r| !r.is_empty()) { " · " (r) }
                }
            }
        }
        @if let Some(q) = older { p { a href=(format!("/admin/audit?{q}")) { "Older events" } } }
    };
    Ok(page("Audit log", &header, None, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
