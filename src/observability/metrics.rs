//! `/metrics` in Prometheus' text format, through the `metrics` facade and
//! `metrics-exporter-prometheus`' renderer.
//!
//! Code anywhere records with `metrics::counter!(…)`. The facade has one recorder per process;
//! Roster's (`ByApplication`) hands each call to the recorder of the application whose task makes
//! it, named by a task-local that `Metrics::scope` sets around every request and background
//! task. One process usually runs one application, but the test suite runs hundreds at once,
//! each of which must show only what happened to it. A call made outside any application (the
//! command-line tools) is recorded nowhere.

use std::sync::Arc;
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

tokio::task_local! {
    static CURRENT: Arc<PrometheusRecorder>;
}

/// Latency buckets, in seconds: from a cached session check (well under a millisecond) to a
/// slow bulk action.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process's `metrics` recorder: it forwards to the current application's.
struct ByApplication;

impl Recorder for ByApplication {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        let _ = CURRENT.try_with(|r| r.describe_counter(key, unit, description));
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        let _ = CURRENT.try_with(|r| r.describe_gauge(key, unit, description));
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        let _ = CURRENT.try_with(|r| r.describe_histogram(key, unit, description));
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        CURRENT.try_with(|r| r.register_counter(key, metadata)).unwrap_or_else(|_| Counter::noop())
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        CURRENT.try_with(|r| r.register_gauge(key, metadata)).unwrap_or_else(|_| Gauge::noop())
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        CURRENT.try_with(|r| r.register_histogram(key, metadata)).unwrap_or_else(|_| Histogram::noop())
    }
}

/// One application's metrics.
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Metrics> {
        // The facade takes its recorder once per process; later calls (the next application in
        // the same process) find ours in place and are refused, which is what we want.
        let _ = metrics::set_global_recorder(ByApplication);
        let recorder = PrometheusBuilder::new().set_buckets(&BUCKETS)?.build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics { recorder: Arc::new(recorder), handle };
        metrics.sync(describe);
        Ok(metrics)
    }

    /// Runs `future` with this application's metrics as the current ones.
    pub fn scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> + use<F> {
        CURRENT.scope(self.recorder.clone(), future)
    }

    /// Runs `f` with this application's metrics as the current ones.
    pub fn sync<T>(&self, f: impl FnOnce() -> T) -> T {
        CURRENT.sync_scope(self.recorder.clone(), f)
    }

    /// The text a scrape gets.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// Counts a run of a scheduled job and keeps how long the last one took and when it ended.
pub fn job_ran(job: &'static str, started: Instant, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!("roster_jobs_runs_total", "job" => job, "outcome" => outcome).increment(1);
    metrics::gauge!("roster_jobs_last_duration_seconds", "job" => job).set(started.elapsed().as_secs_f64());
    metrics::gauge!("roster_jobs_last_run_timestamp_seconds", "job" => job).set(crate::clock::now_ms() as f64 / 1000.0);
}

/// The process's resident memory, from `/proc/self/status` (Linux; elsewhere nothing is
/// shown). Its `VmRSS` line is in KiB, which spares knowing the page size `statm` counts in.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.trim_start_matches("VmRSS:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// Help texts of the metrics, shown in the scrape's `# HELP` lines.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("roster_http_requests_total", "HTTP requests answered, by method, route template and status.");
    describe_histogram!(
        "roster_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route template."
    );
    describe_counter!(
        "roster_sign_ins_total",
        "Sign-in attempts by outcome: success, next_step (second factor, set-up or password change asked), \
         captcha, refused, throttled."
    );
    describe_counter!("roster_sign_in_failures_total", "Refused sign-ins by reason (the activity log's reason).");
    describe_counter!("roster_lockouts_total", "Users locked and addresses blocked after too many failures.");
    describe_counter!("roster_second_factor_failures_total", "Wrong second-factor codes, by method and reason.");
    describe_gauge!("roster_sessions_live", "Sessions not past their absolute end, by kind (read at scrape).");
    describe_gauge!("roster_session_cache_entries", "Callers held in this instance's session cache.");
    describe_counter!("roster_session_cache_lookups_total", "Session checks answered from memory (hit) or not (miss).");
    describe_gauge!("roster_outbox_depth", "Mail queued or being sent (read at scrape).");
    describe_gauge!("roster_outbox_oldest_age_seconds", "Age of the oldest mail still to send; 0 when none.");
    describe_counter!("roster_mail_deliveries_total", "Delivery attempts by result: sent, retry, failed.");
    describe_counter!("roster_jobs_runs_total", "Runs of scheduled jobs, by job and outcome.");
    describe_gauge!("roster_jobs_last_duration_seconds", Unit::Seconds, "Duration of each job's last run.");
    describe_gauge!("roster_jobs_last_run_timestamp_seconds", "When each job last ended (Unix time).");
    describe_gauge!("roster_db_connections", "Database pool connections, by state (in_use, idle).");
    describe_gauge!("roster_db_connections_max", "The database pool's size limit.");
    describe_histogram!("roster_db_acquire_seconds", Unit::Seconds, "Wait for a database connection.");
    describe_histogram!(
        "roster_db_hold_seconds",
        Unit::Seconds,
        "Time a connection was held: a read, or a write transaction to commit or rollback."
    );
    describe_gauge!("process_resident_memory_bytes", Unit::Bytes, "Resident memory of the process.");
    describe_gauge!("roster_build_info", "Always 1; the version in its label.");
}
