//! Chat services approvers decide from. Each one (Discord now) posts one message per request and
//! edits it on every change, through the outbox; clicks come back through `chat::clicks`, which
//! decides with the same use-cases as every other channel. Adding a service means implementing
//! `Chat` beside `discord/` and reading its clicks into `clicks::Click`.
pub mod clicks;
pub mod discord;
pub mod slack;

use std::future::Future;
use std::pin::Pin;

use crate::access::view::RequestView;
use crate::notify::SendError;
use crate::store::Channel;

/// What a chat service's send returns, boxed so services can sit behind `dyn Chat`.
pub type Sent<'a, T> = Pin<Box<dyn Future<Output = Result<T, SendError>> + Send + 'a>>;

/// A message just posted: its id, and the chat channel it landed in when that is not the
/// target itself (a direct message has a channel of its own).
pub struct Posted {
    pub message_id: String,
    pub chat_channel: Option<String>,
}

pub use crate::config::USER;

pub trait Chat: Send + Sync {
    /// The outbox channel this service's messages go through.
    fn channel(&self) -> Channel;

    /// Posts a message showing `view` as of `now` at `target` (a chat channel's id, or `user:`
    /// and a user id).
    fn post<'a>(&'a self, view: &'a RequestView, target: &'a str, now: i64) -> Sent<'a, Posted>;

    /// Edits message `message_id` in `chat_channel` (unset: the configured channel) to show
    /// `view` as of `now`.
    fn edit<'a>(
        &'a self,
        view: &'a RequestView,
        chat_channel: Option<&'a str>,
        message_id: &'a str,
        now: i64,
    ) -> Sent<'a, ()>;
}
