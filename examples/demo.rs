//! `make demo`: the whole flow on the embedded default, with no AWS and no
//! cluster. It expects the test API server's KUBECONFIG (tests/env/with-env.sh
//! provides it), starts the Comprehend stand-in and the operator, trains a
//! classifier from a small real training set, applies a ClassificationJob,
//! waits for it and summarises the predictions.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use comprehend_operator::crd::ClassificationJob;
use kube::Api;

#[tokio::main]
async fn main() {
    println!(
        "==> Connecting to the API server (KUBECONFIG) and installing the ClassificationJob CRD"
    );
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
    let _operator = Operator::start(&ns, &standin, &[]);

    println!(
        "==> Uploading {} training rows and {} documents to the local S3",
        TRAINING_CSV.lines().count(),
        DOCUMENTS.len()
    );
    standin.upload_documents("news").await;
    println!("==> Training custom classifier 'news' (CreateDocumentClassifier)");
    let arn = standin.trained_classifier("news").await;
    let described = standin
        .comprehend()
        .await
        .describe_document_classifier()
        .document_classifier_arn(&arn)
        .send()
        .await
        .expect("DescribeDocumentClassifier");
    if let Some(m) = described
        .document_classifier_properties()
        .and_then(|p| p.classifier_metadata())
        .and_then(|m| m.evaluation_metrics())
    {
        println!(
            "    TRAINED {arn}\n    accuracy {:.2}  precision {:.2}  recall {:.2}  F1 {:.2}",
            m.accuracy().unwrap_or_default(),
            m.precision().unwrap_or_default(),
            m.recall().unwrap_or_default(),
            m.f1_score().unwrap_or_default()
        );
    }

    println!("==> Applying ClassificationJob 'news' and waiting for Succeeded");
    let api: Api<ClassificationJob> = Api::namespaced(client.clone(), &ns);
    create_job(&api, job_manifest("news", &arn, "news")).await;
    let last_reason = std::cell::RefCell::new(String::new());
    let job = wait_for(&api, "news", Duration::from_secs(120), "Succeeded", |j| {
        if let Some((_, reason, message)) = cond(j, "Succeeded") {
            if reason != *last_reason.borrow() {
                println!("    {reason}: {message}");
                *last_reason.borrow_mut() = reason;
            }
        }
        succeeded(j).is_some_and(|s| s != "Unknown")
    })
    .await;

    let (_, out, _) = kubectl(
        &["get", "classificationjob", "news", "-n", &ns, "-o", "wide"],
        None,
    );
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
    println!("Documents per class:");
    for (class, n) in per_class {
        println!("    {class:<10} {n}");
    }
    println!("\nDone: the operator started the job once, followed it to COMPLETED and reported its output.");
}
