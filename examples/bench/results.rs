//! The results-summary row: one job whose output is large (the stand-in
//! writes `--results-bytes` of predictions.jsonl, gzip'd in a tar), summarized
//! by the release operator from the stand-in's S3. Measures how much the
//! operator's resident memory rises while it streams the archive (sampled
//! every 20 ms, against its steady RSS just before), and how long the
//! summary takes (from `Succeeded=True` seen to `ResultsSummarized` settled,
//! polled every 50 ms).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use comprehend_operator::job::ClassificationJob;
use comprehend_testkit::{
    client, cond, create_job, job_manifest, namespace, status_of, succeeded, Standin,
};
use kube::Api;
use serde_json::json;

use crate::operator::{clk_tck, proc_sample, start_operator_with, wait_ready};
use crate::Args;

/// The job whose output the stand-in makes large.
const JOB_NAME: &str = "bench-results";

/// What the row reports.
pub struct ResultsRow {
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    pub documents: i64,
    pub seconds: f64,
    pub rss_before: f64,
    pub rss_peak: f64,
    pub outcome: String,
}

impl ResultsRow {
    /// The rise of resident memory while summarizing, MiB.
    pub fn rise(&self) -> f64 {
        (self.rss_peak - self.rss_before).max(0.0)
    }

    /// The row as Markdown.
    pub fn table(&self) -> String {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let ok = if self.rise() <= 20.0 && self.outcome == "Summarized" {
            "yes"
        } else {
            "**no**"
        };
        format!(
            "| output (predictions.jsonl / output.tar.gz) | documents counted | summary time | throughput | operator RSS before -> peak | rise (target <= 20 MiB) | met |\n\
             |---|---|---|---|---|---|---|\n\
             | {:.0} MiB / {:.1} MiB | {} ({}) | {:.1} s | {:.0} MiB/s uncompressed | {:.1} -> {:.1} MiB | {:.1} MiB | {ok} |\n",
            mib(self.uncompressed_bytes),
            mib(self.compressed_bytes),
            self.documents,
            self.outcome,
            self.seconds,
            mib(self.uncompressed_bytes) / self.seconds.max(0.001),
            self.rss_before,
            self.rss_peak,
            self.rise(),
        )
    }
}

pub async fn results_row(args: &Args) -> ResultsRow {
    let client = client().await;
    let ns = namespace(&client, "bench-results").await;
    let large = format!("{JOB_NAME}={}", args.results_bytes);
    let standin = Standin::start(&[
        "--job-queued-secs",
        "0.5",
        "--job-running-secs",
        "0.5",
        "--training-secs",
        "0.5",
        "--large-output",
        &large,
    ]);
    standin.upload_documents("news").await;
    let arn = standin.trained_classifier("bench").await;
    let op = start_operator_with(
        args,
        &ns,
        &standin,
        "results",
        &[
            "--summarize-results",
            "--s3-endpoint-url",
            &standin.s3_endpoint,
        ],
    );
    wait_ready(&op, Duration::from_secs(60))
        .await
        .expect("operator ready");
    let pid = op.proc.pid();
    let tck = clk_tck();
    // Steady before the job: let start-up allocations settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_before = proc_sample(pid, tck).map_or(0.0, |s| s.rss);

    let peak = Arc::new(Mutex::new(rss_before));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(sample) = proc_sample(pid, tck) {
                    let mut p = peak.lock().unwrap();
                    *p = p.max(sample.rss);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let api: Api<ClassificationJob> = Api::namespaced(client.clone(), &ns);
    let mut manifest = job_manifest("large", &arn, "news");
    manifest["spec"]["jobName"] = json!(JOB_NAME);
    manifest["spec"]["results"] = json!({"summarize": true});
    create_job(&api, manifest).await;
    let deadline = Instant::now() + Duration::from_secs(args.run_timeout);
    let mut completed_at = None;
    let job = loop {
        let job = api.get("large").await.expect("get the job");
        if completed_at.is_none() && succeeded(&job).as_deref() == Some("True") {
            completed_at = Some(Instant::now());
        }
        if cond(&job, "ResultsSummarized").is_some_and(|c| c.0 != "Unknown") {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "the summary did not settle: {:?}",
            job.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let seconds = completed_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.await;
    let rss_peak = *peak.lock().unwrap();

    let status = status_of(&job);
    let uri = status.output_s3_uri.clone().unwrap_or_default();
    let (bucket, key) = uri
        .strip_prefix("s3://")
        .and_then(|r| r.split_once('/'))
        .unwrap_or_default();
    let compressed_bytes = standin
        .s3()
        .await
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()
        .and_then(|h| h.content_length())
        .unwrap_or(0) as u64;
    ResultsRow {
        uncompressed_bytes: args.results_bytes,
        compressed_bytes,
        documents: status.results.map_or(0, |r| r.documents),
        seconds,
        rss_before,
        rss_peak,
        outcome: cond(&job, "ResultsSummarized")
            .map(|c| c.1)
            .unwrap_or_default(),
    }
}
