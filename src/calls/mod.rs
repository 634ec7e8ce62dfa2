//! Call settings (R38): dial rule sets, music on hold and intercept groups; the account's
//! defaults and each user's own values, read as what is in effect and where it comes from.

pub mod api;
pub mod catalog;
pub mod dial_plan;
pub mod kept;
pub mod settings;
