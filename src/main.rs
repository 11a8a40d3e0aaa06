//! `comprehend-operator`: `run` the controller, or print the `crd`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use comprehend_operator::comprehend::limited::{Limited, Rates};
use comprehend_operator::comprehend::sdk::AwsComprehend;
use comprehend_operator::comprehend::Comprehend;
use comprehend_operator::http::{self, Health};
use comprehend_operator::leader::LeaderElection;
use comprehend_operator::results::Outputs;
use comprehend_operator::settings::Settings;
use comprehend_operator::telemetry::{self, LogFormat, Metrics};
use comprehend_operator::{classifier, crds, job};
use futures::FutureExt;
use tracing::{error, info};

/// jemalloc rather than glibc's malloc: after a burst (an initial list of
/// thousands of objects, thousands of reconciles) glibc kept tens of MB free
/// but resident in its arenas even after `malloc_trim`. jemalloc's
/// background thread returns pages that stay unused for a second.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read at its first allocation: purge free pages
/// after 1 s (MADV_DONTNEED, so they leave the resident set at once), from
/// a background thread, in two arenas (the default is four per CPU the
/// process sees, hundreds on a large node, for a handful of threads), and
/// no per-thread caches: after a burst, the objects idle threads kept
/// cached held pages partly used (4-6 MB resident after a 10,000-job run,
/// BENCHMARKS.md).
#[cfg(not(feature = "heap-profile"))]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2,tcache:false\0";

/// The same, and a heap profile sampled every 4 KiB on average, for
/// `bench --diagnose` to dump (built with `--features heap-profile`).
#[cfg(feature = "heap-profile")]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,\
    narenas:2,tcache:false,prof:true,prof_active:true,lg_prof_sample:12\0";

