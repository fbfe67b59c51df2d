//! What machines call: chat services' signed interactions, health and metrics.
pub(crate) mod discord;
pub(crate) mod health;
pub(crate) mod slack;
