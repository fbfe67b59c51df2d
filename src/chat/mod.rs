//! Chat services approvers decide from. Each one (Discord now) posts one message per request and
//! edits it on every change, through the outbox; clicks come back through `chat::clicks`, which
//! decides with the same use-cases as every other channel. Adding a service means implementing
//! `Chat` beside `discord/` and reading its clicks into `clicks::Click`.
pub mod clicks;

use std::future::Future;
use std::pin::Pin;

use crate::notify::SendError;
use crate::request_view::RequestView;
use crate::store::Channel;

/// What a chat service's send returns, boxed so services can sit behind `dyn Chat`.
pub type Sent<'a, T> = Pin<Box<dyn Future<Output = Result<T, SendError>> + Send + 'a>>;

pub trait Chat: Send + Sync {
    /// The outbox channel this service's messages go through.
    fn channel(&self) -> Channel;

    /// Makes the request's message show `view` as of `now`: edits it where it is (`existing`:
    /// its chat channel, unset meaning the configured one, and its id) and returns `None`, or
    /// posts it in chat channel `target` and returns the new message's id.
    fn show<'a>(
        &'a self,
        view: &'a RequestView,
        target: &'a str,
        existing: Option<(Option<&'a str>, &'a str)>,
        now: i64,
    ) -> Sent<'a, Option<String>>;
}
