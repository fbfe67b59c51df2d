//! Access requests and the grants they lead to: asking, deciding, granting, ending, sweeping.
pub mod change;
pub mod decisions;
pub mod grants;
pub mod requests;
pub mod sweep;
pub mod view;
