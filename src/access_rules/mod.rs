//! Access rules by address and country (R35): the account's and each user's, managed through the
//! API and the console. Evaluating them per request is `access::gate`'s.

pub mod api;
pub mod service;
