//! Roster: user and access management for PBX and call-center platforms.
//!
//! The tree is organised by capability: `users`, `access` (permissions), `catalog` (roles,
//! groups, desks, skills), `accounts`, `auth` (sign-in, sessions, the permission check),
//! `activity`, `console` (server-rendered pages); `store` holds every SQL statement.

pub mod access;
pub mod access_rules;
pub mod accounts;
pub mod activity;
pub mod auth;
pub mod captcha;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod domain;
pub mod error;
pub mod http;
pub mod ids;
pub mod mail;
pub mod me;
pub mod model;
pub mod outbox;
pub mod passwords;
pub mod second_factor;
pub mod secrets;
pub mod sessions;
pub mod sign_in;
pub mod startup;
pub mod tokens;
pub mod state;
pub mod store;
pub mod users;
