//! `comprehend-standin`: runs the Comprehend stand-in and its S3 server
//! until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use comprehend_standin::faults::{parse_large_output, OutputFault};
use comprehend_standin::{Config, Faults, Limits, Role};
use tracing_subscriber::EnvFilter;

/// A local stand-in for Amazon Comprehend custom classification, with an
/// embedded S3 server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address of the Comprehend API and the admin API (port 0 picks one).
    #[arg(long, env = "STANDIN_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address of the embedded S3 server (port 0 picks one).
    #[arg(long, env = "STANDIN_S3_LISTEN", default_value = "127.0.0.1:0")]
    s3_listen: SocketAddr,
    /// Folder for the embedded S3 server's buckets (default: a temporary
    /// folder removed at exit).
    #[arg(long, env = "STANDIN_S3_ROOT")]
    s3_root: Option<PathBuf>,
    /// Use this external S3 endpoint instead of the embedded server.
    #[arg(long, env = "STANDIN_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// Folder for the state snapshot, loaded at start.
    #[arg(long, env = "STANDIN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Default account: the account id in ARNs and output paths of requests
    /// made without credentials AssumeRole issued.
    #[arg(long, env = "STANDIN_ACCOUNT_ID", default_value = "123456789012")]
    account_id: String,
    /// Region in ARNs.
    #[arg(long, env = "STANDIN_REGION", default_value = "us-east-1")]
    region: String,
    /// Seconds a job stays SUBMITTED.
    #[arg(long, env = "STANDIN_JOB_QUEUED_SECS", default_value_t = 2.0)]
    job_queued_secs: f64,
    /// Seconds a job stays IN_PROGRESS.
    #[arg(long, env = "STANDIN_JOB_RUNNING_SECS", default_value_t = 5.0)]
    job_running_secs: f64,
    /// Seconds a classifier stays TRAINING.
    #[arg(long, env = "STANDIN_TRAINING_SECS", default_value_t = 3.0)]
    training_secs: f64,
    /// Seconds a classifier stays DELETING.
    #[arg(long, env = "STANDIN_DELETING_SECS", default_value_t = 1.0)]
    deleting_secs: f64,
    /// StartDocumentClassificationJob calls per second.
    #[arg(long, env = "STANDIN_START_TPS", default_value_t = 1.0)]
    start_tps: f64,
    /// DescribeDocumentClassificationJob calls per second.
    #[arg(long, env = "STANDIN_DESCRIBE_TPS", default_value_t = 10.0)]
    describe_tps: f64,
    /// ListDocumentClassificationJobs calls per second.
    #[arg(long, env = "STANDIN_LIST_TPS", default_value_t = 10.0)]
    list_tps: f64,
    /// Create/Stop/Delete classifier calls per second (each).
    #[arg(long, env = "STANDIN_CLASSIFIER_WRITE_TPS", default_value_t = 1.0)]
    classifier_write_tps: f64,
    /// Describe/List classifier calls per second (each).
    #[arg(long, env = "STANDIN_CLASSIFIER_READ_TPS", default_value_t = 10.0)]
    classifier_read_tps: f64,
    /// TagResource/UntagResource calls per second (each).
    #[arg(long, env = "STANDIN_TAG_TPS", default_value_t = 1.0)]
    tag_tps: f64,
    /// Jobs that may be SUBMITTED or IN_PROGRESS at once.
    #[arg(long, env = "STANDIN_MAX_ACTIVE_JOBS", default_value_t = 10)]
    max_active_jobs: usize,
    /// Fraction of API calls throttled.
    #[arg(long, env = "STANDIN_THROTTLE_FRACTION", default_value_t = 0.0)]
    throttle_fraction: f64,
    /// Fraction of API calls answered with InternalServerException.
    #[arg(long, env = "STANDIN_ERROR_FRACTION", default_value_t = 0.0)]
    error_fraction: f64,
    /// Milliseconds added to every API call.
    #[arg(long, env = "STANDIN_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
    /// A job name whose jobs end FAILED (repeatable; comma-separated in the
    /// environment).
    #[arg(
        long = "fail-job-name",
        env = "STANDIN_FAIL_JOB_NAMES",
        value_delimiter = ','
    )]
    fail_job_names: Vec<String>,
    /// An operation answered AccessDeniedException (repeatable;
    /// comma-separated in the environment).
    #[arg(
        long = "deny-operation",
        env = "STANDIN_DENY_OPERATIONS",
        value_delimiter = ','
    )]
    deny_operations: Vec<String>,
    /// `JOB_NAME=KIND`: jobs of that name end COMPLETED with a spoiled
    /// output, KIND being missing, malformedArchive, malformedLines or
    /// errors (repeatable; comma-separated in the environment).
    #[arg(
        long = "output-fault",
        env = "STANDIN_OUTPUT_FAULTS",
        value_delimiter = ',',
        value_parser = OutputFault::parse_spec
    )]
    output_faults: Vec<(String, OutputFault)>,
    /// `JOB_NAME=BYTES`: jobs of that name write a generated
    /// predictions.jsonl of about BYTES bytes (repeatable; comma-separated
    /// in the environment).
    #[arg(
        long = "large-output",
        env = "STANDIN_LARGE_OUTPUTS",
        value_delimiter = ',',
        value_parser = parse_large_output
    )]
    large_outputs: Vec<(String, u64)>,
    /// Seed of the fault-injection random source.
    #[arg(long, env = "STANDIN_SEED")]
    seed: Option<u64>,
    /// A role AssumeRole can assume, `ARN` or `ARN=EXTERNAL_ID`
    /// (repeatable; comma-separated in the environment).
    #[arg(long = "role", env = "STANDIN_ROLES", value_delimiter = ',', value_parser = Role::parse)]
    roles: Vec<Role>,
    /// Credentials AssumeRole issues are valid at most this many seconds.
    #[arg(long, env = "STANDIN_CREDENTIAL_SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    credential_seconds: Option<u64>,
    /// When both servers listen, write `{"endpoint", "s3Endpoint", "pid"}`
    /// here (atomically).
    #[arg(long, env = "STANDIN_READY_FILE")]
    ready_file: Option<PathBuf>,
}

