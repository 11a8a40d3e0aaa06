//! Region clients: built once per region with the retry and timeout
//! policy, and a fixed client serving every region.

use crate::comprehend::Place;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_comprehend::config::Region;
use aws_sdk_comprehend::operation::describe_document_classification_job::DescribeDocumentClassificationJobOutput;
use aws_sdk_comprehend::Client;
use aws_smithy_mocks::mock;
use aws_smithy_types::DateTime;

use super::{client_without_retries, NOON};
use crate::comprehend::sdk::{
    rfc3339, AwsComprehend, ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, OPERATION_TIMEOUT, SDK_MAX_ATTEMPTS,
};

#[test]
fn rfc3339_has_second_precision_in_utc() {
    assert_eq!(
        rfc3339(&DateTime::from_secs(NOON)).as_deref(),
        Some("2024-05-01T12:00:00Z")
    );
    assert_eq!(
        rfc3339(&DateTime::from_secs_and_nanos(NOON, 1)).as_deref(),
        Some("2024-05-01T12:00:00Z")
    );
}

#[tokio::test]
async fn region_clients_are_built_once_with_the_policy_and_default_region() {
    let base = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .build();
    let aws = AwsComprehend::new(
        base,
        Some("http://127.0.0.1:4566".into()),
        "eu-west-1".into(),
    );

    let default = aws.client(&Place::own("")).await;
    let explicit = aws.client(&Place::own("eu-west-1")).await;
    let other = aws.client(&Place::own("ap-southeast-2")).await;

    // "" and the default region share one client.
    assert_eq!(aws.cached_clients(), 2);
    assert_eq!(default.config().region(), Some(&Region::new("eu-west-1")));
    assert_eq!(explicit.config().region(), Some(&Region::new("eu-west-1")));
    assert_eq!(
        other.config().region(),
        Some(&Region::new("ap-southeast-2"))
    );
    let retry = other.config().retry_config().unwrap();
    assert_eq!(retry.max_attempts(), SDK_MAX_ATTEMPTS);
    let timeouts = other.config().timeout_config().unwrap();
    assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
    assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
    assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
}

#[tokio::test]
async fn fixed_client_serves_every_region() {
    let rule = mock!(Client::describe_document_classification_job)
        .then_output(|| DescribeDocumentClassificationJobOutput::builder().build());
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    // The injected client keeps its own region; nothing is built or cached.
    assert_eq!(
        aws.client(&Place::own("eu-west-1")).await.config().region(),
        Some(&Region::new("us-east-1"))
    );
    assert_eq!(aws.cached_clients(), 0);
}

#[tokio::test]
async fn s3_clients_share_the_region_and_cache_of_comprehend_clients() {
    let base = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .build();
    let aws = AwsComprehend::new(base, None, "eu-west-1".into())
        .with_s3_endpoint(Some("http://127.0.0.1:4566".into()));

    let comprehend = aws.client(&Place::own("ap-southeast-2")).await;
    let s3 = aws.s3_client(&Place::own("ap-southeast-2")).await.unwrap();
    let default = aws.s3_client(&Place::own("")).await.unwrap();

    // One cached pair per region: the S3 client came with the Comprehend one.
    assert_eq!(aws.cached_clients(), 2);
    assert_eq!(comprehend.config().region(), s3.config().region());
    assert_eq!(default.config().region(), Some(&Region::new("eu-west-1")));
    assert_eq!(
        s3.config().retry_config().unwrap().max_attempts(),
        SDK_MAX_ATTEMPTS
    );
}

#[tokio::test]
async fn a_fixed_client_without_s3_cannot_read_output() {
    let rule = mock!(Client::describe_document_classification_job)
        .then_output(|| DescribeDocumentClassificationJobOutput::builder().build());
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));
    let err = aws.s3_client(&Place::own("eu-west-1")).await.unwrap_err();
    assert_eq!(err.code, "InvalidRequest");
}
