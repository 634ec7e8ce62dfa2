//! My Account (R9, R23, R25): the signed-in user's own password, email and sessions.

pub mod api;
pub mod service;
