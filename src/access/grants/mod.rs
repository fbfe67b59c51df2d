//! A grant's whole life: made or extended by an approval (`made`), ended early by a person
//! (`ended`), and ended on time or warned about by the sweep (`swept`). Each step writes the
//! grant, its audit event and its notifications in the caller's transaction (or its own).
mod ended;
mod made;
mod swept;

pub use ended::{revoke, RevokeError};
pub(crate) use made::{extend, start};
pub(crate) use swept::{expire_due, warn_due};
