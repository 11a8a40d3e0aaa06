//! The API surface through the real `aws-sdk-comprehend` client: request
//! validation, error shapes, quotas, fault injection and the admin API.

mod common;

use aws_sdk_comprehend::error::ProvideErrorMetadata;
use aws_sdk_comprehend::operation::start_document_classification_job::builders::StartDocumentClassificationJobFluentBuilder;
use aws_sdk_comprehend::types::{
    DocumentClassificationJobFilter, DocumentReadAction, DocumentReadFeatureTypes,
    DocumentReaderConfig, InputDataConfig, InputFormat, JobStatus, OutputDataConfig, Tag,
    VpcConfig,
};
use common::{fast_config, raw_call, raw_request, Harness, ROLE};
use comprehend_standin::{Config, Faults};
use serde_json::json;

const CLASSIFIER: &str = "arn:aws:comprehend:us-east-1:123456789012:document-classifier/demo";

fn input(uri: &str) -> InputDataConfig {
    InputDataConfig::builder()
        .s3_uri(uri)
        .input_format(InputFormat::OneDocPerLine)
        .build()
        .unwrap()
}

fn output(uri: &str) -> OutputDataConfig {
    OutputDataConfig::builder().s3_uri(uri).build().unwrap()
}

/// A start request that passes validation (the classifier does not exist,
/// so it ends in ResourceNotFoundException).
fn good_start(h: &Harness) -> StartDocumentClassificationJobFluentBuilder {
    h.comprehend
        .start_document_classification_job()
        .job_name("good-job")
        .document_classifier_arn(CLASSIFIER)
        .data_access_role_arn(ROLE)
        .input_data_config(input("s3://in-bucket/docs/"))
        .output_data_config(output("s3://out-bucket/results/"))
}

