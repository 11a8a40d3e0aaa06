//! `make bench`: measures the RELEASE operator against the real API server
//! (KUBECONFIG and TEST_ENV_DIR from tests/env/with-env.sh) and the Comprehend
//! stand-in, and prints one table (also written into BENCHMARKS.md between
//! the `bench:begin`/`bench:end` markers when `--output` is given).
//!
//! For each N: a fresh stand-in (with scaled quotas) and namespace, the
//! operator started and ready, N ClassificationJobs created at once, run to
//! the end. Then the operator is killed and started again over the N finished
//! resources (time to ready, AWS calls made), and a latency probe creates jobs
//! one by one while slots are free (create -> Start).
//!
//! Counting: AWS calls from the stand-in's `/_standin/stats`; status writes
//! from the API server's audit log (`patch` on `classificationjobs/status`);
//! distinct status changes from a watch, as the number of different
//! (jobStatus, Succeeded reason, Ready reason) tuples a resource went through.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use common::*;
use comprehend_operator::job::ClassificationJob;
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

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
    /// Hard limit for one run (seconds); the run fails after it.
    #[arg(long, default_value_t = 1200)]
    run_timeout: u64,
    /// Print where the operator's memory is at each steady sample: threads,
    /// open sockets, /proc smaps_rollup, and glibc's per-arena statistics
    /// (malloc_stats through gdb, into the operator's log).
    #[arg(long)]
    diagnose: bool,
    /// Write the results into this Markdown file (between the bench markers).
    #[arg(long)]
    output: Option<PathBuf>,
}

/// What the watch saw of one resource.
#[derive(Default, Clone)]
struct Track {
    tuples: Vec<(String, String, String)>,
    job_id: Option<String>,
    /// Epoch seconds when the watch first saw Succeeded True or False.
    terminal_at: Option<f64>,
    outcome: Option<String>,
}

type Tracks = Arc<Mutex<HashMap<String, Track>>>;

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn parse_time(s: &str) -> Option<f64> {
    s.parse::<Timestamp>()
        .ok()
        .map(|t| t.as_millisecond() as f64 / 1000.0)
}

fn watch(api: Api<ClassificationJob>, tracks: Tracks) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        while let Some(ev) = stream.next().await {
            let obj = match ev {
                Ok(watcher::Event::Apply(o)) | Ok(watcher::Event::InitApply(o)) => o,
                _ => continue,
            };
            let job_status = obj
                .status
                .as_ref()
                .and_then(|s| s.job_status.clone())
                .unwrap_or_default();
            let sc = cond(&obj, "Succeeded");
            let ready = cond(&obj, "Ready").map(|c| c.1).unwrap_or_default();
            let tuple = (
                job_status,
                sc.as_ref().map(|c| c.1.clone()).unwrap_or_default(),
                ready,
            );
            let mut tracks = tracks.lock().unwrap();
            let t = tracks.entry(obj.name_any()).or_default();
            if obj.status.is_some() && !t.tuples.contains(&tuple) {
                t.tuples.push(tuple);
            }
            if let Some(id) = obj.status.as_ref().and_then(|s| s.job_id.clone()) {
                t.job_id = Some(id);
            }
            if let Some((status, reason, _)) = sc {
                if (status == "True" || status == "False") && t.terminal_at.is_none() {
                    t.terminal_at = Some(now_epoch());
                    t.outcome = Some(reason);
                }
            }
        }
    })
}

