//! The results table, the machine it ran on, and BENCHMARKS.md.

use k8s_openapi::jiff::Timestamp;

use crate::run::{loadavg, percentile, RunResult};
use crate::Args;

pub fn ok(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**no**"
    }
}

/// The targets that apply at this size only (memory, restart).
pub const LARGE_N: usize = 10_000;

/// "yes"/"no" where a target applies to this run, "-" where it does not.
fn ok_if(applies: bool, b: bool) -> String {
    if applies {
        ok(b).into()
    } else {
        "-".into()
    }
}

/// Whether the active-job cap binds: more jobs than slots available to the
/// operator.
fn cap_binds(r: &RunResult) -> bool {
    r.n > r.cap.saturating_sub(r.foreign)
}

/// The operator's most active jobs at once is within 5% of the cap
/// available to it (and not over it).
fn cap_used(r: &RunResult) -> bool {
    let cap = r.cap.saturating_sub(r.foreign) as f64;
    let most = r.op_max_active as f64;
    most <= cap && most >= 0.95 * cap
}

/// The larger of the quota- and machine-limited minima.
fn larger_minimum(r: &RunResult) -> f64 {
    r.makespan_min.max(r.makespan_machine)
}

fn makespan_met(r: &RunResult) -> bool {
    // Without a calibrated rate there is no machine-limited minimum to
    // compare with.
    r.makespan_machine.is_finite()
        && r.makespan / larger_minimum(r) <= 1.15
        && r.failed == 0
        && r.unfinished == 0
        && r.throttled_standin == 0.0
}

