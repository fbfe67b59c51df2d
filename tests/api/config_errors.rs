//! `check-config` names the exact key that is wrong.
use daypass::config::Config;

const GOOD: &str = r#"
[[approvers]]
email = "alice@example.com"
[[applications]]
slug = "grafana"
host = "grafana.example.com"
  [[applications.policies]]
  name = "on request"
  decision = "allow"
  include = { everyone = true }
  temporary = { approvers = ["alice@example.com"], max_duration = "8h" }
"#;

fn error_of(text: &str) -> (String, String) {
    let e = Config::from_toml(text, []).expect_err("config should be refused");
    (e.key.clone(), e.to_string())
}

#[test]
fn the_good_config_is_accepted() {
    Config::from_toml(GOOD, []).unwrap();
}

#[test]
fn each_mistake_names_its_key() {
    let second_app = "[[applications]]\nslug = \"other\"\nhost = \"GRAFANA.example.com\"\n";
    let cases = [
        (
            GOOD.replace(
                "approvers = [\"alice@example.com\"]",
                "approvers = [\"mallory@example.com\"]",
            ),
            "applications[0].policies[0].temporary.approvers[0]",
            "not an approver",
        ),
        (
            GOOD.replace("\"8h\"", "\"25h\""),
            "applications[0].policies[0].temporary.max_duration",
            "24 hours",
        ),
        (
            GOOD.replace("\"8h\"", "\"eight hours\""),
            "applications[0].policies[0].temporary.max_duration",
            "not a duration",
        ),
        (
            format!("{GOOD}{second_app}"),
            "applications[1].host",
            "already the host",
        ),
        (
            GOOD.replace("decision = \"allow\"", "decision = \"maybe\""),
            "applications[0].policies[0].decision",
            "unknown variant",
        ),
        (
            GOOD.replace("email = \"alice@example.com\"", "email = \"alice@\""),
            "approvers[0].email",
            "not a valid email",
        ),
        (
            GOOD.replace(
                "include = { everyone = true }",
                "include = { emails = [\"bob at example.com\"] }",
            ),
            "applications[0].policies[0].include.emails[0]",
            "not an email",
        ),
        (
            format!("{GOOD}\n[server]\nlisten = \"nowhere\"\n"),
            "server.listen",
            "not an address",
        ),
        (
            format!("{GOOD}\n[server]\npublic_url = \"ftp://x\"\n"),
            "server.public_url",
            "http(s)",
        ),
        (
            format!("{GOOD}\n[server]\nrequest_tl = \"1h\"\n"),
            "server.request_tl",
            "unknown field `request_tl`",
        ),
        (
            format!("{GOOD}\n[email]\ntransport = \"pigeon\"\n"),
            "email.transport",
            "unknown variant",
        ),
        (
            format!("{GOOD}\n[identity]\nmode = \"header\"\ntrusted_proxies = [\"10.0.0.1\"]\n"),
            "identity.trusted_proxies",
            "moved to server.trusted_proxies",
        ),
        (
            format!("[server]\ntrusted_proxies = [\"10.0.0.300/8\"]\n{GOOD}"),
            "server.trusted_proxies[0]",
            "not an address or network",
        ),
        (
            GOOD.replace(
                "host = \"grafana.example.com\"\n",
                "host = \"grafana.example.com\"\nnotify = { slack = \"C0123ABCD\" }\n",
            ),
            "applications[0].notify.slack",
            "slack.enabled is false",
        ),
        (
            GOOD.replace(
                "host = \"grafana.example.com\"\n",
                "host = \"grafana.example.com\"\nnotify = { discord = \"general\" }\n",
            ),
            "applications[0].notify.discord",
            "not a channel id",
        ),
        (
            GOOD.replace(
                "host = \"grafana.example.com\"\n",
                "host = \"grafana.example.com\"\nnotify = { discord = \"approvers\" }\n",
            ),
            "applications[0].notify.discord",
            "available in Slack",
        ),
        (
            format!("{GOOD}\n[[approvers]]\nemail = \"bob@example.com\"\nslack_id = \"UBOB01\"\n[[approvers]]\nemail = \"carol@example.com\"\nslack_id = \"UBOB01\"\n"),
            "approvers[2].slack_id",
            "also approvers[1].slack_id",
        ),
        (
            format!("[server]\ntarget_header = \"Host\"\n{GOOD}"),
            "server.target_header",
            "X-Original-URL",
        ),
        (
            format!("{GOOD}\n[discord]\nenabled = true\npublic_key = \"zz\"\n"),
            "discord.public_key",
            "64 hex",
        ),
        (
            GOOD.replace("slug = \"grafana\"", "slug = \"Graf ana\""),
            "applications[0].slug",
            "lower-case",
        ),
    ];
    for (text, key, words) in cases {
        let (got_key, message) = error_of(&text);
        assert_eq!(got_key, key, "{message}");
        assert!(message.contains(words), "{key}: {message}");
    }
}

#[test]
fn environment_overrides_win_over_the_file() {
    let c = Config::from_toml(
        GOOD,
        [
            (
                "DAYPASS__SERVER__LISTEN".to_string(),
                "0.0.0.0:9999".to_string(),
            ),
            ("DAYPASS__SERVER__REQUEST_TTL".to_string(), "2h".to_string()),
        ],
    )
    .unwrap();
    assert_eq!(c.server.listen.port(), 9999);
    assert_eq!(c.server.request_ttl.as_secs(), 7200);
    let e = Config::from_toml(
        GOOD,
        [("DAYPASS__SERVER__LISTEN".to_string(), "bad".to_string())],
    )
    .unwrap_err();
    assert_eq!(e.key, "server.listen");
}
