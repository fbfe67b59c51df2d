//! `server.cookie_domain`: refuse a value browsers would reject, before anyone is locked out.
//!
//! A browser stores a cookie with a `Domain` attribute only when that domain contains the host
//! that set it and is not a public suffix (a name under which anyone can register, such as
//! `com`, `co.uk` or `github.io`). A name that is not on the public suffix list counts by its
//! last label, so a single label such as `localhost` is refused too (Chromium says
//! `InvalidDomain`). The list is compiled in (the `psl` crate), so the answer is the same on
//! every machine and in the container.
use crate::config::{Application, ConfigError, ServerConfig};

const KEY: &str = "server.cookie_domain";

/// Checks the cookie domain, if any, against daypass's own host and every application's host.
pub fn check(server: &ServerConfig, applications: &[Application]) -> Result<(), ConfigError> {
    let Some(raw) = server.cookie_domain.as_deref() else {
        return Ok(());
    };
    let own = server.public_url.host_str().unwrap_or_default();
    let hosts: Vec<&str> = std::iter::once(own)
        .chain(applications.iter().map(|a| host_of(&a.host)))
        .collect();
    let advice = advice(&hosts);
    let refuse = |why: String| Err(ConfigError::new(KEY, format!("{why}; {advice}")));
    let domain = raw.trim().trim_start_matches('.').to_ascii_lowercase();
    if !is_domain_name(&domain) {
        return refuse(format!("`{raw}` is not a domain name"));
    }
    if domain.parse::<std::net::Ipv4Addr>().is_ok() {
        return refuse(format!(
            "`{raw}` is an IP address, which browsers never share with another host"
        ));
    }
    if !domain.contains('.') {
        return refuse(format!(
            "`{raw}` is a single label, and browsers refuse a cookie for a whole top-level name"
        ));
    }
    if !is_registrable(&domain) {
        return refuse(format!(
            "`{raw}` is a public suffix (anyone can register names under it), so browsers refuse cookies for it"
        ));
    }
    if !within(own, &domain) {
        return refuse(format!(
            "`{raw}` does not contain daypass's own host `{own}` (server.public_url), so browsers refuse the cookie daypass sets"
        ));
    }
    for (i, app) in applications.iter().enumerate() {
        let host = host_of(&app.host);
        if !within(host, &domain) {
            return refuse(format!(
                "`{raw}` does not contain `{host}` (applications[{i}].host), which would never receive the sign-in cookie"
            ));
        }
    }
    Ok(())
}

/// With no cookie domain, the sign-in cookie stays on daypass's own host: a note naming the
/// applications whose host the browser will not send it to (through the proxy, `/auth` then
/// never sees a session, and the person is sent back to daypass again and again).
pub fn unshared_note(config: &crate::config::Config) -> Option<String> {
    if config.server.cookie_domain.is_some() || config.behind_identity_proxy() {
        return None;
    }
    let own = config.server.public_url.host_str().unwrap_or_default();
    let apart: Vec<String> = config
        .applications
        .iter()
        .enumerate()
        .filter(|(_, a)| !host_of(&a.host).eq_ignore_ascii_case(own))
        .map(|(i, a)| format!("{} (applications[{i}].host)", host_of(&a.host)))
        .collect();
    if apart.is_empty() {
        return None;
    }
    let hosts: Vec<&str> = std::iter::once(own)
        .chain(config.applications.iter().map(|a| host_of(&a.host)))
        .collect();
    Some(format!(
        "{KEY} is unset, so the sign-in cookie belongs to {own} alone and browsers do not send it \
         to {}; unless the proxy serves them on that host too, set it: {}",
        apart.join(", "),
        advice(&hosts)
    ))
}

/// What would work for these hosts: their common parent, when browsers accept it.
fn advice(hosts: &[&str]) -> String {
    match common_parent(hosts).filter(|p| is_registrable(p)) {
        Some(parent) => format!("`{parent}` would work for these hosts"),
        None => "serve daypass and the applications as siblings under one parent that has at \
                 least two labels and is not a public suffix, and name that parent (e.g. \
                 daypass.example.com and grafana.example.com with `example.com`; \
                 daypass.demo.localhost and app.demo.localhost with `demo.localhost`)"
            .to_string(),
    }
}

/// The longest run of trailing labels all `hosts` share, if any.
fn common_parent(hosts: &[&str]) -> Option<String> {
    let mut split = hosts.iter().map(|h| h.rsplit('.').collect::<Vec<_>>());
    let first = split.next()?;
    let mut shared = first.len();
    for labels in split {
        shared = shared.min(
            first
                .iter()
                .zip(&labels)
                .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
                .count(),
        );
    }
    (shared > 0).then(|| {
        let mut parent: Vec<&str> = first[..shared].to_vec();
        parent.reverse();
        parent.join(".").to_ascii_lowercase()
    })
}

/// A name at or under a registrable domain: not a public suffix, not a single label.
fn is_registrable(domain: &str) -> bool {
    psl::domain(domain.as_bytes()).is_some()
}

/// Does `host` domain-match `domain` (equal, or ends with `.domain`)?
fn within(host: &str, domain: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// `host:port` → `host` (cookies ignore ports).
fn host_of(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    }
}

