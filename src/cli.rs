//! The `roster` command line: `serve`, `migrate`, `admin create`, `users …`, `backup`, `restore`.

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::config::{Config, ConfigArgs, ServeArgs};
use crate::startup::Application;
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(name = "roster", version, about = "User and access management for PBX and call-center platforms")]
pub struct Cli {
    #[command(flatten)]
    pub common: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web console and the REST API (creates and migrates the database as needed).
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Work with many users at once.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Copy the SQLite database to a file, consistently, while Roster runs and writes (for
    /// PostgreSQL use pg_dump). The secret key is not in the copy: back it up as well.
    Backup {
        /// The file to write (refused if it exists, unless --force).
        #[arg(long, short)]
        output: std::path::PathBuf,
        /// Replace OUTPUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put a copy made by `roster backup` in place of the SQLite database. Stop Roster first;
    /// the database it replaces is kept beside it.
    Restore {
        /// The backup to restore.
        #[arg(long, short)]
        input: std::path::PathBuf,
        /// Replace the existing database.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Load synthetic users (for trying Roster at scale and for benchmarks). They have no
    /// password, so nobody can sign in as one until an admin sets it.
    Generate {
        /// How many users to create.
        #[arg(long)]
        count: usize,
        /// The account's slug.
        #[arg(long, default_value = crate::model::account::DEFAULT_ACCOUNT)]
        account: String,
        /// How many desks ("Desk 01"…) to spread them over; created when missing.
        #[arg(long, default_value_t = 10)]
        desks: usize,
        /// How many skills ("Skill 01"…) to spread them over; created when missing.
        #[arg(long, default_value_t = 5)]
        skills: usize,
        /// Logins are PREFIX followed by a 7-digit number.
        #[arg(long, default_value = "user")]
        prefix: String,
    },
    /// Import users from a CSV or JSON file (the columns of `users export`, plus an optional
    /// `password`). Every row is checked first and each bad one reported with its line; if
    /// any is bad, nothing is written. Otherwise all are written in one transaction.
    Import(crate::users::transfer::ImportArgs),
    /// Export every user of an account as CSV or JSON, with roles, groups, desks and skills by
    /// name and direct permissions; never passwords or other secrets.
    Export(crate::users::transfer::ExportArgs),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin with a generated password, printed once.
    Create {
        /// The admin's login.
        login: String,
        /// The account's slug.
        #[arg(long, default_value = crate::model::account::DEFAULT_ACCOUNT)]
        account: String,
        /// Make the admin a platform operator (manages every account).
        #[arg(long)]
        platform_operator: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(serve) => {
            let config = Config::load(&cli.common, &serve)?;
            let public_url = config.public_url.clone();
            let app = Application::build(config).await?;
            let addr = app.local_addr();
            let url = public_url.unwrap_or_else(|| format!("http://{addr}"));
            if let Some((login, password)) = app.initial_admin() {
                println!();
                println!("  Roster is set up. Sign in to the console at {url}/login");
                println!("    account:  {}", crate::model::account::DEFAULT_ACCOUNT);
                println!("    login:    {login}");
                println!("    password: {password}");
                println!("  This password is shown only once: keep it now.");
                println!();
            }
            tracing::info!(%addr, "Roster is listening; console at {url}/login, API reference at {url}/api/docs");
            app.run_with_shutdown(shutdown_signal()).await?;
            Ok(())
        }
        Command::Migrate => {
            let config = Config::load(&cli.common, &ServeArgs::default())?;
            let store = Store::connect(&config.database_url, 2).await?;
            store.migrate().await?;
            println!("The database is up to date.");
            Ok(())
        }
        Command::Admin(AdminCommand::Create { login, account, platform_operator }) => {
            let config = Config::load(&cli.common, &ServeArgs::default())?;
            let store = Store::connect(&config.database_url, 2).await?;
            store.migrate().await?;
            first_start(&store).await?;
            let password = crate::accounts::service::create_admin(&store, &account, &login, platform_operator)
                .await
                .map_err(crate::error::explain)?;
            println!("Created admin {login} in account {account}.");
            println!("password: {}", password.expose_secret());
            println!("This password is shown only once: keep it now.");
            Ok(())
        }
        Command::Users(command) => {
            let config = Config::load(&cli.common, &ServeArgs::default())?;
            let store = Store::connect(&config.database_url, 4).await?;
            store.migrate().await?;
            first_start(&store).await?;
            run_users(&store, command).await
        }
        Command::Backup { output, force } => {
            backup(&Config::load(&cli.common, &ServeArgs::default())?, &output, force).await
        }
        Command::Restore { input, force } => {
            restore(&Config::load(&cli.common, &ServeArgs::default())?, &input, force).await
        }
    }
}

async fn run_users(store: &Store, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Generate { count, account, desks, skills, prefix } => {
            let bar = progress_bar(count as u64);
            let options = crate::users::synthetic::Options { count, desks, skills, prefix };
            let report =
                crate::users::synthetic::generate(store, &account, &options, |done| bar.set_position(done as u64))
                    .await
                    .map_err(crate::error::explain)?;
            bar.finish_and_clear();
            println!(
                "Created {} users in {account} in {:.1} s ({:.0} users/s).",
                report.created,
                report.seconds,
                report.per_second()
            );
            Ok(())
        }
        UsersCommand::Import(args) => crate::users::transfer::run_import(store, args).await,
        UsersCommand::Export(args) => crate::users::transfer::run_export(store, args).await,
    }
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} users, {per_sec}, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Sets up an empty database as `serve` would, and shows the first admin's password, which
/// would otherwise be lost (it is shown once, and only when it is made).
async fn first_start(store: &Store) -> anyhow::Result<()> {
    if let Some((login, password)) = crate::accounts::service::bootstrap(store).await.map_err(crate::error::explain)? {
        eprintln!(
            "The database was empty: created the account {} and its admin.",
            crate::model::account::DEFAULT_ACCOUNT
        );
        eprintln!("    login:    {login}");
        eprintln!("    password: {}", password.expose_secret());
        eprintln!("This password is shown only once: keep it now.");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn backup(config: &Config, output: &std::path::Path, force: bool) -> anyhow::Result<()> {
    if crate::store::Engine::from_url(&config.database_url)? == crate::store::Engine::Postgres {
        anyhow::bail!(
            "roster backup copies SQLite databases; back up PostgreSQL with its own tool, \
             pg_dump -Fc (and pg_restore to restore), as the README shows"
        );
    }
    let copy = crate::store::backup::backup(&config.database_url, output, force).await?;
    println!(
        "Wrote {} ({} bytes): {} accounts, {} users, schema at migration {}.",
        copy.path.display(),
        copy.bytes,
        copy.accounts,
        copy.users,
        copy.migration
    );
    println!(
        "The secret key is not in it: without {}, its SIP passwords, authenticator keys and recovery \
         codes cannot be read. Back the key up too, kept apart from the copies.",
        secret_key_source(config)
    );
    Ok(())
}

async fn restore(config: &Config, input: &std::path::Path, force: bool) -> anyhow::Result<()> {
    if crate::store::Engine::from_url(&config.database_url)? == crate::store::Engine::Postgres {
        anyhow::bail!(
            "roster restore puts back SQLite copies; restore PostgreSQL with pg_restore from a pg_dump -Fc \
             file, as the README shows"
        );
    }
    let done = crate::store::backup::restore(input, &config.database_url, force).await?;
    let db = &done.database;
    println!(
        "Restored {} to {} ({} bytes): {} accounts, {} users.",
        input.display(),
        db.path.display(),
        db.bytes,
        db.accounts,
        db.users
    );
    if let Some(kept) = &done.replaced_kept_as {
        println!("The database it replaced is kept as {}.", kept.display());
    }
    if db.migration < done.current_migration {
        println!(
            "Its schema is at migration {}; Roster upgrades it to {} when it next starts.",
            db.migration, done.current_migration
        );
    }
    println!(
        "Roster reads its SIP passwords, authenticator keys and recovery codes with the secret key in use \
         when the backup was made: {} must be that key.",
        secret_key_source(config)
    );
    Ok(())
}

/// Where this configuration takes the secret key from (as `Secrets::load` looks for it).
fn secret_key_source(config: &Config) -> String {
    if config.secret_key.is_some() {
        return "the key in ROSTER_SECRET_KEY".to_string();
    }
    let file = config.secret_key_file.clone().unwrap_or_else(|| config.data_dir.join("secret.key"));
    format!("the key file {}", file.display())
}
