//! The parsers people and config files feed, under generated input: they never panic, and what
//! they accept means what it says.
use daypass::config::Config;
use daypass::domain::{parse_duration, Email, GrantDuration};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn durations_never_panic_and_round_trip(input in "\\PC{0,24}") {
        if let Ok(d) = parse_duration(&input) {
            if let Ok(g) = GrantDuration::new(d) {
                prop_assert!(g.as_duration().as_secs() >= 60 && g.as_duration().as_secs() <= 86_400);
                prop_assert_eq!(GrantDuration::parse(&g.to_string()), Ok(g));
            }
        }
    }

    #[test]
    fn written_durations_parse_to_their_value(h in 0u64..30, m in 0u64..120, s in 0u64..120) {
        let text = format!("{h}h{m}m{s}s");
        prop_assert_eq!(parse_duration(&text).map(|d| d.as_secs()), Ok(h * 3600 + m * 60 + s));
        let minutes = format!("{}", h * 60 + m);
        prop_assert_eq!(parse_duration(&minutes).map(|d| d.as_secs()), Ok((h * 60 + m) * 60));
    }

    #[test]
    fn emails_never_panic_and_are_canonical(input in "\\PC{0,80}") {
        if let Ok(e) = Email::parse(&input) {
            prop_assert_eq!(e.as_str(), e.as_str().to_ascii_lowercase());
            prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
            prop_assert!(!e.as_str().contains(['<', '>', ' ', '\n', '"']));
        }
    }

    #[test]
    fn built_emails_are_accepted(local in "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]", domain in "[a-z0-9]{1,10}\\.[a-z]{2,6}") {
        let address = format!("{local}@{domain}");
        if !local.contains("..") {
            prop_assert!(Email::parse(&address).is_ok(), "{}", address);
        }
    }

    #[test]
    fn any_config_text_gets_a_result_never_a_panic(input in "\\PC{0,200}") {
        let _ = Config::from_toml(&input, []);
    }

    #[test]
    fn config_values_of_any_shape_name_a_key(key in "(listen|public_url|request_ttl|session_ttl)", value in "\\PC{0,30}") {
        let text = format!("[server]\n{key} = {value:?}\n");
        if let Err(e) = Config::from_toml(&text, []) {
            prop_assert!(e.key.starts_with("server") || e.key == "config", "{}", e);
        }
    }
}
