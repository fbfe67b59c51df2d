//! Groups open and close doors: `[[groups]]` for email-code sign-in, the proxy's groups header
//! in header mode (the identity provider's claim: `oidc.rs`); policies with include (any of),
//! require (all of) and exclude (none of); `X-Daypass-Groups` to the application.
use reqwest::StatusCode;

use crate::helpers::{TestApp, BASE};
use crate::requests::request_for;

const GROUPS: &str = r#"
[[groups]]
name = "sre"
members = ["sre1-{tag}@example.com", "sre2-{tag}@example.com", "ctr-{tag}@example.com"]
[[groups]]
name = "oncall"
members = ["sre1-{tag}@example.com", "dev-{tag}@example.com", "ctr-{tag}@example.com"]
[[groups]]
name = "contractors"
members = ["ctr-{tag}@example.com"]

[[applications]]
slug = "prod"
name = "Production admin"
host = "prod.test"
  [[applications.policies]]
  name = "SRE on call"
  decision = "allow"
  include = { groups = ["sre", "oncall"] }
  require = { groups = ["oncall"] }
  exclude = { groups = ["contractors"] }
"#;

#[tokio::test]
async fn include_require_and_exclude_read_the_groups_of_the_config() {
    let app = TestApp::spawn_with(BASE, GROUPS).await;
    let cases = [
        ("sre1", StatusCode::OK, Some("sre,oncall")),
        ("dev", StatusCode::OK, Some("oncall")),
        // In sre but not on call: `require` fails.
        ("sre2", StatusCode::FORBIDDEN, None),
        // On call and in sre, but a contractor: `exclude` wins.
        ("ctr", StatusCode::FORBIDDEN, None),
        // In no group: no policy matches.
        ("carol", StatusCode::FORBIDDEN, None),
    ];
    for (who, status, groups) in cases {
        let b = app.signed_in(&app.email(who)).await;
        let res = app.auth(&b, "prod.test", &[]).await;
        assert_eq!(res.status, status, "{who}");
        assert_eq!(res.header("x-daypass-groups"), groups, "{who}");
    }
    // A page agrees with /auth: the home page lists the application for dev only.
    let mut dev = app.signed_in(&app.email("dev")).await;
    assert!(dev.open("/").await.body.contains("Production admin"));
    let mut sre2 = app.signed_in(&app.email("sre2")).await;
    assert!(!sre2.open("/").await.body.contains("Production admin"));
}

#[tokio::test]
async fn the_proxys_groups_header_opens_and_closes_doors() {
    let extra = format!(
        "{GROUPS}\n[identity]\nmode = \"header\"\nheader = \"Remote-Email\"\ngroups_header = \"Remote-Groups\"\n"
    );
    let app = TestApp::spawn_with(BASE, &extra).await;
    let b = app.browser();
    let who = format!("eve-{}@example.com", app.tag);
    let ask = |groups: &'static str| {
        let (app, b, who) = (&app, &b, who.clone());
        async move {
            app.auth(
                b,
                "prod.test",
                &[("Remote-Email", who.as_str()), ("Remote-Groups", groups)],
            )
            .await
        }
    };
    let res = ask("oncall, sre").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("x-daypass-groups"), Some("oncall,sre"));
    assert_eq!(
        ask("sre").await.status,
        StatusCode::FORBIDDEN,
        "require oncall"
    );
    assert_eq!(
        ask("oncall,contractors").await.status,
        StatusCode::FORBIDDEN,
        "excluded"
    );
    // [[groups]] membership counts beside the header.
    let dev = app.email("dev");
    let res = app
        .auth(&b, "prod.test", &[("Remote-Email", dev.as_str())])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("x-daypass-groups"), Some("oncall"));
}

#[tokio::test]
async fn check_config_names_an_unknown_group() {
    let bad = GROUPS.replace(
        "require = { groups = [\"oncall\"] }",
        "require = { groups = [\"on-call\"] }",
    );
    let err = daypass::config::Config::from_toml(&format!("{BASE}\n{bad}"), [])
        .expect_err("an unknown group is refused");
    assert_eq!(err.key, "applications[2].policies[0].require.groups[0]");
    assert!(err.message.contains("`on-call` is not a group"), "{err}");
}

