//! Who someone is: sign-in by emailed code or with an OpenID provider, and the server key.
pub mod login;
pub mod oidc;
pub mod secret;
