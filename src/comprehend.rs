//! The narrow interface the controller needs from Amazon Comprehend.
//!
//! The controller speaks only these plain types, so its decision logic is
//! tested without a network; [`crate::aws::AwsComprehend`] maps them onto
//! `aws-sdk-comprehend`, which talks to AWS or to the local stand-in through
//! an endpoint URL.

use std::collections::BTreeMap;

use async_trait::async_trait;

/// Which model a job classifies with: exactly one of the two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelRef {
    /// `DocumentClassifierArn`.
    DocumentClassifier(String),
    /// `FlywheelArn`.
    Flywheel(String),
}

/// `DocumentReaderConfig` of StartDocumentClassificationJob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentReaderConfig {
    pub document_read_action: String,
    pub document_read_mode: Option<String>,
    pub feature_types: Vec<String>,
}

/// `VpcConfig` of StartDocumentClassificationJob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpcConfig {
    pub security_group_ids: Vec<String>,
    pub subnets: Vec<String>,
}

/// Everything StartDocumentClassificationJob takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartJobRequest {
    pub job_name: String,
    pub model: ModelRef,
    pub input_s3_uri: String,
    pub input_format: Option<String>,
    pub document_reader_config: Option<DocumentReaderConfig>,
    pub output_s3_uri: String,
    pub output_kms_key_id: Option<String>,
    pub data_access_role_arn: String,
    pub volume_kms_key_id: Option<String>,
    pub vpc_config: Option<VpcConfig>,
    pub tags: BTreeMap<String, String>,
    pub client_request_token: String,
}

/// What StartDocumentClassificationJob answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedJob {
    pub job_id: String,
    pub job_arn: Option<String>,
    pub job_status: Option<String>,
    pub document_classifier_arn: Option<String>,
}

/// A job as DescribeDocumentClassificationJob (or one entry of
/// ListDocumentClassificationJobs) reports it. Times are RFC 3339 strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobDescription {
    pub job_id: String,
    pub job_arn: Option<String>,
    pub job_name: Option<String>,
    pub job_status: String,
    pub message: Option<String>,
    pub submit_time: Option<String>,
    pub end_time: Option<String>,
    pub document_classifier_arn: Option<String>,
    /// Describe's `OutputDataConfig.S3Uri`: the full URI of `output.tar.gz`.
    pub output_s3_uri: Option<String>,
}

/// How the controller must react to a failed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// TooManyRequestsException: retry with backoff, reason `Throttled`.
    Throttled,
    /// InternalServerException, 5xx, timeouts, connection errors, unknown
    /// errors: retry with backoff.
    Transient,
    /// The request can never succeed with this spec (InvalidRequestException,
    /// KmsKeyValidationException, ResourceNotFoundException,
    /// ResourceUnavailableException, TooManyTagsException, ...): no retry.
    InvalidSpec,
    /// JobNotFoundException on Describe.
    JobNotFound,
}

/// A failed Comprehend call, reduced to what the controller acts on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    pub kind: ErrorKind,
    /// The AWS error code (`TooManyRequestsException`, ...) or a short word
    /// for errors that never reached the service (`Timeout`, `Dispatch`).
    pub code: String,
    pub message: String,
}

/// The Comprehend operations the controller uses.
#[async_trait]
pub trait Comprehend: Send + Sync {
    /// ListDocumentClassificationJobs with `Filter.JobName`; the newest
    /// match (by submit time) if any.
    async fn find_job_by_name(
        &self,
        region: &str,
        job_name: &str,
    ) -> Result<Option<JobDescription>, AwsError>;

    /// StartDocumentClassificationJob.
    async fn start_job(&self, region: &str, req: &StartJobRequest) -> Result<StartedJob, AwsError>;

    /// DescribeDocumentClassificationJob.
    async fn describe_job(&self, region: &str, job_id: &str) -> Result<JobDescription, AwsError>;
}