impl Cli {
    fn config(&self) -> Config {
        Config {
            listen: self.listen,
            s3_listen: self.s3_listen,
            s3_root: self.s3_root.clone(),
            s3_endpoint: self.s3_endpoint.clone(),
            data_dir: self.data_dir.clone(),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            limits: Limits {
                start_tps: self.start_tps,
                describe_tps: self.describe_tps,
                list_tps: self.list_tps,
                classifier_write_tps: self.classifier_write_tps,
                classifier_read_tps: self.classifier_read_tps,
                tag_tps: self.tag_tps,
                max_active_jobs: self.max_active_jobs,
                job_queued_secs: self.job_queued_secs,
                job_running_secs: self.job_running_secs,
                training_secs: self.training_secs,
                deleting_secs: self.deleting_secs,
                ..Limits::default()
            },
            faults: Faults {
                throttle_fraction: self.throttle_fraction,
                error_fraction: self.error_fraction,
                latency_ms: self.latency_ms,
                fail_job_names: self.fail_job_names.iter().cloned().collect(),
                deny_operations: self.deny_operations.iter().cloned().collect(),
                output_faults: self.output_faults.iter().cloned().collect(),
                large_outputs: self.large_outputs.iter().cloned().collect(),
                ..Faults::default()
            },
            seed: self.seed,
            roles: self.roles.clone(),
            credential_seconds: self.credential_seconds,
        }
    }
}

fn write_ready_file(path: &Path, content: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("STANDIN_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let running = comprehend_standin::start(cli.config()).await?;
    let ready = serde_json::json!({
        "endpoint": running.endpoint(),
        "s3Endpoint": running.s3_endpoint(),
        "pid": std::process::id(),
    })
    .to_string();
    if let Some(path) = &cli.ready_file {
        write_ready_file(path, &ready)?;
    }
    println!("{ready}");
    tracing::info!(
        endpoint = running.endpoint(),
        s3_endpoint = running.s3_endpoint(),
        "comprehend-standin ready"
    );
    stop_signal().await;
    tracing::info!("stopping");
    running.shutdown().await;
    Ok(())
}
