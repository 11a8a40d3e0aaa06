//! The DocumentClassifier controller, and jobs that reference a classifier
//! by name, against the real API server and the Comprehend stand-in. Run by
//! `make test`, which starts the environment.

use std::time::{Duration, Instant};

use comprehend_operator::classifier::crd::DocumentClassifier;
use comprehend_operator::job::ClassificationJob;
use comprehend_testkit::*;
use kube::api::{DeleteParams, PostParams};
use kube::Api;
use serde_json::json;

/// One label only: the stand-in's training refuses it (IN_ERROR).
const ONE_LABEL_CSV: &str = "\
SPORTS,The striker scored a late goal and the team won the match
SPORTS,The coach praised the players after the championship game
SPORTS,A record crowd watched the final
";

struct Setup {
    jobs: Api<ClassificationJob>,
    classifiers: Api<DocumentClassifier>,
    ns: String,
    standin: Standin,
}

/// A namespace, a stand-in whose training takes `training_secs`, training
/// data at `s3://training/news/train.csv` and documents under `docs/`.
async fn setup(prefix: &str, training_secs: &str) -> Setup {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, prefix).await;
    let standin = Standin::start(&[
        "--job-queued-secs",
        "0.2",
        "--job-running-secs",
        "0.5",
        "--training-secs",
        training_secs,
    ]);
    let s3 = standin.s3().await;
    ensure_bucket(&s3, "training").await;
    put(&s3, "training", "news/train.csv", TRAINING_CSV).await;
    put(&s3, "training", "bad/train.csv", ONE_LABEL_CSV).await;
    standin.upload_documents("docs").await;
    Setup {
        jobs: Api::namespaced(client.clone(), &ns),
        classifiers: Api::namespaced(client, &ns),
        ns,
        standin,
    }
}

async fn create_classifier(api: &Api<DocumentClassifier>, manifest: serde_json::Value) {
    let dc: DocumentClassifier = serde_json::from_value(manifest).unwrap();
    api.create(&PostParams::default(), &dc)
        .await
        .expect("create DocumentClassifier");
}

