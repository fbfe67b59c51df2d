//! Integration tests: daypass over real HTTP on port 0, a fresh SQLite file per test,
//! and a real SMTP server (maildev) on loopback.
mod auth;
mod browser;
mod cli;
mod compose;
mod config_errors;
mod container;
mod crash;
mod daypass_process;
mod decisions;
mod discord;
mod fake_discord;
mod first_walk;
mod hardening;
mod helpers;
mod journey;
mod lifecycle;
mod login;
mod maildev;
mod ops;
mod properties;
mod proxies;
mod refused_forms;
mod requests;
mod restart;
mod server;
mod smtp_fakes;
