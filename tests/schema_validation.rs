//! Bad manifests are refused by the real API server at `kubectl apply`, with
//! the offending field named; good ones are accepted.

use comprehend_testkit::*;
use serde_json::{json, Value};

const CLASSIFIER: &str = "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news";

/// A change that makes a manifest bad.
type Edit = Box<dyn Fn(&mut Value)>;

/// `n` distinct tags.
fn tags(n: usize) -> Value {
    json!((0..n)
        .map(|i| json!({"key": format!("key-{i}"), "value": "v"}))
        .collect::<Vec<_>>())
}

fn manifest(name: &str) -> Value {
    let mut m = job_manifest(name, CLASSIFIER, "docs");
    m["metadata"]["name"] = json!(name);
    m
}

/// Applies with kubectl's own (client-side) validation off, so the answer is
/// the API server's: that is what must refuse bad input, and kubectl's copy
/// of the schema may lag a freshly installed CRD.
fn apply(ns: &str, manifest: &Value) -> (bool, String) {
    let (ok, out, err) = kubectl(
        &["apply", "--validate=false", "-n", ns, "-f", "-"],
        Some(&manifest.to_string()),
    );
    (ok, format!("{out}{err}"))
}

#[tokio::test]
async fn invalid_manifests_are_rejected_naming_the_field() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "schema").await;

    let (ok, out) = apply(&ns, &manifest("good"));
    assert!(ok, "a valid manifest was refused: {out}");
    // What the service accepts, at its limits, is accepted too; applied
    // under the same name, so the final listing still holds one object.
    let limits: Vec<Edit> = vec![
        Box::new(|m| m["spec"]["tags"] = tags(50)),
        Box::new(|m| m["spec"]["tags"] = json!([{"key": "awsome", "value": ""}])),
        Box::new(|m| {
            m["spec"]["inputDataConfig"]["documentReaderConfig"] = json!({"documentReadAction": "TEXTRACT_ANALYZE_DOCUMENT", "featureTypes": ["TABLES"]})
        }),
        Box::new(
            |m| m["spec"]["inputDataConfig"]["documentReaderConfig"] = json!({"documentReadAction": "TEXTRACT_DETECT_DOCUMENT_TEXT", "documentReadMode": "FORCE_DOCUMENT_READ_ACTION"}),
        ),
        Box::new(|m| {
            m["spec"]["volumeKmsKeyId"] =
                json!("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        }),
    ];
    // Following an existing job: the job ID alone (and where, and what to
    // summarize) is a whole manifest.
    let (ok, out) = apply(
        &ns,
        &json!({
            "apiVersion": "comprehend.operators.dev/v1alpha1",
            "kind": "ClassificationJob",
            "metadata": {"name": "observer"},
            "spec": {"jobId": "0123456789abcdef0123456789abcdef", "region": "us-east-1",
                     "results": {"summarize": true, "topClasses": 5}}
        }),
    );
    assert!(ok, "an observe-only manifest was refused: {out}");
    let (ok, _, _) = kubectl(
        &["delete", "classificationjob", "observer", "-n", &ns],
        None,
    );
    assert!(ok);
    for edit in limits {
        let mut m = manifest("good");
        edit(&mut m);
        let (ok, out) = apply(&ns, &m);
        assert!(ok, "a manifest the service accepts was refused: {m}\n{out}");
    }

    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "bad-s3",
            Box::new(|m| m["spec"]["inputDataConfig"]["s3Uri"] = json!("https://bucket/key")),
            "spec.inputDataConfig.s3Uri",
        ),
        (
            "bad-out",
            Box::new(|m| m["spec"]["outputDataConfig"]["s3Uri"] = json!("s3://UPPER/x")),
            "spec.outputDataConfig.s3Uri",
        ),
        (
            "bad-role",
            Box::new(|m| m["spec"]["dataAccessRoleArn"] = json!("arn:aws:iam::12:user/me")),
            "spec.dataAccessRoleArn",
        ),
        (
            "both-models",
            Box::new(|m| {
                m["spec"]["flywheelArn"] =
                    json!("arn:aws:comprehend:us-east-1:123456789012:flywheel/fw")
            }),
            "spec",
        ),
        (
            "no-model",
            Box::new(|m| {
                m["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("documentClassifierArn");
            }),
            "spec",
        ),
        (
            "six-sgs",
            Box::new(
                |m| m["spec"]["vpcConfig"] = json!({"subnets": ["subnet-1"], "securityGroupIds": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6"]}),
            ),
            "spec.vpcConfig.securityGroupIds",
        ),
        (
            "no-subnets",
            Box::new(|m| m["spec"]["vpcConfig"] = json!({"securityGroupIds": ["sg-1"]})),
            "spec.vpcConfig.subnets",
        ),
        (
            "bad-format",
            Box::new(|m| {
                m["spec"]["inputDataConfig"]["inputFormat"] = json!("ONE_DOC_PER_PARAGRAPH")
            }),
            "spec.inputDataConfig.inputFormat",
        ),
        (
            "bad-jobname",
            Box::new(|m| m["spec"]["jobName"] = json!("semi;colon")),
            "spec.jobName",
        ),
        (
            "long-jobname",
            Box::new(|m| m["spec"]["jobName"] = json!("a".repeat(257))),
            "spec.jobName",
        ),
        (
            "bad-classifier",
            Box::new(|m| m["spec"]["documentClassifierArn"] = json!("arn:aws:s3:::bucket")),
            "spec.documentClassifierArn",
        ),
        (
            "bad-region",
            Box::new(|m| m["spec"]["region"] = json!("mars")),
            "spec.region",
        ),
        (
            "negative-ttl",
            Box::new(|m| m["spec"]["ttlSecondsAfterFinished"] = json!(-1)),
            "spec.ttlSecondsAfterFinished",
        ),
        (
            "long-tag",
            Box::new(|m| m["spec"]["tags"] = json!([{"key": "k".repeat(129), "value": "v"}])),
            "spec.tags.key",
        ),
        (
            "three-features",
            Box::new(
                |m| m["spec"]["inputDataConfig"]["documentReaderConfig"] = json!({"documentReadAction": "TEXTRACT_ANALYZE_DOCUMENT", "featureTypes": ["TABLES", "FORMS", "TABLES"]}),
            ),
            "spec.inputDataConfig.documentReaderConfig.featureTypes",
        ),
        (
            "analyze-without-features",
            Box::new(|m| {
                m["spec"]["inputDataConfig"]["documentReaderConfig"] =
                    json!({"documentReadAction": "TEXTRACT_ANALYZE_DOCUMENT"})
            }),
            "spec.inputDataConfig.documentReaderConfig",
        ),
        (
            "fifty-one-tags",
            Box::new(|m| m["spec"]["tags"] = tags(51)),
            "spec.tags",
        ),
        (
            "reserved-tag",
            Box::new(|m| m["spec"]["tags"] = json!([{"key": "AWS:team", "value": "v"}])),
            "spec.tags.key",
        ),
        (
            "non-ascii-kms",
            Box::new(|m| m["spec"]["volumeKmsKeyId"] = json!("alias/clé")),
            "spec.volumeKmsKeyId",
        ),
        (
            "job-id-and-a-new-job",
            Box::new(|m| m["spec"]["jobId"] = json!("0123456789abcdef0123456789abcdef")),
            "spec",
        ),
        (
            "job-id-with-tags",
            Box::new(|m| {
                m["spec"] = json!({"jobId": "abc", "tags": [{"key": "team", "value": "a"}]})
            }),
            "spec",
        ),
        (
            "bad-job-id",
            Box::new(|m| m["spec"] = json!({"jobId": "semi;colon"})),
            "spec.jobId",
        ),
        (
            "long-job-id",
            Box::new(|m| m["spec"] = json!({"jobId": "a".repeat(33)})),
            "spec.jobId",
        ),
        (
            "no-top-classes",
            Box::new(|m| m["spec"]["results"] = json!({"summarize": true, "topClasses": 0})),
            "spec.results.topClasses",
        ),
        (
            "results-without-summarize",
            Box::new(|m| m["spec"]["results"] = json!({"topClasses": 3})),
            "spec.results.summarize",
        ),
        (
            "no-role",
            Box::new(|m| {
                m["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("dataAccessRoleArn");
            }),
            "spec.dataAccessRoleArn",
        ),
    ];
    for (name, edit, field) in cases {
        let mut m = manifest(name);
        edit(&mut m);
        let (ok, out) = apply(&ns, &m);
        assert!(!ok, "{name}: the API server accepted a bad manifest");
        assert!(
            out.contains(field),
            "{name}: the error does not name {field}: {out}"
        );
    }
    let (ok, out, _) = kubectl(
        &["get", "classificationjobs", "-n", &ns, "-o", "name"],
        None,
    );
    assert!(ok);
    assert_eq!(
        out.trim(),
        "classificationjob.comprehend.operators.dev/good"
    );
}

#[tokio::test]
async fn kubectl_explain_teaches_the_spec() {
    let client = client().await;
    install_crd(&client).await;
    // The API server publishes a CRD's schema to OpenAPI a little after it
    // is established (and again after each replace by another test).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let out = loop {
        let (ok, out, err) = kubectl(&["explain", "classificationjob.spec"], None);
        if ok && out.contains("jobId") {
            break out;
        }
        assert!(std::time::Instant::now() < deadline, "{err}{out}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    for field in [
        "documentClassifierArn",
        "inputDataConfig",
        "dataAccessRoleArn",
        "ttlSecondsAfterFinished",
    ] {
        assert!(out.contains(field), "explain lacks {field}: {out}");
    }
    assert!(out.contains("Exactly one of"), "{out}");
}

#[tokio::test]
async fn every_sample_is_accepted() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "samples").await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/samples");
    let mut applied = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml")
            || !path.to_string_lossy().contains("classificationjob")
        {
            continue;
        }
        let (ok, out, err) = kubectl(
            &[
                "apply",
                "--dry-run=server",
                "-n",
                &ns,
                "-f",
                path.to_str().unwrap(),
            ],
            None,
        );
        assert!(ok, "{} was refused: {out}{err}", path.display());
        applied += 1;
    }
    assert!(
        applied >= 5,
        "expected a sample per console option, found {applied}"
    );
}
