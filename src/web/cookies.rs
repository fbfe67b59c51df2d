//! Reading and writing the few cookies daypass uses.
use axum::http::{header, HeaderMap, HeaderValue};

use crate::server::context::Context;

pub const SESSION: &str = "daypass_session";
pub const LOGIN: &str = "daypass_login";
pub const CSRF: &str = "daypass_csrf";
/// A sign-in with the identity provider in progress: its flow id.
pub const OIDC: &str = "daypass_oidc";

/// The value of cookie `name`: a non-empty alphanumeric string of at most 128 characters (all
/// of daypass's cookies are), or nothing. Works on bytes: this runs on every `/auth`.
pub fn get<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b';'))
        .find_map(|pair| {
            pair.trim_ascii()
                .strip_prefix(name.as_bytes())?
                .strip_prefix(b"=")
        })?;
    if value.is_empty() || value.len() > 128 || !value.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    std::str::from_utf8(value).ok()
}

/// The request's cookies without daypass's own, as one `Cookie` value for the application
/// behind the proxy (empty when nothing is left: an empty value tells every proxy to send none,
/// where a missing header would leave some to pass the browser's on). The proxies' configs send
/// this upstream instead of what the browser sent, so no application (or its logs) sees a
/// daypass session.
pub fn without_ours(headers: &HeaderMap) -> HeaderValue {
    let mut kept: Vec<&[u8]> = Vec::new();
    for pair in headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b';'))
    {
        let pair = pair.trim_ascii();
        let name = pair
            .split(|b| *b == b'=')
            .next()
            .unwrap_or(pair)
            .trim_ascii();
        if pair.is_empty()
            || [SESSION, LOGIN, CSRF, OIDC]
                .iter()
                .any(|n| name == n.as_bytes())
        {
            continue;
        }
        kept.push(pair);
    }
    if kept.is_empty() {
        return HeaderValue::from_static("");
    }
    HeaderValue::from_bytes(&kept.join(&b"; "[..])).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value; `max_age` of `Some(0)` deletes the cookie.
pub fn set(ctx: &Context, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if ctx.config.server.secure_cookies() {
        c.push_str("; Secure");
    }
    if let Some(domain) = &ctx.config.server.cookie_domain {
        c.push_str(&format!("; Domain={domain}"));
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    // Values are hex tokens and names are constants, so this is always a valid header.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_application_gets_every_cookie_but_ours() {
        let cases: &[(&[&str], &str)] = &[
            (&["daypass_session=abc"], ""),
            (
                &["daypass_session=abc; daypass_csrf=x; daypass_login=y"],
                "",
            ),
            (&["a=1; daypass_session=abc ;b=2"], "a=1; b=2"),
            (&["a=1", "daypass_session=xyz", "c=3"], "a=1; c=3"),
            (
                &["daypass_session_x=1; x_daypass_session=2"],
                "daypass_session_x=1; x_daypass_session=2",
            ),
            (&["theme=dark"], "theme=dark"),
            (&[], ""),
        ];
        for (values, want) in cases {
            let got = without_ours(&headers(values));
            assert_eq!(got.to_str().ok(), Some(*want), "{values:?}");
        }
    }

    #[test]
    fn finds_the_named_cookie_among_others() {
        let h = headers(&["a=1; daypass_session=abc123 ;b=2"]);
        assert_eq!(get(&h, SESSION), Some("abc123"));
        let h = headers(&["a=1", "daypass_session=xyz"]);
        assert_eq!(get(&h, SESSION), Some("xyz"));
        // The first of two wins, as before.
        let h = headers(&["daypass_session=first; daypass_session=second"]);
        assert_eq!(get(&h, SESSION), Some("first"));
    }

    #[test]
    fn refuses_lookalikes_and_odd_values() {
        for value in [
            "daypass_session_old=abc",
            "xdaypass_session=abc",
            "daypass_session =abc",
            "daypass_session=",
            "daypass_session=ab-c",
            "daypass_session=ab\"c",
            "daypass_session",
        ] {
            assert_eq!(get(&headers(&[value]), SESSION), None, "{value}");
        }
        let long = format!("daypass_session={}", "a".repeat(129));
        assert_eq!(get(&headers(&[&long]), SESSION), None);
        let longest = format!("daypass_session={}", "a".repeat(128));
        assert_eq!(get(&headers(&[&longest]), SESSION).map(str::len), Some(128));
        assert_eq!(get(&HeaderMap::new(), SESSION), None);
    }
}
