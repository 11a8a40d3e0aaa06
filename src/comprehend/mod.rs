//! The narrow interface the controller needs from Amazon Comprehend.
//!
//! The controller speaks only these plain types, so its decision logic is
//! tested without a network; [`crate::comprehend::sdk::AwsComprehend`] maps them onto
//! `aws-sdk-comprehend`, which talks to AWS or to the local stand-in through
//! an endpoint URL.

use std::collections::BTreeMap;

use async_trait::async_trait;

#[cfg(test)]
pub mod fake;
pub mod limited;
pub mod limits;
pub mod sdk;

/// An IAM role the operator assumes (STS AssumeRole) to act in another
/// account.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Role {
    /// `RoleArn`; its 12 digits name the account the role acts in.
    pub arn: String,
    /// `ExternalId`, when the role's trust policy asks for one.
    pub external_id: Option<String>,
    /// `RoleSessionName`: shows in the account's CloudTrail.
    pub session_name: String,
}

/// Where a call goes: with which identity, in which Region. The Region's
/// quotas (rates, active jobs) belong to the identity's account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    /// The role assumed; `None` is the operator's own identity.
    pub role: Option<Role>,
    /// The Region; empty means the operator's default Region.
    pub region: String,
}

/// The metric label and message word for the operator's own identity,
/// whose account the operator does not look up.
pub const OWN_ACCOUNT: &str = "default";

impl Place {
    /// The operator's own identity in `region`.
    pub fn own(region: impl Into<String>) -> Self {
        Place {
            role: None,
            region: region.into(),
        }
    }

    /// The account of the role (the 12 digits of its ARN); `None` for the
    /// operator's own identity.
    pub fn account(&self) -> Option<&str> {
        self.role.as_ref().and_then(|r| account_of_arn(&r.arn))
    }

    /// The account as metrics and messages name it: its 12 digits, or
    /// [`OWN_ACCOUNT`].
    pub fn account_label(&self) -> &str {
        self.account().unwrap_or(OWN_ACCOUNT)
    }

    /// The role's ARN, if one is assumed.
    pub fn role_arn(&self) -> Option<&str> {
        self.role.as_ref().map(|r| r.arn.as_str())
    }
}

/// `us-east-1` for the operator's own identity, `us-east-1 (account
/// 111122223333)` for a role.
impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.account() {
            Some(account) => write!(f, "{} (account {account})", self.region),
            None => f.write_str(&self.region),
        }
    }
}

/// The account field (the fifth) of an ARN such as
/// `arn:aws:iam::111122223333:role/x` or
/// `arn:aws:comprehend:us-east-1:111122223333:document-classifier/x`,
/// when it is 12 digits.
pub fn account_of_arn(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// The Region field (the fourth) of an ARN, when it has one.
pub fn region_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

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
    /// `FlywheelArn`, for a job started with a flywheel.
    pub flywheel_arn: Option<String>,
    /// `InputDataConfig.S3Uri`.
    pub input_s3_uri: Option<String>,
    /// Describe's `OutputDataConfig.S3Uri`: the full URI of `output.tar.gz`.
    pub output_s3_uri: Option<String>,
}

/// The jobs of one Region in one status, as ListDocumentClassificationJobs
/// filtered by `JobStatus` answers them, every page read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listed {
    pub jobs: Vec<JobDescription>,
    /// List requests the listing took (one per page), for the rate budget.
    pub requests: u32,
}

/// One `AugmentedManifestsListItem` of CreateDocumentClassifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AugmentedManifest {
    pub s3_uri: String,
    pub split: Option<String>,
    pub attribute_names: Vec<String>,
    pub annotation_data_s3_uri: Option<String>,
    pub source_documents_s3_uri: Option<String>,
    pub document_type: Option<String>,
}

