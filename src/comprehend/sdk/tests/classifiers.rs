//! The classifier operations: requests built field by field, answers
//! mapped, and the listing that finds a classifier by name and version
//! across pages.

use crate::comprehend::Place;
use std::collections::BTreeMap;

use aws_sdk_comprehend::operation::create_document_classifier::CreateDocumentClassifierOutput;
use aws_sdk_comprehend::operation::delete_document_classifier::DeleteDocumentClassifierOutput;
use aws_sdk_comprehend::operation::describe_document_classifier::DescribeDocumentClassifierOutput;
use aws_sdk_comprehend::operation::list_document_classifiers::ListDocumentClassifiersOutput;
use aws_sdk_comprehend::operation::stop_training_document_classifier::StopTrainingDocumentClassifierOutput;
use aws_sdk_comprehend::types::{
    ClassifierEvaluationMetrics, ClassifierMetadata, DocumentClassifierInputDataConfig,
    DocumentClassifierOutputDataConfig, DocumentClassifierProperties, DocumentReadAction,
    LanguageCode, ModelStatus,
};
use aws_sdk_comprehend::Client;
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::DateTime;

use super::fixtures::{full_classifier_request, full_expected_classifier_input};
use super::{client_without_retries, CLASSIFIER, NOON, ROLE};
use crate::comprehend::sdk::classifiers::classifier_name_of_arn;
use crate::comprehend::sdk::{AwsComprehend, LIST_PAGE_SIZE, MAX_LIST_PAGES};
use crate::comprehend::{
    ClassifierDescription, ClassifierDocuments, ClassifierMetrics, Comprehend,
    CreateClassifierRequest, DocumentReaderConfig, ErrorKind,
};

const NEWS: &str = "arn:aws:comprehend:eu-west-1:111122223333:document-classifier/news";
fn classifier(arn: &str, version: Option<&str>, submit: i64) -> DocumentClassifierProperties {
    DocumentClassifierProperties::builder()
        .document_classifier_arn(arn)
        .set_version_name(version.map(str::to_owned))
        .status(ModelStatus::Trained)
        .submit_time(DateTime::from_secs(submit))
        .build()
}

