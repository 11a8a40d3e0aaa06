//! Error classification: codes (bare and qualified), HTTP statuses,
//! failures without an answer, and every operation reporting a service
//! error by its code.

use crate::comprehend::Place;
use std::time::Duration;

use aws_sdk_comprehend::config::http::HttpResponse;
use aws_sdk_comprehend::error::{ConnectorError, ErrorMetadata, SdkError};
use aws_sdk_comprehend::operation::create_document_classifier::CreateDocumentClassifierError;
use aws_sdk_comprehend::operation::delete_document_classifier::DeleteDocumentClassifierError;
use aws_sdk_comprehend::operation::describe_document_classification_job::DescribeDocumentClassificationJobError;
use aws_sdk_comprehend::operation::describe_document_classifier::DescribeDocumentClassifierError;
use aws_sdk_comprehend::operation::list_document_classification_jobs::ListDocumentClassificationJobsError;
use aws_sdk_comprehend::operation::list_document_classifiers::ListDocumentClassifiersError;
use aws_sdk_comprehend::operation::start_document_classification_job::StartDocumentClassificationJobError;
use aws_sdk_comprehend::operation::stop_training_document_classifier::StopTrainingDocumentClassifierError;
use aws_sdk_comprehend::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::body::SdkBody;

use super::fixtures::{full_classifier_request, full_request};
use super::{client_without_retries, CLASSIFIER};
use crate::comprehend::sdk::{
    classify_error, kind_for_code, sdk_retry_config, AwsComprehend, SDK_MAX_ATTEMPTS,
};
use crate::comprehend::{AwsError, Comprehend, ErrorKind};

fn meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message(format!("{code} says no"))
        .build()
}

/// Every code the operator knows, with the kind it must map to.
const CODES: &[(&str, ErrorKind)] = &[
    ("TooManyRequestsException", ErrorKind::Throttled),
    ("ThrottlingException", ErrorKind::Throttled),
    ("Throttling", ErrorKind::Throttled),
    ("RequestLimitExceeded", ErrorKind::Throttled),
    ("InvalidRequestException", ErrorKind::InvalidSpec),
    ("KmsKeyValidationException", ErrorKind::InvalidSpec),
    ("ResourceNotFoundException", ErrorKind::InvalidSpec),
    ("ResourceUnavailableException", ErrorKind::InvalidSpec),
    ("TooManyTagsException", ErrorKind::InvalidSpec),
    ("ResourceInUseException", ErrorKind::InvalidSpec),
    ("ResourceLimitExceededException", ErrorKind::InvalidSpec),
    ("InvalidFilterException", ErrorKind::InvalidSpec),
    ("UnsupportedLanguageException", ErrorKind::InvalidSpec),
    ("ValidationException", ErrorKind::InvalidSpec),
    ("AccessDeniedException", ErrorKind::InvalidSpec),
    ("JobNotFoundException", ErrorKind::JobNotFound),
    ("InternalServerException", ErrorKind::Transient),
    ("ServiceUnavailableException", ErrorKind::Transient),
    ("SomethingNewException", ErrorKind::Transient),
];

#[test]
fn kind_for_code_table() {
    for (code, kind) in CODES {
        assert_eq!(kind_for_code(code), *kind, "{code}");
    }
    assert_eq!(kind_for_code(""), ErrorKind::Transient);
    // Qualified forms some protocols and proxies use.
    assert_eq!(
        kind_for_code("com.amazonaws.comprehend#TooManyRequestsException"),
        ErrorKind::Throttled
    );
    assert_eq!(
        kind_for_code(
            "JobNotFoundException:http://internal.amazon.com/coral/com.amazonaws.comprehend/"
        ),
        ErrorKind::JobNotFound
    );
    // Matching is exact, not by substring.
    assert_eq!(
        kind_for_code("NotAJobNotFoundException"),
        ErrorKind::Transient
    );
}

