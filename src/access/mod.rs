//! Who may do what: the permission catalog, roles and groups (R12–R14), and from where:
//! access rules by address and country (R35), with the client's address behind proxies.

pub mod gate;
pub mod principal;

pub use crate::model::permission::{BuiltinRole, Permission, RequiredPermission, perm};
pub use crate::model::scope::Scope;
pub use principal::Principal;
