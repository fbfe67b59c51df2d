//! Reading and writing the few cookies daypass uses.
use axum::http::{header, HeaderMap, HeaderValue};

use crate::context::Context;

pub const SESSION: &str = "daypass_session";
pub const LOGIN: &str = "daypass_login";
pub const CSRF: &str = "daypass_csrf";

pub fn get<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_alphanumeric()))
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
