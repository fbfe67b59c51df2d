//! Groups open and close doors: `[[groups]]` for email-code sign-in, the proxy's groups header
//! in header mode (the identity provider's claim: `oidc.rs`); policies with include (any of),
//! require (all of) and exclude (none of); `X-Daypass-Groups` to the application.
use reqwest::StatusCode;

use crate::helpers::{TestApp, BASE};

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
