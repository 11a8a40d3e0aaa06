//! Job outputs as an operator reading them sees them, through the real S3
//! protocol: the output faults (`missing`, `malformedArchive`,
//! `malformedLines`, `errors`), predictable classes and labels, a large
//! output streamed through a file, and the S3 server taking credentials
//! AssumeRole issued.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use aws_config::sts::AssumeRoleProvider;
use aws_config::BehaviorVersion;
use aws_sdk_comprehend::config::{Credentials, ProvideCredentials, Region};
use aws_sdk_comprehend::types::{DocumentClassifierMode, InputFormat, JobStatus, ModelStatus};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use common::*;
use comprehend_standin::{Config, Role};
use serde_json::Value;

/// Puts faults through the admin API; returns the faults after the PUT.
async fn put_faults(h: &Harness, body: &str) -> Value {
    let response = raw_request(h.running.endpoint(), "PUT", "/_standin/faults", &[], body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

/// Bucket and key of an `s3://` URI.
fn split(uri: &str) -> (&str, &str) {
    uri.strip_prefix("s3://").unwrap().split_once('/').unwrap()
}

/// The raw text of `predictions.jsonl` in the archive at `uri`.
async fn predictions_text(h: &Harness, uri: &str) -> String {
    let (bucket, key) = split(uri);
    let bytes = h.get(bucket, key).await;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut entries = archive.entries().unwrap();
    let mut entry = entries.next().expect("one member").unwrap();
    assert_eq!(
        entry.path().unwrap().display().to_string(),
        "predictions.jsonl"
    );
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    assert!(entries.next().is_none());
    text
}

/// Five documents, one a line.
const FIVE_LINES: &str = "\
the team scored a goal and won the match
the parliament passed the budget
bake the cake with flour and sugar
the striker scored twice
voters elected a senator
";

#[tokio::test]
async fn output_faults_spoil_the_output_of_named_jobs() {
    let h = Harness::fast().await;
    let classifier = h.trained_classifier("faulty").await;
    h.bucket("in-bucket").await;
    h.bucket("out-bucket").await;
    h.put("in-bucket", "docs/five.txt", FIVE_LINES).await;
    let faults = put_faults(
        &h,
        r#"{"outputFaults": {"gone": "missing", "garbled": "malformedArchive",
                             "broken": "malformedLines", "errored": "errors"}}"#,
    )
    .await;
    assert_eq!(faults["outputFaults"]["garbled"], "malformedArchive");
    assert_eq!(faults["holdJobNames"], serde_json::json!([]));

    let mut uris = BTreeMap::new();
    for name in ["gone", "garbled", "broken", "errored", "fine"] {
        let job = h
            .start_job(
                name,
                &classifier,
                "s3://in-bucket/docs/",
                InputFormat::OneDocPerLine,
                "s3://out-bucket/results/",
            )
            .await
            .unwrap();
        let props = h.wait_job(&job).await;
        assert_eq!(props.job_status(), Some(&JobStatus::Completed), "{name}");
        let uri = props.output_data_config().unwrap().s3_uri().to_string();
        assert_eq!(
            uri,
            format!("s3://out-bucket/results/123456789012-CLN-{job}/output/output.tar.gz")
        );
        uris.insert(name, uri);
    }

    // missing: COMPLETED with its URI, nothing there.
    let (bucket, key) = split(&uris["gone"]);
    let err =
        h.s3.get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchKey"), "{err:?}");

    // malformedArchive: bytes that are not gzip.
    let (bucket, key) = split(&uris["garbled"]);
    let bytes = h.get(bucket, key).await;
    assert_eq!(bytes, comprehend_standin::faults::MALFORMED_ARCHIVE);
    let mut text = Vec::new();
    assert!(flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut text)
        .is_err());

    // malformedLines: lines 2 and 5 (indexes 1 and 4) are not JSON.
    let text = predictions_text(&h, &uris["broken"]).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    let bad: Vec<usize> = (0..5)
        .filter(|&i| serde_json::from_str::<Value>(lines[i]).is_err())
        .collect();
    assert_eq!(bad, vec![1, 4]);
    assert_eq!(lines[1], r#"{"File": "five.txt"#);
    let good: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(good["Classes"][0]["Name"], "SPORTS");

    // errors: lines of indexes 1 and 3 carry Errors and no Classes.
    let (_, lines) = read_output(&h, &uris["errored"]).await;
    assert_eq!(lines.len(), 5);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["File"], "five.txt");
        assert_eq!(line["Line"], i.to_string());
        if i % 2 == 1 {
            assert!(line.get("Classes").is_none(), "{line}");
            assert!(line.get("Labels").is_none(), "{line}");
            assert_eq!(line["Errors"][0]["ErrorCode"], "INTERNAL_SERVER_ERROR");
            assert!(line["Errors"][0]["ErrorMessage"].is_string());
        } else {
            assert!(line.get("Errors").is_none(), "{line}");
            assert_eq!(line["Classes"].as_array().unwrap().len(), 3);
        }
    }

    // Another job is untouched.
    let (_, lines) = read_output(&h, &uris["fine"]).await;
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l.get("Classes").is_some()));

    // Like the other faults, they outlive a reset; a PUT clears them.
    raw_request(h.running.endpoint(), "POST", "/_standin/reset", &[], "").await;
    let faults = raw_request(h.running.endpoint(), "GET", "/_standin/faults", &[], "")
        .await
        .json();
    assert_eq!(faults["outputFaults"].as_object().unwrap().len(), 4);
    let faults = put_faults(&h, r#"{"outputFaults": {}}"#).await;
    assert_eq!(faults["outputFaults"], serde_json::json!({}));

    // A bad kind is refused.
    let response = raw_request(
        h.running.endpoint(),
        "PUT",
        "/_standin/faults",
        &[],
        r#"{"outputFaults": {"x": "truncated"}}"#,
    )
    .await;
    assert_eq!(response.status, 400);
    assert!(response.body.contains("truncated"), "{}", response.body);
}

