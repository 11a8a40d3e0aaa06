//! Through the real `aws-sdk-comprehend` client: the rules the service
//! model states only in prose, denied operations (AccessDeniedException),
//! a classifier not trained yet, and List pages that stay right while
//! resources arrive between pages.

mod common;

use std::collections::HashMap;

use aws_sdk_comprehend::error::ProvideErrorMetadata;
use aws_sdk_comprehend::operation::create_document_classifier::builders::CreateDocumentClassifierFluentBuilder;
use aws_sdk_comprehend::types::{
    AugmentedManifestsListItem, DocumentClassificationJobFilter, DocumentClassifierDataFormat,
    DocumentClassifierDocumentTypeFormat, DocumentClassifierDocuments, DocumentClassifierFilter,
    DocumentClassifierInputDataConfig, DocumentClassifierMode, DocumentClassifierOutputDataConfig,
    DocumentReadAction, DocumentReaderConfig, InputFormat, JobStatus, LanguageCode, ModelStatus,
    Tag,
};
use aws_smithy_types::DateTime;
use common::{fast_config, raw_request, Harness, ROLE, TRAINING_CSV};
use comprehend_standin::Faults;

fn create(h: &Harness, name: &str) -> CreateDocumentClassifierFluentBuilder {
    h.comprehend
        .create_document_classifier()
        .document_classifier_name(name)
        .data_access_role_arn(ROLE)
        .language_code(LanguageCode::En)
        .input_data_config(
            DocumentClassifierInputDataConfig::builder()
                .s3_uri("s3://train/rules.csv")
                .build(),
        )
}

fn native_input() -> DocumentClassifierInputDataConfig {
    DocumentClassifierInputDataConfig::builder()
        .s3_uri("s3://train/native.csv")
        .document_type(DocumentClassifierDocumentTypeFormat::SemiStructuredDocument)
        .documents(
            DocumentClassifierDocuments::builder()
                .s3_uri("s3://train/docs/")
                .build()
                .unwrap(),
        )
        .build()
}

fn output() -> DocumentClassifierOutputDataConfig {
    DocumentClassifierOutputDataConfig::builder()
        .s3_uri("s3://train-out/")
        .build()
}

