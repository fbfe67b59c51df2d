//! Why a notification could not be sent, whatever the channel.

/// Why a send failed, and whether trying again could help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
    /// The earliest time worth trying again, when the other side said (a rate limit).
    pub retry_after_ms: Option<i64>,
}

impl SendError {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
            retry_after_ms: None,
        }
    }

    pub fn temporary(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
            retry_after_ms: None,
        }
    }
}
