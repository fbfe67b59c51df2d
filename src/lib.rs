//! daypass: temporary, approved access to internal web applications.
#![forbid(unsafe_code)]

pub mod access;
pub mod app;
pub mod chat;
pub mod cli;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod domain;
pub mod identity;
pub mod notify;
pub mod policy;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod web;