#[tokio::test]
async fn create_classifier_prose_rules() {
    let h = Harness::fast().await;
    type Case = (
        &'static str,
        fn(CreateDocumentClassifierFluentBuilder) -> CreateDocumentClassifierFluentBuilder,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "Japanese plain text",
            |b| b.language_code(LanguageCode::Ja),
            "UnsupportedLanguageException",
            "'ja'",
        ),
        (
            "Traditional Chinese plain text",
            |b| b.language_code(LanguageCode::ZhTw),
            "UnsupportedLanguageException",
            "de, en, es, fr, it, pt",
        ),
        (
            "German native documents",
            |b| {
                b.language_code(LanguageCode::De)
                    .input_data_config(native_input())
                    .output_data_config(output())
            },
            "UnsupportedLanguageException",
            "'de'",
        ),
        (
            "native documents without Documents",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train/native.csv")
                        .document_type(DocumentClassifierDocumentTypeFormat::SemiStructuredDocument)
                        .build(),
                )
                .output_data_config(output())
            },
            "InvalidRequestException",
            "InputDataConfig.Documents is required",
        ),
        (
            "native documents without OutputDataConfig",
            |b| b.input_data_config(native_input()),
            "InvalidRequestException",
            "OutputDataConfig is required",
        ),
        (
            "native documents, well formed (not trained by the stand-in)",
            |b| {
                b.input_data_config(native_input())
                    .output_data_config(output())
            },
            "InvalidRequestException",
            "not supported by this stand-in",
        ),
        (
            "ANALYZE without FeatureTypes",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train/x.csv")
                        .document_reader_config(
                            DocumentReaderConfig::builder()
                                .document_read_action(DocumentReadAction::TextractAnalyzeDocument)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
            },
            "InvalidRequestException",
            "FeatureTypes is required when DocumentReadAction is TEXTRACT_ANALYZE_DOCUMENT",
        ),
        (
            "reserved tag key",
            |b| b.tags(Tag::builder().key("aws:cost").value("x").build().unwrap()),
            "InvalidRequestException",
            "reserved",
        ),
        (
            "51 tags",
            |b| {
                b.set_tags(Some(
                    (0..51)
                        .map(|i| Tag::builder().key(format!("k{i}")).build().unwrap())
                        .collect(),
                ))
            },
            "TooManyTagsException",
            "50",
        ),
        (
            "AUGMENTED_MANIFEST without manifests",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .data_format(DocumentClassifierDataFormat::AugmentedManifest)
                        .build(),
                )
            },
            "InvalidRequestException",
            "AugmentedManifests must be specified",
        ),
        (
            "manifest attribute name breaking the model's pattern",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .data_format(DocumentClassifierDataFormat::AugmentedManifest)
                        .augmented_manifests(
                            AugmentedManifestsListItem::builder()
                                .s3_uri("s3://train/m.jsonl")
                                .attribute_names("bad name!")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
            },
            "ValidationException",
            "at 'inputDataConfig.augmentedManifests.1.member.attributeNames'",
        ),
    ];
    for (name, mutate, code, expected) in cases {
        let err = mutate(create(&h, "rules"))
            .send()
            .await
            .expect_err(name)
            .into_service_error();
        assert_eq!(err.code(), Some(code), "{name}: {err:?}");
        let message = err.message().unwrap_or_default();
        assert!(message.contains(expected), "{name}: {message}");
    }
    // Every plain-text language custom classification supports is taken.
    for (i, language) in ["de", "en", "es", "fr", "it", "pt"].into_iter().enumerate() {
        create(&h, &format!("lang-{i}"))
            .language_code(LanguageCode::from(language))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{language}: {e:?}"));
    }
}

#[tokio::test]
async fn tag_limits_count_existing_tags_and_reserve_aws_keys() {
    let h = Harness::fast().await;
    let arn = create(&h, "tag-limits")
        .set_tags(Some(
            (0..30)
                .map(|i| Tag::builder().key(format!("a{i}")).build().unwrap())
                .collect(),
        ))
        .send()
        .await
        .unwrap()
        .document_classifier_arn
        .unwrap();
    let tag = |prefix: &str, n: usize| -> Vec<Tag> {
        (0..n)
            .map(|i| Tag::builder().key(format!("{prefix}{i}")).build().unwrap())
            .collect()
    };
    // 30 + 21 new = 51: refused, and nothing is added.
    let err = h
        .comprehend
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(tag("b", 21)))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_tags_exception(), "{err:?}");
    // 30 + 20 new = 50, and replacing existing keys adds none.
    h.comprehend
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some([tag("b", 20), tag("a", 5)].concat()))
        .send()
        .await
        .unwrap();
    let listed = h
        .comprehend
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.tags().len(), 50);

    for key in ["aws:owner", "AWS:owner", "Aws:x"] {
        let err = h
            .comprehend
            .tag_resource()
            .resource_arn(&arn)
            .tags(Tag::builder().key(key).build().unwrap())
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_invalid_request_exception(), "{key}: {err:?}");
        assert!(err.message().unwrap().contains(key));
        let err = h
            .comprehend
            .untag_resource()
            .resource_arn(&arn)
            .tag_keys(key)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_invalid_request_exception(), "{key}: {err:?}");
    }
}

