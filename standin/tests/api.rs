//! The API surface through the real `aws-sdk-comprehend` client: error
//! shapes, list filters, quotas, fault injection and the admin API (request
//! validation is in `validation.rs`).

mod common;

use aws_sdk_comprehend::error::ProvideErrorMetadata;
use aws_sdk_comprehend::types::{DocumentClassificationJobFilter, JobStatus};
use common::{fast_config, good_start, raw_call, raw_request, Harness, CLASSIFIER};
use comprehend_standin::{Config, Faults};
use serde_json::json;

#[tokio::test]
async fn list_validation_and_filters() {
    let h = Harness::fast().await;
    for max in [0, 501] {
        let err = h
            .comprehend
            .list_document_classification_jobs()
            .max_results(max)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(err.code(), Some("ValidationException"), "{max}: {err:?}");
        assert!(err.message().unwrap_or_default().contains("'maxResults'"));
    }
    let err = h
        .comprehend
        .list_document_classification_jobs()
        .filter(
            DocumentClassificationJobFilter::builder()
                .job_name("a")
                .job_status(JobStatus::Completed)
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_filter_exception(), "{err:?}");
    assert_eq!(err.code(), Some("InvalidFilterException"));

    let ok = h
        .comprehend
        .list_document_classification_jobs()
        .max_results(500)
        .send()
        .await
        .unwrap();
    assert!(ok.document_classification_job_properties_list().is_empty());
    assert!(ok.next_token().is_none());

    let err = h
        .comprehend
        .list_document_classifiers()
        .filter(
            aws_sdk_comprehend::types::DocumentClassifierFilter::builder()
                .document_classifier_name("a")
                .submit_time_after(aws_smithy_types::DateTime::from_secs(0))
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_filter_exception(), "{err:?}");
}

#[tokio::test]
async fn not_found_codes() {
    let h = Harness::fast().await;
    let err = h
        .comprehend
        .describe_document_classification_job()
        .job_id("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_job_not_found_exception(), "{err:?}");
    assert_eq!(err.code(), Some("JobNotFoundException"));

    let err = h
        .comprehend
        .describe_document_classifier()
        .document_classifier_arn(CLASSIFIER)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    let err = h
        .comprehend
        .stop_training_document_classifier()
        .document_classifier_arn(CLASSIFIER)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    let err = h
        .comprehend
        .delete_document_classifier()
        .document_classifier_arn(CLASSIFIER)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    let err = h
        .comprehend
        .list_tags_for_resource()
        .resource_arn(CLASSIFIER)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    // A flywheel ARN passes validation but no flywheel exists.
    let err = good_start(&h)
        .set_document_classifier_arn(None)
        .flywheel_arn("arn:aws:comprehend:us-east-1:123456789012:flywheel/fw")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn unknown_operations_get_aws_shaped_errors() {
    let h = Harness::fast().await;
    let endpoint = h.running.endpoint();

    let response = raw_call(endpoint, Some("Comprehend_20171127.DetectSentiment"), "{}").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["__type"], "UnknownOperationException");
    assert!(response.json()["Message"].is_string());
    assert_eq!(
        response.header("x-amzn-errortype"),
        Some("UnknownOperationException")
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/x-amz-json-1.1")
    );

    let response = raw_call(endpoint, None, "{}").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["__type"], "UnknownOperationException");

    let response = raw_request(endpoint, "GET", "/some/path", &[], "").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["__type"], "UnknownOperationException");

    let response = raw_call(
        endpoint,
        Some("Comprehend_20171127.ListDocumentClassificationJobs"),
        "{not json",
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["__type"], "SerializationException");

    // Missing required member, sent raw.
    let response = raw_call(
        endpoint,
        Some("Comprehend_20171127.DescribeDocumentClassificationJob"),
        "{}",
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["__type"], "ValidationException");
    assert_eq!(
        response.header("x-amzn-errortype"),
        Some("ValidationException")
    );
    assert_eq!(
        response.json()["Message"],
        "1 validation error detected: Value null at 'jobId' failed to satisfy constraint: \
         Member must not be null"
    );
}

#[tokio::test]
async fn start_is_limited_to_one_per_second() {
    let mut config = fast_config();
    config.limits.start_tps = 1.0;
    let h = Harness::start(config).await;
    // Both pass validation; the first fails on the missing classifier, the
    // second is throttled before it gets that far.
    let first = good_start(&h)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(first.is_resource_not_found_exception(), "{first:?}");
    let second = good_start(&h)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(second.is_too_many_requests_exception(), "{second:?}");
    assert_eq!(second.code(), Some("TooManyRequestsException"));

    let stats = h.running.app();
    let stats = comprehend_standin::admin::stats_json(stats);
    assert_eq!(
        stats["operations"]["StartDocumentClassificationJob"],
        json!({"calls": 2, "ok": 0, "throttled": 1, "errors": 1})
    );
}

