//! Every log line about one access request carries its id, from the page that asked to the
//! mail that told of the decision: one filter (`request=ID`, or `.span.request` in JSON) finds
//! them all.
use serde_json::Value;

use crate::daypass_process::DaypassProcess;
use crate::helpers::{database_url, new_tag, Browser, BASE};

/// A session for `email` written straight into the database; the server looks it up there.
async fn session_for(db_url: &str, email: &str) -> String {
    let store = daypass::store::Store::open(db_url)
        .await
        .expect("open store");
    let token = daypass::tokens::new_token();
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = store.begin().await.expect("begin");
    daypass::store::Store::insert_session(
        &mut tx,
        &daypass::tokens::hash(&token),
        email,
        now,
        now + 3_600_000,
    )
    .await
    .expect("insert session");
    tx.commit().await.expect("commit");
    store.close().await;
    token
}

/// The request id a line's span carries, whatever the span's name.
fn request_of(line: &Value) -> Option<i64> {
    let v = &line["span"]["request"];
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

#[tokio::test]
async fn one_filter_finds_every_log_line_of_an_access_request_from_the_ask_to_the_mails() {
    let dir = tempfile::tempdir().unwrap();
    let tag = new_tag();
    let config = dir.path().join("daypass.toml");
    std::fs::write(&config, BASE.replace("{tag}", &tag)).unwrap();
    let db = database_url(dir.path()).await;
    let env = [
        ("DAYPASS__DATABASE__URL".to_string(), db.clone()),
        ("DAYPASS__EMAIL__TRANSPORT".to_string(), "file".to_string()),
        (
            "DAYPASS__EMAIL__DIR".to_string(),
            dir.path().join("mail").display().to_string(),
        ),
    ];
    let daypass = DaypassProcess::start(&config, &env).await;
    let carol = format!("carol-{tag}@example.com");
    let alice = format!("alice-{tag}@example.com");

    let mut b = Browser::new(&daypass.url());
    b.cookies
        .insert("daypass_session".into(), session_for(&db, &carol).await);
    let page = b.open("/request/grafana").await;
    let res = b
        .post(
            "/request/grafana",
            &[("csrf", &page.csrf()), ("justification", "INC-7: the disk")],
        )
        .await;
    let id = res.request_id();

    let mut a = Browser::new(&daypass.url());
    a.cookies
        .insert("daypass_session".into(), session_for(&db, &alice).await);
    let page = a.open("/approvals").await;
    a.post(
        &format!("/approvals/{id}"),
        &[
            ("csrf", &page.csrf()),
            ("decision", "approve"),
            ("duration", "1h"),
        ],
    )
    .await;

    // The requester's "approved" mail is the last thing this request makes daypass do.
    daypass
        .wait_for_log("the approval mail to carol", |l| {
            request_of(l) == Some(id)
                && l["fields"]["message"] == "notification sent"
                && l["fields"]["to"] == carol.as_str()
        })
        .await;
    let mine: Vec<Value> = daypass
        .log()
        .into_iter()
        .filter(|l| request_of(l) == Some(id))
        .collect();
    let says = |message: &str| mine.iter().any(|l| l["fields"]["message"] == message);
    assert!(says("access requested"), "{mine:#?}");
    assert!(says("request decided"), "{mine:#?}");
    for to in [&alice, &format!("bob-{tag}@example.com"), &carol] {
        assert!(
            mine.iter()
                .any(|l| l["fields"]["message"] == "notification sent"
                    && l["fields"]["to"] == to.as_str()),
            "the mail to {to} is found by the request's id: {mine:#?}"
        );
    }
    let ask = mine
        .iter()
        .find(|l| l["fields"]["message"] == "access requested")
        .expect("asked");
    assert_eq!(ask["span"]["person"], carol.as_str(), "{ask}");
    let decided = mine
        .iter()
        .find(|l| l["fields"]["message"] == "request decided")
        .expect("decided");
    assert_eq!(decided["span"]["person"], alice.as_str(), "{decided}");
    // Nothing about another request is caught by the filter.
    assert!(mine.iter().all(|l| request_of(l) == Some(id)));
}
