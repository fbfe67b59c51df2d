//! What the running server holds: the shared context, its repeated jobs, the access cache and
//! the rate limits.
pub mod access_cache;
pub mod context;
pub mod jobs;
pub mod rate_limit;
