//! The frame of every page: plain, readable on a phone, no external assets.
use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use crate::domain::Email;

const STYLE: &str = r#"
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#595959;--line:#d0d0d0;--accent:#0b57d0;--ok:#1e6b35;--bad:#a4161a}
@media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#141414;--muted:#b0b0b0;--line:#444;--accent:#8ab4f8;--ok:#7fd18b;--bad:#ff8a80}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;border-bottom:1px solid var(--line)}
header a.brand{font-weight:700;text-decoration:none;color:var(--fg)}main{max-width:40rem;margin:0 auto;padding:1rem}
a{color:var(--accent)}label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input,textarea,select{width:100%;font:inherit;padding:.5rem;border:1px solid var(--muted);border-radius:4px;background:var(--bg);color:var(--fg)}
textarea{min-height:6rem}button,.button{display:inline-block;font:inherit;font-weight:600;padding:.55rem 1.1rem;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:var(--bg);cursor:pointer;text-decoration:none;margin:.75rem .5rem 0 0}
button.secondary{background:transparent;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}.hint{color:var(--muted);font-size:.92rem}
.error{border-left:4px solid var(--bad);padding:.5rem .75rem;margin:1rem 0}.ok{border-left:4px solid var(--ok);padding:.5rem .75rem;margin:1rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
ul.apps{list-style:none;padding:0}ul.apps li{border:1px solid var(--line);border-radius:6px;padding:.75rem;margin:.5rem 0}
a.badge{font-weight:600;margin-right:auto;margin-left:1rem}form.inline{display:inline}fieldset{border:1px solid var(--line);border-radius:6px;margin:1rem 0}
"#;

/// What a page's header shows: who is looking, the token of their sign-out form, and for an
/// approver how many requests wait for them. `web::pages::header` reads it from the request.
pub struct PageHeader {
    pub viewer: Option<Email>,
    pub csrf: String,
    pub approvals: Approvals,
}

/// The approvals link in the header.
pub enum Approvals {
    /// Not an approver (or nobody signed in): no link.
    None,
    Waiting(usize),
    /// An approver whose waiting requests could not be counted: the link without a number.
    Uncounted,
}

impl PageHeader {
    /// A header that shows nobody, for pages with no one to show (sign-in, errors, refusals).
    pub fn signed_out(csrf: String) -> Self {
        Self {
            viewer: None,
            csrf,
            approvals: Approvals::None,
        }
    }
}

pub fn page(
    title: &str,
    header: &PageHeader,
    extra_head: Option<Markup>,
    body: Markup,
) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (title) " · daypass" }
                    style { (maud::PreEscaped(STYLE)) }
                    link rel="icon" href="/favicon.ico" type="image/svg+xml";
                    script src="/static/daypass.js" defer {}
                    @if let Some(h) = extra_head { (h) }
                }
                body {
                    header {
                        a.brand href="/" { "daypass" }
                        @if let Some(v) = &header.viewer {
                            @match header.approvals {
                                Approvals::None => {}
                                Approvals::Waiting(n) => a.badge href="/approvals" { "Approvals (" (n) ")" },
                                Approvals::Uncounted => a.badge href="/approvals" { "Approvals" },
                            }
                            span {
                                span.hint { "Signed in as " (v) " " }
                                form.inline method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(header.csrf);
                                    button.secondary type="submit" style="margin:0" { "Sign out" }
                                }
                            }
                        }
                    }
                    main { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

pub fn error_page(title: &str, message: &str) -> Html<String> {
    page(
        title,
        &PageHeader::signed_out(String::new()),
        None,
        html! {
            p.error role="alert" { (message) }
            p { a href="/" { "Back to daypass" } }
        },
    )
}

/// A time as every page shows it: UTC in the markup, in the viewer's own zone once the
/// script has run (it rewrites every `<time datetime>`).
pub fn when(ms: i64) -> Markup {
    html! { time datetime=(crate::clock::rfc3339(ms)) { (crate::clock::show(ms)) } }
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// Progressive enhancement, same origin only: times in the viewer's own zone, and a status
/// page that follows its request without reloading. Without JavaScript the UTC times stay and
/// the status page refreshes itself through a `<noscript>` meta refresh.
const SCRIPT: &str = r#"(function () {
  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d) || t.dataset.localized) return;
      try {
        var local = d.toLocaleString(undefined, {
          year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
        });
        t.title = t.textContent;
        t.dataset.localized = "1";
        t.textContent = local;
      } catch (e) {}
    });
  }
  localize(document);
  var live = document.getElementById("live");
  if (!live || !live.dataset.refresh) return;
  var timer = setInterval(function () {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (!fresh) return;
        if (fresh.dataset.state !== live.dataset.state) {
          live.innerHTML = fresh.innerHTML;
          live.dataset.state = fresh.dataset.state;
          localize(live);
        }
        if (!fresh.dataset.refresh) clearInterval(timer);
        if (fresh.dataset.onward) location.assign(fresh.dataset.onward);
      })
      .catch(function () {});
  }, 2000);
})();
"#;

pub async fn script() -> impl axum::response::IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}

/// The icon browsers ask for on every site: a small "d" (SVG, which browsers take as a favicon
/// when the content type says so).
const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b57d0"/><path d="M5 3.5h2.5a4.5 4.5 0 0 1 0 9H5z" fill="#fff"/></svg>"##;

pub async fn favicon() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ICON,
    )
}

#[cfg(test)]
mod tests {
    use maud::html;

    use super::{page, Approvals, PageHeader};
    use crate::domain::Email;

    fn header_of(viewer: Option<&str>, approvals: Approvals) -> String {
        let header = PageHeader {
            viewer: viewer.map(|v| Email::parse(v).expect("an address")),
            csrf: "t0ken".into(),
            approvals,
        };
        let html = page("Title", &header, None, html! { p { "body" } }).0;
        let start = html.find("<header>").expect("a header");
        let end = html.find("</header>").expect("a header's end");
        html[start..end].to_string()
    }

    #[test]
    fn an_approver_sees_how_many_wait_and_nobody_else_sees_the_link() {
        let approver = header_of(Some("alice@example.com"), Approvals::Waiting(2));
        assert!(approver.contains("<a class=\"badge\" href=\"/approvals\">Approvals (2)</a>"));
        assert!(approver.contains("Signed in as alice@example.com"));
        assert!(
            approver.contains("value=\"t0ken\""),
            "the sign-out form's token"
        );

        let uncounted = header_of(Some("alice@example.com"), Approvals::Uncounted);
        assert!(uncounted.contains("href=\"/approvals\">Approvals</a>"));

        let requester = header_of(Some("carol@example.com"), Approvals::None);
        assert!(!requester.contains("/approvals"));
        assert!(requester.contains("Sign out"));

        let stranger = header_of(None, Approvals::Waiting(2));
        assert!(!stranger.contains("/approvals"));
        assert!(!stranger.contains("Sign out"));
    }
}
