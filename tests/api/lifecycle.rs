//! Extend, end early, cancel, warnings, reminders, escalation and quorum.
use std::time::Duration;

use crate::helpers::decide;
use daypass::access::decisions::{DecideError, Verdict};
use daypass::domain::{Email, GrantDuration, Reason};
use reqwest::StatusCode;

use crate::discord::DiscordTest;
use crate::helpers::{review_path, TestApp};
use crate::requests::{file_request, make_request};

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn approve(d: &str) -> Verdict {
    Verdict::Approve(GrantDuration::parse(d).unwrap())
}

async fn decide_as(
    app: &TestApp,
    id: i64,
    who: &str,
    verdict: Verdict,
) -> Result<daypass::access::decisions::Decided, DecideError> {
    decide(
        &app.ctx,
        id,
        &email(&app.email(who)),
        crate::helpers::by_email(),
        verdict,
    )
    .await
}

/// carol, signed in, holding a grant for grafana that alice approved for `duration`.
async fn carol_with_a_grant(
    app: &TestApp,
    duration: &str,
) -> (crate::helpers::Browser, daypass::store::GrantRow) {
    let mut holder = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut holder, "1h").await;
    let grant = decide_as(app, id, "alice", approve(duration))
        .await
        .unwrap()
        .grant
        .unwrap();
    (holder, grant)
}

/// A console request (two approvals needed) by `who`, through the library.
async fn console_request(app: &TestApp, who: &str) -> i64 {
    use daypass::policy::{evaluate, Access};
    let ctx = &app.ctx;
    let console = ctx.config.application("console").unwrap();
    let requester = email(&app.email(who));
    let Access::OnRequest(policy, temporary) =
        evaluate(console, daypass::policy::Who::new(&requester, &[]))
    else {
        panic!("console is on request")
    };
    let justification = daypass::domain::Justification::parse("migration check", true).unwrap();
    crate::helpers::create_request(
        ctx,
        daypass::access::requests::NewAccessRequest {
            requester: &requester,
            app: console,
            policy_name: &policy.name,
            temporary,
            justification: &justification,
            wished: None,
            redirect_to: None,
            client_ip: None,
            extends: None,
        },
    )
    .await
    .unwrap()
}