#[tokio::test]
async fn create_classifier_maps_every_request_field_and_answers_the_arn() {
    let expected = full_expected_classifier_input();
    let rule = mock!(Client::create_document_classifier)
        .match_requests(move |req| {
            assert_eq!(req, &expected);
            true
        })
        .then_output(|| {
            CreateDocumentClassifierOutput::builder()
                .document_classifier_arn(CLASSIFIER)
                .build()
        });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let arn = aws
        .create_classifier(&Place::own("eu-west-1"), &full_classifier_request())
        .await
        .unwrap();

    assert_eq!(arn, CLASSIFIER);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn create_classifier_without_optionals_sends_only_what_is_set() {
    let rule = mock!(Client::create_document_classifier)
        .match_requests(|req| {
            assert_eq!(req.document_classifier_name(), Some("news"));
            assert_eq!(req.version_name(), None);
            assert_eq!(req.language_code(), Some(&LanguageCode::De));
            assert_eq!(req.mode(), None);
            assert_eq!(
                req.input_data_config(),
                Some(
                    &DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train-bucket/train.csv")
                        .build()
                )
            );
            assert!(req.tags.is_none(), "no Tags member when there are no tags");
            assert_eq!(req.output_data_config(), None);
            assert_eq!(req.volume_kms_key_id(), None);
            assert_eq!(req.model_kms_key_id(), None);
            assert_eq!(req.model_policy(), None);
            assert_eq!(req.vpc_config(), None);
            assert_eq!(req.data_access_role_arn(), Some(ROLE));
            assert_eq!(req.client_request_token(), Some("uid-1"));
            true
        })
        .then_output(|| {
            CreateDocumentClassifierOutput::builder()
                .document_classifier_arn(NEWS)
                .build()
        });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));
    let req = CreateClassifierRequest {
        name: "news".into(),
        version_name: None,
        language_code: "de".into(),
        mode: None,
        data_format: None,
        s3_uri: Some("s3://train-bucket/train.csv".into()),
        test_s3_uri: None,
        label_delimiter: None,
        augmented_manifests: vec![],
        document_type: None,
        documents: None,
        document_reader_config: None,
        output_s3_uri: None,
        output_kms_key_id: None,
        flywheel_stats_s3_prefix: None,
        data_access_role_arn: ROLE.into(),
        volume_kms_key_id: None,
        model_kms_key_id: None,
        model_policy: None,
        vpc_config: None,
        tags: BTreeMap::new(),
        client_request_token: "uid-1".into(),
    };

    assert_eq!(
        aws.create_classifier(&Place::own(""), &req).await.unwrap(),
        NEWS
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn create_classifier_sends_output_config_for_a_key_alone() {
    let rule = mock!(Client::create_document_classifier)
        .match_requests(|req| {
            assert_eq!(
                req.output_data_config(),
                Some(
                    &DocumentClassifierOutputDataConfig::builder()
                        .kms_key_id("alias/out")
                        .build()
                )
            );
            true
        })
        .then_output(|| {
            CreateDocumentClassifierOutput::builder()
                .document_classifier_arn(NEWS)
                .build()
        });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));
    let req = CreateClassifierRequest {
        output_s3_uri: None,
        flywheel_stats_s3_prefix: None,
        ..full_classifier_request()
    };

    aws.create_classifier(&Place::own(""), &req).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn create_classifier_sends_output_config_for_a_flywheel_prefix_alone() {
    let rule = mock!(Client::create_document_classifier)
        .match_requests(|req| {
            assert_eq!(
                req.output_data_config(),
                Some(
                    &DocumentClassifierOutputDataConfig::builder()
                        .flywheel_stats_s3_prefix("s3://lake-bucket/stats/")
                        .build()
                )
            );
            true
        })
        .then_output(|| {
            CreateDocumentClassifierOutput::builder()
                .document_classifier_arn(NEWS)
                .build()
        });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));
    let req = CreateClassifierRequest {
        output_s3_uri: None,
        output_kms_key_id: None,
        ..full_classifier_request()
    };

    aws.create_classifier(&Place::own(""), &req).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn create_classifier_reader_without_feature_types_sends_no_feature_types() {
    let rule = mock!(Client::create_document_classifier)
        .match_requests(|req| {
            let input = req.input_data_config().unwrap();
            assert_eq!(
                input.document_reader_config(),
                Some(
                    &aws_sdk_comprehend::types::DocumentReaderConfig::builder()
                        .document_read_action(DocumentReadAction::TextractDetectDocumentText)
                        .build()
                        .unwrap()
                )
            );
            assert_eq!(
                input.documents().map(|d| (d.s3_uri(), d.test_s3_uri())),
                Some(("s3://train-bucket/pdfs/", None))
            );
            true
        })
        .then_output(|| {
            CreateDocumentClassifierOutput::builder()
                .document_classifier_arn(NEWS)
                .build()
        });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));
    let req = CreateClassifierRequest {
        documents: Some(ClassifierDocuments {
            s3_uri: "s3://train-bucket/pdfs/".into(),
            test_s3_uri: None,
        }),
        document_reader_config: Some(DocumentReaderConfig {
            document_read_action: "TEXTRACT_DETECT_DOCUMENT_TEXT".into(),
            document_read_mode: None,
            feature_types: vec![],
        }),
        ..full_classifier_request()
    };

    aws.create_classifier(&Place::own(""), &req).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn create_classifier_without_arn_in_the_answer_is_a_transient_error() {
    let rule = mock!(Client::create_document_classifier)
        .then_output(|| CreateDocumentClassifierOutput::builder().build());
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .create_classifier(&Place::own(""), &full_classifier_request())
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code, "ResponseError");
}

/// Two pages of ListDocumentClassifiers for `news`: versions v1 (twice,
/// the newer on the second page), v2, none, and a near miss.
fn classifier_pages() -> [Rule; 2] {
    let first_page = mock!(Client::list_document_classifiers)
        .match_requests(|req| {
            req.next_token().is_none()
                && req.max_results() == Some(LIST_PAGE_SIZE)
                && req.filter().and_then(|f| f.document_classifier_name()) == Some("news")
        })
        .then_output(|| {
            ListDocumentClassifiersOutput::builder()
                .document_classifier_properties_list(classifier(
                    &format!("{NEWS}/version/v1"),
                    Some("v1"),
                    NOON - 3600,
                ))
                // Newer than every v1, but another version.
                .document_classifier_properties_list(classifier(
                    &format!("{NEWS}/version/v2"),
                    Some("v2"),
                    NOON + 600,
                ))
                .document_classifier_properties_list(classifier(NEWS, None, NOON - 60))
                .next_token("page-2")
                .build()
        });
    let second_page = mock!(Client::list_document_classifiers)
        .match_requests(|req| {
            req.next_token() == Some("page-2")
                && req.max_results() == Some(LIST_PAGE_SIZE)
                && req.filter().and_then(|f| f.document_classifier_name()) == Some("news")
        })
        .then_output(|| {
            ListDocumentClassifiersOutput::builder()
                .document_classifier_properties_list(
                    DocumentClassifierProperties::builder()
                        .document_classifier_arn(format!("{NEWS}/version/v1"))
                        .version_name("v1")
                        .status(ModelStatus::Training)
                        .submit_time(DateTime::from_secs(NOON))
                        .build(),
                )
                // A lenient endpoint's near miss: newer, same version,
                // another name.
                .document_classifier_properties_list(classifier(
                    "arn:aws:comprehend:eu-west-1:111122223333:document-classifier/news-2/version/v1",
                    Some("v1"),
                    NOON + 60,
                ))
                .build()
        });
    [first_page, second_page]
}

