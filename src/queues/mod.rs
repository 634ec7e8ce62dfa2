//! Call queues (R16): the catalog, agents' memberships (join option, position, time group),
//! and who is a member now, as the PBX asks.

pub mod api;
pub mod member_lists;
pub mod members;
pub mod service;
