//! What the service keeps: idempotency tokens, the active-jobs quota and
//! paging, tags, persistence across restart, and the binary.

mod common;

use std::io::Read;
use std::time::Duration;

use aws_sdk_comprehend::error::ProvideErrorMetadata;
use aws_sdk_comprehend::types::{
    DocumentClassifierMode, InputDataConfig, InputFormat, JobStatus, ModelStatus, OutputDataConfig,
    Tag,
};
use common::{fast_config, raw_request, read_output, Harness, ROLE};
use comprehend_standin::Config;
use serde_json::Value;

#[tokio::test]
async fn client_request_token_is_idempotent() {
    let h = Harness::fast().await;
    let classifier = h.trained_classifier("tokens").await;
    let start = |name: &'static str, token: &'static str| {
        h.comprehend
            .start_document_classification_job()
            .job_name(name)
            .client_request_token(token)
            .document_classifier_arn(&classifier)
            .data_access_role_arn(ROLE)
            .input_data_config(
                InputDataConfig::builder()
                    .s3_uri("s3://in-bucket/x")
                    .build()
                    .unwrap(),
            )
            .output_data_config(
                OutputDataConfig::builder()
                    .s3_uri("s3://out-bucket/")
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let first = start("same", "2f1b5a9e-0000-4000-8000-000000000001")
        .await
        .unwrap();
    let again = start("same", "2f1b5a9e-0000-4000-8000-000000000001")
        .await
        .unwrap();
    assert_eq!(first.job_id(), again.job_id());
    assert_eq!(first.job_arn(), again.job_arn());
    let err = start("different", "2f1b5a9e-0000-4000-8000-000000000001")
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_request_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("ClientRequestToken"));
    let other = start("same", "2f1b5a9e-0000-4000-8000-000000000002")
        .await
        .unwrap();
    assert_ne!(first.job_id(), other.job_id());

    let stats = raw_request(h.running.endpoint(), "GET", "/_standin/stats", &[], "")
        .await
        .json();
    let jobs = stats["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        jobs[0]["clientRequestToken"],
        "2f1b5a9e-0000-4000-8000-000000000001"
    );

    // The same for classifiers.
    let create = |name: &'static str| {
        h.comprehend
            .create_document_classifier()
            .document_classifier_name(name)
            .client_request_token("classifier-token-1")
            .data_access_role_arn(ROLE)
            .language_code(aws_sdk_comprehend::types::LanguageCode::En)
            .input_data_config(
                aws_sdk_comprehend::types::DocumentClassifierInputDataConfig::builder()
                    .s3_uri("s3://train/tokens.csv")
                    .build(),
            )
            .send()
    };
    let a = create("tokened").await.unwrap();
    let b = create("tokened").await.unwrap();
    assert_eq!(a.document_classifier_arn(), b.document_classifier_arn());
    let err = create("another-name")
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_request_exception(), "{err:?}");
}

#[tokio::test]
async fn at_most_ten_active_jobs() {
    let mut config = fast_config();
    config.limits.job_queued_secs = 30.0;
    let h = Harness::start(config).await;
    let classifier = h.trained_classifier("busy").await;
    for i in 0..10 {
        h.start_job(
            &format!("busy-{i}"),
            &classifier,
            "s3://in-bucket/x",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/",
        )
        .await
        .unwrap();
    }
    let err = h
        .start_job(
            "busy-10",
            &classifier,
            "s3://in-bucket/x",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/",
        )
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_requests_exception(), "{err:?}");

    let stats = raw_request(h.running.endpoint(), "GET", "/_standin/stats", &[], "")
        .await
        .json();
    assert_eq!(stats["activeJobs"], 10);
    assert_eq!(stats["maxActiveJobsSeen"], 10);
    assert_eq!(
        stats["operations"]["StartDocumentClassificationJob"]["throttled"],
        1
    );

    // A classifier in use by active jobs cannot be deleted.
    let err = h
        .comprehend
        .delete_document_classifier()
        .document_classifier_arn(&classifier)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_in_use_exception(), "{err:?}");

    // Paging over the ten.
    let page = h
        .comprehend
        .list_document_classification_jobs()
        .max_results(4)
        .send()
        .await
        .unwrap();
    assert_eq!(page.document_classification_job_properties_list().len(), 4);
    let mut total = 4;
    let mut token = page.next_token().map(str::to_string);
    while let Some(t) = token {
        let page = h
            .comprehend
            .list_document_classification_jobs()
            .max_results(4)
            .next_token(t)
            .send()
            .await
            .unwrap();
        total += page.document_classification_job_properties_list().len();
        token = page.next_token().map(str::to_string);
    }
    assert_eq!(total, 10);

    // Reset forgets everything.
    let response = raw_request(h.running.endpoint(), "POST", "/_standin/reset", &[], "").await;
    assert_eq!(response.status, 200);
    let stats = raw_request(h.running.endpoint(), "GET", "/_standin/stats", &[], "")
        .await
        .json();
    assert_eq!(stats["activeJobs"], 0);
    assert_eq!(stats["jobs"], serde_json::json!([]));
    assert_eq!(
        stats["operations"]["StartDocumentClassificationJob"]["calls"],
        0
    );
}