/// Everything CreateDocumentClassifier takes (enum values in the API's
/// spelling).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateClassifierRequest {
    pub name: String,
    pub version_name: Option<String>,
    pub language_code: String,
    pub mode: Option<String>,
    pub data_format: Option<String>,
    pub s3_uri: Option<String>,
    pub test_s3_uri: Option<String>,
    pub label_delimiter: Option<String>,
    pub augmented_manifests: Vec<AugmentedManifest>,
    /// `InputDataConfig.DocumentType`.
    pub document_type: Option<String>,
    /// `InputDataConfig.Documents`.
    pub documents: Option<ClassifierDocuments>,
    /// `InputDataConfig.DocumentReaderConfig`.
    pub document_reader_config: Option<DocumentReaderConfig>,
    pub output_s3_uri: Option<String>,
    pub output_kms_key_id: Option<String>,
    /// `OutputDataConfig.FlywheelStatsS3Prefix`.
    pub flywheel_stats_s3_prefix: Option<String>,
    pub data_access_role_arn: String,
    pub volume_kms_key_id: Option<String>,
    pub model_kms_key_id: Option<String>,
    pub model_policy: Option<String>,
    pub vpc_config: Option<VpcConfig>,
    pub tags: BTreeMap<String, String>,
    pub client_request_token: String,
}

/// `DocumentClassifierDocuments` of CreateDocumentClassifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassifierDocuments {
    pub s3_uri: String,
    pub test_s3_uri: Option<String>,
}

/// `ClassifierEvaluationMetrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassifierMetrics {
    pub accuracy: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1_score: Option<f64>,
    pub micro_precision: Option<f64>,
    pub micro_recall: Option<f64>,
    pub micro_f1_score: Option<f64>,
    pub hamming_loss: Option<f64>,
}

/// A classifier as DescribeDocumentClassifier (or one entry of
/// ListDocumentClassifiers) reports it. Times are RFC 3339 strings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassifierDescription {
    pub arn: String,
    pub version_name: Option<String>,
    /// SUBMITTED, TRAINING, DELETING, STOP_REQUESTED, STOPPED, IN_ERROR,
    /// TRAINED or TRAINED_WITH_WARNING.
    pub status: String,
    pub message: Option<String>,
    pub submit_time: Option<String>,
    pub training_start_time: Option<String>,
    pub training_end_time: Option<String>,
    /// `OutputDataConfig.S3Uri`: where the training output (`output.tar.gz`)
    /// is.
    pub output_s3_uri: Option<String>,
    pub metrics: Option<ClassifierMetrics>,
    pub number_of_labels: Option<i64>,
    pub number_of_trained_documents: Option<i64>,
    pub number_of_test_documents: Option<i64>,
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
    /// The credentials for the call could not be had (STS AssumeRole
    /// refused, say): nothing reached Comprehend; retry with backoff,
    /// reason `AssumeRoleFailed`.
    Credentials,
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
    // Every call names its [`Place`]: the identity to act with (the
    // operator's own, or an assumed role) and the Region.

    /// ListDocumentClassificationJobs with `Filter.JobName`: every job of
    /// that name, newest (by submit time) first.
    async fn find_jobs_by_name(
        &self,
        at: &Place,
        job_name: &str,
    ) -> Result<Vec<JobDescription>, AwsError>;

    /// ListDocumentClassificationJobs with `Filter.JobStatus` = `status`:
    /// every job of the account in the Region in that status, whoever
    /// started it.
    async fn list_jobs_in_status(&self, at: &Place, status: &str) -> Result<Listed, AwsError>;

    /// StartDocumentClassificationJob.
    async fn start_job(&self, at: &Place, req: &StartJobRequest) -> Result<StartedJob, AwsError>;

    /// DescribeDocumentClassificationJob.
    async fn describe_job(&self, at: &Place, job_id: &str) -> Result<JobDescription, AwsError>;

    /// ListDocumentClassifiers with `Filter.DocumentClassifierName`: the
    /// classifier of that name whose `VersionName` equals `version_name`
    /// (both absent counts as equal), if any.
    async fn find_classifier(
        &self,
        at: &Place,
        name: &str,
        version_name: Option<&str>,
    ) -> Result<Option<ClassifierDescription>, AwsError>;

    /// CreateDocumentClassifier; answers the new classifier's ARN.
    async fn create_classifier(
        &self,
        at: &Place,
        req: &CreateClassifierRequest,
    ) -> Result<String, AwsError>;

    /// DescribeDocumentClassifier. An unknown ARN is an error with code
    /// `ResourceNotFoundException`.
    async fn describe_classifier(
        &self,
        at: &Place,
        arn: &str,
    ) -> Result<ClassifierDescription, AwsError>;

    /// StopTrainingDocumentClassifier.
    async fn stop_training_classifier(&self, at: &Place, arn: &str) -> Result<(), AwsError>;

    /// DeleteDocumentClassifier.
    async fn delete_classifier(&self, at: &Place, arn: &str) -> Result<(), AwsError>;
}