async fn grant_span(app: &TestApp, grant_id: i64) -> (i64, i64, Option<i64>) {
    sqlx::query_as("SELECT approved_at, expires_at, extended_at FROM grants WHERE id = $1")
        .bind(grant_id)
        .fetch_one(&app.db().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_requester_cancels_a_pending_request_and_the_approvers_hear_of_it() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let link = review_path(
        &app.mail()
            .wait_for(&app.email("bob"), &format!("#{id}:"))
            .await,
    );
    let page = carol.open(&format!("/requests/{id}")).await;
    assert!(page.body.contains("Cancel this request"));
    let res = carol
        .submit(
            &format!("/requests/{id}"),
            &format!("/requests/{id}/cancel"),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(carol
        .open(&format!("/requests/{id}"))
        .await
        .body
        .contains("cancelled"));
    for who in ["alice", "bob"] {
        app.mail()
            .wait_for(&app.email(who), &format!("Cancelled: request #{id}"))
            .await;
    }
    // The link decides nothing any more, and cancelling twice is refused.
    let mut bob = app.signed_in(&app.email("bob")).await;
    let res = bob
        .submit(&link, &link, &[("decision", "approve"), ("duration", "1h")])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let res = carol
        .submit("/", &format!("/requests/{id}/cancel"), &[])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    // Nobody else can cancel it.
    let id2 = make_request(&mut carol, "1h").await;
    let mut dave = app.signed_in(&app.email("dave")).await;
    let res = dave
        .submit("/", &format!("/requests/{id2}/cancel"), &[])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let state = app.request_state(id2).await;
    assert_eq!(state, "pending");
}

#[tokio::test]
async fn an_extension_moves_the_end_forward_counted_from_its_approval_within_the_caps() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let (mut holder, grant) = carol_with_a_grant(&app, "1h").await;
    app.ctx.clock.advance(Duration::from_secs(50 * 60));

    let form = holder.open(&format!("/grants/{}/extend", grant.id)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("<time datetime="),
        "shows the current end"
    );
    let ext = file_request(
        &mut holder,
        &format!("/grants/{}/extend", grant.id),
        &[("justification", "still migrating"), ("duration", "2h")],
    )
    .await;
    let mail = app
        .mail()
        .wait_for(&app.email("bob"), &format!("Extension request #{ext}:"))
        .await;
    assert!(
        mail.text.contains("Their access now ends at"),
        "{}",
        mail.text
    );
    let link = review_path(&mail);
    let mut bob = app.signed_in(&app.email("bob")).await;
    for (d, words) in [("9h", "longest access"), ("25h", "at most 24 hours")] {
        let res = bob
            .submit(&link, &link, &[("decision", "approve"), ("duration", d)])
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{d}");
        assert!(res.body.contains(words), "{d}");
    }
    let res = bob
        .submit(&link, &link, &[("decision", "approve"), ("duration", "2h")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let (approved_at, expires_at, extended_at) = grant_span(&app, grant.id).await;
    let extended_at = extended_at.expect("extension recorded");
    assert_eq!(
        expires_at - extended_at,
        2 * 3_600_000,
        "two hours from the extension's approval"
    );
    assert_eq!(
        approved_at, grant.approved_at,
        "the original approval stays on record"
    );
    let auth = app.auth(&holder, "grafana.test", &[]).await;
    assert_eq!(auth.status, StatusCode::OK);
    let header =
        chrono::DateTime::parse_from_rfc3339(auth.header("x-daypass-grant-expires").unwrap())
            .unwrap();
    assert_eq!(
        header.timestamp_millis() / 1000,
        expires_at / 1000,
        "the cache follows at once"
    );
    app.mail().wait_for(&carol, "Extended").await;
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_events ORDER BY id")
        .fetch_all(&app.db().await)
        .await
        .unwrap();
    assert_eq!(
        actions,
        [
            "request_created",
            "request_approved",
            "extension_requested",
            "grant_extended"
        ]
    );
    // The schema refuses more than 24 hours (or the policy's 8) from the latest approval.
    let db = app.db().await;
    let res = sqlx::query("UPDATE grants SET expires_at = extended_at + 86400001 WHERE id = $1")
        .bind(grant.id)
        .execute(&db)
        .await;
    assert!(res.is_err());
    let res =
        sqlx::query("UPDATE grants SET expires_at = extended_at + 8 * 3600000 + 1 WHERE id = $1")
            .bind(grant.id)
            .execute(&db)
            .await;
    assert!(res.is_err());
}

#[tokio::test]
async fn an_extension_of_access_that_ended_meanwhile_expires_unapproved() {
    let app = TestApp::spawn().await;
    let (mut holder, grant) = carol_with_a_grant(&app, "15m").await;
    let ext = file_request(
        &mut holder,
        &format!("/grants/{}/extend", grant.id),
        &[("justification", "more")],
    )
    .await;
    app.ctx.clock.advance(Duration::from_secs(16 * 60));
    let err = decide_as(&app, ext, "bob", approve("1h"))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            DecideError::AlreadyDecided(_) | DecideError::GrantEnded
        ),
        "{err}"
    );
    let report = app.sweep().await;
    assert!(report.requests_expired.iter().any(|r| r.id == ext));
    assert_eq!(
        app.auth(&holder, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_holder_is_warned_once_before_the_end_even_across_a_restart() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let (_, grant) = carol_with_a_grant(&app, "1h").await;
    app.ctx.clock.advance(Duration::from_secs(45 * 60));
    assert_eq!(
        app.sweep().await.grants_warned,
        0,
        "not yet: 15 minutes left"
    );
    app.ctx.clock.advance(Duration::from_secs(6 * 60));
    assert_eq!(app.sweep().await.grants_warned, 1);
    let mail = app.mail().wait_for(&carol, "Ending soon").await;
    assert!(mail
        .text
        .contains(&format!("{}/grants/{}/extend", app.url, grant.id)));
    assert_eq!(app.sweep().await.grants_warned, 0, "once only");
    let (dir, tag) = app.stop().await;
    let clock = daypass::clock::Clock::default();
    clock.advance(Duration::from_secs(52 * 60));
    let app = TestApp::spawn_in(dir, tag, crate::helpers::BASE, "", clock).await;
    assert_eq!(
        app.sweep().await.grants_warned,
        0,
        "not again after a restart"
    );
    app.drain().await;
    let warnings = app
        .mail()
        .to(&carol)
        .await
        .iter()
        .filter(|m| m.subject.contains("Ending soon"))
        .count();
    assert_eq!(warnings, 1);
}

#[tokio::test]
async fn unanswered_requests_remind_with_backoff_then_escalate() {
    let app = TestApp::spawn().await;
    let id = console_request(&app, "carol").await;
    let esc = app.email("esc");
    // Before escalation the escalation approver cannot decide.
    let err = decide_as(&app, id, "esc", approve("1h"))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, DecideError::NotAllowed(_)));

    app.ctx.clock.advance(Duration::from_secs(10 * 60));
    assert_eq!(app.sweep().await.reminders, 1);
    assert_eq!(
        app.sweep().await.reminders,
        0,
        "not twice for the same moment"
    );
    let reminder = app
        .mail()
        .wait_for(
            &app.email("alice"),
            &format!("Reminder: Access request #{id}"),
        )
        .await;
    assert!(reminder.text.contains("Still waiting"));
    // The reminder's fresh link works.
    let mut alice = app.signed_in(&app.email("alice")).await;
    assert_eq!(
        alice.open(&review_path(&reminder)).await.status,
        StatusCode::OK
    );

    app.ctx.clock.advance(Duration::from_secs(10 * 60));
    assert_eq!(
        app.sweep().await.reminders,
        0,
        "backing off: the next one is 20 minutes after the first"
    );
    app.ctx.clock.advance(Duration::from_secs(10 * 60));
    let report = app.sweep().await;
    assert_eq!(
        (report.reminders, report.escalations),
        (1, 1),
        "30 minutes: second reminder, and escalation"
    );
    let mail = app
        .mail()
        .wait_for(&esc, &format!("Access request #{id}"))
        .await;
    assert!(mail.text.contains("you are asked too"));
    // Now the escalation approver counts towards the quorum.
    let waiting = decide_as(&app, id, "esc", approve("1h")).await.unwrap();
    assert_eq!(waiting.waiting, Some((1, 2)));
}

#[tokio::test]
async fn a_quorum_needs_distinct_approvers_takes_the_shortest_duration_and_one_deny_denies() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let browser = app.signed_in(&carol).await;

    let id = console_request(&app, "carol").await;
    let first = decide_as(&app, id, "alice", approve("4h")).await.unwrap();
    assert_eq!(first.waiting, Some((1, 2)));
    assert!(first.grant.is_none(), "one of two approvals grants nothing");
    assert_eq!(
        app.auth(&browser, "console.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(matches!(
        decide_as(&app, id, "alice", approve("1h")).await,
        Err(DecideError::AlreadyApproved)
    ));
    let noted = app
        .mail()
        .wait_for(
            &app.email("bob"),
            &format!("Approval recorded: request #{id}"),
        )
        .await;
    assert!(noted.text.contains("1 of 2 approvals"), "{}", noted.text);
    let page = browser
        .get_with(
            &format!("/requests/{id}"),
            &[(
                "Cookie".into(),
                format!("daypass_session={}", browser.cookies["daypass_session"]),
            )],
        )
        .await;
    assert!(page.body.contains("1 of 2 approvals"));
    let second = decide_as(&app, id, "bob", approve("2h")).await.unwrap();
    let g = second.grant.expect("the second approval grants");
    assert_eq!(
        g.expires_at - g.approved_at,
        2 * 3_600_000,
        "the shortest chosen duration wins"
    );
    assert_eq!(
        app.auth(&browser, "console.test", &[]).await.status,
        StatusCode::OK
    );

    // A self-approval does not count: alice's own request needs bob and, after escalation, esc.
    let own = console_request(&app, "alice").await;
    assert!(matches!(
        decide_as(&app, own, "alice", approve("1h")).await,
        Err(DecideError::NotAllowed(_))
    ));
    let one = decide_as(&app, own, "bob", approve("1h")).await.unwrap();
    assert_eq!(one.waiting, Some((1, 2)));

    // A deny after one approval denies.
    let id3 = console_request(&app, "dave").await;
    decide_as(&app, id3, "alice", approve("1h")).await.unwrap();
    let denied = decide_as(
        &app,
        id3,
        "bob",
        Verdict::Deny(Reason::parse("not today").unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(denied.request.state, daypass::store::RequestState::Denied);
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE request_id = $1")
        .bind(id3)
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(grants, 0);
}

#[tokio::test]
async fn every_approver_learns_who_handled_a_request_in_its_thread() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let asked = app
        .mail()
        .wait_for(&app.email("alice"), &format!("Access request #{id}:"))
        .await;
    decide_as(&app, id, "bob", approve("45m")).await.unwrap();
    let handled = app
        .mail()
        .wait_for(&app.email("alice"), &format!("Handled: request #{id}"))
        .await;
    assert!(
        handled.text.contains(&app.email("bob")) && handled.text.contains("45m"),
        "{}",
        handled.text
    );
    let root = asked.headers["message-id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(root.starts_with("<daypass.request-"), "{:?}", asked.headers);
    assert_eq!(
        handled.headers["in-reply-to"].as_str(),
        Some(root.as_str()),
        "threaded under the review request"
    );
    // Bob, who decided, is not told what he did; the requester is told who approved.
    assert!(app
        .mail()
        .to(&app.email("bob"))
        .await
        .iter()
        .all(|m| !m.subject.starts_with("Handled")));
    let approved = app.mail().wait_for(&app.email("carol"), "Approved").await;
    assert!(approved.text.contains(&app.email("bob")));
    // The status page shows the exact end as a machine-readable time, localised by a script.
    let page = carol.open(&format!("/requests/{id}")).await;
    assert!(page.body.contains("<time datetime=\""), "{}", page.body);
    let script = carol.open("/static/daypass.js").await;
    assert!(script
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/javascript"));
}

#[tokio::test]
async fn discord_shows_the_quorum_and_the_cancellation() {
    let t = DiscordTest::start().await;
    let id = console_request(&t.app, "carol").await;
    let (_, message) = t.posted(id).await;
    let (_, res) = t
        .send(&crate::discord::click(
            &format!("daypass:approve:{id}:60"),
            "1001",
            &message,
        ))
        .await;
    let status = crate::fake_discord::status_of(&res["data"]);
    assert!(status.starts_with("1 of 2 approvals: alice-"), "{status}");
    assert_eq!(
        crate::fake_discord::custom_ids(&res["data"]).len(),
        3,
        "still open for the second approval"
    );

    let id2 = t.request(&t.app.email("dave"), None).await;
    let (_, message2) = t.posted(id2).await;
    let ctx = &t.app.ctx;
    let dave = email(&t.app.email("dave"));
    let now = ctx.clock.now_ms();
    let cancelled =
        daypass::access::requests::cancel(&ctx.store, &ctx.config, id2, &dave, None, now);
    ctx.apply(cancelled.await.unwrap());
    let path = format!("/api/v10/channels/555000000000000001/messages/{message2}");
    let edit = t
        .fake
        .wait_for("cancelled", |c| {
            c.path == path
                && crate::fake_discord::status_of(&c.body) == "Cancelled by the requester"
        })
        .await;
    assert_eq!(edit.body["components"], serde_json::json!([]));
}

#[tokio::test]
async fn an_extension_can_be_approved_from_discord_and_both_messages_follow() {
    let t = DiscordTest::start().await;
    let carol = t.app.email("carol");
    let id = t.request(&carol, Some("1h")).await;
    let (_, first_message) = t.posted(id).await;
    let grant = t.app.approve(id, "alice", "1h").await.grant.unwrap();
    let mut holder = t.app.signed_in(&carol).await;
    let path = format!("/grants/{}/extend", grant.id);
    let ext = file_request(
        &mut holder,
        &path,
        &[("justification", "needs longer"), ("duration", "2h")],
    )
    .await;
    let (body, ext_message) = t.posted(ext).await;
    assert!(body["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("Extension request"));
    assert!(
        body.to_string().contains("Access now ends"),
        "shows the current end: {body}"
    );
    t.app.ctx.clock.advance(Duration::from_secs(30 * 60));
    let (_, res) = t
        .send(&crate::discord::click(
            &format!("daypass:approve:{ext}:120"),
            "1002",
            &ext_message,
        ))
        .await;
    let status = crate::fake_discord::status_of(&res["data"]);
    assert!(status.starts_with("Extended by bob-"), "{status}");
    let (_, expires_at, extended_at) = grant_span(&t.app, grant.id).await;
    assert_eq!(expires_at - extended_at.unwrap(), 2 * 3_600_000);
    // The original request's message shows the new end too.
    let path = format!("/api/v10/channels/555000000000000001/messages/{first_message}");
    let hhmm = daypass::clock::from_ms(expires_at)
        .format("%H:%M UTC")
        .to_string();
    t.fake
        .wait_for("the original message's new end", |c| {
            c.path == path && crate::fake_discord::status_of(&c.body).contains(&hhmm)
        })
        .await;
}