#[tokio::test]
async fn tags_on_jobs_and_classifiers() {
    let h = Harness::fast().await;
    let classifier = h.trained_classifier("tagged").await;
    let job = h
        .comprehend
        .start_document_classification_job()
        .document_classifier_arn(&classifier)
        .data_access_role_arn(ROLE)
        .input_data_config(
            InputDataConfig::builder()
                .s3_uri("s3://in-bucket/x")
                .build()
                .unwrap(),
        )
        .output_data_config(
            OutputDataConfig::builder()
                .s3_uri("s3://out-bucket/")
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("team").value("a").build().unwrap())
        .send()
        .await
        .unwrap();
    let job_arn = job.job_arn().unwrap();
    h.comprehend
        .tag_resource()
        .resource_arn(job_arn)
        .tags(Tag::builder().key("team").value("b").build().unwrap())
        .tags(Tag::builder().key("env").value("test").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = h
        .comprehend
        .list_tags_for_resource()
        .resource_arn(job_arn)
        .send()
        .await
        .unwrap();
    let mut pairs: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            ("env".to_string(), "test".to_string()),
            ("team".to_string(), "b".to_string())
        ]
    );
    h.comprehend
        .untag_resource()
        .resource_arn(job_arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = h
        .comprehend
        .list_tags_for_resource()
        .resource_arn(&classifier)
        .send()
        .await
        .unwrap();
    assert!(tags.tags().is_empty());

    let too_many: Vec<Tag> = (0..51)
        .map(|i| {
            Tag::builder()
                .key(format!("k{i}"))
                .value("v")
                .build()
                .unwrap()
        })
        .collect();
    let err = h
        .comprehend
        .tag_resource()
        .resource_arn(&classifier)
        .set_tags(Some(too_many))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_tags_exception(), "{err:?}");
}

#[tokio::test]
async fn state_survives_a_restart() {
    let data_dir = tempfile::tempdir().unwrap();
    let s3_root = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: Some(data_dir.path().to_path_buf()),
        s3_root: Some(s3_root.path().to_path_buf()),
        ..fast_config()
    };
    let (classifier, done_job, pending_job, training) = {
        let mut slow = config.clone();
        slow.limits.job_queued_secs = 0.6;
        let h = Harness::start(slow).await;
        let classifier = h.trained_classifier("durable").await;
        h.bucket("in-bucket").await;
        h.bucket("out-bucket").await;
        h.put("in-bucket", "docs/a.txt", "the team won the match")
            .await;
        let done = h
            .start_job(
                "done",
                &classifier,
                "s3://in-bucket/docs/",
                InputFormat::OneDocPerFile,
                "s3://out-bucket/",
            )
            .await
            .unwrap();
        // Finish the first job before starting the one left mid-run.
        assert_eq!(
            h.wait_job(&done).await.job_status(),
            Some(&JobStatus::Completed)
        );
        let pending = h
            .start_job(
                "pending",
                &classifier,
                "s3://in-bucket/docs/",
                InputFormat::OneDocPerFile,
                "s3://out-bucket/",
            )
            .await
            .unwrap();
        // A classifier still training at shutdown.
        let training = h
            .create_classifier(
                "half-trained",
                common::TRAINING_CSV,
                DocumentClassifierMode::MultiClass,
            )
            .await;
        h.running.shutdown().await;
        (classifier, done, pending, training)
    };

    let h = Harness::start(config).await;
    let props = h
        .comprehend
        .describe_document_classifier()
        .document_classifier_arn(&classifier)
        .send()
        .await
        .unwrap()
        .document_classifier_properties
        .unwrap();
    assert_eq!(props.status(), Some(&ModelStatus::Trained));
    assert_eq!(h.wait_classifier(&training).await, ModelStatus::Trained);
    assert_eq!(
        h.wait_job(&done_job).await.job_status(),
        Some(&JobStatus::Completed)
    );
    // The job left SUBMITTED resumes its timers and completes, using the
    // restored model and the same S3 root.
    let props = h.wait_job(&pending_job).await;
    assert_eq!(
        props.job_status(),
        Some(&JobStatus::Completed),
        "{:?}",
        props.message()
    );
    let (names, lines) = read_output(&h, props.output_data_config().unwrap().s3_uri()).await;
    assert_eq!(names, vec!["predictions.jsonl"]);
    assert_eq!(lines.len(), 1);
}

#[tokio::test]
async fn the_binary_reports_ready_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_comprehend-standin"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--s3-listen",
            "127.0.0.1:0",
            "--job-queued-secs",
            "0.1",
        ])
        .arg("--ready-file")
        .arg(&ready)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(std::time::Instant::now() < deadline, "no ready file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let info: Value = serde_json::from_slice(&std::fs::read(&ready).unwrap()).unwrap();
    assert_eq!(info["pid"], child.id());
    let endpoint = info["endpoint"].as_str().unwrap();
    assert!(info["s3Endpoint"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));

    let client = common::comprehend_client(endpoint);
    let listed = client
        .list_document_classification_jobs()
        .send()
        .await
        .unwrap();
    assert!(listed
        .document_classification_job_properties_list()
        .is_empty());
    let limits = raw_request(endpoint, "GET", "/_standin/limits", &[], "")
        .await
        .json();
    assert_eq!(limits["jobQueuedSecs"], 0.1);

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not exit on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let printed: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(printed, info);
}
