//! Accounts (tenants): creation with their built-in roles, the first start, and admins made
//! from the command line.

pub mod api;
pub mod security;
pub mod service;