#[tokio::test]
async fn the_missing_fault_still_needs_the_output_bucket() {
    let h = Harness::fast().await;
    let classifier = h.trained_classifier("nobucket").await;
    h.bucket("in-bucket").await;
    h.put("in-bucket", "docs/a.txt", "the team won").await;
    put_faults(&h, r#"{"outputFaults": {"gone": "missing"}}"#).await;
    let job = h
        .start_job(
            "gone",
            &classifier,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerFile,
            "s3://no-such-bucket/out/",
        )
        .await
        .unwrap();
    let props = h.wait_job(&job).await;
    assert_eq!(props.job_status(), Some(&JobStatus::Failed));
    assert!(props
        .message()
        .unwrap()
        .starts_with("NO_WRITE_ACCESS_TO_OUTPUT"));
}

/// How many lines have each name first in `member` (`Classes` or `Labels`).
fn counts(lines: &[Value], member: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in lines {
        let name = line[member][0]["Name"].as_str().unwrap_or("-").to_string();
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn classes_and_labels_are_predictable() {
    let h = Harness::fast().await;
    let multi_class = h.trained_classifier("classes").await;
    let multi_label = h
        .create_classifier(
            "labels",
            MULTI_LABEL_CSV,
            DocumentClassifierMode::MultiLabel,
        )
        .await;
    assert_eq!(h.wait_classifier(&multi_label).await, ModelStatus::Trained);
    h.bucket("in-bucket").await;
    h.bucket("out-bucket").await;
    // Words of one class's training documents only; then words the model
    // never saw (and a blank line).
    h.put(
        "in-bucket",
        "docs/batch.txt",
        "football goal\nstriker scored\nthe match\nparliament budget\nelection senator\n\
         oven flour\ngarlic soup\nsugar eggs\nquantum zebra\n\n",
    )
    .await;

    let classes = h
        .start_job(
            "classes",
            &multi_class,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerLine,
            "s3://out-bucket/",
        )
        .await
        .unwrap();
    let labels = h
        .start_job(
            "labels",
            &multi_label,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerLine,
            "s3://out-bucket/",
        )
        .await
        .unwrap();

    let props = h.wait_job(&classes).await;
    let (_, lines) = read_output(&h, props.output_data_config().unwrap().s3_uri()).await;
    assert_eq!(lines.len(), 10);
    for line in &lines {
        assert!(line.get("Labels").is_none());
        let scores: Vec<f64> = line["Classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Score"].as_f64().unwrap())
            .collect();
        assert_eq!(scores.len(), 3);
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{line}");
    }
    // The held-out tenth of TRAINING_CSV is its 10th document, a COOKING
    // one: COOKING has 3 training documents, POLITICS and SPORTS 4, so a
    // document without known words is POLITICS (the most documents, ties
    // by name).
    let expected: BTreeMap<String, usize> = [("COOKING", 3), ("POLITICS", 4), ("SPORTS", 3)]
        .into_iter()
        .map(|(name, n)| (name.to_string(), n))
        .collect();
    assert_eq!(counts(&lines, "Classes"), expected);
    assert_eq!(lines[8]["Classes"][0]["Name"], "POLITICS");
    assert_eq!(lines[9]["Classes"][0]["Name"], "POLITICS");

    let props = h.wait_job(&labels).await;
    let (_, lines) = read_output(&h, props.output_data_config().unwrap().s3_uri()).await;
    assert_eq!(lines.len(), 10);
    let mut with: BTreeMap<String, usize> = BTreeMap::new();
    for line in &lines {
        assert!(line.get("Classes").is_none());
        let labels = line["Labels"].as_array().unwrap();
        let scores: Vec<f64> = labels
            .iter()
            .map(|c| c["Score"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{line}");
        assert!(scores.iter().all(|&s| s >= 0.5), "{line}");
        for label in labels {
            *with
                .entry(label["Name"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    // Unknown words: the labels on at least half of the training documents
    // (POLITICS: 4 of 8).
    let unknown: Vec<&str> = lines[8]["Labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["Name"].as_str().unwrap())
        .collect();
    assert_eq!(unknown, vec!["POLITICS"]);
    assert_eq!(lines[0]["Labels"][0]["Name"], "SPORTS");
    assert_eq!(lines[6]["Labels"][0]["Name"], "COOKING");

    // The same input gives the same output.
    let again = h
        .start_job(
            "labels-again",
            &multi_label,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerLine,
            "s3://out-bucket/",
        )
        .await
        .unwrap();
    let props = h.wait_job(&again).await;
    let (_, again) = read_output(&h, props.output_data_config().unwrap().s3_uri()).await;
    assert_eq!(again, lines);
    assert!(with.contains_key("SPORTS") && with.contains_key("COOKING"));
}

#[tokio::test]
async fn large_outputs_stream_through_a_file() {
    const SIZE: u64 = 50_000_000;
    let h = Harness::fast().await;
    let classifier = h.trained_classifier("large").await;
    h.bucket("in-bucket").await;
    h.bucket("out-bucket").await;
    h.put("in-bucket", "docs/big.txt", "the team won\n").await;
    let faults = put_faults(&h, &format!(r#"{{"largeOutputs": {{"big": {SIZE}}}}}"#)).await;
    assert_eq!(faults["largeOutputs"]["big"], SIZE);
    let job = h
        .start_job(
            "big",
            &classifier,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerLine,
            "s3://out-bucket/",
        )
        .await
        .unwrap();

    // IN_PROGRESS until the output is there: once COMPLETED, it is.
    let started = Instant::now();
    let mut seen_in_progress = false;
    let props = loop {
        let props = h
            .comprehend
            .describe_document_classification_job()
            .job_id(&job)
            .send()
            .await
            .unwrap()
            .document_classification_job_properties
            .unwrap();
        match props.job_status().unwrap() {
            JobStatus::Completed => break props,
            JobStatus::InProgress => seen_in_progress = true,
            JobStatus::Submitted => {}
            other => panic!("{other:?}: {:?}", props.message()),
        }
        assert!(started.elapsed() < Duration::from_secs(300));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(seen_in_progress);
    let uri = props.output_data_config().unwrap().s3_uri().to_string();
    let (bucket, key) = split(&uri);
    let head =
        h.s3.head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("output written before COMPLETED");
    let compressed = head.content_length().unwrap() as u64;
    assert!(compressed < SIZE / 4, "{compressed}");

    // Read back a line at a time.
    let bytes = h.get(bucket, key).await;
    assert_eq!(bytes.len() as u64, compressed);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut entries = archive.entries().unwrap();
    let entry = entries.next().unwrap().unwrap();
    assert_eq!(
        entry.path().unwrap().display().to_string(),
        "predictions.jsonl"
    );
    let size = entry.header().size().unwrap();
    assert!((SIZE..SIZE + 500).contains(&size), "{size}");
    let (mut total, mut lines) = (0u64, 0u64);
    let mut tops: BTreeMap<String, u64> = BTreeMap::new();
    for line in BufReader::new(entry).lines() {
        let line = line.unwrap();
        total += line.len() as u64 + 1;
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["File"], "big.txt");
        assert_eq!(value["Line"], lines.to_string());
        *tops
            .entry(value["Classes"][0]["Name"].as_str().unwrap().to_string())
            .or_default() += 1;
        lines += 1;
    }
    assert_eq!(total, size);
    assert!(entries.next().is_none());
    // Every class comes up, each about a third of the time.
    assert_eq!(tops.len(), 3, "{tops:?}");
    assert!(tops.values().all(|&n| n > lines / 4), "{tops:?}");
}

/// An S3 client for the stand-in's S3 server with these credentials.
fn s3_with(h: &Harness, provider: impl ProvideCredentials + 'static) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(provider)
        .endpoint_url(h.running.s3_endpoint())
        .force_path_style(true)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

const READER_ROLE: &str = "arn:aws:iam::111122223333:role/output-reader";

#[tokio::test]
async fn s3_takes_credentials_assume_role_issued() {
    let h = Harness::start(Config {
        roles: vec![Role {
            arn: READER_ROLE.into(),
            external_id: None,
        }],
        ..fast_config()
    })
    .await;
    h.bucket("out-bucket").await;
    h.put("out-bucket", "k.txt", "hello").await;
    let base = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(h.running.endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;

    // Through AssumeRoleProvider, as the operator reads outputs.
    let provider = AssumeRoleProvider::builder(READER_ROLE)
        .session_name("reader")
        .configure(&base)
        .build()
        .await;
    let s3 = s3_with(&h, provider);
    let body = s3
        .get_object()
        .bucket("out-bucket")
        .key("k.txt")
        .send()
        .await
        .expect("GetObject with assumed-role credentials")
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(&body[..], b"hello");
    s3.put_object()
        .bucket("out-bucket")
        .key("w.txt")
        .body(b"written".to_vec().into())
        .send()
        .await
        .expect("PutObject with assumed-role credentials");

    // The issued key with another secret: the signature does not match.
    let sts = aws_sdk_sts::Client::new(&base);
    let issued = sts
        .assume_role()
        .role_arn(READER_ROLE)
        .role_session_name("raw")
        .send()
        .await
        .unwrap();
    let creds = issued.credentials().unwrap();
    let wrong = s3_with(
        &h,
        Credentials::new(
            creds.access_key_id(),
            "not-the-secret",
            Some(creds.session_token().to_string()),
            None,
            "wrong",
        ),
    );
    let err = wrong
        .list_objects_v2()
        .bucket("out-bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"), "{err:?}");

    // A key nobody issued.
    let unknown = s3_with(
        &h,
        Credentials::new("ASIAUNKNOWNKEY000000", "secret", None, None, "unknown"),
    );
    let err = unknown
        .list_objects_v2()
        .bucket("out-bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidAccessKeyId"), "{err:?}");

    // Issued credentials past their expiration.
    let response = raw_request(
        h.running.endpoint(),
        "PUT",
        "/_standin/roles",
        &[],
        r#"{"credentialSeconds": 1}"#,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let short = sts
        .assume_role()
        .role_arn(READER_ROLE)
        .role_session_name("short")
        .send()
        .await
        .unwrap();
    let creds = short.credentials().unwrap();
    let expires = creds.expiration().secs();
    let expired = s3_with(
        &h,
        Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            None,
            "short",
        ),
    );
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        < expires as f64 + 0.05
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let err = expired
        .list_objects_v2()
        .bucket("out-bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ExpiredToken"), "{err:?}");
}
