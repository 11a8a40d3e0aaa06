//! Training through the real `aws-sdk-comprehend` client: SageMaker Ground
//! Truth augmented manifests (TRAIN/TEST split, multi-class and
//! multi-label) give the same classifier as the same data in
//! COMPREHEND_CSV, and the training output (`output.tar.gz` with the
//! confusion matrix) lands where Describe says.

mod common;

use std::io::Read;

use aws_sdk_comprehend::types::{
    AugmentedManifestsListItem, DocumentClassifierDataFormat, DocumentClassifierInputDataConfig,
    DocumentClassifierMode, DocumentClassifierOutputDataConfig, DocumentClassifierProperties,
    InputFormat, JobStatus, LanguageCode, ModelStatus, Split,
};
use common::{Harness, MULTI_LABEL_CSV, ROLE, TRAINING_CSV};
use serde_json::{json, Value};

/// The members of an `output.tar.gz` at `uri`, by name.
async fn archive(h: &Harness, uri: &str) -> Vec<(String, String)> {
    let (bucket, key) = uri.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let bytes = h.get(bucket, key).await;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut members = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        members.push((name, text));
    }
    members
}

/// Ground Truth output lines for `label,text` CSV lines: multi-class with
/// `class-name`, multi-label (labels split on `|`) with `class-map`.
fn manifest(csv: &str, attribute: &str, mode: DocumentClassifierMode) -> String {
    let mut classes: Vec<String> = Vec::new();
    let mut out = String::new();
    for line in csv.lines().filter(|l| !l.trim().is_empty()) {
        let (labels, text) = line.split_once(',').unwrap();
        let mut indexes = Vec::new();
        for label in labels.split('|') {
            let index = match classes.iter().position(|c| c == label) {
                Some(i) => i,
                None => {
                    classes.push(label.to_string());
                    classes.len() - 1
                }
            };
            indexes.push(index);
        }
        let metadata = format!("{attribute}-metadata");
        let line = if mode == DocumentClassifierMode::MultiLabel {
            let class_map: serde_json::Map<String, Value> = indexes
                .iter()
                .map(|&i| (i.to_string(), json!(classes[i])))
                .collect();
            json!({
                "source": text,
                attribute: indexes,
                metadata: {
                    "job-name": "labeling-job/topics",
                    "class-map": class_map,
                    "human-annotated": "yes",
                    "creation-date": "2024-01-01T00:00:00.000000",
                    "type": "groundtruth/text-classification-multilabel",
                },
            })
        } else {
            json!({
                "source": text,
                attribute: indexes[0],
                metadata: {
                    "confidence": 0.95,
                    "job-name": "labeling-job/topic",
                    "class-name": classes[indexes[0]],
                    "human-annotated": "yes",
                    "creation-date": "2024-01-01T00:00:00.000000",
                    "type": "groundtruth/text-classification",
                },
            })
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

const TEST_CSV: &str = "\
SPORTS,the team won the match after a goal
POLITICS,the minister lost the election vote
COOKING,add garlic and butter to the soup
";

async fn describe(h: &Harness, arn: &str) -> DocumentClassifierProperties {
    h.comprehend
        .describe_document_classifier()
        .document_classifier_arn(arn)
        .send()
        .await
        .unwrap()
        .document_classifier_properties
        .unwrap()
}

async fn create(
    h: &Harness,
    name: &str,
    mode: DocumentClassifierMode,
    input: DocumentClassifierInputDataConfig,
) -> String {
    h.comprehend
        .create_document_classifier()
        .document_classifier_name(name)
        .data_access_role_arn(ROLE)
        .language_code(LanguageCode::En)
        .mode(mode)
        .input_data_config(input)
        .send()
        .await
        .unwrap()
        .document_classifier_arn
        .unwrap()
}

fn manifest_item(uri: &str, attribute: &str, split: Split) -> AugmentedManifestsListItem {
    AugmentedManifestsListItem::builder()
        .s3_uri(uri)
        .attribute_names(attribute)
        .split(split)
        .build()
        .unwrap()
}

/// Runs a ONE_DOC_PER_LINE job on `s3://in-bucket/docs/` and returns the
/// predictions.
async fn predictions(h: &Harness, name: &str, classifier: &str) -> Vec<Value> {
    let job = h
        .start_job(
            name,
            classifier,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerLine,
            &format!("s3://out-bucket/{name}/"),
        )
        .await
        .unwrap();
    let props = h.wait_job(&job).await;
    assert_eq!(
        props.job_status(),
        Some(&JobStatus::Completed),
        "{:?}",
        props.message()
    );
    let members = archive(h, props.output_data_config().unwrap().s3_uri()).await;
    assert_eq!(members.len(), 1);
    members[0]
        .1
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn augmented_manifests_train_like_csv() {
    let h = Harness::fast().await;
    for bucket in ["train", "in-bucket", "out-bucket"] {
        h.bucket(bucket).await;
    }
    h.put(
        "in-bucket",
        "docs/batch.txt",
        "the striker scored a goal\nthe parliament passed the election budget\n\nroast the chicken in the oven\n",
    )
    .await;

    // Multi-class: a TRAIN and a TEST manifest, against the same data as
    // CSV with a test file.
    h.put("train", "csv/train.csv", TRAINING_CSV).await;
    h.put("train", "csv/test.csv", TEST_CSV).await;
    let topic = DocumentClassifierMode::MultiClass;
    h.put(
        "train",
        "gt/train.manifest",
        &manifest(TRAINING_CSV, "topic", topic.clone()),
    )
    .await;
    h.put(
        "train",
        "gt/test.manifest",
        &manifest(TEST_CSV, "topic", topic.clone()),
    )
    .await;
    let from_csv = create(
        &h,
        "from-csv",
        topic.clone(),
        DocumentClassifierInputDataConfig::builder()
            .s3_uri("s3://train/csv/train.csv")
            .test_s3_uri("s3://train/csv/test.csv")
            .build(),
    )
    .await;
    let from_manifest = create(
        &h,
        "from-manifest",
        topic.clone(),
        DocumentClassifierInputDataConfig::builder()
            .data_format(DocumentClassifierDataFormat::AugmentedManifest)
            .augmented_manifests(manifest_item(
                "s3://train/gt/train.manifest",
                "topic",
                Split::Train,
            ))
            .augmented_manifests(manifest_item(
                "s3://train/gt/test.manifest",
                "topic",
                Split::Test,
            ))
            .build(),
    )
    .await;

    // Multi-label: one TRAIN manifest (Split left to its default).
    let labels = DocumentClassifierMode::MultiLabel;
    h.put("train", "csv/labels.csv", MULTI_LABEL_CSV).await;
    h.put(
        "train",
        "gt/labels.manifest",
        &manifest(MULTI_LABEL_CSV, "topics", labels.clone()),
    )
    .await;
    let labels_csv = create(
        &h,
        "labels-csv",
        labels.clone(),
        DocumentClassifierInputDataConfig::builder()
            .s3_uri("s3://train/csv/labels.csv")
            .label_delimiter("|")
            .build(),
    )
    .await;
    let labels_manifest = create(
        &h,
        "labels-manifest",
        labels.clone(),
        DocumentClassifierInputDataConfig::builder()
            .data_format(DocumentClassifierDataFormat::AugmentedManifest)
            .augmented_manifests(
                AugmentedManifestsListItem::builder()
                    .s3_uri("s3://train/gt/labels.manifest")
                    .attribute_names("topics")
                    .build()
                    .unwrap(),
            )
            .build(),
    )
    .await;

    for (csv, gt) in [(&from_csv, &from_manifest), (&labels_csv, &labels_manifest)] {
        assert_eq!(h.wait_classifier(csv).await, ModelStatus::Trained);
        assert_eq!(
            h.wait_classifier(gt).await,
            ModelStatus::Trained,
            "{:?}",
            describe(&h, gt).await.message()
        );
        let (a, b) = (describe(&h, csv).await, describe(&h, gt).await);
        assert_eq!(a.classifier_metadata(), b.classifier_metadata(), "{gt}");
        let a = predictions(
            &h,
            &format!(
                "{}-job",
                a.document_classifier_arn()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
            ),
            csv,
        )
        .await;
        let b = predictions(
            &h,
            &format!(
                "{}-job",
                b.document_classifier_arn()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
            ),
            gt,
        )
        .await;
        assert_eq!(a.len(), 4);
        assert_eq!(a, b, "{gt}");
    }
    let metadata = describe(&h, &from_manifest)
        .await
        .classifier_metadata
        .unwrap();
    assert_eq!(metadata.number_of_labels(), Some(3));
    assert_eq!(metadata.number_of_trained_documents(), Some(12));
    assert_eq!(metadata.number_of_test_documents(), Some(3));
    let predicted = predictions(&h, "manifest-classes", &from_manifest).await;
    let top: Vec<&str> = predicted
        .iter()
        .map(|p| p["Classes"][0]["Name"].as_str().unwrap())
        .collect();
    assert_eq!(top[0], "SPORTS");
    assert_eq!(top[1], "POLITICS");
    assert_eq!(top[3], "COOKING");
}

#[tokio::test]
async fn malformed_manifests_end_in_error() {
    let h = Harness::fast().await;
    h.bucket("train").await;
    let good = manifest(TRAINING_CSV, "topic", DocumentClassifierMode::MultiClass);
    let cases = [
        (
            "not-json",
            format!("{good}{{not json\n"),
            "line 13: the line is not JSON",
        ),
        (
            "wrong-attribute",
            good.replace("\"topic\"", "\"label\""),
            "line 1: the line has none of the label attributes topic",
        ),
        (
            "no-source",
            good.replace("\"source\"", "\"text\""),
            "line 1: the line has no \"source\" attribute",
        ),
    ];
    for (name, body, _) in &cases {
        h.put("train", &format!("bad/{name}.manifest"), body).await;
    }
    let mut arns = Vec::new();
    for (name, _, _) in &cases {
        arns.push(
            create(
                &h,
                name,
                DocumentClassifierMode::MultiClass,
                DocumentClassifierInputDataConfig::builder()
                    .data_format(DocumentClassifierDataFormat::AugmentedManifest)
                    .augmented_manifests(manifest_item(
                        &format!("s3://train/bad/{name}.manifest"),
                        "topic",
                        Split::Train,
                    ))
                    .build(),
            )
            .await,
        );
    }
    let missing = create(
        &h,
        "missing",
        DocumentClassifierMode::MultiClass,
        DocumentClassifierInputDataConfig::builder()
            .data_format(DocumentClassifierDataFormat::AugmentedManifest)
            .augmented_manifests(manifest_item(
                "s3://train/nothing.manifest",
                "topic",
                Split::Train,
            ))
            .build(),
    )
    .await;
    for ((name, _, expected), arn) in cases.iter().zip(&arns) {
        assert_eq!(h.wait_classifier(arn).await, ModelStatus::InError, "{name}");
        let message = describe(&h, arn).await.message.unwrap();
        assert!(
            message.starts_with("INVALID_INPUT: s3://train/bad/")
                && message.contains(&format!("{name}.manifest, {expected}")),
            "{name}: {message}"
        );
    }
    assert_eq!(h.wait_classifier(&missing).await, ModelStatus::InError);
    let message = describe(&h, &missing).await.message.unwrap();
    assert!(message.contains("INPUT_FILES_NOT_FOUND"), "{message}");
}

#[tokio::test]
async fn training_output_lands_where_describe_says() {
    let h = Harness::fast().await;
    h.bucket("train").await;
    h.bucket("train-out").await;
    h.put("train", "news.csv", TRAINING_CSV).await;
    let create_with_output = |name: &'static str, prefix: &'static str| {
        h.comprehend
            .create_document_classifier()
            .document_classifier_name(name)
            .data_access_role_arn(ROLE)
            .language_code(LanguageCode::En)
            .input_data_config(
                DocumentClassifierInputDataConfig::builder()
                    .s3_uri("s3://train/news.csv")
                    .build(),
            )
            .output_data_config(
                DocumentClassifierOutputDataConfig::builder()
                    .s3_uri(prefix)
                    .build(),
            )
            .send()
    };
    let arn = create_with_output("with-output", "s3://train-out/models/")
        .await
        .unwrap()
        .document_classifier_arn
        .unwrap();

    // The full location, from the start.
    let uri = describe(&h, &arn)
        .await
        .output_data_config
        .unwrap()
        .s3_uri
        .unwrap();
    let id = uri
        .strip_prefix("s3://train-out/models/123456789012-CLR-")
        .and_then(|rest| rest.strip_suffix("/output/output.tar.gz"))
        .unwrap_or_else(|| panic!("{uri}"));
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");

    assert_eq!(h.wait_classifier(&arn).await, ModelStatus::Trained);
    let props = describe(&h, &arn).await;
    assert_eq!(
        props.output_data_config().unwrap().s3_uri(),
        Some(uri.as_str())
    );
    assert!(props.training_start_time().is_some());
    assert!(props.training_end_time().is_some());
    let test_documents = props
        .classifier_metadata()
        .unwrap()
        .number_of_test_documents()
        .unwrap();

    let members = archive(&h, &uri).await;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].0, "confusion_matrix.json");
    let matrix: Value = serde_json::from_str(&members[0].1).unwrap();
    assert_eq!(matrix["type"], "multi_class");
    assert_eq!(matrix["labels"], json!(["COOKING", "POLITICS", "SPORTS"]));
    let rows = matrix["confusion_matrix"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let total: u64 = rows
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, u64::try_from(test_documents).unwrap());

    // No output location: nothing reported. A missing output bucket: the
    // training ends IN_ERROR.
    let plain = h.trained_classifier("no-output").await;
    assert!(describe(&h, &plain).await.output_data_config.is_none());
    let broken = create_with_output("broken-output", "s3://no-such-bucket/models")
        .await
        .unwrap()
        .document_classifier_arn
        .unwrap();
    assert_eq!(h.wait_classifier(&broken).await, ModelStatus::InError);
    let message = describe(&h, &broken).await.message.unwrap();
    assert!(
        message.starts_with("NO_WRITE_ACCESS_TO_OUTPUT"),
        "{message}"
    );
}
