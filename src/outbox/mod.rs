//! The outbox: the mail queue as admins see it (API and console) and the worker that delivers
//! it. Composing and queueing a message is `mail`'s.

pub mod api;
pub mod service;
pub mod worker;
