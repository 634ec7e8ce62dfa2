//! Users (R1–R11, R15, R17, R21, R22, R37).

pub mod api;
pub mod bulk;
pub mod filter;
pub mod input;
pub mod invitations;
pub mod invitations_api;
pub mod reach;
pub mod seats;
pub mod service;
pub mod status;
pub mod synthetic;
pub mod transfer;
