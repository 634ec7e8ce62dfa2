//! API tokens: long-lived credentials for PBX components, made by an admin with a name, some
//! of the admin's own permissions and an expiry; shown once, stored hashed, revocable.

pub mod api;
pub mod service;
