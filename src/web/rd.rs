//! `rd`: where to send someone once they have access. Only ever the application's own host.
use crate::config::Application;

/// The URL if it is an http(s) URL on `app`'s configured host; `None` for anything else.
pub fn checked(app: &Application, rd: &str) -> Option<String> {
    let rd = rd.trim();
    if rd.is_empty() || rd.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let url = url::Url::parse(rd).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let host = url.host_str()?;
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    app.matches_host(&authority).then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::checked;
    use crate::config::Application;

    fn app(host: &str) -> Application {
        Application {
            slug: "g".into(),
            name: "G".into(),
            host: host.into(),
            notify: Default::default(),
            policies: vec![],
        }
    }

    #[test]
    fn only_the_applications_own_host() {
        let g = app("grafana.example.com");
        assert_eq!(
            checked(&g, "https://grafana.example.com/d/1?x=y").as_deref(),
            Some("https://grafana.example.com/d/1?x=y")
        );
        assert!(checked(&g, "https://GRAFANA.example.com/").is_some());
        for bad in [
            "//evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "https://grafana.example.com.evil.example/",
            "https://evil.example\\@grafana.example.com/",
            "https://grafana.example.com@evil.example/",
            "https://evil.example%2F@grafana.example.com/",
            "/relative",
            "data:text/html,hi",
            "",
        ] {
            assert_eq!(checked(&g, bad), None, "{bad}");
        }
    }

    #[test]
    fn a_configured_port_must_match() {
        let g = app("127.0.0.1:8081");
        assert!(checked(&g, "http://127.0.0.1:8081/").is_some());
        assert!(checked(&g, "http://127.0.0.1:8082/").is_none());
    }
}
