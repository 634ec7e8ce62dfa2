//! Roles (R12), groups (R13), desks and skills (R15): the named things of an account that
//! users are assigned to. They share one shape and one set of rules, kept here; roles add
//! permissions and groups add roles.

pub mod api;
pub mod service;
