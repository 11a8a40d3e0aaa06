//! One run of the benchmark for one N, and what it computes from the
//! counts: calls per job, the quota- and machine-limited minimum makespans,
//! the most jobs active at once, percentiles.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_comprehend::types::{InputDataConfig, InputFormat, OutputDataConfig};
use comprehend_operator::job::ClassificationJob;
use comprehend_testkit::{create_job, job_manifest, namespace, Standin, ROLE};
use futures::StreamExt;
use kube::{Api, Client};
use serde_json::json;

use crate::audit::{audit_first_writes, audit_len, audit_writes};
use crate::calibrate::{calibrate, Calibration};
use crate::operator::{
    clk_tck, diagnose, operator_calls, proc_sample, start_operator, wait_ready, write_delays,
    WriteDelay,
};
use crate::watch::{now_epoch, parse_time, wait_terminal, watch, Track, Tracks};
use crate::Args;

/// Calls per operation in the stand-in: (calls, ok, throttled, errors).
pub fn op_counts(stats: &serde_json::Value) -> BTreeMap<String, [f64; 4]> {
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

pub const START: &str = "StartDocumentClassificationJob";
pub const DESCRIBE: &str = "DescribeDocumentClassificationJob";
pub const LIST: &str = "ListDocumentClassificationJobs";

/// The first poll tick (k * `poll`, k = 0, 1, ...; ticks counted from the
/// run's start) at or after `t`; `t` itself without a poll interval.
pub fn next_tick(t: f64, poll: f64) -> f64 {
    if poll > 0.0 {
        // A hair below, so a float error does not cost a whole tick.
        ((t / poll) - 1e-9).ceil().max(0.0) * poll
    } else {
        t
    }
}

/// The quota-limited minimum makespan: jobs of `dur` seconds, each started no
/// earlier than its resource was created (`arrivals`, seconds after the first
/// create, ascending) and as early as a token bucket of `rate`/s (full at 0,
/// one second's worth) and `cap` active jobs allow. A job's end is only seen
/// at the next poll tick (every `poll` s from 0): its slot frees then, and
/// the run ends at the tick that sees the last job end.
pub fn min_makespan(arrivals: &[f64], rate: f64, cap: usize, dur: f64, poll: f64) -> f64 {
    let cap = cap.max(1);
    let bucket = rate.max(1.0);
    let (mut tokens, mut last) = (bucket, 0.0f64);
    let mut starts: Vec<f64> = Vec::with_capacity(arrivals.len());
    for (k, &arrival) in arrivals.iter().enumerate() {
        let mut t = if k >= cap {
            next_tick(starts[k - cap] + dur, poll)
        } else {
            0.0
        };
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
    starts.last().map_or(0.0, |s| next_tick(s + dur, poll))
}

/// The most intervals (start, end; no end: still open) open at once; an
/// interval that ends at the moment another starts does not overlap it.
pub fn max_overlap(intervals: &[(f64, Option<f64>)]) -> usize {
    let mut edges: Vec<(f64, i32)> = Vec::with_capacity(2 * intervals.len());
    for &(start, end) in intervals {
        edges.push((start, 1));
        if let Some(end) = end {
            edges.push((end, -1));
        }
    }
    // Ends (-1) before starts (+1) at the same time.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut open, mut most) = (0i64, 0i64);
    for (_, d) in edges {
        open += d as i64;
        most = most.max(open);
    }
    most as usize
}

/// Once the cap binds, how long a slot stays empty: with `cap` slots, the
/// (cap + k)-th Start (by submit time) takes the slot the k-th end (by end
/// time) freed; the answer is, for each such Start, the end that freed its
/// slot and the Start's submit time minus that end, in the order of the
/// ends. Empty when the cap never binds.
pub fn slot_turnover(intervals: &[(f64, Option<f64>)], cap: usize) -> Vec<(f64, f64)> {
    let mut starts: Vec<f64> = intervals.iter().map(|(s, _)| *s).collect();
    let mut ends: Vec<f64> = intervals.iter().filter_map(|(_, e)| *e).collect();
    starts.sort_by(f64::total_cmp);
    ends.sort_by(f64::total_cmp);
    starts
        .iter()
        .skip(cap)
        .zip(&ends)
        .map(|(start, end)| (*end, start - end))
        .collect()
}

/// The gaps of `turnover` whose slot was freed before `until` (`before`)
/// or at or after it, each sorted.
pub fn gaps_split(turnover: &[(f64, f64)], until: f64, before: bool) -> Vec<f64> {
    let mut gaps: Vec<f64> = turnover
        .iter()
        .filter(|(end, _)| (*end < until) == before)
        .map(|(_, gap)| *gap)
        .collect();
    gaps.sort_by(f64::total_cmp);
    gaps
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The results of one N.
#[derive(Default)]
pub struct RunResult {
    pub n: usize,
    /// Jobs started in the stand-in by the benchmark itself and held
    /// IN_PROGRESS for the whole run (0: a normal run). Such a run skips the
    /// restart and the latency probe.
    pub foreign: usize,
    pub cap: usize,
    pub calibration: Calibration,
    pub create_secs: f64,
    pub starts_ok: f64,
    pub starts_calls: f64,
    pub describes: f64,
    pub describe_min: f64,
    pub lists: f64,
    /// Poll ticks over the makespan (makespan / poll interval).
    pub ticks: f64,
    /// API-server writes of the run: status patches + event writes (the
    /// creates excluded), from the audit log.
    pub api_writes: u64,
    pub writes: f64,
    pub distinct: f64,
    pub writes_over: usize,
    pub writes_max_excess: i64,
    pub makespan: f64,
    /// Quota-limited minimum (ends seen at the next poll tick).
    pub makespan_min: f64,
    /// Machine-limited minimum: `api_writes` / the calibrated write rate.
    pub makespan_machine: f64,
    pub mean_duration: f64,
    pub failed: usize,
    pub unfinished: usize,
    pub throttled_standin: f64,
    pub throttled_operator: f64,
    /// The operator's status-write delay by lane, over the run.
    pub write_delay: BTreeMap<String, WriteDelay>,
    /// The stand-in's most jobs active at once (foreign ones included).
    pub max_active_seen: f64,
    /// The most of the operator's jobs active at once, from each job's
    /// submit and end times in the stand-in.
    pub op_max_active: usize,
    /// Once the cap binds: a job's end to the Start that takes its slot (s,
    /// sorted).
    pub turnover: Vec<f64>,
    /// The same, of the slots freed while the creates still ran, and after.
    pub turnover_creating: Vec<f64>,
    pub turnover_after: Vec<f64>,
    /// A job's end in the stand-in to the watch seeing its resource
    /// settled (s, sorted).
    pub end_to_settled: Vec<f64>,
    pub events: u64,
    pub rss_peak_run: f64,
    pub rss_steady_run: f64,
    /// Of it, file-backed (the binary's code), MiB.
    pub rss_file_run: f64,
    pub cpu_run: f64,
    pub restart_ready: f64,
    pub restart_calls_standin: f64,
    pub restart_calls_operator: f64,
    pub rss_peak_restart: f64,
    pub rss_steady_restart: f64,
    pub rss_file_restart: f64,
    pub lat_p50: f64,
    pub lat_p99: f64,
    pub lat_max: f64,
    pub lat_n: usize,
    /// p50 and p99 of the steps of create -> Start: the create call; the
    /// watch, the queue and the List call until the first status write
    /// arrives; that write; the Start call.
    pub lat_steps: [(f64, f64); 4],
    pub load_before: String,
    pub load_after: String,
}

pub async fn run_one(args: &Args, client: &Client, n: usize, foreign: usize) -> RunResult {
    let deadline = Instant::now() + Duration::from_secs(args.run_timeout);
    let tck = clk_tck();
    let mut r = RunResult {
        n,
        foreign,
        cap: args.max_active,
        load_before: loadavg(),
        ..RunResult::default()
    };
    eprintln!(
        "==> N = {n}: calibrating the API server's write rate ({} objects, {} writers, {} s)",
        args.calibrate_objects, args.calibrate_writers, args.calibrate_secs
    );
    r.calibration = calibrate(args, client).await;
    eprintln!(
        "    {:.0} writes/s ({} status patches + {} events in {:.1} s, {} errors)",
        r.calibration.rate,
        r.calibration.patches,
        r.calibration.events,
        r.calibration.secs,
        r.calibration.errors
    );
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
    // Jobs of another client in the same account: started before the
    // operator's, held IN_PROGRESS until the end of the run.
    let foreign_names: Vec<String> = (0..foreign).map(|i| format!("foreign-{i}")).collect();
    if foreign > 0 {
        eprintln!("    starting {foreign} foreign jobs, held IN_PROGRESS for the run");
        standin
            .admin(
                "PUT",
                "/_standin/faults",
                Some(json!({ "holdJobNames": foreign_names })),
            )
            .await;
        let comprehend = standin.comprehend().await;
        for name in &foreign_names {
            comprehend
                .start_document_classification_job()
                .job_name(name)
                .document_classifier_arn(&arn)
                .data_access_role_arn(ROLE)
                .input_data_config(
                    InputDataConfig::builder()
                        .s3_uri("s3://input/news/")
                        .input_format(InputFormat::OneDocPerFile)
                        .build()
                        .expect("input config"),
                )
                .output_data_config(
                    OutputDataConfig::builder()
                        .s3_uri("s3://output/foreign/")
                        .build()
                        .expect("output config"),
                )
                .send()
                .await
                .expect("start a foreign job");
        }
    }
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
                if let Some(sample) = proc_sample(pid, tck) {
                    let mut p = peak.lock().unwrap();
                    *p = p.max(sample.rss).max(sample.hwm);
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
    let cpu_end = proc_sample(pid, tck).map_or(0.0, |s| s.cpu);
    r.cpu_run = cpu_end;
    // Steady state: nothing left to do, and one housekeeping pass (10 s)
    // has run since.
    tokio::time::sleep(Duration::from_secs(12)).await;
    if let Some(sample) = proc_sample(pid, tck) {
        r.rss_steady_run = sample.rss;
        r.rss_file_run = sample.rss_file;
    }
    if args.diagnose {
        diagnose(pid, "after the run");
        // Once more, well after the burst: what stays for good.
        tokio::time::sleep(Duration::from_secs(90)).await;
        diagnose(pid, "102 s after the run");
    }
    sampler.abort();
    r.rss_peak_run = *peak.lock().unwrap();

    let stats = standin.stats().await;
    let ops = op_counts(&stats);
    let get = |op: &str, i: usize| ops.get(op).map_or(0.0, |c| c[i]);
    // The benchmark's own Start calls (the foreign jobs) do not count.
    let own = foreign as f64;
    r.starts_ok = (get(START, 1) - own) / n as f64;
    r.starts_calls = (get(START, 0) - own) / n as f64;
    r.describes = get(DESCRIBE, 0) / n as f64;
    r.lists = get(LIST, 0) / n as f64;
    r.throttled_standin = ops.values().map(|c| c[2]).sum();
    r.throttled_operator = operator_calls(&op)
        .await
        .get("throttled")
        .copied()
        .unwrap_or(0.0);
    r.write_delay = write_delays(&op).await;
    r.max_active_seen = stats["maxActiveJobsSeen"].as_f64().unwrap_or(0.0);
    let mut durations = Vec::new();
    let mut describe_min = 0.0;
    let mut intervals = Vec::new();
    for j in stats["jobs"].as_array().cloned().unwrap_or_default() {
        if j["jobName"]
            .as_str()
            .is_some_and(|name| foreign_names.iter().any(|f| f == name))
        {
            continue;
        }
        let submit = j["submitTime"].as_str().and_then(parse_time);
        let end = j["endTime"].as_str().and_then(parse_time);
        if let Some(s) = submit {
            intervals.push((s, end));
        }
        let (Some(s), Some(e)) = (submit, end) else {
            continue;
        };
        let d = e - s;
        durations.push(d);
        describe_min += (d / args.poll_interval).ceil() + 1.0;
    }
    r.mean_duration = durations.iter().sum::<f64>() / durations.len().max(1) as f64;
    r.describe_min = describe_min / durations.len().max(1) as f64;
    r.op_max_active = max_overlap(&intervals);
    let turnover = slot_turnover(&intervals, args.max_active.saturating_sub(foreign));
    let created_at = t0 + r.create_secs;
    r.turnover = gaps_split(&turnover, f64::INFINITY, true);
    r.turnover_creating = gaps_split(&turnover, created_at, true);
    r.turnover_after = gaps_split(&turnover, created_at, false);

    let snapshot: HashMap<String, Track> = tracks.lock().unwrap().clone();
    let last_end = names
        .iter()
        .filter_map(|n| snapshot.get(n).and_then(|t| t.terminal_at))
        .fold(t0, f64::max);
    r.makespan = last_end - t0;
    // A job's end in the stand-in to the watch seeing its resource settled.
    let ends: HashMap<String, f64> = stats["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|j| {
            let id = j["jobId"].as_str()?.to_string();
            Some((id, parse_time(j["endTime"].as_str()?)?))
        })
        .collect();
    let mut settle: Vec<f64> = names
        .iter()
        .filter_map(|n| {
            let t = snapshot.get(n)?;
            Some(t.terminal_at? - ends.get(t.job_id.as_deref()?)?)
        })
        .collect();
    settle.sort_by(f64::total_cmp);
    r.end_to_settled = settle;
    r.ticks = if args.poll_interval > 0.0 {
        r.makespan / args.poll_interval
    } else {
        f64::NAN
    };
    r.makespan_min = min_makespan(
        &arrivals,
        args.start_rate,
        args.max_active.saturating_sub(foreign),
        r.mean_duration,
        args.poll_interval,
    );
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
    r.api_writes = w + events;
    r.makespan_machine = if r.calibration.rate > 0.0 && r.calibration.rate.is_finite() {
        r.api_writes as f64 / r.calibration.rate
    } else {
        f64::NAN
    };

    if foreign > 0 {
        // The foreign jobs go on as usual from now on.
        standin
            .admin(
                "PUT",
                "/_standin/faults",
                Some(json!({ "holdJobNames": [] })),
            )
            .await;
        r.load_after = loadavg();
        watcher_task.abort();
        drop(op);
        drop(standin);
        delete_namespace(client, &ns).await;
        return r;
    }

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
    if let Some(sample) = proc_sample(pid, tck) {
        r.rss_peak_restart = sample.hwm;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    if let Some(sample) = proc_sample(pid, tck) {
        r.rss_steady_restart = sample.rss;
        r.rss_file_restart = sample.rss_file;
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
    delete_namespace(client, &ns).await;
    r
}

/// Deletes the run's namespace.
async fn delete_namespace(client: &Client, ns: &str) {
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let _ = nss.delete(ns, &Default::default()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_turnover_pairs_each_start_past_the_cap_with_an_end() {
        // Cap 2: a and b start at 0; a ends at 5, c takes its slot at 5.5;
        // b ends at 6, d takes its slot at 8.
        let intervals = [
            (0.0, Some(5.0)),
            (0.0, Some(6.0)),
            (5.5, Some(9.0)),
            (8.0, None),
        ];
        let turnover = slot_turnover(&intervals, 2);
        assert_eq!(turnover, vec![(5.0, 0.5), (6.0, 2.0)]);
        assert!(slot_turnover(&intervals, 4).is_empty());
        // The creates ran until 5.5: a's slot was freed while they ran,
        // b's after.
        assert_eq!(gaps_split(&turnover, 5.5, true), vec![0.5]);
        assert_eq!(gaps_split(&turnover, 5.5, false), vec![2.0]);
    }

    #[test]
    fn ticks_round_up_to_the_poll_interval() {
        assert_eq!(next_tick(0.0, 1.0), 0.0);
        assert_eq!(next_tick(3.0, 1.0), 3.0);
        assert_eq!(next_tick(3.0000000000001, 1.0), 3.0);
        assert_eq!(next_tick(3.2, 1.0), 4.0);
        assert_eq!(next_tick(3.2, 0.0), 3.2);
        assert_eq!(next_tick(0.7, 0.5), 1.0);
    }

    #[test]
    fn slots_free_at_the_next_tick() {
        // Two slots, unbounded starts, all created at 0, jobs of 2.5 s,
        // ticks every 1 s: starts at 0, 0; 3, 3; 6, 6; the last end (8.5)
        // seen at 9.
        let arrivals = [0.0; 6];
        assert_eq!(min_makespan(&arrivals, 1e9, 2, 2.5, 1.0), 9.0);
        // Without the poll interval: 7.5.
        assert!((min_makespan(&arrivals, 1e9, 2, 2.5, 0.0) - 7.5).abs() < 1e-6);
    }

    #[test]
    fn the_start_rate_can_bind() {
        // One start a second (one token at 0), plenty of slots: the last of
        // 5 jobs starts at 4 and ends at 5.
        let arrivals = [0.0; 5];
        assert!((min_makespan(&arrivals, 1.0, 100, 1.0, 1.0) - 5.0).abs() < 1e-6);
    }

    #[test]
    fn overlap_counts_touching_intervals_once() {
        let iv = [
            (0.0, Some(2.0)),
            (2.0, Some(3.0)),
            (1.0, None),
            (2.5, Some(2.6)),
        ];
        assert_eq!(max_overlap(&iv), 3);
        assert_eq!(max_overlap(&[]), 0);
    }
}