const QUORUM: &str = r#"
[[groups]]
name = "sre"
members = ["s1-{tag}@example.com", "s2-{tag}@example.com"]
[[groups]]
name = "security"
members = ["sec1-{tag}@example.com"]

[[applications]]
slug = "vault"
name = "Vault"
host = "vault.test"
  [[applications.policies]]
  name = "two teams"
  decision = "allow"
  include = { email_domains = ["example.com"] }
  temporary = { max_duration = "4h", approval_groups = [{ approvers = ["group:sre"], approvals_needed = 1 }, { approvers = ["group:security"], approvals_needed = 1 }] }
"#;

#[tokio::test]
async fn a_quorum_per_group_waits_for_every_group() {
    use daypass::access::decisions::{Decided, Verdict};
    use daypass::domain::{Email, GrantDuration};
    let app = TestApp::spawn_with(BASE, QUORUM).await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = request_for(&mut carol, "vault", "rotate the root token", "1h").await;
    // Group members are approvers: the security member hears of it.
    app.mail()
        .wait_for(&app.email("sec1"), &format!("#{id}:"))
        .await;
    let approve = |who: &'static str| {
        let app = &app;
        async move {
            crate::helpers::decide(
                &app.ctx,
                id,
                &Email::parse(&app.email(who)).unwrap(),
                crate::helpers::by_email(),
                Verdict::Approve(GrantDuration::parse("1h").unwrap()),
            )
            .await
            .unwrap()
        }
    };
    // A group member who is not in [[approvers]] has an inbox too.
    let mut sec1 = app.signed_in(&app.email("sec1")).await;
    let inbox = sec1.open("/approvals").await;
    assert!(
        inbox.body.contains("rotate the root token"),
        "{}",
        inbox.body
    );
    assert!(inbox.body.contains("Approvals (1)"), "{}", inbox.body);
    let pending = |d: &Decided| d.grant.is_none();
    // Two from sre are still not the security team's approval.
    assert!(pending(&approve("s1").await));
    assert!(pending(&approve("s2").await));
    assert_eq!(app.request_state(id).await, "pending");
    let done = approve("sec1").await;
    assert!(done.grant.is_some(), "every group has approved");
    assert_eq!(app.request_state(id).await, "approved");
    assert_eq!(
        app.auth(&carol, "vault.test", &[]).await.status,
        StatusCode::OK
    );
    // Someone in neither group may not decide.
    let mut dave = app.signed_in(&app.email("dave")).await;
    let other = request_for(&mut dave, "vault", "me too", "1h").await;
    let refused = crate::helpers::decide(
        &app.ctx,
        other,
        &Email::parse(&app.email("bob")).unwrap(),
        crate::helpers::by_email(),
        Verdict::Approve(GrantDuration::parse("1h").unwrap()),
    )
    .await;
    assert!(refused.is_err(), "bob is in no approval group");
}

#[tokio::test]
async fn check_config_names_an_unreachable_quorum() {
    let bad = QUORUM.replace(
        "{ approvers = [\"group:security\"], approvals_needed = 1 }",
        "{ approvers = [\"group:security\"], approvals_needed = 2 }",
    );
    let err = daypass::config::Config::from_toml(&format!("{BASE}\n{bad}"), [])
        .expect_err("two approvals from a group of one");
    assert_eq!(
        err.key,
        "applications[2].policies[0].temporary.approval_groups[1].approvals_needed"
    );
    assert!(err.message.contains("could never be reached"), "{err}");
    // One person in both groups cannot stand for both.
    let shared = QUORUM
        .replace(
            "members = [\"sec1-{tag}@example.com\"]",
            "members = [\"s1-{tag}@example.com\"]",
        )
        .replace(
            "members = [\"s1-{tag}@example.com\", \"s2-{tag}@example.com\"]",
            "members = [\"s1-{tag}@example.com\"]",
        );
    let err = daypass::config::Config::from_toml(&format!("{BASE}\n{shared}"), [])
        .expect_err("one person for two groups");
    assert_eq!(
        err.key,
        "applications[2].policies[0].temporary.approval_groups"
    );
}
