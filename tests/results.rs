//! The results summary in `status.results`: the operator reads a completed
//! job's output.tar.gz from the stand-in's S3 (the real protocol) and
//! counts it. The expected counts are read independently from the same
//! archive here, so a miscount fails.

use std::collections::BTreeMap;
use std::time::Duration;

use comprehend_operator::job::crd::{ClassificationJob, ClassificationJobStatus};
use comprehend_testkit::*;
use serde_json::{json, Value};

const SUMMARIZED: &str = "ResultsSummarized";

/// The operator, summarizing, against the stand-in's Comprehend and S3.
fn operator(s: &Setup) -> Operator {
    Operator::start(
        &s.ns,
        &s.standin,
        &[
            "--summarize-results",
            "--s3-endpoint-url",
            &s.standin.s3_endpoint,
        ],
    )
}

/// `manifest` asking for a summary of at most `top` classes.
fn summarized(mut manifest: Value, top: i32) -> Value {
    manifest["spec"]["results"] = json!({"summarize": true, "topClasses": top});
    manifest
}

/// Waits until `ResultsSummarized` has `status` on the named job.
async fn summary_settles(s: &Setup, name: &str, status: &str) -> ClassificationJob {
    wait_for(
        &s.api,
        name,
        Duration::from_secs(60),
        &format!("{SUMMARIZED}={status}"),
        |j| cond(j, SUMMARIZED).is_some_and(|c| c.0 == status),
    )
    .await
}

/// Documents per class (top class, multi-class) or per label (every
/// label, multi-label), counted from the archive itself.
fn expected_counts(predictions: &[Value], member: &str) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for p in predictions {
        let names: Vec<&str> = match member {
            "Classes" => p["Classes"][0]["Name"].as_str().into_iter().collect(),
            _ => p["Labels"]
                .as_array()
                .map(|l| l.iter().filter_map(|x| x["Name"].as_str()).collect())
                .unwrap_or_default(),
        };
        for n in names {
            *counts.entry(n.to_string()).or_default() += 1;
        }
    }
    counts
}

