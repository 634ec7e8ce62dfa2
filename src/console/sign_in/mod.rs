//! Signing in to the console (the `sign_in` capability's pages): the sign-in page with its
//! password change and signing out, the steps that may follow (second factor, authenticator
//! set-up, recovery codes), and the page an emailed enrolment link opens. The CAPTCHA step's
//! page is in `console/captcha.rs`; forgot and reset password in `console/passwords.rs`.

pub(super) mod enrolment_link;
pub(super) mod invitation;
pub(super) mod page;
pub(super) mod steps;
