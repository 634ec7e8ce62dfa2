//! The PBX directory (issue 14): the SIP server asks, on every REGISTER and INVITE, whether a
//! phone's user may register and with which digest, and which call settings apply to them.
//! Answered to API tokens holding `directory.read` only, as JSON (`api`) and in FreeSWITCH's
//! `mod_xml_curl` format (`freeswitch`); lookups are counted per token, not logged one by one.
//! Entries come from memory while a read would find the same (`kept`).

pub mod api;
pub mod digest;
pub mod freeswitch;
mod kept;
pub mod service;
