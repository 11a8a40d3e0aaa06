//! Logs and Prometheus metrics.
//!
//! Metrics are registered once in [`Metrics::new`] and updated through small
//! methods, so that the controller never touches prometheus-client types and
//! an update costs an atomic add (plus a read-locked hash lookup for labelled
//! families).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// How logs are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// The filter used when `RUST_LOG` is unset. Targets match by prefix, so
/// `kube` also quiets `kube_client` / `kube_runtime`, `aws` the `aws_smithy_*`
/// crates and `hyper` `hyper_util`: their per-request chatter at `info` would
/// drown the operator's own lines.
pub const DEFAULT_LOG_FILTER: &str = "info,kube=warn,aws=warn,hyper=warn";

/// Whether logs written to stdout may carry ANSI colour codes: only when
/// stdout is a terminal and `NO_COLOR` (<https://no-color.org>) is unset or
/// empty. In a pod stdout is a pipe, and `kubectl logs` or a log collector
/// would show the escape sequences as text.
pub fn log_colours(stdout_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stdout_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Sets up `tracing` for the process; `RUST_LOG` overrides
/// [`DEFAULT_LOG_FILTER`]. A second call is a no-op (the first subscriber
/// stays), which keeps tests that call it more than once working.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let ansi = log_colours(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    // The subscriber writes to stdout (its default writer), the stream
    // checked above.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    // `try_init` instead of `init`: failing because a subscriber is already
    // set is not worth a panic.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabels {
    category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: String,
    /// The account's 12 digits, or `default` for the operator's own identity.
    account: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LaneLabels {
    /// `waited`, `urgent` or `progress`.
    lane: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlaceLabels {
    account: String,
    region: String,
}

/// The operator's metrics, served at `/metrics`. Share it as `Arc<Metrics>`;
/// every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Counter,
    reconcile_errors: Family<CategoryLabels, Counter>,
    aws_calls: Family<CallLabels, Counter>,
    jobs: Family<StatusLabels, Gauge>,
    /// Every status ever set, so that one missing from a later snapshot can
    /// be put back to 0 rather than keep its stale count.
    known_statuses: Mutex<BTreeSet<String>>,
    queue_length: Gauge,
    foreign_jobs: Family<PlaceLabels, Gauge>,
    status_writes: Counter,
    status_write_delay: Family<LaneLabels, Histogram>,
    reconcile_duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("comprehend_operator");
        let reconciles = Counter::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        let reconcile_errors = Family::<CategoryLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that met an error, by category",
            reconcile_errors.clone(),
        );
        let aws_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "aws_calls",
            "AWS calls (Comprehend, and S3 for job output) by operation and outcome",
            aws_calls.clone(),
        );
        let jobs = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "jobs",
            "ClassificationJobs by Comprehend job status or phase",
            jobs.clone(),
        );
        let queue_length = Gauge::default();
        registry.register(
            "queue_length",
            "ClassificationJobs waiting for an active-job slot",
            queue_length.clone(),
        );
        let foreign_jobs = Family::<PlaceLabels, Gauge>::default();
        registry.register(
            "foreign_active_jobs",
            "Active jobs of the account that no resource here follows, as the latest listing showed them",
            foreign_jobs.clone(),
        );
        let status_writes = Counter::default();
        registry.register(
            "status_writes",
            "Status writes to the Kubernetes API",
            status_writes.clone(),
        );
        // 5 ms .. ~80 s: a write taken at once, up to a backlog of outcomes
        // behind the records Starts wait for, under load.
        let status_write_delay = Family::<LaneLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 15))
        });
        registry.register(
            "status_write_delay_seconds",
            "Time a status change waits in the writer's lane until it is stored, by lane: waited (a record a Start waits for, from when the Start asks), urgent (outcomes and warnings), progress (queued, started, running; after the up to 5 s a job's own progress is held)",
            status_write_delay.clone(),
        );
        // 1 ms .. ~4 min: a reconcile that only reads the cache takes
        // milliseconds, one that waits for a Start slot under the 1/s quota or
        // backs off from throttling can take minutes.
        let reconcile_duration = Histogram::new(exponential_buckets(0.001, 4.0, 10));
        registry.register(
            "reconcile_duration_seconds",
            "Time a reconcile takes, AWS calls and rate-limit waits included",
            reconcile_duration.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            aws_calls,
            jobs,
            known_statuses: Mutex::new(BTreeSet::new()),
            queue_length,
            foreign_jobs,
            status_writes,
            status_write_delay,
            reconcile_duration,
        }
    }

    /// A reconcile ran.
    pub fn reconciled(&self) {
        self.reconciles.inc();
    }

    /// A reconcile met an error of `category`.
    pub fn reconcile_error(&self, category: &str) {
        self.reconcile_errors
            .get_or_create(&CategoryLabels {
                category: category.to_string(),
            })
            .inc();
    }

    /// An AWS call in `account` (its label) ended with `outcome`.
    pub fn aws_call(&self, operation: &str, account: &str, outcome: &str) {
        self.aws_calls
            .get_or_create(&CallLabels {
                operation: operation.to_string(),
                account: account.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Sets the job counts; statuses missing from `counts` drop to 0.
    pub fn set_jobs_by_status(&self, counts: &BTreeMap<String, i64>) {
        // A poisoned lock only means another thread panicked mid-update; the
        // set is still usable.
        let mut known = self
            .known_statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for status in known.iter() {
            if !counts.contains_key(status) {
                self.jobs
                    .get_or_create(&StatusLabels {
                        status: status.clone(),
                    })
                    .set(0);
            }
        }
        for (status, n) in counts {
            self.jobs
                .get_or_create(&StatusLabels {
                    status: status.clone(),
                })
                .set(*n);
            known.insert(status.clone());
        }
    }

    /// Sets the number of resources waiting for a slot.
    pub fn set_queue_length(&self, n: i64) {
        self.queue_length.set(n);
    }

    /// Sets the active jobs of an account (its label) in `region` that no
    /// resource here follows.
    pub fn set_foreign_jobs(&self, account: &str, region: &str, n: i64) {
        self.foreign_jobs
            .get_or_create(&PlaceLabels {
                account: account.to_string(),
                region: region.to_string(),
            })
            .set(n);
    }

    /// A status was stored, from `lane`, `delay` after it was handed over.
    pub fn status_written(&self, lane: &str, delay: Duration) {
        self.status_writes.inc();
        self.status_write_delay
            .get_or_create(&LaneLabels {
                lane: lane.to_string(),
            })
            .observe(delay.as_secs_f64());
    }

    /// A reconcile took `d`.
    pub fn observe_reconcile(&self, d: Duration) {
        self.reconcile_duration.observe(d.as_secs_f64());
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        // A pod's stdout (what `kubectl logs` shows) is no terminal.
        assert!(!log_colours(false, None));
        assert!(!log_colours(false, Some(OsStr::new(""))));
        assert!(log_colours(true, None));
        // NO_COLOR counts only when non-empty.
        assert!(log_colours(true, Some(OsStr::new(""))));
        assert!(!log_colours(true, Some(OsStr::new("1"))));
        assert!(!log_colours(false, Some(OsStr::new("1"))));
    }

    #[test]
    fn every_metric_is_encoded_with_its_labels() {
        let m = Metrics::new();
        m.reconciled();
        m.reconciled();
        m.reconcile_error("throttled");
        m.aws_call("StartDocumentClassificationJob", "default", "ok");
        m.aws_call(
            "DescribeDocumentClassificationJob",
            "default",
            "job_not_found",
        );
        m.set_queue_length(3);
        m.status_written("urgent", Duration::from_millis(30));
        m.observe_reconcile(Duration::from_millis(5));
        m.set_jobs_by_status(&BTreeMap::from([("IN_PROGRESS".to_string(), 2)]));
        let text = m.encode();
        for needle in [
            "# TYPE comprehend_operator_reconciles counter",
            "comprehend_operator_reconciles_total 2",
            "comprehend_operator_reconcile_errors_total{category=\"throttled\"} 1",
            "comprehend_operator_aws_calls_total{operation=\"StartDocumentClassificationJob\",account=\"default\",outcome=\"ok\"} 1",
            "comprehend_operator_aws_calls_total{operation=\"DescribeDocumentClassificationJob\",account=\"default\",outcome=\"job_not_found\"} 1",
            "# TYPE comprehend_operator_queue_length gauge",
            "comprehend_operator_queue_length 3",
            "comprehend_operator_status_writes_total 1",
            "# TYPE comprehend_operator_status_write_delay_seconds histogram",
            "comprehend_operator_status_write_delay_seconds_count{lane=\"urgent\"} 1",
            "comprehend_operator_status_write_delay_seconds_bucket{le=\"0.04\",lane=\"urgent\"} 1",
            "comprehend_operator_status_write_delay_seconds_bucket{le=\"0.02\",lane=\"urgent\"} 0",
            "# TYPE comprehend_operator_jobs gauge",
            "comprehend_operator_jobs{status=\"IN_PROGRESS\"} 2",
            "# TYPE comprehend_operator_reconcile_duration_seconds histogram",
            "comprehend_operator_reconcile_duration_seconds_count 1",
            "comprehend_operator_reconcile_duration_seconds_bucket{le=\"0.016\"} 1",
            "comprehend_operator_reconcile_duration_seconds_bucket{le=\"0.004\"} 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(
            text.ends_with("# EOF\n"),
            "OpenMetrics ends with # EOF:\n{text}"
        );
    }

    #[test]
    fn unlabelled_metrics_appear_before_any_update() {
        // Dashboards and alerts expect the series to exist from the start.
        let text = Metrics::new().encode();
        for needle in [
            "comprehend_operator_reconciles_total 0",
            "comprehend_operator_status_writes_total 0",
            "comprehend_operator_queue_length 0",
            "comprehend_operator_reconcile_duration_seconds_count 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn job_gauges_reset_when_a_status_empties() {
        let m = Metrics::new();
        m.set_jobs_by_status(&BTreeMap::from([
            ("SUBMITTED".to_string(), 5),
            ("IN_PROGRESS".to_string(), 1),
        ]));
        m.set_jobs_by_status(&BTreeMap::from([("COMPLETED".to_string(), 5)]));
        let text = m.encode();
        for needle in [
            "comprehend_operator_jobs{status=\"SUBMITTED\"} 0",
            "comprehend_operator_jobs{status=\"IN_PROGRESS\"} 0",
            "comprehend_operator_jobs{status=\"COMPLETED\"} 5",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        // A status that comes back is set again, not added to.
        m.set_jobs_by_status(&BTreeMap::from([("SUBMITTED".to_string(), 1)]));
        let text = m.encode();
        assert!(
            text.contains("comprehend_operator_jobs{status=\"SUBMITTED\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("comprehend_operator_jobs{status=\"COMPLETED\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn foreign_jobs_are_set_per_account_and_region() {
        let m = Metrics::new();
        m.set_foreign_jobs("111122223333", "eu-west-1", 3);
        m.set_foreign_jobs("111122223333", "eu-west-1", 2);
        m.set_foreign_jobs("444455556666", "eu-west-1", 1);
        let text = m.encode();
        assert!(
            text.contains("comprehend_operator_foreign_active_jobs{account=\"111122223333\",region=\"eu-west-1\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("comprehend_operator_foreign_active_jobs{account=\"444455556666\",region=\"eu-west-1\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn queue_length_is_set_not_added() {
        let m = Metrics::new();
        m.set_queue_length(4);
        m.set_queue_length(0);
        assert!(m.encode().contains("comprehend_operator_queue_length 0\n"));
    }
}