#[tokio::test]
async fn describe_is_limited_to_its_rate_with_a_one_second_burst() {
    let mut config = fast_config();
    config.limits.describe_tps = 5.0;
    let h = Harness::start(config).await;
    let started = std::time::Instant::now();
    let mut admitted = 0;
    for _ in 0..20 {
        let err = h
            .comprehend
            .describe_document_classification_job()
            .job_id("missing")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        if err.is_too_many_requests_exception() {
            assert_eq!(err.code(), Some("TooManyRequestsException"));
        } else {
            assert!(err.is_job_not_found_exception(), "{err:?}");
            admitted += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // A full bucket of 5, then 5 a second.
    assert!(admitted >= 5, "admitted {admitted}");
    if elapsed < 2.0 {
        assert!(admitted < 20, "nothing throttled in {elapsed}s");
    }
    assert!(
        f64::from(admitted) <= 5.0 + 5.0 * elapsed + 1.0,
        "admitted {admitted} in {elapsed}s"
    );
}

#[tokio::test]
async fn injected_throttling_and_errors() {
    let h = Harness::start(Config {
        faults: Faults {
            throttle_fraction: 1.0,
            ..Faults::default()
        },
        ..fast_config()
    })
    .await;
    for _ in 0..5 {
        let err = h
            .comprehend
            .list_document_classification_jobs()
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_too_many_requests_exception(), "{err:?}");
    }

    // Switch to server errors at run time through the admin API.
    let response = raw_request(
        h.running.endpoint(),
        "PUT",
        "/_standin/faults",
        &[("Content-Type", "application/json")],
        r#"{"throttleFraction": 0, "errorFraction": 1.0, "latencyMs": 20}"#,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["errorFraction"], 1.0);
    let started = std::time::Instant::now();
    let err = h
        .comprehend
        .list_document_classification_jobs()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_internal_server_exception(), "{err:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(20));
    let raw = raw_call(
        h.running.endpoint(),
        Some("Comprehend_20171127.ListDocumentClassificationJobs"),
        "{}",
    )
    .await;
    assert_eq!(raw.status, 500);
    assert_eq!(raw.json()["__type"], "InternalServerException");

    // Back to normal.
    let response = raw_request(
        h.running.endpoint(),
        "PUT",
        "/_standin/faults",
        &[],
        r#"{"errorFraction": 0, "latencyMs": 0}"#,
    )
    .await;
    assert_eq!(response.status, 200);
    h.comprehend
        .list_document_classification_jobs()
        .send()
        .await
        .unwrap();

    let stats = raw_request(h.running.endpoint(), "GET", "/_standin/stats", &[], "").await;
    let list = &stats.json()["operations"]["ListDocumentClassificationJobs"];
    assert_eq!(list["throttled"], 5);
    assert_eq!(list["errors"], 2);
    assert_eq!(list["ok"], 1);
}

#[tokio::test]
async fn seeded_faults_repeat() {
    async fn pattern(seed: u64) -> Vec<bool> {
        let h = Harness::start(Config {
            faults: Faults {
                throttle_fraction: 0.5,
                ..Faults::default()
            },
            seed: Some(seed),
            ..fast_config()
        })
        .await;
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(
                h.comprehend
                    .list_document_classification_jobs()
                    .send()
                    .await
                    .is_ok(),
            );
        }
        out
    }
    let a = pattern(99).await;
    assert_eq!(a, pattern(99).await);
    assert!(a.contains(&true) && a.contains(&false));
}

#[tokio::test]
async fn admin_limits_and_bad_input() {
    let h = Harness::fast().await;
    let endpoint = h.running.endpoint();
    let response = raw_request(
        endpoint,
        "PUT",
        "/_standin/limits",
        &[],
        r#"{"startTps": 3, "maxActiveJobs": 4, "jobQueuedSecs": 0.5}"#,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let limits = raw_request(endpoint, "GET", "/_standin/limits", &[], "")
        .await
        .json();
    assert_eq!(limits["startTps"], 3.0);
    assert_eq!(limits["maxActiveJobs"], 4);
    assert_eq!(limits["jobQueuedSecs"], 0.5);
    assert_eq!(limits["describeTps"], 1000.0);

    let response = raw_request(endpoint, "PUT", "/_standin/limits", &[], r#"{"nope": 1}"#).await;
    assert_eq!(response.status, 400);
    let response = raw_request(endpoint, "PUT", "/_standin/faults", &[], "not json").await;
    assert_eq!(response.status, 400);
    let faults = raw_request(endpoint, "GET", "/_standin/faults", &[], "")
        .await
        .json();
    assert_eq!(
        faults,
        json!({
            "throttleFraction": 0.0,
            "errorFraction": 0.0,
            "latencyMs": 0,
            "failJobNames": [],
            "holdJobNames": [],
            "denyOperations": [],
            "outputFaults": {},
            "largeOutputs": {},
        })
    );
}
