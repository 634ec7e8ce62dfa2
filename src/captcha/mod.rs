//! CAPTCHA at sign-in (R31): self-hosted, answered on the server, single use.
//!
//! A challenge is a picture of distorted text (`image`) with, as its accessible alternative, a
//! sum in words (`question`); either answer is accepted. The client gets a random challenge
//! id; the store keeps its hash, the picture and the answers' hashes, for ten minutes. An
//! attempt, right or wrong, uses the challenge up.
//!
//! Sign-in asks for one (`check`) before it verifies the password, so a sign-in without its
//! CAPTCHA costs no argon2 work and counts no failure. When the user's own flag asks for it,
//! that answer itself tells whoever names a flagged login that the login exists: the account
//! policy (`always`, or after failures from an address) asks unknown logins too.

pub mod api;
pub mod image;
pub mod policy;
pub mod question;
pub mod service;
