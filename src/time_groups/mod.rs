//! Time groups (R16): named weekly schedules that say when something holds (a queue membership).

pub mod api;
pub mod schedule;
pub mod service;