fn reported_counts(status: &ClassificationJobStatus) -> BTreeMap<String, i64> {
    status
        .results
        .as_ref()
        .map(|r| {
            r.classes
                .iter()
                .map(|c| (c.name.clone(), c.documents))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_multi_class_job_is_summarized_in_its_status() {
    let s = setup("results-class", FAST).await;
    let _op = operator(&s);
    create_job(
        &s.api,
        summarized(job_manifest("counted", &s.classifier, "docs"), 10),
    )
    .await;
    let job = summary_settles(&s, "counted", "True").await;
    let status = status_of(&job);
    assert_eq!(succeeded(&job).as_deref(), Some("True"));
    let uri = status.output_s3_uri.clone().unwrap();
    let predictions = read_predictions(&s.standin.s3().await, &uri).await;
    let results = status.results.clone().unwrap();
    assert_eq!(results.mode.as_deref(), Some("MULTI_CLASS"));
    assert_eq!(results.documents, predictions.len() as i64);
    assert_eq!(results.documents, DOCUMENTS.len() as i64);
    assert_eq!(
        reported_counts(&status),
        expected_counts(&predictions, "Classes")
    );
    let top: Vec<f64> = predictions
        .iter()
        .filter_map(|p| p["Classes"][0]["Score"].as_f64())
        .collect();
    let mean = top.iter().sum::<f64>() / top.len() as f64;
    assert_eq!(results.mean_top_score, Some(format!("{mean:.4}")));
    assert_eq!(results.failed_documents, None);

    // kubectl shows the count by default, the top class with -o wide.
    let (ok, out, err) = kubectl(
        &[
            "get",
            "classificationjob",
            "counted",
            "-n",
            &s.ns,
            "-o",
            "wide",
        ],
        None,
    );
    assert!(ok, "{err}");
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert!(header.contains(&"DOCUMENTS"), "{out}");
    assert!(header.contains(&"TOP"), "{out}");
    let row = out.lines().nth(1).unwrap();
    assert!(
        row.split_whitespace()
            .any(|w| w == DOCUMENTS.len().to_string()),
        "{out}"
    );
    assert!(row.contains(&results.classes[0].name), "{out}");
}

/// A MULTI_LABEL classifier trained straight in the stand-in.
async fn multi_label_classifier(standin: &Standin) -> String {
    let c = standin.comprehend().await;
    let arn = c
        .create_document_classifier()
        .document_classifier_name("labels")
        .language_code(aws_sdk_comprehend::types::LanguageCode::En)
        .mode(aws_sdk_comprehend::types::DocumentClassifierMode::MultiLabel)
        .data_access_role_arn(ROLE)
        .input_data_config(
            aws_sdk_comprehend::types::DocumentClassifierInputDataConfig::builder()
                .s3_uri("s3://training/news/train.csv")
                .build(),
        )
        .send()
        .await
        .expect("CreateDocumentClassifier")
        .document_classifier_arn()
        .unwrap()
        .to_string();
    standin.wait_trained(&arn).await;
    arn
}

#[tokio::test]
async fn a_multi_label_job_is_summarized_per_label() {
    let s = setup("results-label", FAST).await;
    let labels = multi_label_classifier(&s.standin).await;
    let _op = operator(&s);
    create_job(
        &s.api,
        summarized(job_manifest("labelled", &labels, "docs"), 10),
    )
    .await;
    let job = summary_settles(&s, "labelled", "True").await;
    let status = status_of(&job);
    let uri = status.output_s3_uri.clone().unwrap();
    let predictions = read_predictions(&s.standin.s3().await, &uri).await;
    assert!(predictions.iter().all(|p| p.get("Labels").is_some()));
    let results = status.results.clone().unwrap();
    assert_eq!(results.mode.as_deref(), Some("MULTI_LABEL"));
    assert_eq!(results.documents, DOCUMENTS.len() as i64);
    assert_eq!(
        reported_counts(&status),
        expected_counts(&predictions, "Labels")
    );
}

/// Makes the stand-in spoil the output of the job named `name`.
async fn spoil_output(s: &Setup, name: &str, kind: &str) {
    s.standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({"outputFaults": {name: kind}})),
        )
        .await;
}

#[tokio::test]
async fn an_unreadable_output_leaves_the_job_succeeded_and_says_why() {
    let s = setup("results-missing", FAST).await;
    spoil_output(&s, "no-output", "missing").await;
    let _op = operator(&s);
    let mut manifest = summarized(job_manifest("gone", &s.classifier, "docs"), 10);
    manifest["spec"]["jobName"] = json!("no-output");
    create_job(&s.api, manifest).await;
    // Retried (Unknown), then given up (False), the job's outcome intact.
    wait_for(&s.api, "gone", Duration::from_secs(30), "a retry", |j| {
        cond(j, SUMMARIZED).is_some_and(|c| c.0 == "Unknown")
    })
    .await;
    let job = summary_settles(&s, "gone", "False").await;
    let (_, reason, message) = cond(&job, SUMMARIZED).unwrap();
    assert_eq!(reason, "ResultsUnavailable");
    assert!(
        message.contains("NoSuchKey") && message.contains("5 attempts"),
        "{message}"
    );
    assert_eq!(succeeded(&job).as_deref(), Some("True"));
    assert_eq!(cond(&job, "Ready").unwrap().0, "True");
    assert!(status_of(&job).results.is_none());
}

#[tokio::test]
async fn a_malformed_output_is_reported_not_a_crash() {
    let s = setup("results-malformed", FAST).await;
    s.standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({"outputFaults": {"bad-archive": "malformedArchive", "bad-lines": "malformedLines"}})),
        )
        .await;
    let mut op = operator(&s);
    for (name, job_name) in [("archive", "bad-archive"), ("lines", "bad-lines")] {
        let mut manifest = summarized(job_manifest(name, &s.classifier, "docs"), 10);
        manifest["spec"]["jobName"] = json!(job_name);
        create_job(&s.api, manifest).await;
    }
    let job = summary_settles(&s, "archive", "False").await;
    let (_, reason, _) = cond(&job, SUMMARIZED).unwrap();
    assert_eq!(reason, "MalformedOutput");
    assert_eq!(succeeded(&job).as_deref(), Some("True"));

    // Every third line (the 2nd, 5th, ...) is broken; the rest counted.
    let job = summary_settles(&s, "lines", "True").await;
    let results = status_of(&job).results.unwrap();
    let lines = DOCUMENTS.len() as i64;
    let broken = (lines + 1) / 3;
    assert_eq!(results.malformed_lines, Some(broken));
    assert_eq!(results.documents, lines - broken);
    let (_, _, message) = cond(&job, SUMMARIZED).unwrap();
    assert!(message.contains("line 2"), "{message}");
    // The operator is alive and serving.
    assert!(
        op.proc.child.try_wait().unwrap().is_none(),
        "the operator exited"
    );
}

#[tokio::test]
async fn an_adopted_job_is_summarized_too() {
    let s = setup("results-adopted", FAST).await;
    let job_id = s
        .standin
        .start_job_directly("elsewhere", &s.classifier)
        .await;
    let _op = operator(&s);
    create_job(&s.api, summarized(observe_manifest("adopted", &job_id), 3)).await;
    let job = summary_settles(&s, "adopted", "True").await;
    let status = status_of(&job);
    assert_eq!(status.job_id.as_deref(), Some(job_id.as_str()));
    let results = status.results.unwrap();
    assert_eq!(results.documents, DOCUMENTS.len() as i64);
    assert!(results.classes.len() <= 3);
}
