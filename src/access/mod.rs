//! Who may do what: the permission catalog, roles and groups (R12–R14).

pub mod permission;

pub use permission::{BuiltinRole, Permission, RequiredPermission, perm};
