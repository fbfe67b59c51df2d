//! The page for a form refused by the CSRF check: why, what to do, and a way back.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use crate::server::context::Context;
use crate::web::pages::layout::{page, PageHeader};

fn refused(title: &str, body: Markup, back: &str) -> Response {
    // Refused before any handler ran: nobody to show, no count.
    let header = PageHeader::signed_out(String::new());
    let body = html! {
        (body)
        p { a.button href=(back) { "Back" } }
    };
    (StatusCode::FORBIDDEN, page(title, &header, None, body)).into_response()
}

/// A form posted from another site.
pub fn cross_site(back: &str) -> Response {
    refused(
        "Form refused",
        html! { p.error role="alert" { "This form was not sent from daypass itself, so it was refused." } },
        back,
    )
}

/// A form whose token does not match this browser's cookie (an old page, another tab's sign-out).
pub fn stale(back: &str) -> Response {
    refused(
        "Form refused",
        html! { p.error role="alert" { "This form has expired or was not sent from daypass. Go back and try again." } },
        back,
    )
}

/// The browser sent no daypass cookie at all: it blocks cookies, or refused the one we set.
pub fn no_cookies(ctx: &Context, back: &str) -> Response {
    let host = ctx.config.server.public_url.host_str().unwrap_or_default();
    let body = html! {
        p.error role="alert" {
            "Your browser sent this form without daypass's cookie, so daypass cannot tell it came from this page. "
            "Either cookies are blocked for " strong { (host) } " in this browser, or the browser refused the cookie "
            "daypass set because the cookie domain is wrong."
        }
        p { "Allow cookies for this site, then go back and try again." }
        p.hint {
            "For whoever runs daypass: "
            @match ctx.config.server.cookie_domain.as_deref() {
                Some(d) => { "server.cookie_domain is " code { (d) } "; it must contain " (host)
                    " and every application's host, have at least two labels and not be a public suffix (" code { "daypass check-config" } " says so)." }
                None => { "server.cookie_domain is not set, so the cookie belongs to " (host) " alone." }
            }
            " daypass's log says why each form was refused."
        }
    };
    refused("Cookies are not reaching daypass", body, back)
}
