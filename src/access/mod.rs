//! Who may do what: the permission catalog, roles and groups (R12–R14), and from where:
//! access rules by address and country (R35), with the client's address behind proxies.

pub mod client_address;
mod countries;
pub mod gate;
pub mod geoip;
pub mod permission;
pub mod policy;
pub mod principal;
pub mod rules;
pub mod rules_api;
pub mod scope;
pub mod service;

pub use permission::{BuiltinRole, Permission, RequiredPermission, perm};
pub use principal::Principal;
pub use scope::Scope;