pub fn table(rs: &[RunResult]) -> String {
    let mut head = String::from("| measure |");
    let mut sep = String::from("|---|");
    for r in rs {
        if r.foreign > 0 {
            head += &format!(" N = {}, {} foreign | met? |", r.n, r.foreign);
        } else {
            head += &format!(" N = {} | met? |", r.n);
        }
        sep += "---:|:---:|";
    }
    head += " target |\n";
    sep += "---|\n";
    let mut out = head + &sep;
    /// A row: name, value and met? of one run, target, and whether the run
    /// with foreign jobs measures it (it has no restart and no probe).
    type Row<'a> = (
        &'a str,
        Box<dyn Fn(&RunResult) -> (String, String)>,
        &'a str,
        bool,
    );
    let rows: Vec<Row> = vec![
        (
            "create N at once (s, context)",
            Box::new(|r| (format!("{:.1}", r.create_secs), "-".into())),
            "-",
            true,
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
            true,
        ),
        (
            "Describe calls per job (one per job per poll would be ceil(D/P)+1)",
            Box::new(|r| {
                (
                    format!("{:.2} ({:.2})", r.describes, r.describe_min),
                    ok(r.describes <= 1.5).into(),
                )
            }),
            "<= 1.5",
            true,
        ),
        (
            "List calls per job / per poll tick (ticks = makespan / P)",
            Box::new(|r| {
                (
                    format!(
                        "{:.3} / {:.2} ({:.0} ticks)",
                        r.lists,
                        r.lists * r.n as f64 / r.ticks,
                        r.ticks
                    ),
                    "-".into(),
                )
            }),
            "reported, per tick and per job",
            true,
        ),
        (
            "API-server writes per job (status patches + events, the create excluded)",
            Box::new(|r| {
                let x = r.api_writes as f64 / r.n as f64;
                (format!("{x:.2}"), ok(x <= 4.0).into())
            }),
            "<= 4",
            true,
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
            true,
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
            true,
        ),
        (
            "events written per job",
            Box::new(|r| (format!("{:.2}", r.events as f64 / r.n as f64), "-".into())),
            "-",
            true,
        ),
        (
            "API-server write rate calibrated before the run, writes/s (status patches + events in s, writers; failed writes)",
            Box::new(|r| {
                let c = &r.calibration;
                (
                    format!(
                        "{:.0} ({} + {} in {:.1} s, {}; {})",
                        c.rate, c.patches, c.events, c.secs, c.writers, c.errors
                    ),
                    "-".into(),
                )
            }),
            "-",
            true,
        ),
        (
            "quota-limited minimum s (Start rate, cap, ends seen at the next poll tick)",
            Box::new(|r| (format!("{:.1}", r.makespan_min), "-".into())),
            "-",
            true,
        ),
        (
            "machine-limited minimum s (the run's API-server writes / calibrated rate)",
            Box::new(|r| {
                (
                    format!(
                        "{:.1} ({} writes)",
                        r.makespan_machine, r.api_writes
                    ),
                    "-".into(),
                )
            }),
            "-",
            true,
        ),
        (
            "makespan s (ratio to the larger minimum)",
            Box::new(|r| {
                (
                    format!("{:.1} ({:.3})", r.makespan, r.makespan / larger_minimum(r)),
                    ok(makespan_met(r)).into(),
                )
            }),
            "<= 1.15 x the larger of the two minima, with 0 failed jobs and 0 TooManyRequestsException",
            true,
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
            true,
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
            true,
        ),
        (
            "max active jobs: the operator's (all in the stand-in) / cap available to it",
            Box::new(|r| {
                (
                    format!(
                        "{} ({}) / {}",
                        r.op_max_active,
                        r.max_active_seen,
                        r.cap.saturating_sub(r.foreign)
                    ),
                    ok_if(cap_binds(r), cap_used(r)),
                )
            }),
            "within 5% of the cap once the cap binds (N > cap)",
            true,
        ),
        (
            "foreign jobs: held IN_PROGRESS / the operator's max active / TooManyRequestsException",
            Box::new(|r| {
                if r.foreign == 0 {
                    return ("-".into(), "-".into());
                }
                (
                    format!(
                        "{} / {} / {}",
                        r.foreign, r.op_max_active, r.throttled_standin
                    ),
                    ok(r.op_max_active <= r.cap.saturating_sub(r.foreign)
                        && r.throttled_standin == 0.0)
                    .into(),
                )
            }),
            "operator never exceeds cap - 3, no TooManyRequestsException",
            true,
        ),
        (
            "slot turnover once the cap binds: a job's end to the Start that takes its slot, p50 / p99 s; p99 of the slots freed while the creates ran / after",
            Box::new(|r| {
                if r.turnover.is_empty() {
                    return ("-".into(), "-".into());
                }
                let p99 = |gaps: &[f64]| {
                    if gaps.is_empty() {
                        "-".to_string()
                    } else {
                        format!("{:.2} (n={})", percentile(gaps, 99.0), gaps.len())
                    }
                };
                (
                    format!(
                        "{:.2} / {:.2} (n={}); {} / {}",
                        percentile(&r.turnover, 50.0),
                        percentile(&r.turnover, 99.0),
                        r.turnover.len(),
                        p99(&r.turnover_creating),
                        p99(&r.turnover_after)
                    ),
                    "-".into(),
                )
            }),
            "reported (an end is seen at the next tick: P/2 on average)",
            true,
        ),
        (
            "a job's end to the watch seeing its resource settled, p50 / p99 s",
            Box::new(|r| {
                if r.end_to_settled.is_empty() {
                    return ("-".into(), "-".into());
                }
                (
                    format!(
                        "{:.2} / {:.2}",
                        percentile(&r.end_to_settled, 50.0),
                        percentile(&r.end_to_settled, 99.0)
                    ),
                    "-".into(),
                )
            }),
            "reported",
            true,
        ),
        (
            "status write delay, the operator's metric: mean / p99 bucket bound s, by lane: waited (records a Start waits for); urgent (outcomes); progress (after the 5 s hold)",
            Box::new(|r| {
                let lane = |name: &str| match r.write_delay.get(name) {
                    Some(d) if d.count > 0.0 => format!(
                        "{:.2}/{} (n={})",
                        d.mean(),
                        d.percentile_bound(99.0),
                        d.count
                    ),
                    _ => "-".into(),
                };
                (
                    format!("{}; {}; {}", lane("waited"), lane("urgent"), lane("progress")),
                    "-".into(),
                )
            }),
            "reported",
            true,
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
            false,
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
            false,
        ),
        (
            "steady resident memory, N resources, after run / after restart MiB (of it file-backed: the binary's code)",
            Box::new(|r| {
                (
                    format!(
                        "{:.1} / {:.1} ({:.1} / {:.1})",
                        r.rss_steady_run,
                        r.rss_steady_restart,
                        r.rss_file_run,
                        r.rss_file_restart
                    ),
                    ok_if(
                        r.n >= LARGE_N,
                        r.rss_steady_run.max(r.rss_steady_restart) <= 40.0,
                    ),
                )
            }),
            "<= 40 MiB at 10,000 resources, after the run and after the restart",
            false,
        ),
        (
            "RSS peak during initial list (restart) MiB",
            Box::new(|r| (format!("{:.1}", r.rss_peak_restart), "-".into())),
            "-",
            false,
        ),
        (
            "RSS peak during run MiB",
            Box::new(|r| (format!("{:.1}", r.rss_peak_run), "-".into())),
            "-",
            true,
        ),
        (
            "operator CPU s over the run (per 1,000 jobs)",
            Box::new(|r| {
                (
                    format!("{:.1} ({:.2})", r.cpu_run, r.cpu_run * 1000.0 / r.n as f64),
                    "-".into(),
                )
            }),
            "reported",
            true,
        ),
        (
            "restart: start to ready s",
            Box::new(|r| {
                (
                    format!("{:.2}", r.restart_ready),
                    ok_if(r.n >= LARGE_N, r.restart_ready <= 5.0),
                )
            }),
            "<= 5 s at 10,000",
            false,
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
            false,
        ),
        (
            "load average before / after",
            Box::new(|r| (format!("{} / {}", r.load_before, r.load_after), "-".into())),
            "-",
            true,
        ),
    ];
    for (name, f, target, in_foreign_run) in rows {
        out += &format!("| {name} |");
        for r in rs {
            let (v, m) = if r.foreign > 0 && !in_foreign_run {
                ("-".to_string(), "-".to_string())
            } else {
                f(r)
            };
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
pub fn report(
    args: &Args,
    runs: &[(usize, usize)],
    results: &[RunResult],
    started: Timestamp,
    load_start: &str,
) {
    let cmdline: Vec<String> = std::env::args().skip(1).collect();
    let t = table(results);
    let label = |&(n, foreign): &(usize, usize)| {
        if foreign > 0 {
            format!("{n} ({foreign} foreign)")
        } else {
            n.to_string()
        }
    };
    let done: Vec<String> = runs.iter().take(results.len()).map(label).collect();
    let pending: Vec<String> = runs.iter().skip(results.len()).map(label).collect();
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
         poll interval {} s (±10% jitter), {} concurrent reconciles; latency probe {} jobs at {}/s; \
         write-rate calibration {} objects, {} writers, {} s.\n\n{t}",
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
        args.calibrate_objects,
        args.calibrate_writers,
        args.calibrate_secs,
    );
    println!("\n{block}");
    if let Some(path) = &args.output {
        write_between(path, "bench", &block);
    }
}

/// Puts `block` into the Markdown file at `path` between the
/// `<!-- {marker}:begin -->` and `<!-- {marker}:end -->` lines (appended
/// with them if they are not there yet).
pub fn write_between(path: &std::path::Path, marker: &str, block: &str) {
    let begin = format!("<!-- {marker}:begin -->");
    let end = format!("<!-- {marker}:end -->");
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{begin}\n{block}{}", &old[..b], &old[e..])
        }
        _ => format!("{old}\n{begin}\n{block}{end}\n"),
    };
    std::fs::write(path, new).expect("write the results");
    eprintln!("results written to {}", path.display());
}
