//! DocumentClassifier manifests Comprehend would refuse are refused by the
//! real API server at `kubectl apply` (a 1.20 server, which ignores CEL: the
//! structural rules alone must refuse them), naming the field; a manifest
//! with every field is accepted and kept whole.

use comprehend_testkit::*;
use serde_json::{json, Value};

/// A change that makes a manifest bad.
type Edit = Box<dyn Fn(&mut Value)>;

/// A valid native document model with every optional field the service
/// model has.
fn full_manifest(name: &str) -> Value {
    json!({
        "apiVersion": "comprehend.operators.dev/v1alpha1",
        "kind": "DocumentClassifier",
        "metadata": {"name": name},
        "spec": {
            "documentClassifierName": "forms",
            "versionName": "v1",
            "languageCode": "en",
            "mode": "MULTI_CLASS",
            "inputDataConfig": {
                "dataFormat": "COMPREHEND_CSV",
                "s3Uri": "s3://training/forms/train.csv",
                "testS3Uri": "s3://training/forms/test.csv",
                "documentType": "SEMI_STRUCTURED_DOCUMENT",
                "documents": {
                    "s3Uri": "s3://training/forms/pdfs/",
                    "testS3Uri": "s3://training/forms/test-pdfs/"
                },
                "documentReaderConfig": {
                    "documentReadAction": "TEXTRACT_ANALYZE_DOCUMENT",
                    "documentReadMode": "FORCE_DOCUMENT_READ_ACTION",
                    "featureTypes": ["TABLES", "FORMS"]
                }
            },
            "outputDataConfig": {
                "s3Uri": "s3://output/forms/",
                "kmsKeyId": "alias/comprehend-output",
                "flywheelStatsS3Prefix": "s3://datalake/forms/stats/"
            },
            "dataAccessRoleArn": ROLE,
            "volumeKmsKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
            "modelKmsKeyId": "alias/comprehend-model",
            "modelPolicy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::444455556666:root\"},\"Action\":\"comprehend:ImportModel\",\"Resource\":\"*\"}]}",
            "vpcConfig": {"subnets": ["subnet-0123"], "securityGroupIds": ["sg-0123"]},
            "tags": [{"key": "team", "value": "forms"}],
            "deletionPolicy": "Retain"
        }
    })
}

/// A valid plain-text model from an augmented manifest, in Italian.
fn manifest_model(name: &str) -> Value {
    json!({
        "apiVersion": "comprehend.operators.dev/v1alpha1",
        "kind": "DocumentClassifier",
        "metadata": {"name": name},
        "spec": {
            "documentClassifierName": name,
            "languageCode": "it",
            "inputDataConfig": {
                "dataFormat": "AUGMENTED_MANIFEST",
                "documentType": "PLAIN_TEXT_DOCUMENT",
                "augmentedManifests": [{
                    "s3Uri": "s3://training/news/train.manifest",
                    "attributeNames": ["news-labels"],
                    "split": "TRAIN"
                }]
            },
            "dataAccessRoleArn": ROLE
        }
    })
}

/// Applies with kubectl's own validation off, so the answer is the API
/// server's.
fn apply(ns: &str, manifest: &Value) -> (bool, String) {
    let (ok, out, err) = kubectl(
        &["apply", "--validate=false", "-n", ns, "-f", "-"],
        Some(&manifest.to_string()),
    );
    (ok, format!("{out}{err}"))
}

fn remove(v: &mut Value, key: &str) {
    v.as_object_mut().unwrap().remove(key);
}