#[tokio::test]
async fn find_classifier_picks_the_newest_of_the_version_across_pages() {
    let [first_page, second_page] = classifier_pages();
    let aws = AwsComprehend::with_client(client_without_retries(&[&first_page, &second_page]));

    let found = aws
        .find_classifier(&Place::own(""), "news", Some("v1"))
        .await
        .unwrap();

    let found = found.expect("v1 exists");
    assert_eq!(found.arn, format!("{NEWS}/version/v1"));
    assert_eq!(found.version_name.as_deref(), Some("v1"));
    assert_eq!(found.status, "TRAINING");
    assert_eq!(found.submit_time.as_deref(), Some("2024-05-01T12:00:00Z"));
    assert_eq!(first_page.num_calls(), 1);
    assert_eq!(second_page.num_calls(), 1);
}

#[tokio::test]
async fn find_classifier_without_version_matches_only_the_unversioned_one() {
    let [first_page, second_page] = classifier_pages();
    let aws = AwsComprehend::with_client(client_without_retries(&[&first_page, &second_page]));

    let found = aws
        .find_classifier(&Place::own(""), "news", None)
        .await
        .unwrap();

    let found = found.expect("an unversioned classifier exists");
    assert_eq!(found.arn, NEWS);
    assert_eq!(found.version_name, None);
    assert_eq!(found.submit_time.as_deref(), Some("2024-05-01T11:59:00Z"));
}

#[tokio::test]
async fn find_classifier_returns_none_when_no_version_matches() {
    let [first_page, second_page] = classifier_pages();
    let aws = AwsComprehend::with_client(client_without_retries(&[&first_page, &second_page]));

    let found = aws
        .find_classifier(&Place::own(""), "news", Some("v3"))
        .await
        .unwrap();

    assert_eq!(found, None);
    // Both pages were read before concluding there is none.
    assert_eq!(first_page.num_calls(), 1);
    assert_eq!(second_page.num_calls(), 1);
}

