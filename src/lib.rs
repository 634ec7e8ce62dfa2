//! Roster: user and access management for PBX and call-center platforms.
//!
//! The tree is organised by capability (`users`, `catalog`, `sessions`, `sign_in`,
//! `second_factor`, `passwords`, `accounts`, `activity`…), each with its rules in `service.rs`
//! and its routes in `api.rs`, over a foundation of plain records (`model`), parsed values
//! (`domain`) and one store that holds every SQL statement (`store`). `auth` resolves who is
//! behind a request, `access` decides what they may reach, `console` renders the pages.
//! docs/architecture.md gives the layers; tests/architecture.rs checks them.

pub mod access;
pub mod access_rules;
pub mod accounts;
pub mod activity;
pub mod auth;
pub mod calls;
pub mod captcha;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod directory;
pub mod domain;
pub mod error;
pub mod http;
pub mod ids;
pub mod lifecycle;
pub mod mail;
pub mod me;
pub mod model;
pub mod observability;
pub mod oidc;
pub mod outbox;
pub mod passwords;
pub mod queues;
pub mod second_factor;
pub mod secrets;
pub mod sessions;
pub mod sign_in;
pub mod sso;
pub mod startup;
pub mod state;
pub mod store;
pub mod time_groups;
pub mod tokens;
pub mod users;
