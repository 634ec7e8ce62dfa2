//! Who is behind a request, and the one permission check every route goes through (R14, R17):
//! the session or API token a request presents, resolved (from memory when it can be) into a
//! `Caller`, the access rules (R35) checked for it, and the `Authorized<P>` extractor that
//! refuses unless the caller holds `P` in the account named by the path. Signing in is
//! `sign_in`'s; listing and ending sessions is `sessions`'.

pub mod check;
pub mod extract;

pub use crate::model::{Caller, ClientInfo};
pub use check::resolve;
pub use extract::Authorized;