#[tokio::test]
async fn find_classifier_stops_on_a_repeated_next_token() {
    let rule = mock!(Client::list_document_classifiers).then_output(|| {
        ListDocumentClassifiersOutput::builder()
            .next_token("same")
            .build()
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    assert_eq!(
        aws.find_classifier(&Place::own(""), "news", None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn find_classifier_gives_up_on_endless_pages() {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let rule = mock!(Client::list_document_classifiers).then_output(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ListDocumentClassifiersOutput::builder()
            .next_token(format!("token-{n}"))
            .build()
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .find_classifier(&Place::own(""), "news", None)
        .await
        .unwrap_err();

    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Transient, "ResponseError")
    );
    assert_eq!(rule.num_calls(), MAX_LIST_PAGES);
}

#[tokio::test]
async fn find_classifier_keeps_the_entries_of_the_page_that_repeats_its_token() {
    let rule = mock!(Client::list_document_classifiers).then_compute_output(|req| {
        let submit = match req.next_token() {
            None => NOON - 60,
            Some("same") => NOON,
            Some(other) => panic!("unexpected NextToken {other:?}"),
        };
        ListDocumentClassifiersOutput::builder()
            .document_classifier_properties_list(classifier(
                &format!("{NEWS}/version/v1"),
                Some("v1"),
                submit,
            ))
            .next_token("same")
            .build()
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let found = aws
        .find_classifier(&Place::own(""), "news", Some("v1"))
        .await
        .unwrap();

    assert_eq!(
        found.and_then(|c| c.submit_time).as_deref(),
        Some("2024-05-01T12:00:00Z")
    );
    assert_eq!(rule.num_calls(), 2);
}

const TRAINING_OUTPUT: &str =
    "s3://out-bucket/classifier/111122223333-CLR-0123456789abcdef/output/output.tar.gz";

#[tokio::test]
async fn describe_classifier_maps_metrics_counts_and_times() {
    let rule = mock!(Client::describe_document_classifier)
        .match_requests(|req| req.document_classifier_arn() == Some(CLASSIFIER))
        .then_output(|| {
            DescribeDocumentClassifierOutput::builder()
                .document_classifier_properties(
                    DocumentClassifierProperties::builder()
                        .document_classifier_arn(CLASSIFIER)
                        .version_name("v1")
                        .status(ModelStatus::TrainedWithWarning)
                        .message("some labels have few documents")
                        // Sub-second parts are dropped, not rounded.
                        .submit_time(DateTime::from_secs_and_nanos(NOON, 999_000_000))
                        .training_start_time(DateTime::from_secs(NOON + 60))
                        .training_end_time(DateTime::from_secs(NOON + 3661))
                        .output_data_config(
                            DocumentClassifierOutputDataConfig::builder()
                                .s3_uri(TRAINING_OUTPUT)
                                .build(),
                        )
                        .classifier_metadata(
                            ClassifierMetadata::builder()
                                .number_of_labels(4)
                                .number_of_trained_documents(900)
                                .number_of_test_documents(100)
                                .evaluation_metrics(
                                    ClassifierEvaluationMetrics::builder()
                                        .accuracy(0.5)
                                        .precision(0.25)
                                        .recall(0.125)
                                        .f1_score(0.75)
                                        .micro_precision(0.375)
                                        .micro_recall(0.625)
                                        .micro_f1_score(0.875)
                                        .hamming_loss(0.0625)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let described = aws
        .describe_classifier(&Place::own("eu-west-1"), CLASSIFIER)
        .await
        .unwrap();

    assert_eq!(
        described,
        ClassifierDescription {
            arn: CLASSIFIER.into(),
            version_name: Some("v1".into()),
            status: "TRAINED_WITH_WARNING".into(),
            message: Some("some labels have few documents".into()),
            submit_time: Some("2024-05-01T12:00:00Z".into()),
            training_start_time: Some("2024-05-01T12:01:00Z".into()),
            training_end_time: Some("2024-05-01T13:01:01Z".into()),
            output_s3_uri: Some(TRAINING_OUTPUT.into()),
            metrics: Some(ClassifierMetrics {
                accuracy: Some(0.5),
                precision: Some(0.25),
                recall: Some(0.125),
                f1_score: Some(0.75),
                micro_precision: Some(0.375),
                micro_recall: Some(0.625),
                micro_f1_score: Some(0.875),
                hamming_loss: Some(0.0625),
            }),
            number_of_labels: Some(4),
            number_of_trained_documents: Some(900),
            number_of_test_documents: Some(100),
        }
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn describe_classifier_without_status_arn_or_properties_is_a_transient_error() {
    let no_status = DocumentClassifierProperties::builder()
        .document_classifier_arn(CLASSIFIER)
        .build();
    let no_arn = DocumentClassifierProperties::builder()
        .status(ModelStatus::Trained)
        .build();
    for props in [Some(no_status), Some(no_arn), None] {
        let rule = mock!(Client::describe_document_classifier).then_output(move || {
            DescribeDocumentClassifierOutput::builder()
                .set_document_classifier_properties(props.clone())
                .build()
        });
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        let err = aws
            .describe_classifier(&Place::own(""), CLASSIFIER)
            .await
            .unwrap_err();

        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::Transient, "ResponseError")
        );
    }
}

#[tokio::test]
async fn describe_classifier_of_an_unknown_arn_is_not_found() {
    let rule = mock!(Client::describe_document_classifier)
        .sequence()
        .http_status(
            400,
            Some(
                r#"{"__type":"com.amazonaws.comprehend#ResourceNotFoundException","Message":"Resource not found"}"#
                    .into(),
            ),
        )
        .build();
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .describe_classifier(&Place::own(""), CLASSIFIER)
        .await
        .unwrap_err();

    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.kind, ErrorKind::InvalidSpec);
    assert_eq!(err.code, "ResourceNotFoundException");
    assert_eq!(err.message, "Resource not found");
}

#[tokio::test]
async fn stop_training_and_delete_classifier_send_the_arn() {
    let stop = mock!(Client::stop_training_document_classifier)
        .match_requests(|req| req.document_classifier_arn() == Some(CLASSIFIER))
        .then_output(|| StopTrainingDocumentClassifierOutput::builder().build());
    let delete = mock!(Client::delete_document_classifier)
        .match_requests(|req| req.document_classifier_arn() == Some(CLASSIFIER))
        .then_output(|| DeleteDocumentClassifierOutput::builder().build());
    let aws = AwsComprehend::with_client(client_without_retries(&[&stop, &delete]));

    aws.stop_training_classifier(&Place::own(""), CLASSIFIER)
        .await
        .unwrap();
    assert_eq!((stop.num_calls(), delete.num_calls()), (1, 0));
    aws.delete_classifier(&Place::own(""), CLASSIFIER)
        .await
        .unwrap();
    assert_eq!((stop.num_calls(), delete.num_calls()), (1, 1));
}

#[test]
fn classifier_name_of_arn_reads_the_name_with_or_without_version() {
    assert_eq!(classifier_name_of_arn(NEWS), Some("news"));
    assert_eq!(classifier_name_of_arn(CLASSIFIER), Some("news"));
    assert_eq!(classifier_name_of_arn("not-an-arn"), None);
}