#[tokio::test]
async fn service_errors_on_every_operation_are_classified_by_code() {
    for &(code, kind) in CODES {
        let describe = mock!(Client::describe_document_classification_job)
            .then_error(move || DescribeDocumentClassificationJobError::generic(meta(code)));
        let start = mock!(Client::start_document_classification_job)
            .then_error(move || StartDocumentClassificationJobError::generic(meta(code)));
        let list = mock!(Client::list_document_classification_jobs)
            .then_error(move || ListDocumentClassificationJobsError::generic(meta(code)));
        let aws = AwsComprehend::with_client(client_without_retries(&[&describe, &start, &list]));
        let expected = AwsError {
            kind,
            code: code.to_owned(),
            message: format!("{code} says no"),
        };

        assert_eq!(
            aws.describe_job(&Place::own(""), "j").await.unwrap_err(),
            expected
        );
        assert_eq!(
            aws.start_job(&Place::own(""), &full_request())
                .await
                .unwrap_err(),
            expected
        );
        assert_eq!(
            aws.find_jobs_by_name(&Place::own(""), "n")
                .await
                .unwrap_err(),
            expected
        );
    }
}

#[tokio::test]
async fn modeled_errors_are_classified_by_their_metadata_code() {
    // The deserializer puts the code into the metadata of modeled errors
    // too; a modeled variant must classify exactly like an unhandled one.
    let rule = mock!(Client::describe_document_classification_job).then_error(|| {
        DescribeDocumentClassificationJobError::JobNotFoundException(
            aws_sdk_comprehend::types::error::JobNotFoundException::builder()
                .message("no such job")
                .meta(
                    ErrorMetadata::builder()
                        .code("JobNotFoundException")
                        .message("no such job")
                        .build(),
                )
                .build(),
        )
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws.describe_job(&Place::own(""), "j").await.unwrap_err();

    assert_eq!(err.kind, ErrorKind::JobNotFound);
    assert_eq!(err.code, "JobNotFoundException");
    assert_eq!(err.message, "no such job");
}

#[tokio::test]
async fn http_500_without_a_code_is_transient_after_the_sdk_retry() {
    let rule = mock!(Client::describe_document_classification_job)
        .sequence()
        .http_status(500, None)
        .times(SDK_MAX_ATTEMPTS as usize)
        .build();
    // The production retry policy, with a tiny backoff to keep the test fast.
    let client = mock_client!(aws_sdk_comprehend, RuleMode::Sequential, [&rule], |c| c
        .retry_config(sdk_retry_config().with_initial_backoff(Duration::from_millis(1))));
    let aws = AwsComprehend::with_client(client);

    let err = aws.describe_job(&Place::own(""), "j").await.unwrap_err();

    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code, "InternalServerException");
    assert!(err.message.contains("500"), "{}", err.message);
    assert_eq!(rule.num_calls(), SDK_MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn http_503_with_an_empty_json_body_is_transient() {
    let rule = mock!(Client::list_document_classification_jobs)
        .sequence()
        .http_status(503, Some("{}".into()))
        .build();
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .find_jobs_by_name(&Place::own(""), "n")
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code, "InternalServerException");
}

#[tokio::test]
async fn http_500_with_a_json_error_body_uses_its_code_and_message() {
    let rule = mock!(Client::start_document_classification_job)
        .sequence()
        .http_status(
            500,
            Some(r#"{"__type":"InternalServerException","Message":"try again"}"#.into()),
        )
        .build();
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .start_job(&Place::own(""), &full_request())
        .await
        .unwrap_err();

    assert_eq!(
        err,
        AwsError {
            kind: ErrorKind::Transient,
            code: "InternalServerException".into(),
            message: "try again".into(),
        }
    );
}

#[tokio::test]
async fn http_400_throttling_body_is_throttled() {
    let rule = mock!(Client::start_document_classification_job)
        .sequence()
        .http_status(
            400,
            Some(
                r#"{"__type":"com.amazonaws.comprehend#TooManyRequestsException","Message":"Rate exceeded"}"#
                    .into(),
            ),
        )
        .build();
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .start_job(&Place::own(""), &full_request())
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.code, "TooManyRequestsException");
    assert_eq!(err.message, "Rate exceeded");
}

type DescribeSdkError = SdkError<DescribeDocumentClassificationJobError, HttpResponse>;

fn raw(status: u16) -> HttpResponse {
    HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
}

#[test]
fn failures_without_a_service_answer_get_short_codes() {
    let timeout = DescribeSdkError::timeout_error("operation timed out after 20s");
    let err = classify_error(&timeout);
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Transient, "Timeout")
    );

    let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
    let dispatch = DescribeSdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
    let err = classify_error(&dispatch);
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Transient, "Dispatch")
    );
    // The cause deep in the source chain is what an operator needs.
    assert!(
        err.message.contains("connection refused"),
        "{}",
        err.message
    );

    let garbled = DescribeSdkError::response_error("unexpected end of body", raw(502));
    let err = classify_error(&garbled);
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Transient, "InternalServerException")
    );

    let garbled = DescribeSdkError::response_error("unexpected end of body", raw(200));
    let err = classify_error(&garbled);
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Transient, "ResponseError")
    );
    assert!(
        err.message.contains("unexpected end of body"),
        "{}",
        err.message
    );

    let unbuildable = DescribeSdkError::construction_failure("job_id was not specified");
    let err = classify_error(&unbuildable);
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::InvalidSpec, "InvalidRequest")
    );
    assert!(
        err.message.contains("job_id was not specified"),
        "{}",
        err.message
    );
}

