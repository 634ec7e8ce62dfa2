//! Stopping the server as `roster serve` stops (gracefully: the mail worker records what it
//! holds and stops) and starting it again on the same database and data folder.

use std::path::Path;

use roster::startup::Application;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::TestApp;

pub(super) fn run(app: Application) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = app
            .run_with_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    (tx, server)
}

impl TestApp {
    /// Asks the server to stop and returns at once (it may drain first: `drain_seconds`).
    pub fn begin_stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Stops the server and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.server).await;
    }

    /// Starts a new server (on a new port) on the same database and data folder.
    pub async fn start_again(&mut self) {
        let app = Application::build(self.config.clone()).await.expect("starting Roster again");
        self.base = format!("http://127.0.0.1:{}", app.port());
        let (shutdown, server) = run(app);
        self.shutdown = Some(shutdown);
        self.server = server;
    }

    /// Stops the server and starts one on another database (a backup of this one) with the same
    /// data folder, so the same secret key; the helpers then talk to that one.
    pub async fn start_on(&mut self, database_url: &str) {
        self.stop().await;
        self.config.database_url = database_url.to_string();
        self.database_url = database_url.to_string();
        self.start_again().await;
    }

    /// The data folder (`<data dir>/mail/` holds mail written without SMTP).
    pub fn data_dir(&self) -> &Path {
        self._dir.path()
    }
}