fn is_domain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(
        public_url: &str,
        cookie_domain: &str,
        hosts: &[&str],
    ) -> Result<Config, ConfigError> {
        let mut text = format!(
            "[server]\npublic_url = \"{public_url}\"\ncookie_domain = \"{cookie_domain}\"\n\
             [[approvers]]\nemail = \"alice@example.com\"\n"
        );
        for (i, host) in hosts.iter().enumerate() {
            text.push_str(&format!(
                "[[applications]]\nslug = \"app{i}\"\nhost = \"{host}\"\n\
                 [[applications.policies]]\nname = \"p\"\ndecision = \"allow\"\n\
                 include = {{ everyone = true }}\n"
            ));
        }
        Config::from_toml(&text, [])
    }

    fn refused(public_url: &str, cookie_domain: &str, hosts: &[&str]) -> String {
        let e = config(public_url, cookie_domain, hosts).expect_err("should be refused");
        assert_eq!(e.key, KEY);
        e.message
    }

    #[test]
    fn values_browsers_accept_pass() {
        for (url, domain, hosts) in [
            (
                "http://daypass.demo.localhost:8000",
                "demo.localhost",
                &["app.demo.localhost:8000"][..],
            ),
            (
                "https://daypass.example.com",
                ".example.com",
                &["grafana.example.com", "deep.admin.example.com"][..],
            ),
            ("https://daypass.example.com", "EXAMPLE.com", &[][..]),
            (
                "https://daypass.corp.example.co.uk",
                "corp.example.co.uk",
                &["grafana.corp.example.co.uk"][..],
            ),
            (
                "https://example.com",
                "example.com",
                &["grafana.example.com"][..],
            ),
        ] {
            config(url, domain, hosts).unwrap_or_else(|e| panic!("{domain}: {e}"));
        }
    }

    #[test]
    fn a_single_label_is_refused_with_a_parent_that_would_work() {
        let m = refused(
            "http://daypass.localhost:8000",
            "localhost",
            &["app.localhost:8000"],
        );
        assert!(m.contains("single label"), "{m}");
        assert!(m.contains("demo.localhost"), "names what would work: {m}");
        let m = refused(
            "http://daypass.localhost:8000",
            ".localhost",
            &["app.localhost:8000"],
        );
        assert!(m.contains("single label"), "{m}");
    }

    #[test]
    fn public_suffixes_are_refused() {
        for (url, domain, host) in [
            (
                "https://daypass.example.co.uk",
                "co.uk",
                "grafana.example.co.uk",
            ),
            ("https://me.github.io", "github.io", "you.github.io"),
        ] {
            let m = refused(url, domain, &[host]);
            assert!(m.contains("public suffix"), "{domain}: {m}");
        }
        let m = refused(
            "https://daypass.example.co.uk",
            "co.uk",
            &["grafana.example.co.uk"],
        );
        assert!(m.contains("`example.co.uk` would work"), "{m}");
    }

    #[test]
    fn a_domain_that_misses_a_host_is_refused_naming_that_host() {
        let m = refused(
            "https://daypass.other.org",
            "example.com",
            &["grafana.example.com"],
        );
        assert!(
            m.contains("daypass.other.org") && m.contains("server.public_url"),
            "{m}"
        );
        let m = refused(
            "https://daypass.example.com",
            "example.com",
            &["grafana.example.com", "admin.example.org"],
        );
        assert!(m.contains("applications[1].host"), "{m}");
        // A look-alike suffix is not a parent.
        let m = refused("https://daypass.notexample.com", "example.com", &[]);
        assert!(m.contains("does not contain"), "{m}");
    }

    #[test]
    fn addresses_and_junk_are_refused() {
        let m = refused("http://127.0.0.1:8080", "127.0.0.1", &[]);
        assert!(m.contains("IP address"), "{m}");
        let m = refused("https://daypass.example.com", "exa mple.com", &[]);
        assert!(m.contains("not a domain name"), "{m}");
    }

    #[test]
    fn unset_or_empty_means_host_only_cookies() {
        config("http://localhost:8080", "", &["grafana.localhost"]).unwrap();
    }

    #[test]
    fn without_a_cookie_domain_applications_on_other_hosts_get_a_note() {
        let text = |cookie_domain: &str, host: &str| {
            format!(
                "[server]\npublic_url = \"http://daypass.localhost:8000\"\ncookie_domain = \"{cookie_domain}\"\n\
                 [[applications]]\nslug = \"a\"\nhost = \"{host}\"\n"
            )
        };
        let unset = Config::from_toml(&text("", "app.localhost:8000"), []).unwrap();
        let note = unshared_note(&unset).expect("a note");
        assert!(
            note.contains("app.localhost (applications[0].host)"),
            "{note}"
        );
        assert!(
            note.contains("demo.localhost"),
            "says what would work: {note}"
        );
        let same_host = Config::from_toml(&text("", "daypass.localhost:8000"), []).unwrap();
        assert_eq!(unshared_note(&same_host), None);
        let shared = Config::from_toml(
            &text("example.com", "app.example.com")
                .replace("daypass.localhost:8000", "daypass.example.com"),
            [],
        )
        .unwrap();
        assert_eq!(unshared_note(&shared), None);
    }

    #[test]
    fn the_common_parent_is_the_shared_trailing_labels() {
        assert_eq!(
            common_parent(&["daypass.example.com", "grafana.example.com"]).as_deref(),
            Some("example.com")
        );
        assert_eq!(
            common_parent(&["example.com", "grafana.example.com"]).as_deref(),
            Some("example.com")
        );
        assert_eq!(common_parent(&["a.org", "b.net"]), None);
    }
}
