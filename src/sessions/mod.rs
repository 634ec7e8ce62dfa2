//! Sessions (R25, R32–R34): who is signed in where, ending sessions, timeouts, and the
//! per-request session check with its cache.

pub mod api;
pub mod service;
pub mod upkeep;

pub use crate::model::SessionKind;