/// The operator process with its sampler.
struct Op {
    proc: Proc,
    http: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_operator(args: &Args, ns: &str, standin: &Standin, tag: &str) -> Op {
    let http = format!("127.0.0.1:{}", free_port());
    let dir = std::env::var_os("TEST_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let _ = std::fs::create_dir_all(&dir);
    let log = std::fs::File::create(dir.join(format!("bench-operator-{ns}-{tag}.log"))).unwrap();
    let child = Command::new(bin("comprehend-operator"))
        .arg("run")
        .args(["--namespace", ns])
        .args(["--endpoint-url", &standin.endpoint])
        .args(["--region", REGION])
        .args(["--http-addr", &http])
        .args(["--poll-interval", &args.poll_interval.to_string()])
        .args(["--start-rate", &args.start_rate.to_string()])
        .args(["--describe-rate", &args.describe_rate.to_string()])
        .args(["--list-rate", &args.list_rate.to_string()])
        .args(["--max-active-jobs", &args.max_active.to_string()])
        .args(["--max-concurrent-reconciles", &args.concurrency.to_string()])
        .args(["--max-backoff", "5"])
        .env("KUBECONFIG", kubeconfig())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start comprehend-operator");
    Op {
        proc: Proc {
            child,
            name: "operator",
        },
        http,
    }
}

/// GET on a loopback address: (status code, body).
async fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let code = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    Some((code, body))
}

async fn wait_ready(op: &Op, timeout: Duration) -> Option<f64> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some((200, _)) = http_get(&op.http, "/readyz").await {
            return Some(start.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Sum of comprehend_operator_aws_calls_total, per outcome.
async fn operator_calls(op: &Op) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Some((_, body)) = http_get(&op.http, "/metrics").await else {
        return out;
    };
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("comprehend_operator_aws_calls_total{") {
            let outcome = rest
                .split("outcome=\"")
                .nth(1)
                .and_then(|x| x.split('"').next())
                .unwrap_or("?")
                .to_string();
            let v: f64 = rest
                .rsplit(' ')
                .next()
                .and_then(|x| x.parse().ok())
                .unwrap_or(0.0);
            *out.entry(outcome).or_default() += v;
        }
    }
    out
}

/// (VmRSS, VmHWM) in MiB, and CPU seconds (utime + stime).
fn proc_sample(pid: u32, clk_tck: f64) -> Option<(f64, f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After "(comm) ": state is field 3, utime field 14, stime field 15.
    let cpu = (f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / clk_tck;
    Some((kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0, cpu))
}

/// Where the memory of process `pid` is (see `--diagnose`).
fn diagnose(pid: u32, when: &str) {
    let count = |dir: &str, pred: &dyn Fn(&str) -> bool| {
        std::fs::read_dir(format!("/proc/{pid}/{dir}")).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .map(|l| pred(&l.to_string_lossy()))
                        .unwrap_or(true)
                })
                .count()
        })
    };
    let threads = count("task", &|_| true);
    let sockets = count("fd", &|l| l.starts_with("socket:"));
    // Sockets by remote port (which peer holds the connections).
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().to_string();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut by_peer: BTreeMap<u32, usize> = BTreeMap::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && inodes.contains(f[9]) {
                let port = f[2]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u32::from_str_radix(p, 16).ok())
                    .unwrap_or(0);
                *by_peer.entry(port).or_default() += 1;
            }
        }
    }
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    eprintln!(
        "--- diagnose {when}: pid {pid}, {threads} threads, {sockets} sockets; \
         by remote port: {by_peer:?}\n{rollup}"
    );
    let gdb = Command::new("gdb")
        .args([
            "-batch",
            "-p",
            &pid.to_string(),
            "-ex",
            "call (void) malloc_stats()",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    eprintln!("--- malloc_stats (gdb: {gdb:?}) went to the operator's log");
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Calls per operation in the stand-in: (calls, ok, throttled, errors).
fn op_counts(stats: &serde_json::Value) -> BTreeMap<String, [f64; 4]> {
    let mut out = BTreeMap::new();
    if let Some(ops) = stats["operations"].as_object() {
        for (name, v) in ops {
            let g = |k: &str| v[k].as_f64().unwrap_or(0.0);
            out.insert(
                name.clone(),
                [g("calls"), g("ok"), g("throttled"), g("errors")],
            );
        }
    }
    out
}

const START: &str = "StartDocumentClassificationJob";
const DESCRIBE: &str = "DescribeDocumentClassificationJob";
const LIST: &str = "ListDocumentClassificationJobs";

/// Writes per resource name from the audit log, from byte `offset` on:
/// (status patches per name, event writes in the namespace).
fn audit_writes(ns: &str, offset: u64) -> (HashMap<String, u32>, u64, u64) {
    let mut per_name = HashMap::new();
    let (mut events, mut other) = (0, 0);
    for v in audit_entries(ns, offset) {
        let r = &v["objectRef"];
        if v["stage"] != "ResponseComplete" {
            continue;
        }
        let verb = v["verb"].as_str().unwrap_or("");
        match (r["resource"].as_str(), r["subresource"].as_str()) {
            (Some("classificationjobs"), Some("status")) => {
                if verb == "patch" || verb == "update" {
                    *per_name
                        .entry(r["name"].as_str().unwrap_or("").to_string())
                        .or_insert(0) += 1;
                }
            }
            (Some("events"), _) => events += 1,
            (Some("classificationjobs"), None) if verb == "create" => {}
            _ => other += 1,
        }
    }
    (per_name, events, other)
}

/// The API server's audit entries about namespace `ns`, from byte `offset`
/// of its audit log on (none without a log).
fn audit_entries(ns: &str, offset: u64) -> impl Iterator<Item = serde_json::Value> + '_ {
    let file = std::env::var_os("TEST_ENV_DIR")
        .and_then(|dir| std::fs::File::open(PathBuf::from(dir).join("audit.log")).ok())
        .map(|mut f| {
            let _ = f.seek(SeekFrom::Start(offset));
            f
        });
    file.into_iter()
        .flat_map(|f| std::io::BufReader::new(f).lines().map_while(Result::ok))
        .filter(move |line| line.contains(ns))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
        .filter(move |v| v["objectRef"]["namespace"] == ns)
}

/// When the API server received and finished a request (epoch seconds).
#[derive(Clone, Copy, Default)]
struct Span {
    received: f64,
    done: f64,
}

/// Per resource of `ns`, from the audit log after `offset`: its create and
/// its first status write.
fn audit_first_writes(ns: &str, offset: u64) -> HashMap<String, (Option<Span>, Option<Span>)> {
    let mut out: HashMap<String, (Option<Span>, Option<Span>)> = HashMap::new();
    for v in audit_entries(ns, offset) {
        let r = &v["objectRef"];
        if r["resource"] != "classificationjobs" {
            continue;
        }
        let (Some(received), Some(done)) = (
            v["requestReceivedTimestamp"].as_str().and_then(parse_time),
            v["stageTimestamp"].as_str().and_then(parse_time),
        ) else {
            continue;
        };
        let span = Some(Span { received, done });
        let entry = out
            .entry(r["name"].as_str().unwrap_or("").to_string())
            .or_default();
        match (v["verb"].as_str(), r["subresource"].as_str()) {
            (Some("create"), None) => entry.0 = span,
            (Some("patch" | "update"), Some("status")) if entry.1.is_none() => entry.1 = span,
            _ => {}
        }
    }
    out
}

fn audit_len() -> u64 {
    std::env::var_os("TEST_ENV_DIR")
        .and_then(|d| std::fs::metadata(PathBuf::from(d).join("audit.log")).ok())
        .map_or(0, |m| m.len())
}

/// The quota-limited minimum makespan: jobs of `dur` seconds, each started no
/// earlier than its resource was created (`arrivals`, seconds after the first
/// create, ascending) and as early as a token bucket of `rate`/s (full at 0,
/// one second's worth) and `cap` active jobs allow.
fn min_makespan(arrivals: &[f64], rate: f64, cap: usize, dur: f64) -> f64 {
    let bucket = rate.max(1.0);
    let (mut tokens, mut last) = (bucket, 0.0f64);
    let mut starts: Vec<f64> = Vec::with_capacity(arrivals.len());
    for (k, &arrival) in arrivals.iter().enumerate() {
        let mut t = if k >= cap { starts[k - cap] + dur } else { 0.0 };
        t = t.max(last).max(arrival);
        let avail = (tokens + (t - last) * rate).min(bucket);
        if avail >= 1.0 {
            tokens = avail - 1.0;
        } else {
            t += (1.0 - avail) / rate;
            tokens = 0.0;
        }
        last = t;
        starts.push(t);
    }
    starts.last().map_or(0.0, |s| s + dur)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The results of one N.
#[derive(Default)]
struct RunResult {
    n: usize,
    create_secs: f64,
    starts_ok: f64,
    starts_calls: f64,
    describes: f64,
    describe_min: f64,
    lists: f64,
    writes: f64,
    distinct: f64,
    writes_over: usize,
    writes_max_excess: i64,
    makespan: f64,
    makespan_min: f64,
    mean_duration: f64,
    failed: usize,
    unfinished: usize,
    throttled_standin: f64,
    throttled_operator: f64,
    max_active_seen: f64,
    events: u64,
    rss_peak_run: f64,
    rss_steady_run: f64,
    cpu_run: f64,
    restart_ready: f64,
    restart_calls_standin: f64,
    restart_calls_operator: f64,
    rss_peak_restart: f64,
    rss_steady_restart: f64,
    lat_p50: f64,
    lat_p99: f64,
    lat_max: f64,
    lat_n: usize,
    /// p50 and p99 of the steps of create -> Start: the create call; the
    /// watch, the queue and the List call until the first status write
    /// arrives; that write; the Start call.
    lat_steps: [(f64, f64); 4],
    load_before: String,
    load_after: String,
}

async fn wait_terminal(tracks: &Tracks, names: &[String], deadline: Instant) -> bool {
    loop {
        let done = {
            let t = tracks.lock().unwrap();
            names
                .iter()
                .filter(|n| t.get(*n).is_some_and(|x| x.terminal_at.is_some()))
                .count()
        };
        if done == names.len() {
            return true;
        }
        if Instant::now() > deadline {
            eprintln!("    timed out: {done}/{} finished", names.len());
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn run_one(args: &Args, client: &Client, n: usize) -> RunResult {
    let deadline = Instant::now() + Duration::from_secs(args.run_timeout);
    let tck = clk_tck();
    let mut r = RunResult {
        n,
        load_before: loadavg(),
        ..RunResult::default()
    };
    eprintln!("==> N = {n}: stand-in, classifier, namespace, operator");
    let standin = Standin::start(&[
        "--start-tps",
        &args.start_rate.to_string(),
        "--describe-tps",
        &args.describe_quota.to_string(),
        "--list-tps",
        &args.list_quota.to_string(),
        "--max-active-jobs",
        &args.max_active.to_string(),
        "--job-queued-secs",
        &args.queued_secs.to_string(),
        "--job-running-secs",
        &args.running_secs.to_string(),
        "--training-secs",
        "1",
    ]);
    eprintln!("    stand-in at {}", standin.endpoint);
    standin.upload_documents("news").await;
    let arn = standin.trained_classifier("bench").await;
    let ns = namespace(client, &format!("bench-{n}")).await;
    let api: Api<ClassificationJob> = Api::namespaced(client.clone(), &ns);
    let tracks: Tracks = Arc::default();
    let watcher_task = watch(api.clone(), tracks.clone());

    let op = start_operator(args, &ns, &standin, "run");
    wait_ready(&op, Duration::from_secs(60))
        .await
        .expect("operator ready");
    let pid = op.proc.pid();
    // Sample the footprint while the run goes.
    let peak = Arc::new(Mutex::new(0.0f64));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some((rss, hwm, _)) = proc_sample(pid, tck) {
                    let mut p = peak.lock().unwrap();
                    *p = p.max(rss).max(hwm);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let audit_offset = audit_len();

    eprintln!("==> N = {n}: creating {n} ClassificationJobs at once");
    let names: Vec<String> = (0..n).map(|i| format!("job-{i:05}")).collect();
    let t0 = now_epoch();
    let created = Instant::now();
    let mut arrivals: Vec<f64> = futures::stream::iter(names.iter().cloned())
        .map(|name| {
            let api = api.clone();
            let arn = arn.clone();
            async move {
                create_job(&api, job_manifest(&name, &arn, "news")).await;
                now_epoch() - t0
            }
        })
        .buffer_unordered(args.create_concurrency)
        .collect()
        .await;
    arrivals.sort_by(f64::total_cmp);
    r.create_secs = created.elapsed().as_secs_f64();
    eprintln!("    created in {:.1} s; waiting for the end", r.create_secs);
    let all_done = wait_terminal(&tracks, &names, deadline).await;
    let cpu_end = proc_sample(pid, tck).map_or(0.0, |s| s.2);
    r.cpu_run = cpu_end;
    // Steady state: nothing left to do, and one housekeeping pass (10 s)
    // has run since.
    tokio::time::sleep(Duration::from_secs(12)).await;
    if let Some((rss, _, _)) = proc_sample(pid, tck) {
        r.rss_steady_run = rss;
    }
    if args.diagnose {
        diagnose(pid, "after the run");
    }
    sampler.abort();
    r.rss_peak_run = *peak.lock().unwrap();

    let stats = standin.stats().await;
    let ops = op_counts(&stats);
    let get = |op: &str, i: usize| ops.get(op).map_or(0.0, |c| c[i]);
    r.starts_ok = get(START, 1) / n as f64;
    r.starts_calls = get(START, 0) / n as f64;
    r.describes = get(DESCRIBE, 0) / n as f64;
    r.lists = get(LIST, 0) / n as f64;
    r.throttled_standin = ops.values().map(|c| c[2]).sum();
    r.throttled_operator = operator_calls(&op)
        .await
        .get("throttled")
        .copied()
        .unwrap_or(0.0);
    r.max_active_seen = stats["maxActiveJobsSeen"].as_f64().unwrap_or(0.0);
    let mut durations = Vec::new();
    let mut describe_min = 0.0;
    for j in stats["jobs"].as_array().cloned().unwrap_or_default() {
        let (Some(s), Some(e)) = (
            j["submitTime"].as_str().and_then(parse_time),
            j["endTime"].as_str().and_then(parse_time),
        ) else {
            continue;
        };
        let d = e - s;
        durations.push(d);
        describe_min += (d / args.poll_interval).ceil() + 1.0;
    }
    r.mean_duration = durations.iter().sum::<f64>() / durations.len().max(1) as f64;
    r.describe_min = describe_min / durations.len().max(1) as f64;

    let snapshot: HashMap<String, Track> = tracks.lock().unwrap().clone();
    let last_end = names
        .iter()
        .filter_map(|n| snapshot.get(n).and_then(|t| t.terminal_at))
        .fold(t0, f64::max);
    r.makespan = last_end - t0;
    r.makespan_min = min_makespan(&arrivals, args.start_rate, args.max_active, r.mean_duration);
    r.failed = names
        .iter()
        .filter(|n| {
            snapshot
                .get(*n)
                .and_then(|t| t.outcome.as_deref())
                .is_some_and(|o| o != "Completed")
        })
        .count();
    r.unfinished = if all_done {
        0
    } else {
        names
            .iter()
            .filter(|n| snapshot.get(*n).is_none_or(|t| t.terminal_at.is_none()))
            .count()
    };

    // Status writes from the audit log (give the log a moment to flush).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (per_name, events, _) = audit_writes(&ns, audit_offset);
    let (mut w, mut d) = (0u64, 0u64);
    for name in &names {
        let writes = per_name.get(name).copied().unwrap_or(0) as i64;
        let distinct = snapshot.get(name).map_or(0, |t| t.tuples.len()) as i64;
        w += writes as u64;
        d += distinct as u64;
        if writes > distinct + 1 {
            r.writes_over += 1;
        }
        r.writes_max_excess = r.writes_max_excess.max(writes - distinct);
    }
    r.writes = w as f64 / n as f64;
    r.distinct = d as f64 / n as f64;
    r.events = events;

    eprintln!("==> N = {n}: restarting the operator over {n} finished resources");
    let before = op_counts(&standin.stats().await);
    drop(op);
    let op = start_operator(args, &ns, &standin, "restart");
    let pid = op.proc.pid();
    r.restart_ready = wait_ready(&op, Duration::from_secs(120))
        .await
        .unwrap_or(f64::NAN);
    tokio::time::sleep(Duration::from_secs_f64((3.0 * args.poll_interval).max(3.0))).await;
    let after = op_counts(&standin.stats().await);
    r.restart_calls_standin = after
        .iter()
        .map(|(k, c)| c[0] - before.get(k).map_or(0.0, |b| b[0]))
        .sum();
    r.restart_calls_operator = operator_calls(&op).await.values().sum::<f64>() + 0.0;
    if let Some((_, hwm, _)) = proc_sample(pid, tck) {
        r.rss_peak_restart = hwm;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    if let Some((rss, _, _)) = proc_sample(pid, tck) {
        r.rss_steady_restart = rss;
    }
    if args.diagnose {
        diagnose(pid, "after the restart");
    }

    eprintln!(
        "==> N = {n}: latency probe, {} jobs at {}/s with free slots",
        args.latency_jobs, args.latency_rate
    );
    let probe_audit_offset = audit_len();
    let mut sent: Vec<(String, f64)> = Vec::new();
    let gap = Duration::from_secs_f64(1.0 / args.latency_rate.max(0.1));
    for i in 0..args.latency_jobs {
        let name = format!("probe-{i:04}");
        sent.push((name.clone(), now_epoch()));
        create_job(&api, job_manifest(&name, &arn, "news")).await;
        tokio::time::sleep(gap).await;
    }
    let probe_names: Vec<String> = sent.iter().map(|x| x.0.clone()).collect();
    wait_terminal(&tracks, &probe_names, deadline).await;
    let stats = standin.stats().await;
    let submit: HashMap<String, f64> = stats["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|j| {
            Some((
                j["jobId"].as_str()?.to_string(),
                parse_time(j["submitTime"].as_str()?)?,
            ))
        })
        .collect();
    let snapshot = tracks.lock().unwrap().clone();
    let mut lat: Vec<f64> = sent
        .iter()
        .filter_map(|(name, at)| {
            let id = snapshot.get(name)?.job_id.clone()?;
            Some(submit.get(&id)? - at)
        })
        .collect();
    // Where the time goes, step by step (API server times from its audit log).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let audit = audit_first_writes(&ns, probe_audit_offset);
    let mut steps: [Vec<f64>; 4] = Default::default();
    for (name, at) in &sent {
        let (Some((Some(create), Some(first))), Some(submitted)) = (
            audit.get(name),
            snapshot
                .get(name)
                .and_then(|t| t.job_id.as_ref())
                .and_then(|id| submit.get(id)),
        ) else {
            continue;
        };
        steps[0].push(create.done - at);
        steps[1].push(first.received - create.done);
        steps[2].push(first.done - first.received);
        steps[3].push(submitted - first.done);
    }
    for (i, step) in steps.iter_mut().enumerate() {
        step.sort_by(f64::total_cmp);
        r.lat_steps[i] = (percentile(step, 50.0), percentile(step, 99.0));
    }
    lat.sort_by(f64::total_cmp);
    r.lat_n = lat.len();
    r.lat_p50 = percentile(&lat, 50.0);
    r.lat_p99 = percentile(&lat, 99.0);
    r.lat_max = lat.last().copied().unwrap_or(f64::NAN);
    r.load_after = loadavg();

    watcher_task.abort();
    drop(op);
    drop(standin);
    // The namespace and its objects go, so the next run starts clean.
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let _ = nss.delete(&ns, &Default::default()).await;
    r
}

fn ok(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**no**"
    }
}

fn table(rs: &[RunResult]) -> String {
    let mut head = String::from("| measure |");
    let mut sep = String::from("|---|");
    for r in rs {
        head += &format!(" N = {} | met? |", r.n);
        sep += "---:|:---:|";
    }
    head += " target |\n";
    sep += "---|\n";
    let mut out = head + &sep;
    type Row<'a> = (
        &'a str,
        Box<dyn Fn(&RunResult) -> (String, String)>,
        &'a str,
    );
    let rows: Vec<Row> = vec![
        (
            "create N at once (s, context)",
            Box::new(|r| (format!("{:.1}", r.create_secs), "-".into())),
            "-",
        ),
        (
            "Start calls per job: ok (all answers)",
            Box::new(|r| {
                (
                    format!("{:.3} ({:.3})", r.starts_ok, r.starts_calls),
                    ok((r.starts_ok - 1.0).abs() < 1e-9 && (r.starts_calls - 1.0).abs() < 1e-9)
                        .into(),
                )
            }),
            "exactly 1",
        ),
        (
            "Describe calls per job / minimum ceil(D/P)+1",
            Box::new(|r| {
                (
                    format!("{:.2} / {:.2}", r.describes, r.describe_min),
                    ok(r.describes <= r.describe_min + 1.0).into(),
                )
            }),
            "<= minimum + 1",
        ),
        (
            "List calls per job",
            Box::new(|r| (format!("{:.3}", r.lists), "-".into())),
            "(1 before each Start)",
        ),
        (
            "status writes per job / distinct status changes",
            Box::new(|r| {
                (
                    format!("{:.2} / {:.2}", r.writes, r.distinct),
                    ok(r.writes_over == 0).into(),
                )
            }),
            "<= distinct + 1",
        ),
        (
            "jobs over distinct + 1 (worst excess)",
            Box::new(|r| {
                (
                    format!("{} ({:+})", r.writes_over, r.writes_max_excess),
                    ok(r.writes_over == 0).into(),
                )
            }),
            "0",
        ),
        (
            "events written per job",
            Box::new(|r| (format!("{:.2}", r.events as f64 / r.n as f64), "-".into())),
            "-",
        ),
        (
            "makespan s / quota-limited minimum s",
            Box::new(|r| {
                (
                    format!("{:.1} / {:.1}", r.makespan, r.makespan_min),
                    "".into(),
                )
            }),
            "-",
        ),
        (
            "makespan ratio",
            Box::new(|r| {
                let x = r.makespan / r.makespan_min;
                (format!("{x:.3}"), ok(x <= 1.05).into())
            }),
            "<= 1.05",
        ),
        (
            "failed / unfinished jobs",
            Box::new(|r| {
                (
                    format!("{} / {}", r.failed, r.unfinished),
                    ok(r.failed == 0 && r.unfinished == 0).into(),
                )
            }),
            "0 / 0",
        ),
        (
            "TooManyRequestsException (stand-in / operator saw)",
            Box::new(|r| {
                (
                    format!("{} / {}", r.throttled_standin, r.throttled_operator),
                    ok(r.throttled_standin == 0.0).into(),
                )
            }),
            "0",
        ),
        (
            "max active jobs seen (cap)",
            Box::new(|r| (format!("{}", r.max_active_seen), "-".into())),
            "<= cap",
        ),
        (
            "create -> Start p50 / p99 / max s (free slot)",
            Box::new(|r| {
                (
                    format!(
                        "{:.3} / {:.3} / {:.3} (n={})",
                        r.lat_p50, r.lat_p99, r.lat_max, r.lat_n
                    ),
                    ok(r.lat_p99 <= 1.0).into(),
                )
            }),
            "p99 <= 1 s",
        ),
        (
            "  steps p50 / p99 s: create call; watch, queue and List until the first status write; that write; Start",
            Box::new(|r| {
                let [a, b, c, d] = r.lat_steps;
                (
                    format!(
                        "{:.3}/{:.3}; {:.3}/{:.3}; {:.3}/{:.3}; {:.3}/{:.3}",
                        a.0, a.1, b.0, b.1, c.0, c.1, d.0, d.1
                    ),
                    "-".into(),
                )
            }),
            "-",
        ),
        (
            "RSS steady, N resources, after run / after restart MiB",
            Box::new(|r| {
                (
                    format!("{:.1} / {:.1}", r.rss_steady_run, r.rss_steady_restart),
                    ok(r.rss_steady_run.max(r.rss_steady_restart) <= 64.0).into(),
                )
            }),
            "<= 64 MiB",
        ),
        (
            "RSS peak during initial list (restart) MiB",
            Box::new(|r| (format!("{:.1}", r.rss_peak_restart), "-".into())),
            "-",
        ),
        (
            "RSS peak during run MiB",
            Box::new(|r| (format!("{:.1}", r.rss_peak_run), "-".into())),
            "-",
        ),
        (
            "operator CPU s over the run",
            Box::new(|r| (format!("{:.1}", r.cpu_run), "-".into())),
            "-",
        ),
        (
            "restart: start to ready s",
            Box::new(|r| (format!("{:.2}", r.restart_ready), "-".into())),
            "-",
        ),
        (
            "restart: AWS calls (stand-in / operator metrics)",
            Box::new(|r| {
                (
                    format!("{} / {}", r.restart_calls_standin, r.restart_calls_operator),
                    ok(r.restart_calls_standin == 0.0).into(),
                )
            }),
            "0",
        ),
        (
            "load average before / after",
            Box::new(|r| (format!("{} / {}", r.load_before, r.load_after), "-".into())),
            "-",
        ),
    ];
    for (name, f, target) in rows {
        out += &format!("| {name} |");
        for r in rs {
            let (v, m) = f(r);
            out += &format!(" {v} | {m} |");
        }
        out += &format!(" {target} |\n");
    }
    out
}

fn machine() -> String {
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or("?".into(), |kib| format!("{:.1} GiB", kib / 1048576.0));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|x| x.1.trim().to_string())
        })
        .unwrap_or_default();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("nproc {nproc} ({cpu}), memory {mem}")
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = client().await;
    install_crd(&client).await;
    let started = Timestamp::now();
    let load_start = loadavg();
    let mut results = Vec::new();
    for &n in &args.jobs {
        let limit = Duration::from_secs(args.run_timeout + 120);
        match tokio::time::timeout(limit, run_one(&args, &client, n)).await {
            Ok(r) => results.push(r),
            Err(_) => {
                eprintln!("run N = {n} exceeded its hard limit of {limit:?}");
                std::process::exit(1);
            }
        }
        // Written after every N, so a later run that times out loses nothing.
        report(&args, &results, started, &load_start);
    }
}

/// Prints the table and writes it into `--output` between the markers.
fn report(args: &Args, results: &[RunResult], started: Timestamp, load_start: &str) {
    let cmdline: Vec<String> = std::env::args().skip(1).collect();
    let t = table(results);
    let done: Vec<String> = results.iter().map(|r| r.n.to_string()).collect();
    let pending: Vec<String> = args
        .jobs
        .iter()
        .skip(results.len())
        .map(|n| n.to_string())
        .collect();
    let progress = if pending.is_empty() {
        String::new()
    } else {
        format!(
            "**Partial: N = {} done, N = {} still running or not finished.**\n\n",
            done.join(", "),
            pending.join(", ")
        )
    };
    let block = format!(
        "{progress}Run {started} (UTC), `make bench BENCH_ARGS=\"{}\"`.\n\n\
         Machine: {}; load average at start {load_start}, now {}.\n\n\
         Scaling: Start quota {}/s, active-job cap {}, Describe quota {}/s (operator {}/s), \
         List quota {}/s (operator {}/s), jobs {} s SUBMITTED + {} s IN_PROGRESS, \
         poll interval {} s (±10% jitter), {} concurrent reconciles; latency probe {} jobs at {}/s.\n\n{t}",
        cmdline.join(" "),
        machine(),
        loadavg(),
        args.start_rate,
        args.max_active,
        args.describe_quota,
        args.describe_rate,
        args.list_quota,
        args.list_rate,
        args.queued_secs,
        args.running_secs,
        args.poll_interval,
        args.concurrency,
        args.latency_jobs,
        args.latency_rate,
    );
    println!("\n{block}");
    if let Some(path) = &args.output {
        let begin = "<!-- bench:begin -->";
        let end = "<!-- bench:end -->";
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let new = match (old.find(begin), old.find(end)) {
            (Some(b), Some(e)) if b < e => {
                format!("{}{begin}\n{block}{}", &old[..b], &old[e..])
            }
            _ => format!("{old}\n{begin}\n{block}{end}\n"),
        };
        std::fs::write(path, new).expect("write the results");
        eprintln!("results written to {}", path.display());
    }
}
