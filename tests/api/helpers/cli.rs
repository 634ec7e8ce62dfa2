//! The `roster` binary run against the test server's database while the server runs (for the
//! commands that have no HTTP route: `users export`, `users import`).

use super::TestApp;

/// What a run of the binary printed, and whether it succeeded.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl TestApp {
    /// Runs `roster --database-url <this app's database> ARGS…`.
    pub async fn roster(&self, args: &[&str]) -> Run {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .arg("--database-url")
            .arg(&self.database_url)
            .args(args)
            .env_remove("ROSTER_CONFIG")
            .env("ROSTER_LOG", "warn")
            .output()
            .await
            .expect("running the roster binary");
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs the binary and asserts that it succeeded.
    pub async fn roster_ok(&self, args: &[&str]) -> Run {
        let run = self.roster(args).await;
        assert!(run.ok, "roster {args:?} failed:\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
        run
    }
}
