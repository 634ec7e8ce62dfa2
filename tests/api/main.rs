//! Roster's HTTP test suite: every test starts a real server on a random port with a fresh
//! database and talks to it over HTTP, once on SQLite and once on PostgreSQL.
//!
//! PostgreSQL comes from `ROSTER_TEST_POSTGRES_URL`, else the machine's server at
//! `postgres://postgres@127.0.0.1:5432/postgres`, else a private server the harness starts
//! (`helpers/database.rs`; `ROSTER_TEST_POSTGRES=private` forces it); each test creates its own
//! database there and drops it afterwards. When PostgreSQL is unreachable the `…::postgres` tests
//! fail; they never skip.
//!
//! Run one engine with `cargo test --test api sqlite` or `cargo test --test api postgres`.

// Test and benchmark code may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

/// Turns `async fn name(engine: Engine)` into two tests, `name::sqlite` and `name::postgres`.
macro_rules! both_engines {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::helpers::Engine::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(crate::helpers::Engine::Postgres).await
                }
            }
        )+
    };
}

mod helpers;

mod instances;

mod access_rules;
mod access_rules_console;
mod accounts_console;
mod activity;
mod auth;
mod authorization_matrix;
mod avatar;
mod backup;
mod bulk;
mod call_settings;
mod calls_console;
mod captcha;
mod catalog;
mod console;
mod console_delegation;
mod console_forms;
mod console_second_factor;
mod console_security;
mod contract;
mod deadlines;
mod delegation;
mod delegation_scopes;
mod directory;
mod errors;
mod failure_injection;
mod forgot_password;
mod invitations;
mod kept_telephony;
mod lifecycle;
mod lifecycle_browser;
mod lifecycle_console;
mod listing;
mod listing_memory;
mod lockout;
mod lockout_race;
mod mail;
mod mail_schedule;
mod observability;
mod observability_health;
mod observability_logs;
mod passwords;
mod permissions;
mod queues;
mod queues_console;
mod second_factor;
mod second_factor_email;
mod second_factor_guessing;
mod secrets_at_rest;
mod secrets_never_leave;
mod security_settings;
mod sessions;
mod sip;
mod sip_phones;
mod sso;
mod sso_browser;
mod sso_console;
mod telephony_browser;
mod tokens;
mod transfer;
mod users;
mod validation;
