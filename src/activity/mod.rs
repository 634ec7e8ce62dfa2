//! The activity log (R36): who did what to whom, when, from where, and which fields changed.
//! Every change is recorded in the same transaction as the change itself.

pub mod activation;
pub mod api;
pub mod service;

pub use crate::model::activity::{Actor, Changes, Target, typed_login_label};
pub use service::record;
