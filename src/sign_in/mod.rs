//! Sign-in (R9, R23–R35): one home for every step between "who are you" and an open session —
//! the CAPTCHA, the password, the access rules, a required password change, the second factor
//! and its set-up — and sign-out.

pub mod api;
pub mod enrolment_link;
pub mod gate;
pub mod second_factor;
pub mod service;

pub use service::{Outcome, SignInRequest, SignedIn, sign_in};
