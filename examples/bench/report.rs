//! The results table, the machine it ran on, and BENCHMARKS.md.

use k8s_openapi::jiff::Timestamp;

use crate::run::{loadavg, RunResult};
use crate::Args;

pub fn ok(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**no**"
    }
}

pub fn table(rs: &[RunResult]) -> String {
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

pub fn machine() -> String {
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

/// Prints the table and writes it into `--output` between the markers.
pub fn report(args: &Args, results: &[RunResult], started: Timestamp, load_start: &str) {
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
