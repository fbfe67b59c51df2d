//! Types parsed at the edge: once a value is one of these, it is valid.
mod duration;
mod email;
mod text;

pub use duration::{
    duration_text, first_choice, parse_duration, presets, GrantDuration, MAX_GRANT,
};
pub use email::Email;
pub use text::{plain_text, Justification, Reason};
