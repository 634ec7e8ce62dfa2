//! My account (the `me` capability's pages): what Roster knows about me, my password, email
//! and sessions, and my second factor.

pub(super) mod page;
pub(super) mod second_factor;