#[test]
fn service_errors_without_a_code_are_classified_by_status() {
    let no_code =
        || DescribeDocumentClassificationJobError::generic(ErrorMetadata::builder().build());

    let err = classify_error(&DescribeSdkError::service_error(no_code(), raw(503)));
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Transient, "InternalServerException")
    );

    let err = classify_error(&DescribeSdkError::service_error(no_code(), raw(429)));
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Throttled, "TooManyRequestsException")
    );

    let err = classify_error(&DescribeSdkError::service_error(no_code(), raw(400)));
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Transient, "Unknown")
    );
}

#[tokio::test]
async fn service_errors_on_every_classifier_operation_are_classified_by_code() {
    for &(code, kind) in CODES {
        let list = mock!(Client::list_document_classifiers)
            .then_error(move || ListDocumentClassifiersError::generic(meta(code)));
        let create = mock!(Client::create_document_classifier)
            .then_error(move || CreateDocumentClassifierError::generic(meta(code)));
        let describe = mock!(Client::describe_document_classifier)
            .then_error(move || DescribeDocumentClassifierError::generic(meta(code)));
        let stop = mock!(Client::stop_training_document_classifier)
            .then_error(move || StopTrainingDocumentClassifierError::generic(meta(code)));
        let delete = mock!(Client::delete_document_classifier)
            .then_error(move || DeleteDocumentClassifierError::generic(meta(code)));
        let aws = AwsComprehend::with_client(client_without_retries(&[
            &list, &create, &describe, &stop, &delete,
        ]));
        let expected = AwsError {
            kind,
            code: code.to_owned(),
            message: format!("{code} says no"),
        };

        assert_eq!(
            aws.find_classifier(&Place::own(""), "news", None)
                .await
                .unwrap_err(),
            expected
        );
        assert_eq!(
            aws.create_classifier(&Place::own(""), &full_classifier_request())
                .await
                .unwrap_err(),
            expected
        );
        assert_eq!(
            aws.describe_classifier(&Place::own(""), CLASSIFIER)
                .await
                .unwrap_err(),
            expected
        );
        assert_eq!(
            aws.stop_training_classifier(&Place::own(""), CLASSIFIER)
                .await
                .unwrap_err(),
            expected
        );
        assert_eq!(
            aws.delete_classifier(&Place::own(""), CLASSIFIER)
                .await
                .unwrap_err(),
            expected
        );
    }
}
