//! `make bench`: measures the RELEASE operator against the real API server
//! (KUBECONFIG and TEST_ENV_DIR from tests/env/with-env.sh) and the Comprehend
//! stand-in, and prints one table (also written into BENCHMARKS.md between
//! the `bench:begin`/`bench:end` markers when `--output` is given).
//!
//! For each N: the API server's write rate calibrated (scratch namespace),
//! then a fresh stand-in (with scaled quotas) and namespace, the operator
//! started and ready, N ClassificationJobs created at once, run to the end.
//! Then the operator is killed and started again over the N finished
//! resources (time to ready, AWS calls made), and a latency probe creates
//! jobs one by one while slots are free (create -> Start). With
//! `--foreign-jobs`, one more run (`--foreign-n` jobs) in which that many
//! jobs of another client, started straight in the stand-in before the
//! operator's, stay IN_PROGRESS throughout (no restart or probe there).
//!
//! Counting: AWS calls from the stand-in's `/_standin/stats`; status writes
//! and events from the API server's audit log (`patch` on
//! `classificationjobs/status`, writes of `events`); distinct status changes
//! from a watch, as the number of different (jobStatus, Succeeded reason,
//! Ready reason) tuples a resource went through.
//!
//! `run` drives one N; `calibrate` measures the API server's write rate;
//! `operator` starts the operator process and reads its readiness, metrics,
//! memory and CPU; `watch` follows the resources; `audit` reads the API
//! server's audit log; `report` prints the table and writes BENCHMARKS.md.

mod audit;
mod calibrate;
mod operator;
mod report;
mod results;
mod run;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use comprehend_testkit::{client, install_crd};
use k8s_openapi::jiff::Timestamp;

use report::report;
use run::{loadavg, run_one};

#[derive(Parser, Clone, Debug)]
#[command(about = "Benchmark of the release operator against the API server and the stand-in")]
struct Args {
    /// Numbers of ClassificationJobs created at once, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    jobs: Vec<usize>,
    /// Start quota (calls/s), enforced by the stand-in; the operator's --start-rate.
    #[arg(long, default_value_t = 200.0)]
    start_rate: f64,
    /// Active-job quota, enforced by the stand-in; the operator's --max-active-jobs.
    #[arg(long, default_value_t = 1000)]
    max_active: usize,
    /// Describe quota of the stand-in (calls/s).
    #[arg(long, default_value_t = 2000.0)]
    describe_quota: f64,
    /// The operator's --describe-rate.
    #[arg(long, default_value_t = 1600.0)]
    describe_rate: f64,
    /// List quota of the stand-in (calls/s).
    #[arg(long, default_value_t = 500.0)]
    list_quota: f64,
    /// The operator's --list-rate.
    #[arg(long, default_value_t = 400.0)]
    list_rate: f64,
    /// The operator's --max-concurrent-reconciles: scaled with the rates
    /// (its default, 32, is for Comprehend's own quotas).
    #[arg(long, default_value_t = 128)]
    concurrency: u16,
    /// The operator's --poll-interval (seconds).
    #[arg(long, default_value_t = 1.0)]
    poll_interval: f64,
    /// Seconds a job stays SUBMITTED in the stand-in.
    #[arg(long, default_value_t = 2.0)]
    queued_secs: f64,
    /// Seconds a job stays IN_PROGRESS in the stand-in.
    #[arg(long, default_value_t = 8.0)]
    running_secs: f64,
    /// Jobs of the latency probe (created one by one while slots are free).
    #[arg(long, default_value_t = 200)]
    latency_jobs: usize,
    /// Creations a second of the latency probe.
    #[arg(long, default_value_t = 20.0)]
    latency_rate: f64,
    /// Concurrent create calls when creating N at once.
    #[arg(long, default_value_t = 64)]
    create_concurrency: usize,
    /// Jobs of another client started straight in the stand-in and held
    /// IN_PROGRESS for one extra run (0: no such run).
    #[arg(long, default_value_t = 3)]
    foreign_jobs: usize,
    /// N of the run with foreign jobs (0: twice --max-active, so the cap
    /// binds).
    #[arg(long, default_value_t = 0)]
    foreign_n: usize,
    /// ClassificationJobs the write-rate calibration creates in its scratch
    /// namespace and then writes statuses of.
    #[arg(long, default_value_t = 400)]
    calibrate_objects: usize,
    /// Concurrent writers of the calibration: the operator's status writes
    /// in flight (WRITES_IN_FLIGHT in src/kernel/status.rs).
    #[arg(long, default_value_t = 16)]
    calibrate_writers: usize,
    /// Seconds the calibration writes for.
    #[arg(long, default_value_t = 5.0)]
    calibrate_secs: f64,
    /// Hard limit for one run (seconds); the run fails after it.
    #[arg(long, default_value_t = 1200)]
    run_timeout: u64,
    /// Print where the operator's memory is at each steady sample: threads,
    /// open sockets, /proc smaps_rollup, and the allocators' statistics
    /// (jemalloc's totals and glibc's arenas, which C code such as the TLS
    /// library still uses, through gdb, into the operator's log). With an
    /// operator built with `--features heap-profile`, also a jemalloc heap
    /// profile (jeprof.<pid>.*.heap) in TEST_LOG_DIR.
    #[arg(long)]
    diagnose: bool,
    /// Uncompressed bytes of predictions.jsonl for the results-summary row
    /// (0: no such row).
    #[arg(long, default_value_t = 1 << 30)]
    results_bytes: u64,
    /// Run only the results-summary row.
    #[arg(long)]
    results_only: bool,
    /// Write the results into this Markdown file (between the bench markers).
    #[arg(long)]
    output: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = client().await;
    install_crd(&client).await;
    let started = Timestamp::now();
    let load_start = loadavg();
    if args.results_only {
        results_section(&args, started).await;
        return;
    }
    let runs = planned_runs(&args);
    let mut results = Vec::new();
    for &(n, foreign) in &runs {
        let limit = Duration::from_secs(args.run_timeout + 120);
        match tokio::time::timeout(limit, run_one(&args, &client, n, foreign)).await {
            Ok(r) => results.push(r),
            Err(_) => {
                eprintln!("run N = {n} exceeded its hard limit of {limit:?}");
                std::process::exit(1);
            }
        }
        // Written after every N, so a later run that times out loses nothing.
        report(&args, &runs, &results, started, &load_start);
    }
    if args.results_bytes > 0 {
        results_section(&args, started).await;
    }
}

/// Runs the results-summary row and writes its section.
async fn results_section(args: &Args, started: Timestamp) {
    let row = results::results_row(args).await;
    let block = format!(
        "Run {started} (UTC), `make bench BENCH_ARGS=\"{}\"`. Machine: {}; load average now {}.\n\n{}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        report::machine(),
        loadavg(),
        row.table()
    );
    println!("\n{block}");
    if let Some(path) = &args.output {
        report::write_between(path, "bench-results", &block);
    }
}

/// (N, foreign jobs) of every run, in order.
fn planned_runs(args: &Args) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = args.jobs.iter().map(|&n| (n, 0)).collect();
    if args.foreign_jobs > 0 {
        let n = if args.foreign_n > 0 {
            args.foreign_n
        } else {
            2 * args.max_active
        };
        runs.push((n, args.foreign_jobs));
    }
    runs
}
