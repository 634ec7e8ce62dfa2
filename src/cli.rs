//! The `roster` command line: `serve`, `migrate`, `admin create`.

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
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin with a generated password, printed once.
    Create {
        /// The admin's login.
        login: String,
        /// The account's slug.
        #[arg(long, default_value = crate::accounts::DEFAULT_ACCOUNT)]
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
                println!("    account:  {}", crate::accounts::DEFAULT_ACCOUNT);
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
            crate::accounts::bootstrap(&store).await.map_err(explain)?;
            let password = crate::accounts::create_admin(&store, &account, &login, platform_operator).await.map_err(explain)?;
            println!("Created admin {login} in account {account}.");
            println!("password: {}", password.expose_secret());
            println!("This password is shown only once: keep it now.");
            Ok(())
        }
    }
}

/// Turns a service error into a sentence for the terminal.
pub fn explain(err: crate::error::Error) -> anyhow::Error {
    let problem = err.problem();
    let mut text = problem.detail.clone();
    for issue in problem.errors.iter().skip(usize::from(problem.errors.len() == 1)) {
        text.push_str(&format!("\n  {}: {}", issue.field, issue.message));
    }
    if let crate::error::Error::Internal(cause) = err {
        return cause.context(text);
    }
    anyhow::anyhow!(text)
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
