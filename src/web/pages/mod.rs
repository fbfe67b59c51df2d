//! The pages people use.
pub(crate) mod access_notes;
pub(crate) mod admin;
pub(crate) mod approvals;
pub(crate) mod grant_actions;
pub(crate) mod header;
pub(crate) mod home;
pub(crate) mod layout;
pub(crate) mod login;
pub(crate) mod refusal;
pub(crate) mod request;
pub(crate) mod review;
pub(crate) mod status;
