//! daypass: temporary, approved access to internal web applications.
#![forbid(unsafe_code)]

pub mod access_cache;
pub mod app;
pub mod auth_timing;
pub mod change;
pub mod chat;
pub mod cli;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod context;
pub mod decisions;
pub mod discord;
pub mod domain;
pub mod grants;
pub mod healthcheck;
pub mod jobs;
pub mod login;
pub mod notify;
pub mod oidc;
pub mod policy;
pub mod rate_limit;
pub mod request_view;
pub mod requests;
pub mod scheduler;
pub mod secret;
pub mod slack;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod web;
