//! Classifiers and jobs really run: training from S3, job life cycle, the
//! output archive and failures (idempotency, quotas, tags, persistence and
//! the binary are in `service_state.rs`).

mod common;

use std::time::Duration;

use aws_sdk_comprehend::error::ProvideErrorMetadata;
use aws_sdk_comprehend::types::{
    DocumentClassificationJobFilter, DocumentClassifierMode, InputFormat, JobStatus, ModelStatus,
};
use common::{fast_config, raw_request, read_output, Harness, MULTI_LABEL_CSV, ROLE};
use serde_json::Value;

/// The member names of a JSON object, sorted (serde_json keeps insertion
/// order when another crate in the build turns on `preserve_order`).
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn classifier_trains_with_metrics() {
    let h = Harness::fast().await;
    let arn = h.trained_classifier("news").await;
    assert_eq!(
        arn,
        "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news"
    );
    let props = h
        .comprehend
        .describe_document_classifier()
        .document_classifier_arn(&arn)
        .send()
        .await
        .unwrap()
        .document_classifier_properties
        .unwrap();
    assert_eq!(props.status(), Some(&ModelStatus::Trained));
    assert_eq!(props.mode(), Some(&DocumentClassifierMode::MultiClass));
    assert!(props.training_start_time().is_some());
    assert!(props.training_end_time().is_some());
    assert!(props.end_time().is_some());
    let metadata = props.classifier_metadata().unwrap();
    assert_eq!(metadata.number_of_labels(), Some(3));
    assert_eq!(
        metadata.number_of_trained_documents().unwrap_or(0)
            + metadata.number_of_test_documents().unwrap_or(0),
        12
    );
    let metrics = metadata.evaluation_metrics().unwrap();
    for value in [
        metrics.accuracy(),
        metrics.precision(),
        metrics.recall(),
        metrics.f1_score(),
        metrics.micro_precision(),
        metrics.micro_recall(),
        metrics.micro_f1_score(),
        metrics.hamming_loss(),
    ] {
        let value = value.expect("metric present");
        assert!((0.0..=1.0).contains(&value), "{value}");
    }

    // Same name again: ResourceInUseException. A version makes it new.
    let err = h
        .comprehend
        .create_document_classifier()
        .document_classifier_name("news")
        .data_access_role_arn(ROLE)
        .language_code(aws_sdk_comprehend::types::LanguageCode::En)
        .input_data_config(
            aws_sdk_comprehend::types::DocumentClassifierInputDataConfig::builder()
                .s3_uri("s3://train/news.csv")
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_in_use_exception(), "{err:?}");
    let v2 = h
        .comprehend
        .create_document_classifier()
        .document_classifier_name("news")
        .version_name("v2")
        .data_access_role_arn(ROLE)
        .language_code(aws_sdk_comprehend::types::LanguageCode::En)
        .input_data_config(
            aws_sdk_comprehend::types::DocumentClassifierInputDataConfig::builder()
                .s3_uri("s3://train/news.csv")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        v2.document_classifier_arn(),
        Some("arn:aws:comprehend:us-east-1:123456789012:document-classifier/news/version/v2")
    );

    let listed = h
        .comprehend
        .list_document_classifiers()
        .filter(
            aws_sdk_comprehend::types::DocumentClassifierFilter::builder()
                .document_classifier_name("news")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(listed.document_classifier_properties_list().len(), 2);
}

#[tokio::test]
async fn bad_training_data_ends_in_error() {
    let h = Harness::fast().await;
    let arn = h
        .create_classifier(
            "broken",
            "only-one-column-and-no-comma\n",
            DocumentClassifierMode::MultiClass,
        )
        .await;
    assert_eq!(h.wait_classifier(&arn).await, ModelStatus::InError);
    let props = h
        .comprehend
        .describe_document_classifier()
        .document_classifier_arn(&arn)
        .send()
        .await
        .unwrap()
        .document_classifier_properties
        .unwrap();
    assert!(!props.message().unwrap_or_default().is_empty());

    // Missing training data also ends IN_ERROR.
    let missing = h
        .comprehend
        .create_document_classifier()
        .document_classifier_name("missing-data")
        .data_access_role_arn(ROLE)
        .language_code(aws_sdk_comprehend::types::LanguageCode::En)
        .input_data_config(
            aws_sdk_comprehend::types::DocumentClassifierInputDataConfig::builder()
                .s3_uri("s3://train/nothing-here.csv")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .document_classifier_arn
        .unwrap();
    assert_eq!(h.wait_classifier(&missing).await, ModelStatus::InError);

    // A job on a classifier in error: ResourceUnavailableException.
    let err = h
        .start_job(
            "j",
            &arn,
            "s3://in-bucket/x",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/",
        )
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_unavailable_exception(), "{err:?}");
    assert_eq!(err.code(), Some("ResourceUnavailableException"));

    // AUGMENTED_MANIFEST without any manifest is refused up front.
    let err = h
        .comprehend
        .create_document_classifier()
        .document_classifier_name("manifest")
        .data_access_role_arn(ROLE)
        .language_code(aws_sdk_comprehend::types::LanguageCode::En)
        .input_data_config(
            aws_sdk_comprehend::types::DocumentClassifierInputDataConfig::builder()
                .data_format(
                    aws_sdk_comprehend::types::DocumentClassifierDataFormat::AugmentedManifest,
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_request_exception(), "{err:?}");
}

#[tokio::test]
async fn stop_training_and_delete() {
    let mut config = fast_config();
    config.limits.training_secs = 30.0;
    config.limits.deleting_secs = 3.0;
    let h = Harness::start(config).await;
    let arn = h
        .create_classifier(
            "slow",
            common::TRAINING_CSV,
            DocumentClassifierMode::MultiClass,
        )
        .await;
    // Deleting while training is refused.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = h
        .comprehend
        .delete_document_classifier()
        .document_classifier_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_in_use_exception(), "{err:?}");

    h.comprehend
        .stop_training_document_classifier()
        .document_classifier_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(h.wait_classifier(&arn).await, ModelStatus::Stopped);

    h.comprehend
        .delete_document_classifier()
        .document_classifier_arn(&arn)
        .send()
        .await
        .unwrap();
    let status = h
        .comprehend
        .describe_document_classifier()
        .document_classifier_arn(&arn)
        .send()
        .await
        .unwrap()
        .document_classifier_properties
        .unwrap()
        .status;
    assert_eq!(status, Some(ModelStatus::Deleting));
    // Gone once DELETING has run its course.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let err = loop {
        match h
            .comprehend
            .describe_document_classifier()
            .document_classifier_arn(&arn)
            .send()
            .await
        {
            Ok(out) => {
                let status = out.document_classifier_properties.unwrap().status;
                assert_eq!(status, Some(ModelStatus::Deleting));
                assert!(std::time::Instant::now() < deadline, "never deleted");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => break err.into_service_error(),
        }
    };
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn job_runs_one_doc_per_line_and_writes_the_archive() {
    // Phases long enough that polling sees each one even on a busy machine.
    let mut config = fast_config();
    config.limits.job_queued_secs = 0.4;
    config.limits.job_running_secs = 0.4;
    let h = Harness::start(config).await;
    let classifier = h.trained_classifier("lines").await;
    h.bucket("in-bucket").await;
    h.bucket("out-bucket").await;
    h.put(
        "in-bucket",
        "batch/a.txt",
        "the team scored a goal and won the match\n\nthe parliament passed the budget\n",
    )
    .await;
    h.put(
        "in-bucket",
        "batch/b.txt",
        "bake the cake with flour and sugar\n",
    )
    .await;
    h.put("in-bucket", "other/ignored.txt", "not under the prefix\n")
        .await;

    let job_id = h
        .start_job(
            "lines-job",
            &classifier,
            "s3://in-bucket/batch/",
            InputFormat::OneDocPerLine,
            "s3://out-bucket/results/",
        )
        .await
        .unwrap();
    assert_eq!(job_id.len(), 32);
    assert!(job_id.chars().all(|c| c.is_ascii_hexdigit()));

    // SUBMITTED, then IN_PROGRESS, then COMPLETED.
    let mut seen = Vec::new();
    loop {
        let props = h
            .comprehend
            .describe_document_classification_job()
            .job_id(&job_id)
            .send()
            .await
            .unwrap()
            .document_classification_job_properties
            .unwrap();
        let status = props.job_status().cloned().unwrap();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == JobStatus::Completed || status == JobStatus::Failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        seen,
        vec![
            JobStatus::Submitted,
            JobStatus::InProgress,
            JobStatus::Completed
        ]
    );

    let props = h.wait_job(&job_id).await;
    let expected_uri =
        format!("s3://out-bucket/results/123456789012-CLN-{job_id}/output/output.tar.gz");
    assert_eq!(
        props.output_data_config().map(|o| o.s3_uri()),
        Some(expected_uri.as_str())
    );
    assert_eq!(
        props.job_arn(),
        Some(
            format!(
                "arn:aws:comprehend:us-east-1:123456789012:document-classification-job/{job_id}"
            )
            .as_str()
        )
    );
    assert!(props.end_time().is_some());
    assert!(props.submit_time().is_some());
    assert_eq!(props.job_name(), Some("lines-job"));

    let (names, lines) = read_output(&h, &expected_uri).await;
    assert_eq!(names, vec!["predictions.jsonl"]);
    // One line out per line in, the blank one included.
    assert_eq!(lines.len(), 4);
    for line in &lines {
        assert_eq!(keys(line), vec!["Classes", "File", "Line"]);
        let classes = line["Classes"].as_array().unwrap();
        assert!(!classes.is_empty() && classes.len() <= 3);
        for class in classes {
            assert_eq!(keys(class), vec!["Name", "Score"]);
            assert!(class["Score"].as_f64().unwrap() >= 0.0);
        }
    }
    let located: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["File"].as_str().unwrap().to_string(),
                l["Line"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        located,
        vec![
            ("a.txt".to_string(), "0".to_string()),
            ("a.txt".to_string(), "1".to_string()),
            ("a.txt".to_string(), "2".to_string()),
            ("b.txt".to_string(), "0".to_string()),
        ]
    );
    assert_eq!(lines[0]["Classes"][0]["Name"], "SPORTS");
    assert_eq!(lines[2]["Classes"][0]["Name"], "POLITICS");
    assert_eq!(lines[3]["Classes"][0]["Name"], "COOKING");

    // The status filter, before a second job exists that could also finish.
    let completed = h
        .comprehend
        .list_document_classification_jobs()
        .filter(
            DocumentClassificationJobFilter::builder()
                .job_status(JobStatus::Completed)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = completed
        .document_classification_job_properties_list()
        .iter()
        .filter_map(|p| p.job_id())
        .collect();
    assert_eq!(ids, vec![job_id.as_str()]);

    // Listing by name finds it; duplicate names are allowed.
    let second = h
        .start_job(
            "lines-job",
            &classifier,
            "s3://in-bucket/batch/a.txt",
            InputFormat::OneDocPerLine,
            "s3://out-bucket/results",
        )
        .await
        .unwrap();
    assert_ne!(second, job_id);
    let listed = h
        .comprehend
        .list_document_classification_jobs()
        .filter(
            DocumentClassificationJobFilter::builder()
                .job_name("lines-job")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.document_classification_job_properties_list().len(),
        2
    );

    let first_submitted = *props.submit_time().unwrap();
    let after = h
        .comprehend
        .list_document_classification_jobs()
        .filter(
            DocumentClassificationJobFilter::builder()
                .submit_time_after(first_submitted)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = after
        .document_classification_job_properties_list()
        .iter()
        .filter_map(|p| p.job_id())
        .collect();
    assert_eq!(ids, vec![second.as_str()]);
    let before = h
        .comprehend
        .list_document_classification_jobs()
        .filter(
            DocumentClassificationJobFilter::builder()
                .submit_time_before(aws_smithy_types::DateTime::from_secs(
                    first_submitted.secs() + 1,
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(before
        .document_classification_job_properties_list()
        .iter()
        .any(|p| p.job_id() == Some(job_id.as_str())));
}

#[tokio::test]
async fn one_doc_per_file_and_multi_label() {
    let h = Harness::fast().await;
    let multi = h
        .create_classifier(
            "labels",
            MULTI_LABEL_CSV,
            DocumentClassifierMode::MultiLabel,
        )
        .await;
    assert_eq!(h.wait_classifier(&multi).await, ModelStatus::Trained);
    let multi_class = h.trained_classifier("files").await;
    h.bucket("in-bucket").await;
    h.bucket("out-bucket").await;
    h.put(
        "in-bucket",
        "docs/one.txt",
        "the striker scored a goal\nand the team won the match\n",
    )
    .await;
    h.put("in-bucket", "docs/two.txt", "stir the soup with garlic")
        .await;

    let per_file = h
        .start_job(
            "per-file",
            &multi_class,
            "s3://in-bucket/docs",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/",
        )
        .await
        .unwrap();
    let labels = h
        .start_job(
            "multi-label",
            &multi,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/labels",
        )
        .await
        .unwrap();

    let props = h.wait_job(&per_file).await;
    assert_eq!(props.job_status(), Some(&JobStatus::Completed));
    let (names, lines) = read_output(&h, props.output_data_config().unwrap().s3_uri()).await;
    assert_eq!(names, vec!["predictions.jsonl"]);
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(keys(line), vec!["Classes", "File"]);
    }
    assert_eq!(lines[0]["File"], "one.txt");
    assert_eq!(lines[0]["Classes"][0]["Name"], "SPORTS");
    assert_eq!(lines[1]["File"], "two.txt");

    let props = h.wait_job(&labels).await;
    assert_eq!(
        props.job_status(),
        Some(&JobStatus::Completed),
        "{:?}",
        props.message()
    );
    let (_, lines) = read_output(&h, props.output_data_config().unwrap().s3_uri()).await;
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(keys(line), vec!["File", "Labels"]);
        for label in line["Labels"].as_array().unwrap() {
            assert!(label["Score"].as_f64().unwrap() >= 0.5);
        }
    }
    let first: Vec<&str> = lines[0]["Labels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["Name"].as_str())
        .collect();
    assert!(first.contains(&"SPORTS"), "{first:?}");
}

#[tokio::test]
async fn jobs_fail_like_the_service() {
    let h = Harness::fast().await;
    let classifier = h.trained_classifier("failing").await;
    h.bucket("in-bucket").await;
    h.bucket("out-bucket").await;
    h.put("in-bucket", "docs/a.txt", "some text").await;

    let empty = h
        .start_job(
            "empty",
            &classifier,
            "s3://in-bucket/nothing/",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/",
        )
        .await
        .unwrap();
    let no_bucket = h
        .start_job(
            "no-bucket",
            &classifier,
            "s3://no-such-bucket/x",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/",
        )
        .await
        .unwrap();
    let no_output = h
        .start_job(
            "no-output",
            &classifier,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerFile,
            "s3://missing-out/x/",
        )
        .await
        .unwrap();

    let props = h.wait_job(&empty).await;
    assert_eq!(props.job_status(), Some(&JobStatus::Failed));
    assert!(props
        .message()
        .unwrap()
        .contains("No input files found at s3://in-bucket/nothing/"));
    assert!(props.end_time().is_some());

    let props = h.wait_job(&no_bucket).await;
    assert_eq!(props.job_status(), Some(&JobStatus::Failed));
    assert!(
        props.message().unwrap().contains("NO_READ_ACCESS_TO_INPUT"),
        "{:?}",
        props.message()
    );

    let props = h.wait_job(&no_output).await;
    assert_eq!(props.job_status(), Some(&JobStatus::Failed));
    assert!(
        props
            .message()
            .unwrap()
            .contains("NO_WRITE_ACCESS_TO_OUTPUT"),
        "{:?}",
        props.message()
    );

    // A job named in failJobNames fails (set at run time).
    let response = raw_request(
        h.running.endpoint(),
        "PUT",
        "/_standin/faults",
        &[],
        r#"{"failJobNames": ["doomed"]}"#,
    )
    .await;
    assert_eq!(response.status, 200);
    let doomed = h
        .start_job(
            "doomed",
            &classifier,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/",
        )
        .await
        .unwrap();
    let props = h.wait_job(&doomed).await;
    assert_eq!(props.job_status(), Some(&JobStatus::Failed));
    assert_eq!(props.message(), Some("Injected failure for job doomed"));
}

#[tokio::test]
async fn held_jobs_stay_in_progress_until_released() {
    let h = Harness::fast().await;
    let classifier = h.trained_classifier("holding").await;
    h.bucket("in-bucket").await;
    h.bucket("out-bucket").await;
    h.put("in-bucket", "docs/a.txt", "the team won the match")
        .await;
    let endpoint = h.running.endpoint();
    let response = raw_request(
        endpoint,
        "PUT",
        "/_standin/faults",
        &[],
        r#"{"holdJobNames": ["held", "other"]}"#,
    )
    .await;
    assert_eq!(response.status, 200);
    let start = |name: &'static str| {
        h.start_job(
            name,
            &classifier,
            "s3://in-bucket/docs/",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/",
        )
    };
    let held = start("held").await.unwrap();
    let free = start("free").await.unwrap();
    let comprehend = &h.comprehend;
    let status = |id: String| async move {
        comprehend
            .describe_document_classification_job()
            .job_id(id)
            .send()
            .await
            .unwrap()
            .document_classification_job_properties()
            .and_then(|p| p.job_status().cloned())
            .unwrap()
    };

    // The free job ends; the held one, queued and run for as long, stays
    // IN_PROGRESS (and active) well past its running time.
    assert_eq!(
        h.wait_job(&free).await.job_status(),
        Some(&JobStatus::Completed)
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(status(held.clone()).await, JobStatus::InProgress);
    let stats = raw_request(endpoint, "GET", "/_standin/stats", &[], "")
        .await
        .json();
    assert_eq!(stats["activeJobs"], 1);

    // Other names leaving the set do not release it.
    raw_request(
        endpoint,
        "PUT",
        "/_standin/faults",
        &[],
        r#"{"holdJobNames": ["held"]}"#,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(held.clone()).await, JobStatus::InProgress);

    // Released: it completes at once (its running time is over) and writes
    // its output as any job does.
    let released = std::time::Instant::now();
    raw_request(
        endpoint,
        "PUT",
        "/_standin/faults",
        &[],
        r#"{"holdJobNames": []}"#,
    )
    .await;
    let props = h.wait_job(&held).await;
    assert_eq!(props.job_status(), Some(&JobStatus::Completed));
    assert!(released.elapsed() < Duration::from_secs(2));
    let uri = props.output_data_config().unwrap().s3_uri().to_string();
    let (_, lines) = read_output(&h, &uri).await;
    assert_eq!(lines.len(), 1);
}