#[tokio::test]
async fn denied_operations_answer_access_denied_until_restored() {
    let mut config = fast_config();
    config.limits.job_queued_secs = 0.5;
    config.faults = Faults {
        deny_operations: ["ListDocumentClassifiers".to_string()].into(),
        ..Faults::default()
    };
    let h = Harness::start(config).await;
    let endpoint = h.running.endpoint();

    // Denied from the start by Config.
    let err = h
        .comprehend
        .list_document_classifiers()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");

    let classifier = h.trained_classifier("permissions").await;
    let job = h
        .start_job(
            "permissions",
            &classifier,
            "s3://in-bucket/x",
            InputFormat::OneDocPerFile,
            "s3://out-bucket/",
        )
        .await
        .unwrap();

    // Detach the Describe permission mid-job.
    let response = raw_request(
        endpoint,
        "PUT",
        "/_standin/faults",
        &[],
        r#"{"denyOperations": ["DescribeDocumentClassificationJob"]}"#,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.json()["denyOperations"],
        serde_json::json!(["DescribeDocumentClassificationJob"])
    );
    for _ in 0..2 {
        let err = h
            .comprehend
            .describe_document_classification_job()
            .job_id(&job)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
        let message = err.message().unwrap();
        assert!(
            message.starts_with("User: arn:aws:sts::123456789012:assumed-role/")
                && message.contains(
                    "is not authorized to perform: comprehend:DescribeDocumentClassificationJob"
                ),
            "{message}"
        );
    }
    let raw = common::raw_call(
        endpoint,
        Some("Comprehend_20171127.DescribeDocumentClassificationJob"),
        &format!(r#"{{"JobId": "{job}"}}"#),
    )
    .await;
    assert_eq!(raw.status, 400);
    assert_eq!(raw.json()["__type"], "AccessDeniedException");
    // Other operations still answer, ListDocumentClassifiers again too.
    h.comprehend
        .list_document_classification_jobs()
        .send()
        .await
        .unwrap();
    h.comprehend
        .list_document_classifiers()
        .send()
        .await
        .unwrap();

    // An unknown operation name is refused and changes nothing.
    let response = raw_request(
        endpoint,
        "PUT",
        "/_standin/faults",
        &[],
        r#"{"denyOperations": ["DescribeEverything"]}"#,
    )
    .await;
    assert_eq!(response.status, 400);
    assert!(response.body.contains("DescribeEverything"));

    // Restore: the job went on meanwhile and is seen to finish.
    let response = raw_request(
        endpoint,
        "PUT",
        "/_standin/faults",
        &[],
        r#"{"denyOperations": []}"#,
    )
    .await;
    assert_eq!(response.status, 200);
    let props = h.wait_job(&job).await;
    assert!(matches!(
        props.job_status(),
        Some(JobStatus::Completed | JobStatus::Failed)
    ));
    let stats = raw_request(endpoint, "GET", "/_standin/stats", &[], "")
        .await
        .json();
    // Two denied through the SDK, one raw.
    assert_eq!(
        stats["operations"]["DescribeDocumentClassificationJob"]["errors"],
        3
    );
}

#[tokio::test]
async fn a_classifier_not_trained_yet_is_unavailable() {
    let mut config = fast_config();
    config.limits.training_secs = 30.0;
    let h = Harness::start(config).await;
    let arn = h
        .create_classifier("not-yet", TRAINING_CSV, DocumentClassifierMode::MultiClass)
        .await;
    for _ in 0..2 {
        let err = h
            .start_job(
                "too-early",
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
        let status = h
            .comprehend
            .describe_document_classifier()
            .document_classifier_arn(&arn)
            .send()
            .await
            .unwrap()
            .document_classifier_properties
            .unwrap()
            .status
            .unwrap();
        assert!(
            matches!(status, ModelStatus::Submitted | ModelStatus::Training),
            "{status:?}"
        );
        // (The status may have moved on from the one the message names.)
        assert!(
            err.message().unwrap().contains("is not ready to use"),
            "{err:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// Walks the pages from `first` on with `next`, `between` run after the
/// first page, and counts how often each id came back.
async fn walk<F, Fut>(first: (Vec<String>, Option<String>), mut next: F) -> HashMap<String, usize>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = (Vec<String>, Option<String>)>,
{
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut ids, mut token) = first;
    loop {
        for id in ids {
            *seen.entry(id).or_default() += 1;
        }
        let Some(t) = token else { break };
        (ids, token) = next(t).await;
    }
    seen
}

#[tokio::test]
async fn job_pages_stay_right_while_jobs_arrive() {
    let h = Harness::fast().await;
    let classifier = h.trained_classifier("pages").await;
    let start = |i: usize| {
        let h = &h;
        let classifier = classifier.clone();
        async move {
            h.start_job(
                &format!("page-job-{i}"),
                &classifier,
                "s3://in-bucket/x",
                InputFormat::OneDocPerFile,
                "s3://out-bucket/",
            )
            .await
            .unwrap()
        }
    };
    let mut before = Vec::new();
    for i in 0..5 {
        before.push(start(i).await);
    }
    let list = |filter: Option<DocumentClassificationJobFilter>, token: Option<String>| {
        let h = &h;
        async move {
            let page = h
                .comprehend
                .list_document_classification_jobs()
                .set_filter(filter)
                .max_results(2)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            let ids: Vec<String> = page
                .document_classification_job_properties_list()
                .iter()
                .filter_map(|p| p.job_id().map(str::to_string))
                .collect();
            (ids, page.next_token().map(str::to_string))
        }
    };
    let newest_first = || {
        Some(
            DocumentClassificationJobFilter::builder()
                .submit_time_after(DateTime::from_secs(0))
                .build(),
        )
    };

    for (order, filter) in [("oldest first", None), ("newest first", newest_first())] {
        let first = list(filter.clone(), None).await;
        assert_eq!(first.0.len(), 2, "{order}");
        // Jobs arrive between page 1 and page 2.
        let mut arrived = Vec::new();
        for i in 0..2 {
            arrived.push(start(100 + i + 10 * usize::from(filter.is_some())).await);
        }
        let seen = walk(first, |t| list(filter.clone(), Some(t))).await;
        for id in &before {
            assert_eq!(seen.get(id), Some(&1), "{order}: {id} in {seen:?}");
        }
        for (id, count) in &seen {
            assert_eq!(*count, 1, "{order}: {id} repeated");
        }
        if filter.is_some() {
            // Newest first: what arrived is before page 1, so not seen.
            assert!(arrived.iter().all(|id| !seen.contains_key(id)), "{order}");
        }
        before.extend(arrived);
    }

    let err = h
        .comprehend
        .list_document_classification_jobs()
        .next_token("page-2")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_request_exception(), "{err:?}");
}

#[tokio::test]
async fn classifier_pages_stay_right_while_classifiers_arrive() {
    let h = Harness::fast().await;
    let mut before = Vec::new();
    for i in 0..4 {
        before.push(
            create(&h, &format!("paged-{i}"))
                .send()
                .await
                .unwrap()
                .document_classifier_arn
                .unwrap(),
        );
    }
    let list = |token: Option<String>| {
        let h = &h;
        async move {
            let page = h
                .comprehend
                .list_document_classifiers()
                .filter(
                    DocumentClassifierFilter::builder()
                        .submit_time_after(DateTime::from_secs(0))
                        .build(),
                )
                .max_results(2)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            let arns: Vec<String> = page
                .document_classifier_properties_list()
                .iter()
                .filter_map(|p| p.document_classifier_arn().map(str::to_string))
                .collect();
            (arns, page.next_token().map(str::to_string))
        }
    };
    let first = list(None).await;
    // Newest first.
    assert_eq!(first.0, vec![before[3].clone(), before[2].clone()]);
    for i in 0..3 {
        create(&h, &format!("late-{i}")).send().await.unwrap();
    }
    let seen = walk(first, |t| list(Some(t))).await;
    assert_eq!(seen.len(), 4, "{seen:?}");
    for arn in &before {
        assert_eq!(seen.get(arn), Some(&1), "{arn} in {seen:?}");
    }
}