#[tokio::test]
async fn classifier_manifests_comprehend_would_refuse_are_refused_naming_the_field() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "classifier-schema").await;

    let cases: Vec<(&str, Edit, &[&str])> = vec![
        (
            "arabic",
            Box::new(|m| m["spec"]["languageCode"] = json!("ar")),
            &["spec.languageCode", "\"ar\""],
        ),
        (
            "traditional-chinese",
            Box::new(|m| m["spec"]["languageCode"] = json!("zh-TW")),
            &["spec.languageCode"],
        ),
        (
            "native-in-german",
            Box::new(|m| m["spec"]["languageCode"] = json!("de")),
            &["spec.languageCode", "en"],
        ),
        (
            "native-without-documents",
            Box::new(|m| remove(&mut m["spec"]["inputDataConfig"], "documents")),
            &["documents"],
        ),
        (
            "native-without-output",
            Box::new(|m| remove(&mut m["spec"], "outputDataConfig")),
            &["outputDataConfig"],
        ),
        (
            "native-without-output-uri",
            Box::new(|m| remove(&mut m["spec"]["outputDataConfig"], "s3Uri")),
            &["s3Uri"],
        ),
        (
            "analyze-without-features",
            Box::new(|m| {
                remove(
                    &mut m["spec"]["inputDataConfig"]["documentReaderConfig"],
                    "featureTypes",
                )
            }),
            // A 1.20 server names the reader (its anyOf's first branch
            // wants TEXTRACT_DETECT_DOCUMENT_TEXT); newer ones show the CEL
            // message about featureTypes.
            &["spec.inputDataConfig.documentReaderConfig"],
        ),
        (
            "documents-without-uri",
            Box::new(|m| remove(&mut m["spec"]["inputDataConfig"]["documents"], "s3Uri")),
            &["spec.inputDataConfig.documents.s3Uri"],
        ),
        (
            "bad-test-documents",
            Box::new(|m| {
                m["spec"]["inputDataConfig"]["documents"]["testS3Uri"] = json!("https://x/y")
            }),
            &["spec.inputDataConfig.documents.testS3Uri"],
        ),
        (
            "bad-document-type",
            Box::new(|m| m["spec"]["inputDataConfig"]["documentType"] = json!("PDF")),
            &["spec.inputDataConfig.documentType"],
        ),
        (
            "bad-stats-prefix",
            Box::new(|m| {
                m["spec"]["outputDataConfig"]["flywheelStatsS3Prefix"] = json!("s3://UPPER/x")
            }),
            &["spec.outputDataConfig.flywheelStatsS3Prefix"],
        ),
        (
            "empty-policy",
            Box::new(|m| m["spec"]["modelPolicy"] = json!("")),
            &["spec.modelPolicy"],
        ),
        (
            "long-policy",
            Box::new(|m| m["spec"]["modelPolicy"] = json!("x".repeat(20001))),
            &["spec.modelPolicy"],
        ),
        (
            "policy-beyond-latin-1",
            Box::new(|m| m["spec"]["modelPolicy"] = json!("{\"Sid\":\"\u{0100}\"}")),
            &["spec.modelPolicy"],
        ),
        (
            "csv-without-uri",
            Box::new(|m| remove(&mut m["spec"]["inputDataConfig"], "s3Uri")),
            &["s3Uri"],
        ),
        (
            "long-name",
            Box::new(|m| m["spec"]["documentClassifierName"] = json!("a".repeat(64))),
            &["spec.documentClassifierName"],
        ),
    ];
    for (name, edit, wanted) in cases {
        let mut m = full_manifest(name);
        edit(&mut m);
        let (ok, out) = apply(&ns, &m);
        assert!(!ok, "{name}: the API server accepted a bad manifest");
        for w in wanted {
            assert!(
                out.contains(w),
                "{name}: the error does not name {w}: {out}"
            );
        }
    }

    // A plain-text model from an augmented manifest, without documents or
    // output, in Italian, is fine; with AUGMENTED_MANIFEST and no manifest
    // it is not.
    let (ok, out) = apply(&ns, &manifest_model("italian"));
    assert!(ok, "a valid augmented-manifest model was refused: {out}");
    let mut empty = manifest_model("no-manifests");
    remove(&mut empty["spec"]["inputDataConfig"], "augmentedManifests");
    let (ok, out) = apply(&ns, &empty);
    assert!(!ok, "AUGMENTED_MANIFEST without manifests was accepted");
    assert!(out.contains("augmentedManifests"), "{out}");

    let (ok, out, _) = kubectl(&["get", "dclf", "-n", &ns, "-o", "name"], None);
    assert!(ok);
    assert_eq!(
        out.trim(),
        "documentclassifier.comprehend.operators.dev/italian"
    );
}

#[tokio::test]
async fn a_manifest_with_every_field_is_accepted_and_kept_whole() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "classifier-full").await;
    let m = full_manifest("full");
    let (ok, out) = apply(&ns, &m);
    assert!(ok, "the full manifest was refused: {out}");
    let (ok, out, err) = kubectl(&["get", "dclf", "full", "-n", &ns, "-o", "json"], None);
    assert!(ok, "{err}");
    let stored: Value = serde_json::from_str(&out).unwrap();
    // Nothing pruned: every field is in the schema.
    let mut want = m["spec"].clone();
    let got = stored["spec"].clone();
    want["deletionPolicy"] = got["deletionPolicy"].clone();
    assert_eq!(got, want);
    // It reads back as the operator's type.
    let dc: comprehend_operator::classifier::crd::DocumentClassifier =
        serde_json::from_value(stored).unwrap();
    assert!(dc.spec.model_policy.is_some());
    assert!(dc.spec.input_data_config.documents.is_some());
}

#[tokio::test]
async fn kubectl_explain_teaches_the_new_fields() {
    let client = client().await;
    install_crd(&client).await;
    // The API server publishes a new or changed CRD's schema a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !kubectl(&["explain", "documentclassifier.spec.modelPolicy"], None).0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the schema was not published"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let (ok, out, err) = kubectl(
        &["explain", "documentclassifier.spec.inputDataConfig"],
        None,
    );
    assert!(ok, "{err}");
    for field in ["documentType", "documents", "documentReaderConfig"] {
        assert!(out.contains(field), "explain lacks {field}: {out}");
    }
    let (ok, out, err) = kubectl(&["explain", "documentclassifier.spec.languageCode"], None);
    assert!(ok, "{err}");
    assert!(out.contains("de, en, es, fr, it or pt"), "{out}");
    let (ok, out, err) = kubectl(&["explain", "documentclassifier.spec.modelPolicy"], None);
    assert!(ok, "{err}");
    assert!(out.contains("import"), "{out}");
}
