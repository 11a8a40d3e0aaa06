//! The operator process under measurement: started with the benchmark's
//! rates, its readiness, metrics, memory and CPU read from outside.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use comprehend_testkit::{bin, kubeconfig, Proc, Standin, REGION};

use crate::Args;

/// The operator process with its sampler.
pub struct Op {
    pub proc: Proc,
    pub http: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_operator(args: &Args, ns: &str, standin: &Standin, tag: &str) -> Op {
    start_operator_with(args, ns, standin, tag, &[])
}

/// [`start_operator`] with `extra` flags.
pub fn start_operator_with(
    args: &Args,
    ns: &str,
    standin: &Standin,
    tag: &str,
    extra: &[&str],
) -> Op {
    let http = format!("127.0.0.1:{}", free_port());
    let dir = std::env::var_os("TEST_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let _ = std::fs::create_dir_all(&dir);
    let log = std::fs::File::create(dir.join(format!("bench-operator-{ns}-{tag}.log"))).unwrap();
    let child = Command::new(bin("comprehend-operator"))
        // Heap profiles (`--diagnose` with a heap-profile build) land here.
        .current_dir(&dir)
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
        .args(extra)
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
pub async fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
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

pub async fn wait_ready(op: &Op, timeout: Duration) -> Option<f64> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some((200, _)) = http_get(&op.http, "/readyz").await {
            return Some(start.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// The value of label `key` in a metric line's labels (`k="v",...`).
fn label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    labels.split(&format!("{key}=\"")).nth(1)?.split('"').next()
}

/// Sum of comprehend_operator_aws_calls_total, per outcome.
pub async fn operator_calls(op: &Op) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Some((_, body)) = http_get(&op.http, "/metrics").await else {
        return out;
    };
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("comprehend_operator_aws_calls_total{") {
            let outcome = label(rest, "outcome").unwrap_or("?").to_string();
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

/// The operator's status-write delay by lane, from its
/// `comprehend_operator_status_write_delay_seconds` histogram.
#[derive(Clone, Debug, Default)]
pub struct WriteDelay {
    pub count: f64,
    pub sum: f64,
    /// (upper bound s, cumulative count), in the order served (ascending).
    pub buckets: Vec<(f64, f64)>,
}

impl WriteDelay {
    pub fn mean(&self) -> f64 {
        if self.count > 0.0 {
            self.sum / self.count
        } else {
            f64::NAN
        }
    }

    /// The upper bound of the bucket that holds the `p`-th percentile.
    pub fn percentile_bound(&self, p: f64) -> f64 {
        let want = self.count * p / 100.0;
        self.buckets
            .iter()
            .find(|(_, cum)| *cum >= want)
            .map_or(f64::INFINITY, |(le, _)| *le)
    }
}

/// The operator's status-write delays, by lane.
pub async fn write_delays(op: &Op) -> BTreeMap<String, WriteDelay> {
    const NAME: &str = "comprehend_operator_status_write_delay_seconds_";
    let mut out: BTreeMap<String, WriteDelay> = BTreeMap::new();
    let Some((_, body)) = http_get(&op.http, "/metrics").await else {
        return out;
    };
    for line in body.lines() {
        let Some(rest) = line.strip_prefix(NAME) else {
            continue;
        };
        let (Some((kind, rest)), Some(value)) = (
            rest.split_once('{'),
            line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()),
        ) else {
            continue;
        };
        let Some(lane) = label(rest, "lane") else {
            continue;
        };
        let entry = out.entry(lane.to_string()).or_default();
        match kind {
            "count" => entry.count = value,
            "sum" => entry.sum = value,
            "bucket" => {
                let le = label(rest, "le")
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(f64::INFINITY);
                entry.buckets.push((le, value));
            }
            _ => {}
        }
    }
    out
}

/// One reading of a process from /proc.
pub struct Sample {
    /// VmRSS, MiB.
    pub rss: f64,
    /// VmHWM (peak RSS), MiB.
    pub hwm: f64,
    /// RssFile, MiB: the file-backed part of the RSS, mostly the binary's
    /// own code paged in.
    pub rss_file: f64,
    /// CPU seconds (utime + stime).
    pub cpu: f64,
}

pub fn proc_sample(pid: u32, clk_tck: f64) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mib = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After "(comm) ": state is field 3, utime field 14, stime field 15.
    let cpu = (f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / clk_tck;
    Some(Sample {
        rss: mib("VmRSS:"),
        hwm: mib("VmHWM:"),
        rss_file: mib("RssFile:"),
        cpu,
    })
}

/// Where the memory of process `pid` is (see `--diagnose`).
pub fn diagnose(pid: u32, when: &str) {
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
            // jemalloc's totals only (no merged, destroyed or per-arena
            // tables, no bins, large classes, mutexes or extents).
            "call (void) _rjem_malloc_stats_print(0, 0, \"mdablxe\")",
            "-ex",
            "call (void) malloc_stats()",
            "-ex",
            // A heap profile, jeprof.<pid>.*.heap in the log directory, when
            // the operator is built with `--features heap-profile` (without
            // it, jemalloc answers ENOENT and writes nothing).
            "call (int) _rjem_mallctl(\"prof.dump\", 0, 0, 0, 0)",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    eprintln!("--- allocator statistics (gdb: {gdb:?}) went to the operator's log");
}

pub fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_delay_percentile_is_the_bound_of_the_bucket_holding_it() {
        let d = WriteDelay {
            count: 10.0,
            sum: 0.2,
            buckets: vec![
                (0.005, 1.0),
                (0.01, 5.0),
                (0.02, 10.0),
                (f64::INFINITY, 10.0),
            ],
        };
        assert_eq!(d.mean(), 0.02);
        assert_eq!(d.percentile_bound(50.0), 0.01);
        assert_eq!(d.percentile_bound(99.0), 0.02);
        assert!(WriteDelay::default().mean().is_nan());
    }
}
