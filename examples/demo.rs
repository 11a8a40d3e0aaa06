//! `make demo`: the whole flow on the embedded default, with no AWS and no
//! cluster. It expects the test API server's KUBECONFIG (tests/env/with-env.sh
//! provides it), starts the Comprehend stand-in and the operator, uploads a
//! small real training set and documents, and applies two manifests at once
//! with kubectl: a DocumentClassifier that trains the model and a
//! ClassificationJob that uses it through `classifierRef`. It waits for the
//! job, for the operator's summary of the predictions in the status, and
//! checks that summary against the output archive itself.

use std::collections::BTreeMap;
use std::time::Duration;

use comprehend_operator::classifier::crd::DocumentClassifier;
use comprehend_operator::job::ClassificationJob;
use comprehend_testkit::*;
use kube::Api;

#[tokio::main]
async fn main() {
    println!("==> Connecting to the API server (KUBECONFIG) and installing the CRDs");
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "comprehend-demo").await;

    println!("==> Starting the Comprehend stand-in (awsJson 1.1) and its S3 server on loopback");
    let standin = Standin::start(&[
        "--job-queued-secs",
        "1",
        "--job-running-secs",
        "3",
        "--training-secs",
        "2",
    ]);
    println!(
        "    Comprehend: {}\n    S3:         {}",
        standin.endpoint, standin.s3_endpoint
    );

    println!("==> Starting the operator for namespace {ns}");
    let _operator = Operator::start(
        &ns,
        &standin,
        &[
            "--classifier-poll-interval",
            "0.5",
            "--summarize-results",
            "--s3-endpoint-url",
            &standin.s3_endpoint,
        ],
    );

    println!(
        "==> Uploading {} training rows to s3://training/news/train.csv and {} documents to s3://input/news/",
        TRAINING_CSV.lines().count(),
        DOCUMENTS.len()
    );
    let s3 = standin.s3().await;
    ensure_bucket(&s3, "training").await;
    put(&s3, "training", "news/train.csv", TRAINING_CSV).await;
    standin.upload_documents("news").await;

    let manifest = format!(
        "{}---\n{}",
        serde_yaml::to_string(&classifier_manifest(
            "news",
            "v1",
            "s3://training/news/train.csv",
            "Delete"
        ))
        .unwrap(),
        serde_yaml::to_string(&{
            let mut job = job_with_classifier_ref("news", "news", "news");
            job["spec"]["results"] = serde_json::json!({"summarize": true, "topClasses": 5});
            job
        })
        .unwrap()
    );
    println!("==> kubectl apply -f - (a DocumentClassifier and a ClassificationJob at once):\n");
    for line in manifest.lines() {
        println!("    {line}");
    }
    let (ok, out, err) = kubectl(
        &["apply", "--validate=false", "-n", &ns, "-f", "-"],
        Some(&manifest),
    );
    assert!(ok, "kubectl apply failed: {out}{err}");
    print!("\n{out}");

    println!("==> Waiting: the job waits for the classifier, then runs");
    let classifiers: Api<DocumentClassifier> = Api::namespaced(client.clone(), &ns);
    let api: Api<ClassificationJob> = Api::namespaced(client.clone(), &ns);
    let ready_of = |dc: Option<DocumentClassifier>| {
        dc.and_then(|dc| dc.status)
            .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "Ready"))
            .map(|c| (c.reason, c.message))
    };
    let (mut seen_classifier, mut seen_job) = (String::new(), String::new());
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let job = loop {
        let dc = classifiers
            .get_opt("news")
            .await
            .expect("get DocumentClassifier");
        if let Some((reason, message)) = ready_of(dc) {
            if reason != seen_classifier {
                println!("    DocumentClassifier news  {reason}: {message}");
                seen_classifier = reason;
            }
        }
        let job = api.get("news").await.expect("get ClassificationJob");
        if let Some((_, reason, message)) = cond(&job, "Succeeded") {
            if reason != seen_job {
                println!("    ClassificationJob news   {reason}: {message}");
                seen_job = reason;
            }
        }
        // Done once the outcome is known and, for a completed job, its
        // summary is written (or refused).
        let summary_settled = cond(&job, "ResultsSummarized").is_some_and(|c| c.0 != "Unknown");
        match succeeded(&job).as_deref() {
            Some("False") => break job,
            Some("True") if summary_settled => break job,
            _ => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job did not finish in time: {:?}",
            job.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let (_, out, _) = kubectl(&["get", "comprehend", "-n", &ns, "-o", "wide"], None);
    println!("\n{out}");
    let status = job.status.clone().unwrap_or_default();
    println!("Final status:\n{}", serde_yaml::to_string(&status).unwrap());
    let Some(uri) = status
        .output_s3_uri
        .filter(|_| succeeded(&job).as_deref() == Some("True"))
    else {
        eprintln!("The job did not succeed: {:?}", cond(&job, "Succeeded"));
        std::process::exit(1);
    };
    let predictions = read_predictions(&standin.s3().await, &uri).await;
    let mut per_class: BTreeMap<String, usize> = BTreeMap::new();
    println!("Predictions from {uri}:");
    for p in &predictions {
        let top = p["Classes"][0]["Name"].as_str().unwrap_or("?").to_string();
        println!(
            "    {:<12} {:<10} {:.2}",
            p["File"].as_str().unwrap_or("?"),
            top,
            p["Classes"][0]["Score"].as_f64().unwrap_or(0.0)
        );
        *per_class.entry(top).or_default() += 1;
    }
    println!("Documents per class, counted here from the archive:");
    for (class, n) in &per_class {
        println!("    {class:<10} {n}");
    }
    let results = status.results.clone().unwrap_or_default();
    let reported: BTreeMap<String, usize> = results
        .classes
        .iter()
        .map(|c| (c.name.clone(), c.documents as usize))
        .collect();
    if reported != per_class || results.documents as usize != predictions.len() {
        eprintln!("status.results disagrees with the archive: {results:?}");
        std::process::exit(1);
    }
    println!("The operator's status.results says the same.");
    println!("\nDone: the operator trained the classifier, started the job once it was ready, followed it to COMPLETED and reported its output.");
}