/// The AWS error code of a missing resource.
pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";

impl AwsError {
    /// Whether the error says the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code
            .rsplit('#')
            .next()
            .unwrap_or(&self.code)
            .starts_with(RESOURCE_NOT_FOUND)
    }

    /// The category of the reconcile-error metric for this error.
    pub fn category(&self) -> &'static str {
        match self.kind {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transient => "aws_unavailable",
            ErrorKind::InvalidSpec => "invalid_spec",
            ErrorKind::JobNotFound => "job_not_found",
            ErrorKind::Credentials => "credentials",
        }
    }

    /// The `outcome` label of the call metric for this error.
    pub fn outcome(&self) -> &'static str {
        if self.is_not_found() {
            return "not_found";
        }
        match self.kind {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transient => "transient",
            ErrorKind::InvalidSpec => "invalid_spec",
            ErrorKind::JobNotFound => "job_not_found",
            ErrorKind::Credentials => "credentials",
        }
    }
}

/// Longest `ClientRequestToken` the API takes.
pub const MAX_CLIENT_REQUEST_TOKEN: usize = 64;

/// The `ClientRequestToken` of a resource: its UID and a digest of the spec
/// the start uses, inside the API's `^[a-zA-Z0-9-]+$`, 1-64 pattern. The same
/// resource with the same spec always sends the same token; a spec fixed
/// after a refused start (the only time a spec may change) gets a new one,
/// since a token reused with other parameters is an error.
pub fn client_request_token(uid: &str, spec_digest: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect()
    };
    let uid = clean(uid);
    let uid = if uid.is_empty() {
        "no-uid".to_string()
    } else {
        uid
    };
    let digest: String = clean(spec_digest).chars().take(16).collect();
    let token = if digest.is_empty() {
        uid
    } else {
        format!("{uid}-{digest}")
    };
    token.chars().take(MAX_CLIENT_REQUEST_TOKEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10";

    #[test]
    fn token_is_uid_and_spec_digest_and_fits_the_pattern() {
        let digest = "16a1541109edfec8faef6c27c8bbaddd";
        let t = client_request_token(UID, digest);
        assert_eq!(t, format!("{UID}-16a1541109edfec8"));
        assert_eq!(
            t,
            client_request_token(UID, digest),
            "same spec, same token"
        );
        assert_ne!(t, client_request_token(UID, "ffff"), "new spec, new token");
        let long = client_request_token(&"z_".repeat(100), digest);
        assert!(long.len() <= MAX_CLIENT_REQUEST_TOKEN);
        for tok in [t, long, client_request_token("___", "")] {
            assert!(!tok.is_empty());
            assert!(tok.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        }
    }

    fn err(kind: ErrorKind, code: &str) -> AwsError {
        AwsError {
            kind,
            code: code.into(),
            message: String::new(),
        }
    }

    #[test]
    fn outcome_labels_name_what_went_wrong() {
        let cases = [
            (
                err(ErrorKind::Throttled, "TooManyRequestsException"),
                "throttled",
            ),
            (err(ErrorKind::Transient, "Timeout"), "transient"),
            (
                err(ErrorKind::InvalidSpec, "InvalidRequestException"),
                "invalid_spec",
            ),
            (
                err(ErrorKind::InvalidSpec, "ResourceNotFoundException"),
                "not_found",
            ),
            (
                err(ErrorKind::JobNotFound, "JobNotFoundException"),
                "job_not_found",
            ),
        ];
        for (e, label) in cases {
            assert_eq!(e.outcome(), label, "{e}");
        }
    }
}