#[derive(Parser)]
#[command(
    version,
    about = "Runs Amazon Comprehend custom classification jobs from ClassificationJob resources"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller.
    Run(Box<RunArgs>),
    /// Print the CustomResourceDefinitions, or write them into a folder.
    Crd {
        /// Write `classificationjob.yaml` and `documentclassifier.yaml` here
        /// instead of printing them.
        #[arg(long)]
        output_dir: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// AWS Region of jobs whose spec names none (default: the SDK's region
    /// chain, e.g. AWS_REGION).
    #[arg(long, env = "COMPREHEND_REGION")]
    region: Option<String>,
    /// Comprehend endpoint URL: a VPC endpoint, or the local stand-in.
    #[arg(long, env = "COMPREHEND_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// S3 endpoint URL for reading job output: a VPC endpoint, or the
    /// local stand-in's S3; addressed path-style when set (default: the
    /// SDK's regional S3 endpoint).
    #[arg(long, env = "S3_ENDPOINT_URL")]
    s3_endpoint_url: Option<String>,
    /// STS endpoint URL for assuming the roles of AccountMappings: a VPC
    /// endpoint, or the local stand-in (default: the SDK's regional STS).
    #[arg(long, env = "STS_ENDPOINT_URL")]
    sts_endpoint_url: Option<String>,
    /// Refuse namespaces without an AccountMapping (condition Ready=False,
    /// reason NoAccountMapping) instead of acting for them with the
    /// operator's own identity.
    #[arg(long, env = "REQUIRE_ACCOUNT_MAPPING", default_value_t = false)]
    require_account_mapping: bool,
    /// Summarize completed jobs' outputs into status.results for the
    /// resources that set spec.results.summarize: the operator reads
    /// output.tar.gz from S3 (s3:GetObject on the output prefix), as a
    /// stream.
    #[arg(long, env = "SUMMARIZE_RESULTS", default_value_t = false)]
    summarize_results: bool,
    /// Seconds between two Describe calls for a running job (jittered ±10%).
    #[arg(long, env = "POLL_INTERVAL_SECONDS", default_value_t = 30.0)]
    poll_interval: f64,
    /// StartDocumentClassificationJob calls a second (Comprehend's quota: 1).
    #[arg(long, env = "START_RATE", default_value_t = 1.0)]
    start_rate: f64,
    /// DescribeDocumentClassificationJob calls a second (quota: 10).
    #[arg(long, env = "DESCRIBE_RATE", default_value_t = 8.0)]
    describe_rate: f64,
    /// ListDocumentClassificationJobs calls a second (quota: 10).
    #[arg(long, env = "LIST_RATE", default_value_t = 8.0)]
    list_rate: f64,
    /// Active classification jobs per account and Region (quota: 10).
    #[arg(long, env = "MAX_ACTIVE_JOBS", default_value_t = 10)]
    max_active_jobs: usize,
    /// Namespaces to watch, comma-separated; all when empty.
    #[arg(long = "namespace", env = "WATCH_NAMESPACES", value_delimiter = ',')]
    namespaces: Vec<String>,
    /// Seconds between two DescribeDocumentClassifier calls while a
    /// classifier trains (jittered ±10%).
    #[arg(long, env = "CLASSIFIER_POLL_INTERVAL_SECONDS", default_value_t = 60.0)]
    classifier_poll_interval: f64,
    /// Calls a second to the classifier operations (Create, Describe, List,
    /// StopTraining, Delete), all together.
    #[arg(long, env = "CLASSIFIER_RATE", default_value_t = 1.0)]
    classifier_rate: f64,
    /// Failed attempts at deleting a model (deletionPolicy Delete) before
    /// the operator gives up, reports it and releases the resource.
    #[arg(long, env = "CLASSIFIER_DELETE_ATTEMPTS", default_value_t = 8)]
    classifier_delete_attempts: u32,
    /// Reconciles running at once, per resource kind. Bounds the open
    /// connections and memory under load; the rate limits bound the calls.
    #[arg(long, env = "MAX_CONCURRENT_RECONCILES", default_value_t = 32)]
    max_concurrent_reconciles: u16,
    /// Longest backoff, in seconds, between retries of a throttled call.
    #[arg(long, env = "MAX_BACKOFF_SECONDS", default_value_t = 300.0)]
    max_backoff: f64,
    /// Hold a coordination.k8s.io Lease so only one replica acts.
    #[arg(long, env = "LEADER_ELECTION", default_value_t = false)]
    leader_election: bool,
    /// Namespace of the Lease (default: the pod's namespace, POD_NAMESPACE).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    leader_election_namespace: String,
    /// Name of the Lease.
    #[arg(long, env = "LEASE_NAME", default_value = "comprehend-operator")]
    lease_name: String,
    /// This replica's name (default: the pod name, POD_NAME, or the host name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Where /healthz, /readyz and /metrics are served.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080")]
    http_addr: SocketAddr,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd { output_dir } => {
            for (i, (file, definition)) in comprehend_operator::all_crds().iter().enumerate() {
                let yaml = crds::crd_yaml(definition);
                match &output_dir {
                    Some(dir) => {
                        std::fs::create_dir_all(dir)?;
                        let path = dir.join(file);
                        std::fs::write(&path, yaml)
                            .with_context(|| format!("writing {}", path.display()))?;
                    }
                    None if i == 0 => print!("{yaml}"),
                    None => print!("---\n{yaml}"),
                }
            }
            Ok(())
        }
        Command::Run(args) => run(*args).await,
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    telemetry::init_logging(args.log_format);
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (in-cluster config or KUBECONFIG)")?;
    let default_region = match args.region.clone().filter(|r| !r.is_empty()) {
        Some(r) => r,
        None => aws_config::meta::region::RegionProviderChain::default_provider()
            .region()
            .await
            .map(|r| r.to_string())
            .context("no AWS Region: set --region, COMPREHEND_REGION or AWS_REGION")?,
    };
    let comprehend =
        AwsComprehend::from_env(args.endpoint_url.clone(), Some(default_region.clone()))
            .await
            .with_sts_endpoint(args.sts_endpoint_url.clone())
            .with_s3_endpoint(args.s3_endpoint_url.clone());
    let identity = args.identity.clone().unwrap_or_else(|| {
        std::env::var("HOSTNAME")
            .unwrap_or_else(|_| format!("comprehend-operator-{}", std::process::id()))
    });
    let settings = Settings {
        default_region,
        poll_interval: Duration::from_secs_f64(args.poll_interval.max(0.1)),
        start_rate: args.start_rate,
        describe_rate: args.describe_rate,
        list_rate: args.list_rate,
        max_active_jobs: args.max_active_jobs.max(1),
        require_account_mapping: args.require_account_mapping,
        summarize_results: args.summarize_results,
        namespaces: args
            .namespaces
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect(),
        max_backoff: Duration::from_secs_f64(args.max_backoff.max(1.0)),
        instance: identity.clone(),
        failpoint: std::env::var("COMPREHEND_OPERATOR_FAILPOINT").ok(),
        classifier_poll_interval: Duration::from_secs_f64(args.classifier_poll_interval.max(0.1)),
        classifier_rate: args.classifier_rate,
        classifier_delete_attempts: args.classifier_delete_attempts.max(1),
        max_concurrent_reconciles: args.max_concurrent_reconciles.max(1),
    };
    info!(region = %settings.default_region, endpoint = ?args.endpoint_url, namespaces = ?settings.namespaces, "starting");

    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(args.leader_election));
    let listener = tokio::net::TcpListener::bind(args.http_addr)
        .await
        .with_context(|| format!("binding {}", args.http_addr))?;
    info!(addr = %listener.local_addr()?, "serving /healthz, /readyz, /metrics");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let http_stop = wait_for(stop_rx.clone());
    tokio::spawn(http::serve(
        listener,
        metrics.clone(),
        health.clone(),
        http_stop,
    ));

    let election = args.leader_election.then(|| {
        LeaderElection::new(
            client.clone(),
            &args.leader_election_namespace,
            &args.lease_name,
            &identity,
        )
    });
    if let Some(election) = &election {
        info!(lease = %args.lease_name, "waiting for leadership");
        election
            .acquire()
            .await
            .context("acquiring the leader lease")?;
        health.set_leader(true);
        info!("leading");
    }

    // Both controllers, until the stop signal; either one failing ends both.
    // Every call within its quota and counted, for both controllers.
    let rates = Rates {
        start: settings.start_rate,
        describe: settings.describe_rate,
        list: settings.list_rate,
        classifier: settings.classifier_rate,
    };
    let limited = Arc::new(Limited::new(comprehend, rates, metrics.clone()));
    let outputs: Arc<dyn Outputs> = limited.clone();
    let comprehend: Arc<dyn Comprehend> = limited;
    let stop = wait_for(stop_rx).boxed().shared();
    let controller = async {
        futures::try_join!(
            job::reconcile::run(
                client.clone(),
                comprehend.clone(),
                outputs,
                settings.clone(),
                metrics.clone(),
                health.clone(),
                stop.clone(),
            ),
            classifier::reconcile::run(client, comprehend, settings, metrics, stop),
        )
        .map(|_| ())
    };
    tokio::pin!(controller);
    let lost = async {
        match &election {
            Some(e) => e.renew_until_lost().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        res = &mut controller => return res,
        _ = shutdown_signal() => info!("shutting down"),
        reason = lost => {
            error!(%reason, "leadership lost; exiting so that only one replica acts");
            std::process::exit(1);
        }
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(20), controller).await;
    if let Some(e) = &election {
        e.release().await;
    }
    Ok(())
}

async fn wait_for(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