/// Classifiers the stand-in holds under `name`, with their status.
async fn standin_classifiers(standin: &Standin, name: &str) -> Vec<(String, String)> {
    let out = standin
        .comprehend()
        .await
        .list_document_classifiers()
        .filter(
            aws_sdk_comprehend::types::DocumentClassifierFilter::builder()
                .document_classifier_name(name)
                .build(),
        )
        .send()
        .await
        .expect("ListDocumentClassifiers");
    out.document_classifier_properties_list()
        .iter()
        .map(|p| {
            (
                p.document_classifier_arn().unwrap_or_default().to_string(),
                p.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

async fn calls(standin: &Standin, operation: &str) -> u64 {
    standin.stats().await["operations"][operation]["calls"]
        .as_u64()
        .unwrap_or(0)
}

fn seconds(rfc3339: &str) -> i64 {
    rfc3339
        .parse::<k8s_openapi::jiff::Timestamp>()
        .unwrap()
        .as_second()
}

#[tokio::test]
async fn train_then_classify_from_one_manifest_applied_at_once() {
    let s = setup("train-classify", "2").await;
    let _op = Operator::start(&s.ns, &s.standin, &["--classifier-poll-interval", "0.3"]);
    let manifest = format!(
        "{}\n---\n{}\n",
        serde_yaml::to_string(&job_with_classifier_ref("daily", "news", "docs")).unwrap(),
        serde_yaml::to_string(&classifier_manifest(
            "news",
            "v1",
            "s3://training/news/train.csv",
            "Retain"
        ))
        .unwrap(),
    );
    let (ok, out, err) = kubectl(
        &["apply", "--validate=false", "-n", &s.ns, "-f", "-"],
        Some(&manifest),
    );
    assert!(ok, "kubectl apply: {out}{err}");

    let job = wait_for(
        &s.jobs,
        "daily",
        Duration::from_secs(90),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    let dc = s.classifiers.get("news").await.unwrap();
    let dc_status = dc.status.clone().unwrap();
    let arn = dc_status.document_classifier_arn.clone().unwrap();
    assert_eq!(
        arn,
        format!("arn:aws:comprehend:{REGION}:{ACCOUNT}:document-classifier/news/version/v1")
    );
    assert_eq!(dc_status.status.as_deref(), Some("TRAINED"));
    let f1 = dc_status.evaluation_metrics.and_then(|m| m.f1_score);
    assert!(f1.is_some_and(|f| (0.0..=1.0).contains(&f)), "{f1:?}");
    assert_eq!(dc_status.number_of_labels, Some(3));
    assert!(dc_status.number_of_test_documents.unwrap_or(0) > 0);
    assert_eq!(dc_status.observed_generation, dc.metadata.generation);
    assert!(dc
        .metadata
        .finalizers
        .unwrap_or_default()
        .contains(&"comprehend.operators.dev/classifier".to_string()));

    // The job ran on the classifier it resolved, only after training ended.
    let status = job.status.clone().unwrap();
    assert_eq!(
        status.document_classifier_arn.as_deref(),
        Some(arn.as_str())
    );
    let trained_at = seconds(dc_status.training_end_time.as_deref().unwrap());
    let submitted_at = seconds(status.submit_time.as_deref().unwrap());
    assert!(
        submitted_at >= trained_at,
        "job submitted at {submitted_at}, classifier trained at {trained_at}"
    );
    assert_eq!(calls(&s.standin, "StartDocumentClassificationJob").await, 1);
    assert_eq!(calls(&s.standin, "CreateDocumentClassifier").await, 1);
    let predictions = read_predictions(
        &s.standin.s3().await,
        status.output_s3_uri.as_deref().unwrap(),
    )
    .await;
    assert_eq!(predictions.len(), DOCUMENTS.len());

    // kubectl shows both kinds under the category, with the F1 column.
    let (ok, out, err) = kubectl(&["get", "dclf", "-n", &s.ns], None);
    assert!(ok, "{err}");
    assert!(out.contains("F1") && out.contains("TRAINED"), "{out}");
}

/// The training CSV as a SageMaker Ground Truth (single-label text
/// classification) augmented manifest: one JSON object a line, the text in
/// `source`, the label under `attribute` with its class name in the
/// metadata.
fn augmented_manifest(attribute: &str) -> String {
    let mut classes: Vec<&str> = Vec::new();
    let mut out = String::new();
    for line in TRAINING_CSV.lines() {
        let (label, text) = line.split_once(',').unwrap();
        let index = classes.iter().position(|c| *c == label).unwrap_or_else(|| {
            classes.push(label);
            classes.len() - 1
        });
        let record = json!({
            "source": text,
            attribute: index,
            format!("{attribute}-metadata"): {
                "class-name": label,
                "confidence": 1.0,
                "type": "groundtruth/text-classification",
                "human-annotated": "yes",
                "creation-date": "2024-05-01T12:00:00.000000",
                "job-name": format!("labeling-job/{attribute}")
            }
        });
        out.push_str(&record.to_string());
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn an_augmented_manifest_classifier_trains_and_classifies() {
    let s = setup("augmented", "0.5").await;
    let s3 = s.standin.s3().await;
    put(
        &s3,
        "training",
        "news/train.manifest",
        &augmented_manifest("news-label"),
    )
    .await;
    ensure_bucket(&s3, "output").await;
    let _op = Operator::start(&s.ns, &s.standin, &["--classifier-poll-interval", "0.3"]);
    create_classifier(
        &s.classifiers,
        json!({
            "apiVersion": "comprehend.operators.dev/v1alpha1",
            "kind": "DocumentClassifier",
            "metadata": {"name": "labeled"},
            "spec": {
                "documentClassifierName": "labeled",
                "versionName": "v1",
                "languageCode": "en",
                "mode": "MULTI_CLASS",
                "inputDataConfig": {
                    "dataFormat": "AUGMENTED_MANIFEST",
                    "documentType": "PLAIN_TEXT_DOCUMENT",
                    "augmentedManifests": [{
                        "s3Uri": "s3://training/news/train.manifest",
                        "attributeNames": ["news-label"],
                        "split": "TRAIN",
                        "documentType": "PLAIN_TEXT_DOCUMENT"
                    }]
                },
                "outputDataConfig": {"s3Uri": "s3://output/training/labeled/"},
                "dataAccessRoleArn": ROLE,
                "deletionPolicy": "Delete"
            }
        }),
    )
    .await;
    create_job(&s.jobs, job_with_classifier_ref("daily", "labeled", "docs")).await;

    // Ready True or False: a refusal fails at once, with its message.
    let dc = wait_classifier(&s.classifiers, "labeled", "Ready True or False", |dc| {
        ready(dc).is_some_and(|r| r.0 != "Unknown")
    })
    .await;
    let (value, reason, message) = ready(dc.as_ref()).unwrap();
    assert_eq!(
        (value.as_str(), reason.as_str()),
        ("True", "Trained"),
        "{message}"
    );
    let status = dc.unwrap().status.unwrap();
    assert_eq!(status.status.as_deref(), Some("TRAINED"), "{status:?}");
    assert_eq!(status.number_of_labels, Some(3), "{status:?}");
    // Where Comprehend put the training output: output.tar.gz, with the
    // confusion matrix, in a folder of its own under the output prefix.
    let output = status.output_s3_uri.clone().unwrap_or_default();
    assert!(
        output.starts_with("s3://output/training/labeled/")
            && output.ends_with("/output/output.tar.gz"),
        "{status:?}"
    );
    let key = output.strip_prefix("s3://output/").unwrap();
    s3.head_object()
        .bucket("output")
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{output} must exist: {e:?}"));
    let (ok, out, err) = kubectl(&["get", "dclf", "labeled", "-n", &s.ns, "-o", "wide"], None);
    assert!(ok, "{err}");
    assert!(out.contains("OUTPUT") && out.contains(&output), "{out}");

    let job = wait_for(
        &s.jobs,
        "daily",
        Duration::from_secs(60),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    let job_status = job.status.clone().unwrap();
    assert_eq!(job_status.job_status.as_deref(), Some("COMPLETED"));
    assert_eq!(
        job_status.document_classifier_arn,
        status.document_classifier_arn
    );
    let predictions = read_predictions(&s3, job_status.output_s3_uri.as_deref().unwrap()).await;
    assert_eq!(predictions.len(), DOCUMENTS.len());
    // The create carried the manifest as written.
    let described = s
        .standin
        .comprehend()
        .await
        .describe_document_classifier()
        .document_classifier_arn(status.document_classifier_arn.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    let input = described
        .document_classifier_properties()
        .and_then(|p| p.input_data_config())
        .unwrap();
    assert_eq!(
        input.data_format().map(|f| f.as_str()),
        Some("AUGMENTED_MANIFEST")
    );
    assert_eq!(
        input.augmented_manifests()[0].attribute_names(),
        ["news-label"]
    );
}

#[tokio::test]
async fn a_job_created_before_its_classifier_waits_then_starts() {
    let s = setup("job-first", "0.5").await;
    let _op = Operator::start(&s.ns, &s.standin, &["--classifier-poll-interval", "0.3"]);
    create_job(&s.jobs, job_with_classifier_ref("early", "later", "docs")).await;
    let waiting = wait_for(
        &s.jobs,
        "early",
        Duration::from_secs(30),
        "WaitingForClassifier",
        |j| cond(j, "Succeeded").is_some_and(|c| c.1 == "WaitingForClassifier"),
    )
    .await;
    let (status, _, message) = cond(&waiting, "Succeeded").unwrap();
    assert_eq!(status, "Unknown");
    assert!(
        message.contains("later") && message.contains("does not exist"),
        "{message}"
    );
    // Waiting costs no AWS call.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(calls(&s.standin, "StartDocumentClassificationJob").await, 0);
    assert_eq!(calls(&s.standin, "ListDocumentClassificationJobs").await, 0);

    let created = Instant::now();
    create_classifier(
        &s.classifiers,
        classifier_manifest("later", "v1", "s3://training/news/train.csv", "Retain"),
    )
    .await;
    // The classifier's watch wakes the job (the fallback poll is minutes).
    let job = wait_for(
        &s.jobs,
        "early",
        Duration::from_secs(60),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    assert!(created.elapsed() < Duration::from_secs(60));
    let dc = s.classifiers.get("later").await.unwrap();
    assert_eq!(
        job.status.unwrap().document_classifier_arn,
        dc.status.unwrap().document_classifier_arn
    );
    assert_eq!(calls(&s.standin, "StartDocumentClassificationJob").await, 1);
}

#[tokio::test]
async fn bad_training_data_fails_the_classifier_and_its_job() {
    let s = setup("bad-data", "0.2").await;
    let _op = Operator::start(&s.ns, &s.standin, &["--classifier-poll-interval", "0.3"]);
    create_classifier(
        &s.classifiers,
        classifier_manifest("broken", "v1", "s3://training/bad/train.csv", "Retain"),
    )
    .await;
    create_job(&s.jobs, job_with_classifier_ref("doomed", "broken", "docs")).await;
    let dc = wait_classifier(&s.classifiers, "broken", "Ready=False", |dc| {
        ready(dc).is_some_and(|r| r.0 == "False")
    })
    .await;
    let (_, reason, message) = ready(dc.as_ref()).unwrap();
    assert_eq!(reason, "InError");
    assert_eq!(
        dc.unwrap().status.unwrap().status.as_deref(),
        Some("IN_ERROR")
    );
    assert!(message.contains("INVALID_INPUT"), "{message}");

    let job = wait_for(
        &s.jobs,
        "doomed",
        Duration::from_secs(30),
        "Succeeded=False",
        |j| succeeded(j).as_deref() == Some("False"),
    )
    .await;
    let (_, reason, message) = cond(&job, "Succeeded").unwrap();
    assert_eq!(reason, "ClassifierFailed");
    assert!(
        message.contains("broken") && message.contains("INVALID_INPUT"),
        "{message}"
    );
    assert_eq!(cond(&job, "Ready").unwrap().0, "False");
    assert_eq!(calls(&s.standin, "StartDocumentClassificationJob").await, 0);
}

#[tokio::test]
async fn deletion_policy_delete_removes_the_model_and_retain_keeps_it() {
    let s = setup("deletion", "0.2").await;
    let _op = Operator::start(&s.ns, &s.standin, &["--classifier-poll-interval", "0.3"]);
    create_classifier(
        &s.classifiers,
        classifier_manifest("gone", "v1", "s3://training/news/train.csv", "Delete"),
    )
    .await;
    create_classifier(
        &s.classifiers,
        classifier_manifest("kept", "v1", "s3://training/news/train.csv", "Retain"),
    )
    .await;
    for name in ["gone", "kept"] {
        wait_classifier(&s.classifiers, name, "Ready=True", is_ready).await;
    }
    assert_eq!(standin_classifiers(&s.standin, "gone").await.len(), 1);
    for name in ["gone", "kept"] {
        s.classifiers
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }
    for name in ["gone", "kept"] {
        wait_classifier(&s.classifiers, name, "deletion", |dc| dc.is_none()).await;
    }
    assert!(standin_classifiers(&s.standin, "gone").await.is_empty());
    let kept = standin_classifiers(&s.standin, "kept").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].1, "TRAINED");
    assert_eq!(calls(&s.standin, "DeleteDocumentClassifier").await, 1);
}

#[tokio::test]
async fn deleting_while_training_stops_training_then_deletes() {
    // Training would take a minute: deletion must stop it.
    let s = setup("stop-training", "60").await;
    let _op = Operator::start(&s.ns, &s.standin, &["--classifier-poll-interval", "0.3"]);
    create_classifier(
        &s.classifiers,
        classifier_manifest("slow", "v1", "s3://training/news/train.csv", "Delete"),
    )
    .await;
    wait_classifier(&s.classifiers, "slow", "TRAINING", |dc| {
        ready(dc).is_some_and(|r| r.1 == "Training")
    })
    .await;
    let asked = Instant::now();
    s.classifiers
        .delete("slow", &DeleteParams::default())
        .await
        .unwrap();
    wait_classifier(&s.classifiers, "slow", "deletion", |dc| dc.is_none()).await;
    assert!(asked.elapsed() < Duration::from_secs(45));
    assert!(standin_classifiers(&s.standin, "slow").await.is_empty());
    assert_eq!(calls(&s.standin, "StopTrainingDocumentClassifier").await, 1);
}

#[tokio::test]
async fn deletion_gives_up_after_bounded_retries_and_says_so() {
    let s = setup("delete-fails", "0.2").await;
    let _op = Operator::start(
        &s.ns,
        &s.standin,
        &[
            "--classifier-poll-interval",
            "0.3",
            "--classifier-delete-attempts",
            "3",
        ],
    );
    create_classifier(
        &s.classifiers,
        classifier_manifest("stuck", "v1", "s3://training/news/train.csv", "Delete"),
    )
    .await;
    wait_classifier(&s.classifiers, "stuck", "Ready=True", is_ready).await;
    s.standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({"errorFraction": 1.0})),
        )
        .await;
    s.classifiers
        .delete("stuck", &DeleteParams::default())
        .await
        .unwrap();
    wait_classifier(&s.classifiers, "stuck", "release", |dc| dc.is_none()).await;
    s.standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({"errorFraction": 0.0})),
        )
        .await;
    // The model is left in Comprehend, and an event says so.
    assert_eq!(standin_classifiers(&s.standin, "stuck").await.len(), 1);
    let (ok, out, err) = kubectl(&["get", "events", "-n", &s.ns, "-o", "json"], None);
    assert!(ok, "{err}");
    let events: serde_json::Value = serde_json::from_str(&out).unwrap();
    let notes: Vec<String> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "DeleteAbandoned")
        .map(|e| {
            e["note"]
                .as_str()
                .or(e["message"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("giving up") && n.contains("3 times")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn operator_killed_during_creation_leaves_exactly_one_classifier() {
    let s = setup("crash-create", "0.5").await;
    let mut first = Operator::start_with_env(
        &s.ns,
        &s.standin,
        &["--classifier-poll-interval", "0.3"],
        &[("COMPREHEND_OPERATOR_FAILPOINT", "after-create")],
    );
    create_classifier(
        &s.classifiers,
        classifier_manifest("once", "v1", "s3://training/news/train.csv", "Retain"),
    )
    .await;
    // The failpoint aborts the process right after Create returned.
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.proc.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "operator did not hit the failpoint"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dc = s.classifiers.get("once").await.unwrap();
    let status = dc.status.clone().unwrap();
    assert!(status.spec_hash.is_some(), "{status:?}");
    assert!(status.document_classifier_arn.is_none(), "{status:?}");
    assert_eq!(standin_classifiers(&s.standin, "once").await.len(), 1);

    let _second = Operator::start(&s.ns, &s.standin, &["--classifier-poll-interval", "0.3"]);
    let dc = wait_classifier(&s.classifiers, "once", "Ready=True", is_ready)
        .await
        .unwrap();
    let held = standin_classifiers(&s.standin, "once").await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        dc.status.unwrap().document_classifier_arn.as_deref(),
        Some(held[0].0.as_str())
    );
    assert_eq!(calls(&s.standin, "CreateDocumentClassifier").await, 1);
}

#[tokio::test]
async fn a_classifier_created_elsewhere_is_neither_adopted_nor_deleted() {
    let s = setup("foreign", "0.2").await;
    // Someone created news-shared v1 outside Kubernetes.
    s.standin
        .comprehend()
        .await
        .create_document_classifier()
        .document_classifier_name("shared")
        .version_name("v1")
        .language_code(aws_sdk_comprehend::types::LanguageCode::En)
        .data_access_role_arn(ROLE)
        .input_data_config(
            aws_sdk_comprehend::types::DocumentClassifierInputDataConfig::builder()
                .s3_uri("s3://training/news/train.csv")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let _op = Operator::start(&s.ns, &s.standin, &["--classifier-poll-interval", "0.3"]);
    create_classifier(
        &s.classifiers,
        classifier_manifest("shared", "v1", "s3://training/news/train.csv", "Delete"),
    )
    .await;
    let dc = wait_classifier(&s.classifiers, "shared", "Ready=False", |dc| {
        ready(dc).is_some_and(|r| r.0 == "False")
    })
    .await;
    let (_, reason, message) = ready(dc.as_ref()).unwrap();
    assert_eq!(reason, "AlreadyExists");
    assert!(
        message.contains("not created by this resource"),
        "{message}"
    );
    s.classifiers
        .delete("shared", &DeleteParams::default())
        .await
        .unwrap();
    wait_classifier(&s.classifiers, "shared", "deletion", |dc| dc.is_none()).await;
    assert_eq!(standin_classifiers(&s.standin, "shared").await.len(), 1);
    assert_eq!(calls(&s.standin, "DeleteDocumentClassifier").await, 0);
}

#[tokio::test]
async fn a_job_naming_two_models_is_refused_by_the_schema() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "two-models").await;
    let mut job = job_with_classifier_ref("both", "news", "docs");
    job["spec"]["documentClassifierArn"] =
        json!("arn:aws:comprehend:us-east-1:123456789012:document-classifier/news");
    let (ok, _, err) = kubectl(
        &["apply", "--validate=false", "-n", &ns, "-f", "-"],
        Some(&serde_json::to_string(&job).unwrap()),
    );
    assert!(!ok, "a job with two models was accepted");
    assert!(
        err.contains("oneOf") || err.contains("exactly one"),
        "{err}"
    );
}
