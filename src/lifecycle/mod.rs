//! A member's life in the account over time (R18): deactivation for a time range — now or
//! later, until a date or for good — with reactivation by itself, applied by a job in every
//! instance (`job`), and the activation log's API (`api`; the log is written by
//! `activity::activation` wherever a status changes).

pub mod api;
pub mod job;
pub mod service;
