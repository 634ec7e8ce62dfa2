//! Second factor (R26–R30): what a sign-in must show beyond the password, and how.
//!
//! - Methods per user: disabled, email code, TOTP authenticator, or either (the user picks at
//!   sign-in); mode always, or only for suspicious sign-ins (an address, device or country the
//!   user has not signed in from).
//! - R27: an admin (the built-in Admin role, directly or through a group, or a platform operator)
//!   always has a second factor. Turning it off for an admin is refused; a new admin without one
//!   (the first admin too) sets up the authenticator at their next sign-in. An account may
//!   require a second factor of everyone the same way.
//! - R29: the authenticator is set up at the sign-in after the password, confirmed by a code, and
//!   ten single-use recovery codes are issued; an admin can reset it.

pub mod api;
pub mod authenticator;
pub mod enrolment;
pub mod manage;
pub mod notices;
pub mod qr;
pub mod recovery;
pub mod service;
pub mod totp;
