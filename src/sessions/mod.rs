//! Sessions (R25, R32–R34): who is signed in where, ending sessions, timeouts, and the upkeep
//! that writes last-seen times and forgets expired sessions. The per-request check is
//! `auth::check`; its memory is `store::session_cache`.

pub mod api;
pub mod service;
pub mod upkeep;

pub use crate::model::SessionKind;
