//! The Users Manager (the `users` capability's pages): the users table with its filters and
//! mass actions, the user form, and one user's pages (password, deletion, security settings,
//! two-factor, avatar), with what each viewer is offered to do to each user.
//! A user's activity, sessions and access rules are with their capabilities
//! (`console/activity.rs`, `console/sessions.rs`, `console/access_rules.rs`).

pub(super) mod actions;
pub(super) mod avatar;
pub(super) mod bulk;
pub(crate) mod form;
pub(crate) mod form_fields;
pub(super) mod identities;
pub(super) mod invite;
pub(super) mod list;
pub(super) mod offers;
pub(super) mod queues;
pub(super) mod security;
pub(super) mod two_factor;