fn vpc(groups: usize, subnets: usize, subnet_name: &str) -> VpcConfig {
    VpcConfig::builder()
        .set_security_group_ids(Some((0..groups).map(|i| format!("sg-{i}")).collect()))
        .set_subnets(Some(
            (0..subnets).map(|i| format!("{subnet_name}{i}")).collect(),
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn start_validation_follows_the_api_reference() {
    let h = Harness::fast().await;
    type Case = (
        &'static str,
        fn(
            StartDocumentClassificationJobFluentBuilder,
        ) -> StartDocumentClassificationJobFluentBuilder,
        &'static str,
    );
    // Constraints of the service model: ValidationException.
    let cases: Vec<Case> = vec![
        ("bad JobName chars", |b| b.job_name("bad!name"), "'jobName'"),
        (
            "JobName too long",
            |b| b.job_name("a".repeat(257)),
            "length less than or equal to 256",
        ),
        (
            "empty JobName",
            |b| b.job_name(""),
            "length greater than or equal to 1",
        ),
        (
            "bad input S3Uri",
            |b| b.input_data_config(input("s3://In_Bucket/x")),
            "'inputDataConfig.s3Uri'",
        ),
        (
            "not an s3 uri",
            |b| b.output_data_config(output("https://bucket/x")),
            "'outputDataConfig.s3Uri'",
        ),
        (
            "bad role ARN",
            |b| b.data_access_role_arn("arn:aws:iam::1234:role/short-account"),
            "'dataAccessRoleArn'",
        ),
        (
            "role ARN too short",
            |b| b.data_access_role_arn("arn:aws:iam::1"),
            "length greater than or equal to 20",
        ),
        (
            "bad classifier ARN",
            |b| {
                b.document_classifier_arn(
                    "arn:aws:comprehend:us-east-1:123456789012:entity-recognizer/x",
                )
            },
            "'documentClassifierArn'",
        ),
        (
            "classifier ARN too long",
            |b| b.document_classifier_arn(format!("{CLASSIFIER}{}", "a".repeat(256))),
            "length less than or equal to 256",
        ),
        (
            "KMS key too long",
            |b| b.volume_kms_key_id("k".repeat(2049)),
            "'volumeKmsKeyId'",
        ),
        (
            "output KMS key too long",
            |b| {
                b.output_data_config(
                    OutputDataConfig::builder()
                        .s3_uri("s3://out-bucket/x")
                        .kms_key_id("k".repeat(2049))
                        .build()
                        .unwrap(),
                )
            },
            "'outputDataConfig.kmsKeyId'",
        ),
        (
            "6 security groups",
            |b| b.vpc_config(vpc(6, 1, "subnet-")),
            "'vpcConfig.securityGroupIds'",
        ),
        (
            "17 subnets",
            |b| b.vpc_config(vpc(1, 17, "subnet-")),
            "'vpcConfig.subnets'",
        ),
        (
            "bad subnet chars",
            |b| b.vpc_config(vpc(1, 1, "subnet_")),
            "regular expression pattern: [-0-9a-zA-Z]+",
        ),
        (
            "bad InputFormat",
            |b| {
                b.input_data_config(
                    InputDataConfig::builder()
                        .s3_uri("s3://in-bucket/x")
                        .input_format(InputFormat::from("ONE_DOC_PER_PAGE"))
                        .build()
                        .unwrap(),
                )
            },
            "enum value set: [ONE_DOC_PER_FILE, ONE_DOC_PER_LINE]",
        ),
        (
            "missing role",
            |b| b.set_data_access_role_arn(None),
            "Value null at 'dataAccessRoleArn'",
        ),
        (
            "missing output",
            |b| b.set_output_data_config(None),
            "Value null at 'outputDataConfig'",
        ),
        (
            "bad token",
            |b| b.client_request_token("not a token!"),
            "'clientRequestToken'",
        ),
        (
            "token too long",
            |b| b.client_request_token("a".repeat(65)),
            "length less than or equal to 64",
        ),
        (
            "tag key too long",
            |b| {
                b.tags(
                    Tag::builder()
                        .key("k".repeat(129))
                        .value("v")
                        .build()
                        .unwrap(),
                )
            },
            "'tags.1.member.key'",
        ),
    ];
    for (name, mutate, expected) in cases {
        let err = mutate(good_start(&h))
            .send()
            .await
            .expect_err(name)
            .into_service_error();
        assert_eq!(err.code(), Some("ValidationException"), "{name}: {err:?}");
        let message = err.message().unwrap_or_default();
        assert!(
            message.contains("validation error") && message.contains(expected),
            "{name}: {message}"
        );
    }

    // Rules the model states only in prose: InvalidRequestException.
    let cases: Vec<Case> = vec![
        (
            "FeatureTypes without ANALYZE",
            |b| {
                b.input_data_config(
                    InputDataConfig::builder()
                        .s3_uri("s3://in-bucket/x")
                        .document_reader_config(
                            DocumentReaderConfig::builder()
                                .document_read_action(
                                    DocumentReadAction::TextractDetectDocumentText,
                                )
                                .feature_types(DocumentReadFeatureTypes::Tables)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
            },
            "FeatureTypes",
        ),
        (
            "ANALYZE without FeatureTypes",
            |b| {
                b.input_data_config(
                    InputDataConfig::builder()
                        .s3_uri("s3://in-bucket/x")
                        .document_reader_config(
                            DocumentReaderConfig::builder()
                                .document_read_action(DocumentReadAction::TextractAnalyzeDocument)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
            },
            "FeatureTypes is required when DocumentReadAction is TEXTRACT_ANALYZE_DOCUMENT",
        ),
        (
            "reserved tag key",
            |b| b.tags(Tag::builder().key("AWS:team").value("v").build().unwrap()),
            "reserved",
        ),
        (
            "neither classifier nor flywheel",
            |b| b.set_document_classifier_arn(None),
            "Either DocumentClassifierArn or FlywheelArn",
        ),
    ];
    for (name, mutate, expected) in cases {
        let err = mutate(good_start(&h))
            .send()
            .await
            .expect_err(name)
            .into_service_error();
        assert!(err.is_invalid_request_exception(), "{name}: {err:?}");
        assert_eq!(err.code(), Some("InvalidRequestException"), "{name}");
        let message = err.message().unwrap_or_default();
        assert!(message.contains(expected), "{name}: {message}");
    }

    // More than 50 tags: TooManyTagsException.
    let tags: Vec<Tag> = (0..51)
        .map(|i| Tag::builder().key(format!("k{i}")).build().unwrap())
        .collect();
    let err = good_start(&h)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_tags_exception(), "{err:?}");

    // The good request passes validation and fails only on the missing
    // classifier.
    let err = good_start(&h)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn role_arn_message_is_worded_like_the_service() {
    let h = Harness::fast().await;
    let err = good_start(&h)
        .data_access_role_arn("arn:aws:iam::x:role/comprehend")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some(
            "1 validation error detected: Value 'arn:aws:iam::x:role/comprehend' at \
             'dataAccessRoleArn' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+"
        )
    );
}

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
            "denyOperations": [],
        })
    );
}

#[tokio::test]
async fn create_classifier_validation_follows_the_api_reference() {
    use aws_sdk_comprehend::operation::create_document_classifier::builders::CreateDocumentClassifierFluentBuilder;
    use aws_sdk_comprehend::types::{
        DocumentClassifierInputDataConfig, DocumentClassifierMode, LanguageCode,
    };

    let h = Harness::fast().await;
    let good = || {
        h.comprehend
            .create_document_classifier()
            .document_classifier_name("valid-name")
            .data_access_role_arn(ROLE)
            .language_code(LanguageCode::En)
            .input_data_config(
                DocumentClassifierInputDataConfig::builder()
                    .s3_uri("s3://train-bucket/data.csv")
                    .build(),
            )
    };
    type Case = (
        &'static str,
        fn(CreateDocumentClassifierFluentBuilder) -> CreateDocumentClassifierFluentBuilder,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "name with underscore",
            |b| b.document_classifier_name("bad_name"),
            "'documentClassifierName'",
        ),
        (
            "name too long",
            |b| b.document_classifier_name("a".repeat(64)),
            "length less than or equal to 63",
        ),
        ("bad version", |b| b.version_name("-v1"), "'versionName'"),
        (
            "missing language",
            |b| b.set_language_code(None),
            "Value null at 'languageCode'",
        ),
        (
            "unknown language",
            |b| b.language_code(LanguageCode::from("xx")),
            "'languageCode'",
        ),
        (
            "unknown mode",
            |b| b.mode(DocumentClassifierMode::from("SOME_LABELS")),
            "'mode'",
        ),
        (
            "two-char delimiter",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train-bucket/x")
                        .label_delimiter("||")
                        .build(),
                )
            },
            "'inputDataConfig.labelDelimiter'",
        ),
        (
            "letter delimiter",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train-bucket/x")
                        .label_delimiter("a")
                        .build(),
                )
            },
            "regular expression pattern",
        ),
        (
            "bad test uri",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train-bucket/x")
                        .test_s3_uri("file:///x")
                        .build(),
                )
            },
            "'inputDataConfig.testS3Uri'",
        ),
        (
            "no S3Uri",
            |b| b.input_data_config(DocumentClassifierInputDataConfig::builder().build()),
            "S3Uri",
        ),
        (
            "bad role",
            |b| b.data_access_role_arn("role/comprehend-data-access"),
            "'dataAccessRoleArn'",
        ),
        (
            "empty model policy",
            |b| b.model_policy(""),
            "'modelPolicy'",
        ),
    ];
    for (name, mutate, expected) in cases {
        let err = mutate(good())
            .send()
            .await
            .expect_err(name)
            .into_service_error();
        // Constraints of the model are ValidationException; the rest is
        // checked by the operation.
        let code = if name == "no S3Uri" {
            "InvalidRequestException"
        } else {
            "ValidationException"
        };
        assert_eq!(err.code(), Some(code), "{name}: {err:?}");
        let message = err.message().unwrap_or_default();
        assert!(message.contains(expected), "{name}: {message}");
    }
    let arn = good()
        .send()
        .await
        .unwrap()
        .document_classifier_arn
        .unwrap();
    assert!(arn.ends_with(":document-classifier/valid-name"));
}

#[tokio::test]
async fn tagging_validation() {
    let h = Harness::fast().await;
    let err = h
        .comprehend
        .tag_resource()
        .resource_arn("arn:aws:s3:::bucket")
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    assert!(err.message().unwrap().contains("'resourceArn'"));

    let err = h
        .comprehend
        .untag_resource()
        .resource_arn(CLASSIFIER)
        .set_tag_keys(Some((0..51).map(|i| format!("k{i}")).collect()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_tag_keys_exception(), "{err:?}");

    let err = h
        .comprehend
        .tag_resource()
        .resource_arn(CLASSIFIER)
        .tags(
            Tag::builder()
                .key("k")
                .value("v".repeat(257))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    assert!(err.message().unwrap().contains("'tags.1.member.value'"));
}
