use crate::store::{Channel, Store};

/// A chat message that shows a request: where it was sent, and where it is.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChatMessageRow {
    /// A chat channel's id, `user:` and a user id, or empty for one posted before targets were kept.
    pub target: String,
    /// The chat channel it is in, when that differs from `target` (a direct message's channel).
    pub chat_channel: Option<String>,
    pub message_id: String,
}

impl Store {
    /// Every message that shows request `id` on `channel`.
    pub async fn chat_messages(
        &self,
        channel: Channel,
        id: i64,
    ) -> sqlx::Result<Vec<ChatMessageRow>> {
        sqlx::query_as(
            "SELECT target, chat_channel, message_id FROM chat_messages \
             WHERE request_id = $1 AND channel = $2 ORDER BY target",
        )
        .bind(id)
        .bind(channel)
        .fetch_all(&self.read)
        .await
    }

    /// Remembers the message that shows request `id` on `channel` at `target`.
    pub async fn set_chat_message(
        &self,
        channel: Channel,
        id: i64,
        target: &str,
        chat_channel: Option<&str>,
        message_id: &str,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO chat_messages (request_id, channel, target, chat_channel, message_id) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, channel, target) \
             DO UPDATE SET chat_channel = excluded.chat_channel, message_id = excluded.message_id",
        )
        .bind(id)
        .bind(channel)
        .bind(target)
        .bind(chat_channel)
        .bind(message_id)
        .execute(&self.write)
        .await
        .map(|_| ())
    }
}
