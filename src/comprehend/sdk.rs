//! [`Comprehend`] on top of `aws-sdk-comprehend`.
//!
//! This module is the only place that knows the SDK: it maps the plain
//! request/answer types of [`crate::comprehend`] onto the SDK builders, and
//! reduces every SDK failure to an [`AwsError`] whose [`ErrorKind`] tells the
//! controller whether to back off and retry or to give up on the spec.
//!
//! The SDK is deliberately configured to retry little: the controller runs its
//! own capped, jittered backoff per object, and two nested retry loops would
//! multiply the time a reconcile holds a worker and the load on a throttled
//! account (StartDocumentClassificationJob is limited to 1 TPS).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_comprehend::config::http::HttpResponse;
use aws_sdk_comprehend::config::retry::RetryConfig;
use aws_sdk_comprehend::config::timeout::TimeoutConfig;
use aws_sdk_comprehend::config::Region;
use aws_sdk_comprehend::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_comprehend::types::{
    AugmentedManifestsDocumentTypeFormat, AugmentedManifestsListItem, ClassifierEvaluationMetrics,
    DocumentClassificationJobFilter, DocumentClassificationJobProperties,
    DocumentClassifierDataFormat, DocumentClassifierDocumentTypeFormat,
    DocumentClassifierDocuments, DocumentClassifierFilter, DocumentClassifierInputDataConfig,
    DocumentClassifierMode, DocumentClassifierOutputDataConfig, DocumentClassifierProperties,
    DocumentReadAction, DocumentReadFeatureTypes, DocumentReadMode, InputDataConfig, InputFormat,
    LanguageCode, OutputDataConfig, Split, Tag,
};
use aws_sdk_comprehend::Client;
use aws_smithy_http_client::tls;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

use crate::comprehend::{
    AwsError, ClassifierDescription, ClassifierMetrics, Comprehend, CreateClassifierRequest,
    DocumentReaderConfig, ErrorKind, JobDescription, ModelRef, StartJobRequest, StartedJob,
    VpcConfig,
};

/// Attempts the SDK makes per call (the first try plus one retry). Kept small
/// because the controller retries with its own capped backoff; one SDK retry
/// still smooths over a single dropped connection without a requeue.
const SDK_MAX_ATTEMPTS: u32 = 2;
/// Upper bound for one whole SDK call, retries included, so a stuck endpoint
/// cannot pin a reconcile worker.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// Upper bound for a single attempt: two attempts fit in the operation budget.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP/TLS connect timeout: an unreachable endpoint should fail fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections kept open per endpoint, and for how long. A burst of
/// concurrent calls opens many; without a bound each stayed open (with its
/// buffers and TLS state) for 90 s.
const IDLE_CONNECTIONS_PER_HOST: usize = 8;
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Page size for ListDocumentClassificationJobs (the API allows 1-500; a
/// name filter normally matches one job, so this is only an upper bound).
const LIST_PAGE_SIZE: i32 = 100;
/// Pages of ListDocumentClassificationJobs we follow before giving up. A name
/// matches one job (or a few retried ones), so hitting this means an endpoint
/// that keeps inventing tokens; failing beats looping for ever, and returning
/// a partial answer could hide the job and start it twice.
const MAX_LIST_PAGES: usize = 50;

/// The retry policy every region client gets.
fn sdk_retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(SDK_MAX_ATTEMPTS)
}

/// The timeouts every region client gets.
fn sdk_timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(OPERATION_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}

/// Where [`AwsComprehend`] gets its SDK clients from.
enum Clients {
    /// One client per region, built on first use from a shared base config.
    PerRegion {
        // Boxed: an SdkConfig is large and this enum is otherwise a pointer.
        base: Box<SdkConfig>,
        endpoint_url: Option<String>,
        default_region: String,
        // A std mutex is enough: it is never held across an await, and
        // building a client is cheap and synchronous.
        cache: Mutex<HashMap<String, Client>>,
    },
    /// A prebuilt client used for every region (tests, mocks).
    Fixed(Client),
}

/// Amazon Comprehend through `aws-sdk-comprehend`.
///
/// A job may name its own region, so clients are kept per region and created
/// lazily; they share the base config's credentials provider (and thus its
/// credential cache). An endpoint URL override (e.g. the local stand-in)
/// applies to every region.
pub struct AwsComprehend {
    clients: Clients,
}

impl std::fmt::Debug for AwsComprehend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.clients {
            Clients::PerRegion {
                endpoint_url,
                default_region,
                ..
            } => f
                .debug_struct("AwsComprehend")
                .field("endpoint_url", endpoint_url)
                .field("default_region", default_region)
                .finish_non_exhaustive(),
            Clients::Fixed(_) => f
                .debug_struct("AwsComprehend")
                .field("client", &"fixed")
                .finish(),
        }
    }
}

impl AwsComprehend {
    /// Builds on an already loaded SDK config.
    ///
    /// `endpoint_url` overrides the Comprehend endpoint for every region (for
    /// the local stand-in or a VPC endpoint); `default_region` is used when a
    /// call passes an empty region. If `default_region` is empty too, the
    /// base config's region applies (and if it has none, calls fail with a
    /// clear "no region" construction error rather than guessing one).
    pub fn new(base: SdkConfig, endpoint_url: Option<String>, default_region: String) -> Self {
        Self {
            clients: Clients::PerRegion {
                base: Box::new(base),
                endpoint_url: endpoint_url.filter(|u| !u.is_empty()),
                default_region,
                cache: Mutex::new(HashMap::new()),
            },
        }
    }

    /// Loads the SDK's default configuration chain (environment, IRSA web
    /// identity, EKS Pod Identity, shared profile, IMDS) and builds on it.
    ///
    /// `region`, when given and not empty, is the default region; otherwise
    /// the chain's region (e.g. `AWS_REGION`) is.
    pub async fn from_env(endpoint_url: Option<String>, region: Option<String>) -> Self {
        let region = region.filter(|r| !r.is_empty());
        let http = aws_smithy_http_client::Builder::new()
            .pool_max_idle_per_host(IDLE_CONNECTIONS_PER_HOST)
            .pool_idle_timeout(IDLE_TIMEOUT)
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(r) = &region {
            loader = loader.region(Region::new(r.clone()));
        }
        let base = loader.load().await;
        let default_region = region
            .or_else(|| base.region().map(|r| r.to_string()))
            .unwrap_or_default();
        Self::new(base, endpoint_url, default_region)
    }

    /// Uses `client` as is for every region. Meant for tests that inject a
    /// mocked client; the client keeps its own retry and timeout settings.
    pub fn with_client(client: Client) -> Self {
        Self {
            clients: Clients::Fixed(client),
        }
    }

    /// The client for `region` (empty: the default region), built and cached
    /// on first use.
    fn client(&self, region: &str) -> Client {
        match &self.clients {
            Clients::Fixed(client) => client.clone(),
            Clients::PerRegion {
                base,
                endpoint_url,
                default_region,
                cache,
            } => {
                let region = if region.is_empty() {
                    default_region.as_str()
                } else {
                    region
                };
                // A poisoned lock only means another thread panicked while
                // inserting a client; the map itself is still usable.
                let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(client) = cache.get(region) {
                    return client.clone();
                }
                let mut conf = aws_sdk_comprehend::config::Builder::from(base.as_ref())
                    .retry_config(sdk_retry_config())
                    .timeout_config(sdk_timeout_config());
                if !region.is_empty() {
                    conf = conf.region(Region::new(region.to_owned()));
                }
                if let Some(url) = endpoint_url {
                    conf = conf.endpoint_url(url.clone());
                }
                let client = Client::from_conf(conf.build());
                cache.insert(region.to_owned(), client.clone());
                client
            }
        }
    }

    /// Number of region clients built so far (for tests).
    #[cfg(test)]
    fn cached_clients(&self) -> usize {
        match &self.clients {
            Clients::PerRegion { cache, .. } => cache.lock().map(|c| c.len()).unwrap_or(0),
            Clients::Fixed(_) => 0,
        }
    }
}

#[async_trait]
impl Comprehend for AwsComprehend {
    async fn find_jobs_by_name(
        &self,
        region: &str,
        job_name: &str,
    ) -> Result<Vec<JobDescription>, AwsError> {
        let client = self.client(region);
        let filter = DocumentClassificationJobFilter::builder()
            .job_name(job_name)
            .build();
        let mut found: Vec<DocumentClassificationJobProperties> = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let page = client
                .list_document_classification_jobs()
                .filter(filter.clone())
                .max_results(LIST_PAGE_SIZE)
                .set_next_token(next_token.clone())
                .send()
                .await
                .map_err(|e| classify_error(&e))?;
            // The filter should already match exactly; checking again
            // keeps a lenient endpoint from handing us a stranger's job.
            found.extend(
                page.document_classification_job_properties_list()
                    .iter()
                    .filter(|job| job.job_name().is_none_or(|n| n == job_name))
                    .cloned(),
            );
            match page.next_token().filter(|t| !t.is_empty()) {
                // A token that repeats would loop for ever; treat it as the end.
                Some(token) if next_token.as_deref() != Some(token) => {
                    next_token = Some(token.to_owned());
                }
                _ => {
                    found.sort_by(|a, b| b.submit_time().cmp(&a.submit_time()));
                    return found.iter().map(|job| describe_props(job, None)).collect();
                }
            }
        }
        Err(malformed(&format!(
            "ListDocumentClassificationJobs returned more than {MAX_LIST_PAGES} pages for JobName {job_name:?}"
        )))
    }

    async fn start_job(&self, region: &str, req: &StartJobRequest) -> Result<StartedJob, AwsError> {
        let client = self.client(region);
        let input = input_data_config(req).map_err(build_error)?;
        let output = OutputDataConfig::builder()
            .s3_uri(&req.output_s3_uri)
            .set_kms_key_id(req.output_kms_key_id.clone())
            .build()
            .map_err(build_error)?;
        let mut call = client
            .start_document_classification_job()
            .job_name(&req.job_name)
            .input_data_config(input)
            .output_data_config(output)
            .data_access_role_arn(&req.data_access_role_arn)
            .client_request_token(&req.client_request_token)
            .set_volume_kms_key_id(req.volume_kms_key_id.clone());
        call = match &req.model {
            ModelRef::DocumentClassifier(arn) => call.document_classifier_arn(arn),
            ModelRef::Flywheel(arn) => call.flywheel_arn(arn),
        };
        if let Some(vpc) = &req.vpc_config {
            call = call.vpc_config(sdk_vpc_config(vpc).map_err(build_error)?);
        }
        // No tags means no Tags member at all, not an empty list.
        for tag in sdk_tags(&req.tags).map_err(build_error)? {
            call = call.tags(tag);
        }
        let out = call.send().await.map_err(|e| classify_error(&e))?;
        let job_id = out
            .job_id()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| malformed("StartDocumentClassificationJob answered without a JobId"))?;
        Ok(StartedJob {
            job_id: job_id.to_owned(),
            job_arn: out.job_arn().map(str::to_owned),
            job_status: out.job_status().map(|s| s.as_str().to_owned()),
            document_classifier_arn: out.document_classifier_arn().map(str::to_owned),
        })
    }

    async fn describe_job(&self, region: &str, job_id: &str) -> Result<JobDescription, AwsError> {
        let client = self.client(region);
        let out = client
            .describe_document_classification_job()
            .job_id(job_id)
            .send()
            .await
            .map_err(|e| classify_error(&e))?;
        let props = out
            .document_classification_job_properties()
            .ok_or_else(|| {
                malformed("DescribeDocumentClassificationJob answered without job properties")
            })?;
        describe_props(props, Some(job_id))
    }

    async fn find_classifier(
        &self,
        region: &str,
        name: &str,
        version_name: Option<&str>,
    ) -> Result<Option<ClassifierDescription>, AwsError> {
        let client = self.client(region);
        let filter = DocumentClassifierFilter::builder()
            .document_classifier_name(name)
            .build();
        let wanted_version = version_name.filter(|v| !v.is_empty());
        let mut newest: Option<DocumentClassifierProperties> = None;
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let page = client
                .list_document_classifiers()
                .filter(filter.clone())
                .max_results(LIST_PAGE_SIZE)
                .set_next_token(next_token.clone())
                .send()
                .await
                .map_err(|e| classify_error(&e))?;
            for classifier in page.document_classifier_properties_list() {
                // The entries carry no name of their own; the ARN does. As
                // for jobs, a lenient endpoint's near miss is skipped.
                if classifier
                    .document_classifier_arn()
                    .and_then(classifier_name_of_arn)
                    .is_some_and(|n| n != name)
                {
                    continue;
                }
                // Versions match exactly; no version matches only no version.
                if classifier.version_name().filter(|v| !v.is_empty()) != wanted_version {
                    continue;
                }
                if newest
                    .as_ref()
                    .is_none_or(|best| classifier.submit_time() > best.submit_time())
                {
                    newest = Some(classifier.clone());
                }
            }
            match page.next_token().filter(|t| !t.is_empty()) {
                // A token that repeats would loop for ever; treat it as the end.
                Some(token) if next_token.as_deref() != Some(token) => {
                    next_token = Some(token.to_owned());
                }
                _ => return newest.map(|c| describe_classifier_props(&c)).transpose(),
            }
        }
        Err(malformed(&format!(
            "ListDocumentClassifiers returned more than {MAX_LIST_PAGES} pages for DocumentClassifierName {name:?}"
        )))
    }

    async fn create_classifier(
        &self,
        region: &str,
        req: &CreateClassifierRequest,
    ) -> Result<String, AwsError> {
        let client = self.client(region);
        let mut call = client
            .create_document_classifier()
            .document_classifier_name(&req.name)
            .set_version_name(req.version_name.clone())
            .language_code(LanguageCode::from(req.language_code.as_str()))
            .set_mode(req.mode.as_deref().map(DocumentClassifierMode::from))
            .input_data_config(classifier_input_data_config(req).map_err(build_error)?)
            .data_access_role_arn(&req.data_access_role_arn)
            .set_volume_kms_key_id(req.volume_kms_key_id.clone())
            .set_model_kms_key_id(req.model_kms_key_id.clone())
            .set_model_policy(req.model_policy.clone())
            .client_request_token(&req.client_request_token);
        // Without a location, key or prefix there is nothing to say: no
        // member at all.
        if req.output_s3_uri.is_some()
            || req.output_kms_key_id.is_some()
            || req.flywheel_stats_s3_prefix.is_some()
        {
            call = call.output_data_config(
                DocumentClassifierOutputDataConfig::builder()
                    .set_s3_uri(req.output_s3_uri.clone())
                    .set_kms_key_id(req.output_kms_key_id.clone())
                    .set_flywheel_stats_s3_prefix(req.flywheel_stats_s3_prefix.clone())
                    .build(),
            );
        }
        if let Some(vpc) = &req.vpc_config {
            call = call.vpc_config(sdk_vpc_config(vpc).map_err(build_error)?);
        }
        // No tags means no Tags member at all, not an empty list.
        for tag in sdk_tags(&req.tags).map_err(build_error)? {
            call = call.tags(tag);
        }
        let out = call.send().await.map_err(|e| classify_error(&e))?;
        out.document_classifier_arn()
            .filter(|arn| !arn.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                malformed("CreateDocumentClassifier answered without a DocumentClassifierArn")
            })
    }

    async fn describe_classifier(
        &self,
        region: &str,
        arn: &str,
    ) -> Result<ClassifierDescription, AwsError> {
        let client = self.client(region);
        let out = client
            .describe_document_classifier()
            .document_classifier_arn(arn)
            .send()
            .await
            .map_err(|e| classify_error(&e))?;
        let props = out.document_classifier_properties().ok_or_else(|| {
            malformed("DescribeDocumentClassifier answered without classifier properties")
        })?;
        describe_classifier_props(props)
    }

    async fn stop_training_classifier(&self, region: &str, arn: &str) -> Result<(), AwsError> {
        self.client(region)
            .stop_training_document_classifier()
            .document_classifier_arn(arn)
            .send()
            .await
            .map_err(|e| classify_error(&e))?;
        Ok(())
    }

    async fn delete_classifier(&self, region: &str, arn: &str) -> Result<(), AwsError> {
        self.client(region)
            .delete_document_classifier()
            .document_classifier_arn(arn)
            .send()
            .await
            .map_err(|e| classify_error(&e))?;
        Ok(())
    }
}

/// The SDK's `VpcConfig` (both lists are required members, so they are sent
/// even when empty and the service judges them).
fn sdk_vpc_config(vpc: &VpcConfig) -> Result<aws_sdk_comprehend::types::VpcConfig, BuildError> {
    aws_sdk_comprehend::types::VpcConfig::builder()
        .set_security_group_ids(Some(vpc.security_group_ids.clone()))
        .set_subnets(Some(vpc.subnets.clone()))
        .build()
}

/// One SDK `Tag` per entry, in key order.
fn sdk_tags(tags: &std::collections::BTreeMap<String, String>) -> Result<Vec<Tag>, BuildError> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// `DocumentClassifierInputDataConfig` from the request. Enum values go
/// through the SDK's `From<&str>` like the job's; an empty manifest list is
/// left out rather than sent empty.
fn classifier_input_data_config(
    req: &CreateClassifierRequest,
) -> Result<DocumentClassifierInputDataConfig, BuildError> {
    let manifests = req
        .augmented_manifests
        .iter()
        .map(|m| {
            AugmentedManifestsListItem::builder()
                .s3_uri(&m.s3_uri)
                .set_split(m.split.as_deref().map(Split::from))
                .set_attribute_names(Some(m.attribute_names.clone()))
                .set_annotation_data_s3_uri(m.annotation_data_s3_uri.clone())
                .set_source_documents_s3_uri(m.source_documents_s3_uri.clone())
                .set_document_type(
                    m.document_type
                        .as_deref()
                        .map(AugmentedManifestsDocumentTypeFormat::from),
                )
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let documents = req
        .documents
        .as_ref()
        .map(|d| {
            DocumentClassifierDocuments::builder()
                .s3_uri(&d.s3_uri)
                .set_test_s3_uri(d.test_s3_uri.clone())
                .build()
        })
        .transpose()?;
    let reader = req
        .document_reader_config
        .as_ref()
        .map(sdk_document_reader_config)
        .transpose()?;
    Ok(DocumentClassifierInputDataConfig::builder()
        .set_data_format(
            req.data_format
                .as_deref()
                .map(DocumentClassifierDataFormat::from),
        )
        .set_s3_uri(req.s3_uri.clone())
        .set_test_s3_uri(req.test_s3_uri.clone())
        .set_label_delimiter(req.label_delimiter.clone())
        .set_augmented_manifests(if manifests.is_empty() {
            None
        } else {
            Some(manifests)
        })
        .set_document_type(
            req.document_type
                .as_deref()
                .map(DocumentClassifierDocumentTypeFormat::from),
        )
        .set_documents(documents)
        .set_document_reader_config(reader)
        .build())
}

/// The SDK's `DocumentReaderConfig` for a classifier's training documents;
/// no feature types means no `FeatureTypes` member.
fn sdk_document_reader_config(
    r: &DocumentReaderConfig,
) -> Result<aws_sdk_comprehend::types::DocumentReaderConfig, BuildError> {
    aws_sdk_comprehend::types::DocumentReaderConfig::builder()
        .document_read_action(DocumentReadAction::from(r.document_read_action.as_str()))
        .set_document_read_mode(r.document_read_mode.as_deref().map(DocumentReadMode::from))
        .set_feature_types(if r.feature_types.is_empty() {
            None
        } else {
            Some(
                r.feature_types
                    .iter()
                    .map(|f| DocumentReadFeatureTypes::from(f.as_str()))
                    .collect(),
            )
        })
        .build()
}

/// The classifier name inside a classifier ARN
/// (`...:document-classifier/<name>[/version/<v>]`), if it has that shape.
fn classifier_name_of_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":document-classifier/")?;
    rest.split('/').next().filter(|n| !n.is_empty())
}

/// Maps classifier properties (from Describe or one List entry) to a
/// [`ClassifierDescription`].
fn describe_classifier_props(
    p: &DocumentClassifierProperties,
) -> Result<ClassifierDescription, AwsError> {
    let arn = p
        .document_classifier_arn()
        .filter(|arn| !arn.is_empty())
        .ok_or_else(|| malformed("a classifier was reported without a DocumentClassifierArn"))?;
    // As for jobs: without a status there is nothing to decide on.
    let status = p
        .status()
        .map(|s| s.as_str().to_owned())
        .ok_or_else(|| malformed("a classifier was reported without a Status"))?;
    let meta = p.classifier_metadata();
    Ok(ClassifierDescription {
        arn: arn.to_owned(),
        version_name: p.version_name().map(str::to_owned),
        status,
        message: p.message().map(str::to_owned),
        submit_time: p.submit_time().and_then(rfc3339),
        training_start_time: p.training_start_time().and_then(rfc3339),
        training_end_time: p.training_end_time().and_then(rfc3339),
        output_s3_uri: p
            .output_data_config()
            .and_then(|o| o.s3_uri())
            .filter(|u| !u.is_empty())
            .map(str::to_owned),
        metrics: meta
            .and_then(|m| m.evaluation_metrics())
            .map(classifier_metrics),
        number_of_labels: meta.and_then(|m| m.number_of_labels()).map(i64::from),
        number_of_trained_documents: meta
            .and_then(|m| m.number_of_trained_documents())
            .map(i64::from),
        number_of_test_documents: meta
            .and_then(|m| m.number_of_test_documents())
            .map(i64::from),
    })
}

/// `ClassifierEvaluationMetrics`, member for member.
fn classifier_metrics(m: &ClassifierEvaluationMetrics) -> ClassifierMetrics {
    ClassifierMetrics {
        accuracy: m.accuracy(),
        precision: m.precision(),
        recall: m.recall(),
        f1_score: m.f1_score(),
        micro_precision: m.micro_precision(),
        micro_recall: m.micro_recall(),
        micro_f1_score: m.micro_f1_score(),
        hamming_loss: m.hamming_loss(),
    }
}

/// `InputDataConfig` from the request. Enum values go through the SDK's
/// `From<&str>`, which keeps unknown values verbatim, so the service (not
/// this mapping) is the judge of what is valid.
fn input_data_config(req: &StartJobRequest) -> Result<InputDataConfig, BuildError> {
    let reader = req
        .document_reader_config
        .as_ref()
        .map(|r| {
            aws_sdk_comprehend::types::DocumentReaderConfig::builder()
                .document_read_action(DocumentReadAction::from(r.document_read_action.as_str()))
                .set_document_read_mode(r.document_read_mode.as_deref().map(DocumentReadMode::from))
                .set_feature_types(if r.feature_types.is_empty() {
                    None
                } else {
                    Some(
                        r.feature_types
                            .iter()
                            .map(|f| DocumentReadFeatureTypes::from(f.as_str()))
                            .collect(),
                    )
                })
                .build()
        })
        .transpose()?;
    InputDataConfig::builder()
        .s3_uri(&req.input_s3_uri)
        .set_input_format(req.input_format.as_deref().map(InputFormat::from))
        .set_document_reader_config(reader)
        .build()
}

/// Maps job properties (from Describe or one List entry) to a
/// [`JobDescription`]. `fallback_id` is the id the caller asked for, used if
/// the answer leaves `JobId` out.
fn describe_props(
    p: &DocumentClassificationJobProperties,
    fallback_id: Option<&str>,
) -> Result<JobDescription, AwsError> {
    let job_id = p
        .job_id()
        .filter(|id| !id.is_empty())
        .or(fallback_id)
        .ok_or_else(|| malformed("a classification job was reported without a JobId"))?;
    // Without a status the controller cannot decide anything; treat the
    // answer as broken (and retryable) rather than invent one.
    let job_status = p
        .job_status()
        .map(|s| s.as_str().to_owned())
        .ok_or_else(|| malformed("a classification job was reported without a JobStatus"))?;
    Ok(JobDescription {
        job_id: job_id.to_owned(),
        job_arn: p.job_arn().map(str::to_owned),
        job_name: p.job_name().map(str::to_owned),
        job_status,
        message: p.message().map(str::to_owned),
        submit_time: p.submit_time().and_then(rfc3339),
        end_time: p.end_time().and_then(rfc3339),
        document_classifier_arn: p.document_classifier_arn().map(str::to_owned),
        flywheel_arn: p.flywheel_arn().map(str::to_owned),
        input_s3_uri: p
            .input_data_config()
            .map(|i| i.s3_uri().to_owned())
            .filter(|u| !u.is_empty()),
        output_s3_uri: p
            .output_data_config()
            .map(|o| o.s3_uri().to_owned())
            .filter(|u| !u.is_empty()),
    })
}

/// RFC 3339 UTC with second precision (`2024-05-01T12:00:00Z`): the status
/// shows it and Kubernetes `Time` fields accept nothing finer.
fn rfc3339(t: &DateTime) -> Option<String> {
    // `secs()` is the floor, so dropping the nanos truncates toward the past.
    DateTime::from_secs(t.secs()).fmt(Format::DateTime).ok()
}

/// An answer we cannot use. Transient: a well-behaved endpoint never sends
/// one, so retrying is the least surprising reaction.
fn malformed(message: &str) -> AwsError {
    AwsError {
        kind: ErrorKind::Transient,
        code: "ResponseError".to_owned(),
        message: message.to_owned(),
    }
}

/// A request we could not even assemble: retrying the same spec will not help.
fn build_error(err: BuildError) -> AwsError {
    AwsError {
        kind: ErrorKind::InvalidSpec,
        code: "InvalidRequest".to_owned(),
        message: DisplayErrorContext(&err).to_string(),
    }
}

/// How the controller should react to an AWS error code.
///
/// Throttling codes are [`ErrorKind::Throttled`]; codes that say the request
/// itself is wrong (or names something that does not exist or cannot be
/// used) are [`ErrorKind::InvalidSpec`]; `JobNotFoundException` is
/// [`ErrorKind::JobNotFound`]; everything else, unknown codes included, is
/// [`ErrorKind::Transient`], since giving up on a job over an error we do
/// not understand would be worse than retrying it with backoff.
///
/// Codes are accepted bare (`TooManyRequestsException`) or in the qualified
/// forms some protocols use (`com.amazonaws.comprehend#TooManyRequestsException`,
/// `TooManyRequestsException:http://...`).
pub fn kind_for_code(code: &str) -> ErrorKind {
    let code = code.rsplit('#').next().unwrap_or(code);
    let code = code.split(':').next().unwrap_or(code).trim();
    match code {
        "TooManyRequestsException"
        | "ThrottlingException"
        | "Throttling"
        | "RequestLimitExceeded" => ErrorKind::Throttled,
        "InvalidRequestException"
        | "KmsKeyValidationException"
        | "ResourceNotFoundException"
        | "ResourceUnavailableException"
        | "TooManyTagsException"
        | "ResourceInUseException"
        | "ResourceLimitExceededException"
        | "InvalidFilterException"
        | "UnsupportedLanguageException"
        | "ValidationException"
        | "AccessDeniedException" => ErrorKind::InvalidSpec,
        "JobNotFoundException" => ErrorKind::JobNotFound,
        _ => ErrorKind::Transient,
    }
}

/// Reduces any SDK failure of a Comprehend operation to an [`AwsError`].
///
/// Service errors are recognised by the `code()` of their error metadata, not
/// by the SDK's modeled enum, because an endpoint (the stand-in, a proxy) may
/// answer with codes the SDK does not map onto a variant. Failures that never
/// produced a service answer get a short code: `Timeout`, `Dispatch`,
/// `ResponseError` (all transient) and `InvalidRequest` (the request could not
/// be built, so retrying it cannot help). An answer without a code is judged
/// by its HTTP status: 5xx is a transient `InternalServerException`, 429 a
/// throttling `TooManyRequestsException`.
pub fn classify_error<E>(err: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    // The full display chain carries the underlying cause (e.g. "connection
    // refused"), which the top-level message alone leaves out.
    let chain = || DisplayErrorContext(err).to_string();
    let (kind, code, message) = match err {
        SdkError::ConstructionFailure(_) => (ErrorKind::InvalidSpec, "InvalidRequest", chain()),
        SdkError::TimeoutError(_) => (ErrorKind::Transient, "Timeout", chain()),
        SdkError::DispatchFailure(_) => (ErrorKind::Transient, "Dispatch", chain()),
        // An answer the SDK could not parse, e.g. a 500 with an empty body
        // from a proxy. Its status still says whose fault it was.
        SdkError::ResponseError(re) => {
            let (kind, code) = kind_for_status(re.raw().status().as_u16())
                .unwrap_or((ErrorKind::Transient, "ResponseError"));
            (kind, code, chain())
        }
        SdkError::ServiceError(se) => {
            let service_err = se.err();
            let message = service_err
                .message()
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| DisplayErrorContext(service_err).to_string());
            if let Some(code) = service_err.code().filter(|c| !c.is_empty()) {
                return AwsError {
                    kind: kind_for_code(code),
                    code: code.to_owned(),
                    message,
                };
            }
            let status = se.raw().status().as_u16();
            let (kind, code) = kind_for_status(status).unwrap_or((ErrorKind::Transient, "Unknown"));
            (kind, code, format!("HTTP {status}: {message}"))
        }
        // `SdkError` is non-exhaustive; a future variant is treated as
        // something to retry, like any error we do not understand.
        _ => (ErrorKind::Transient, "Unknown", chain()),
    };
    AwsError {
        kind,
        code: code.to_owned(),
        message,
    }
}

/// The kind and code implied by the HTTP status of an answer that carries no
/// error code: 5xx is the service failing, 429 is throttling. Anything else
/// says too little to name.
fn kind_for_status(status: u16) -> Option<(ErrorKind, &'static str)> {
    match status {
        500..=599 => Some((ErrorKind::Transient, "InternalServerException")),
        429 => Some((ErrorKind::Throttled, "TooManyRequestsException")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use aws_sdk_comprehend::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_comprehend::operation::create_document_classifier::{
        CreateDocumentClassifierError, CreateDocumentClassifierInput,
        CreateDocumentClassifierOutput,
    };
    use aws_sdk_comprehend::operation::delete_document_classifier::{
        DeleteDocumentClassifierError, DeleteDocumentClassifierOutput,
    };
    use aws_sdk_comprehend::operation::describe_document_classification_job::{
        DescribeDocumentClassificationJobError, DescribeDocumentClassificationJobOutput,
    };
    use aws_sdk_comprehend::operation::describe_document_classifier::{
        DescribeDocumentClassifierError, DescribeDocumentClassifierOutput,
    };
    use aws_sdk_comprehend::operation::list_document_classification_jobs::{
        ListDocumentClassificationJobsError, ListDocumentClassificationJobsOutput,
    };
    use aws_sdk_comprehend::operation::list_document_classifiers::{
        ListDocumentClassifiersError, ListDocumentClassifiersOutput,
    };
    use aws_sdk_comprehend::operation::start_document_classification_job::{
        StartDocumentClassificationJobError, StartDocumentClassificationJobInput,
        StartDocumentClassificationJobOutput,
    };
    use aws_sdk_comprehend::operation::stop_training_document_classifier::{
        StopTrainingDocumentClassifierError, StopTrainingDocumentClassifierOutput,
    };
    use aws_sdk_comprehend::types::{ClassifierMetadata, JobStatus, ModelStatus};
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use aws_smithy_types::body::SdkBody;

    use super::*;
    use crate::comprehend::{AugmentedManifest, ClassifierDocuments, DocumentReaderConfig};

    const CLASSIFIER: &str =
        "arn:aws:comprehend:eu-west-1:111122223333:document-classifier/news/version/v1";
    const FLYWHEEL: &str = "arn:aws:comprehend:eu-west-1:111122223333:flywheel/news";
    const ROLE: &str = "arn:aws:iam::111122223333:role/comprehend-data";
    /// 2024-05-01T12:00:00Z.
    const NOON: i64 = 1_714_564_800;

    /// A mocked client that makes exactly one attempt per call, so each rule
    /// response corresponds to one observable result.
    fn client_without_retries(rules: &[&Rule]) -> Client {
        mock_client!(aws_sdk_comprehend, RuleMode::MatchAny, rules, |c| c
            .retry_config(RetryConfig::disabled()))
    }

    fn full_request() -> StartJobRequest {
        StartJobRequest {
            job_name: "ns-job-0123abcd".into(),
            model: ModelRef::DocumentClassifier(CLASSIFIER.into()),
            input_s3_uri: "s3://in-bucket/docs/".into(),
            input_format: Some("ONE_DOC_PER_FILE".into()),
            document_reader_config: Some(DocumentReaderConfig {
                document_read_action: "TEXTRACT_ANALYZE_DOCUMENT".into(),
                document_read_mode: Some("FORCE_DOCUMENT_READ_ACTION".into()),
                feature_types: vec!["TABLES".into(), "FORMS".into()],
            }),
            output_s3_uri: "s3://out-bucket/results/".into(),
            output_kms_key_id: Some("alias/out".into()),
            data_access_role_arn: ROLE.into(),
            volume_kms_key_id: Some("1234abcd-12ab-34cd-56ef-1234567890ab".into()),
            vpc_config: Some(VpcConfig {
                security_group_ids: vec!["sg-1".into(), "sg-2".into()],
                subnets: vec!["subnet-a".into()],
            }),
            tags: BTreeMap::from([
                ("team".to_string(), "docs".to_string()),
                ("cost-center".to_string(), "42".to_string()),
            ]),
            client_request_token: "6f1c7a52-93a4-4d3e-a2b1-0c9d8e7f6a5b".into(),
        }
    }

    /// The SDK input `full_request` must become, built independently of the
    /// code under test.
    fn full_expected_input() -> StartDocumentClassificationJobInput {
        StartDocumentClassificationJobInput::builder()
            .job_name("ns-job-0123abcd")
            .document_classifier_arn(CLASSIFIER)
            .input_data_config(
                InputDataConfig::builder()
                    .s3_uri("s3://in-bucket/docs/")
                    .input_format(InputFormat::OneDocPerFile)
                    .document_reader_config(
                        aws_sdk_comprehend::types::DocumentReaderConfig::builder()
                            .document_read_action(DocumentReadAction::TextractAnalyzeDocument)
                            .document_read_mode(DocumentReadMode::ForceDocumentReadAction)
                            .feature_types(DocumentReadFeatureTypes::Tables)
                            .feature_types(DocumentReadFeatureTypes::Forms)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .output_data_config(
                OutputDataConfig::builder()
                    .s3_uri("s3://out-bucket/results/")
                    .kms_key_id("alias/out")
                    .build()
                    .unwrap(),
            )
            .data_access_role_arn(ROLE)
            .client_request_token("6f1c7a52-93a4-4d3e-a2b1-0c9d8e7f6a5b")
            .volume_kms_key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
            .vpc_config(
                aws_sdk_comprehend::types::VpcConfig::builder()
                    .security_group_ids("sg-1")
                    .security_group_ids("sg-2")
                    .subnets("subnet-a")
                    .build()
                    .unwrap(),
            )
            // BTreeMap order: cost-center sorts before team.
            .tags(
                Tag::builder()
                    .key("cost-center")
                    .value("42")
                    .build()
                    .unwrap(),
            )
            .tags(Tag::builder().key("team").value("docs").build().unwrap())
            .build()
            .unwrap()
    }

    fn props(
        id: &str,
        name: &str,
        status: JobStatus,
        submit: i64,
    ) -> DocumentClassificationJobProperties {
        DocumentClassificationJobProperties::builder()
            .job_id(id)
            .job_name(name)
            .job_status(status)
            .submit_time(DateTime::from_secs(submit))
            .build()
    }

    #[tokio::test]
    async fn start_maps_every_request_field_and_the_answer() {
        let expected = full_expected_input();
        let rule = mock!(Client::start_document_classification_job)
            .match_requests(move |req| {
                // Comparing whole inputs catches any field mapped wrongly or
                // left out; the assert (rather than `false`) shows the diff.
                assert_eq!(req, &expected);
                true
            })
            .then_output(|| {
                StartDocumentClassificationJobOutput::builder()
                    .job_id("0123456789abcdef0123456789abcdef")
                    .job_arn("arn:aws:comprehend:eu-west-1:111122223333:document-classification-job/0123456789abcdef0123456789abcdef")
                    .job_status(JobStatus::Submitted)
                    .document_classifier_arn(CLASSIFIER)
                    .build()
            });
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        let started = aws.start_job("eu-west-1", &full_request()).await.unwrap();

        assert_eq!(
            started,
            StartedJob {
                job_id: "0123456789abcdef0123456789abcdef".into(),
                job_arn: Some("arn:aws:comprehend:eu-west-1:111122223333:document-classification-job/0123456789abcdef0123456789abcdef".into()),
                job_status: Some("SUBMITTED".into()),
                document_classifier_arn: Some(CLASSIFIER.into()),
            }
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn start_with_flywheel_and_no_optionals_sends_only_what_is_set() {
        let rule = mock!(Client::start_document_classification_job)
            .match_requests(|req| {
                assert_eq!(req.flywheel_arn(), Some(FLYWHEEL));
                assert_eq!(req.document_classifier_arn(), None);
                let input = req.input_data_config().unwrap();
                assert_eq!(input.s3_uri(), "s3://in-bucket/docs/");
                assert_eq!(input.input_format(), None);
                assert_eq!(input.document_reader_config(), None);
                assert_eq!(req.output_data_config().unwrap().kms_key_id(), None);
                assert_eq!(req.volume_kms_key_id(), None);
                assert_eq!(req.vpc_config(), None);
                assert!(req.tags.is_none(), "no Tags member when there are no tags");
                assert_eq!(req.client_request_token(), Some("uid-1"));
                true
            })
            .then_output(|| {
                StartDocumentClassificationJobOutput::builder()
                    .job_id("j1")
                    .build()
            });
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));
        let req = StartJobRequest {
            model: ModelRef::Flywheel(FLYWHEEL.into()),
            input_format: None,
            document_reader_config: None,
            output_kms_key_id: None,
            volume_kms_key_id: None,
            vpc_config: None,
            tags: BTreeMap::new(),
            client_request_token: "uid-1".into(),
            ..full_request()
        };

        let started = aws.start_job("", &req).await.unwrap();

        assert_eq!(started.job_id, "j1");
        assert_eq!(started.job_arn, None);
        assert_eq!(started.job_status, None);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn start_without_job_id_in_the_answer_is_a_transient_error() {
        let rule = mock!(Client::start_document_classification_job)
            .then_output(|| StartDocumentClassificationJobOutput::builder().build());
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        let err = aws.start_job("", &full_request()).await.unwrap_err();

        assert_eq!(err.kind, ErrorKind::Transient);
        assert_eq!(err.code, "ResponseError");
    }

    #[tokio::test]
    async fn describe_maps_status_message_times_and_output_uri() {
        let rule = mock!(Client::describe_document_classification_job)
            .match_requests(|req| req.job_id() == Some("job-1"))
            .then_output(|| {
                DescribeDocumentClassificationJobOutput::builder()
                    .document_classification_job_properties(
                        DocumentClassificationJobProperties::builder()
                            .job_id("job-1")
                            .job_arn("arn:aws:comprehend:eu-west-1:111122223333:document-classification-job/job-1")
                            .job_name("ns-job")
                            .job_status(JobStatus::Failed)
                            .message("NO_READ_ACCESS_TO_INPUT: cannot read s3://in-bucket/docs/")
                            // Sub-second parts are dropped, not rounded.
                            .submit_time(DateTime::from_secs_and_nanos(NOON, 999_000_000))
                            .end_time(DateTime::from_secs(NOON + 367))
                            .document_classifier_arn(CLASSIFIER)
                            .input_data_config(
                                InputDataConfig::builder()
                                    .s3_uri("s3://in-bucket/docs/")
                                    .build()
                                    .unwrap(),
                            )
                            .output_data_config(
                                OutputDataConfig::builder()
                                    .s3_uri("s3://out-bucket/results/111122223333-CLN-job-1/output/output.tar.gz")
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
            });
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        let job = aws.describe_job("eu-west-1", "job-1").await.unwrap();

        assert_eq!(
            job,
            JobDescription {
                job_id: "job-1".into(),
                job_arn: Some(
                    "arn:aws:comprehend:eu-west-1:111122223333:document-classification-job/job-1"
                        .into()
                ),
                job_name: Some("ns-job".into()),
                job_status: "FAILED".into(),
                message: Some("NO_READ_ACCESS_TO_INPUT: cannot read s3://in-bucket/docs/".into()),
                submit_time: Some("2024-05-01T12:00:00Z".into()),
                end_time: Some("2024-05-01T12:06:07Z".into()),
                document_classifier_arn: Some(CLASSIFIER.into()),
                flywheel_arn: None,
                input_s3_uri: Some("s3://in-bucket/docs/".into()),
                output_s3_uri: Some(
                    "s3://out-bucket/results/111122223333-CLN-job-1/output/output.tar.gz".into()
                ),
            }
        );
    }

    #[tokio::test]
    async fn describe_keeps_unknown_status_strings_and_requested_id() {
        let rule = mock!(Client::describe_document_classification_job).then_output(|| {
            DescribeDocumentClassificationJobOutput::builder()
                .document_classification_job_properties(
                    DocumentClassificationJobProperties::builder()
                        .job_status(JobStatus::from("PAUSED_FOR_LUNCH"))
                        .build(),
                )
                .build()
        });
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        let job = aws.describe_job("", "job-9").await.unwrap();

        assert_eq!(job.job_id, "job-9");
        assert_eq!(job.job_status, "PAUSED_FOR_LUNCH");
        assert_eq!(job.submit_time, None);
        assert_eq!(job.output_s3_uri, None);
    }

    #[tokio::test]
    async fn describe_without_properties_is_a_transient_error() {
        let rule = mock!(Client::describe_document_classification_job)
            .then_output(|| DescribeDocumentClassificationJobOutput::builder().build());
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        let err = aws.describe_job("", "job-1").await.unwrap_err();

        assert_eq!(err.kind, ErrorKind::Transient);
        assert_eq!(err.code, "ResponseError");
    }

    #[tokio::test]
    async fn find_follows_next_token_and_picks_the_newest_match() {
        let first_page = mock!(Client::list_document_classification_jobs)
            .match_requests(|req| {
                req.next_token().is_none()
                    && req.max_results() == Some(LIST_PAGE_SIZE)
                    && req.filter().and_then(|f| f.job_name()) == Some("ns-job")
            })
            .then_output(|| {
                ListDocumentClassificationJobsOutput::builder()
                    .document_classification_job_properties_list(props(
                        "old",
                        "ns-job",
                        JobStatus::Failed,
                        NOON - 3600,
                    ))
                    .document_classification_job_properties_list(props(
                        "newest",
                        "ns-job",
                        JobStatus::InProgress,
                        NOON,
                    ))
                    .next_token("page-2")
                    .build()
            });
        let second_page = mock!(Client::list_document_classification_jobs)
            .match_requests(|req| {
                req.next_token() == Some("page-2")
                    && req.filter().and_then(|f| f.job_name()) == Some("ns-job")
            })
            .then_output(|| {
                ListDocumentClassificationJobsOutput::builder()
                    .document_classification_job_properties_list(props(
                        "middle",
                        "ns-job",
                        JobStatus::Stopped,
                        NOON - 60,
                    ))
                    // A lenient endpoint's near miss must not be picked even
                    // though it is newer.
                    .document_classification_job_properties_list(props(
                        "stranger",
                        "ns-job-2",
                        JobStatus::Submitted,
                        NOON + 60,
                    ))
                    .build()
            });
        let aws = AwsComprehend::with_client(mock_client!(
            aws_sdk_comprehend,
            RuleMode::Sequential,
            [&first_page, &second_page],
            |c| c.retry_config(RetryConfig::disabled())
        ));

        let jobs = aws.find_jobs_by_name("", "ns-job").await.unwrap();

        let ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
        assert_eq!(ids, ["newest", "middle", "old"]);
        let job = &jobs[0];
        assert_eq!(job.job_status, "IN_PROGRESS");
        assert_eq!(job.submit_time.as_deref(), Some("2024-05-01T12:00:00Z"));
        assert_eq!(first_page.num_calls(), 1);
        assert_eq!(second_page.num_calls(), 1);
    }

    #[tokio::test]
    async fn find_returns_none_when_nothing_matches() {
        let rule = mock!(Client::list_document_classification_jobs)
            .then_output(|| ListDocumentClassificationJobsOutput::builder().build());
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        assert_eq!(aws.find_jobs_by_name("", "ns-job").await.unwrap(), vec![]);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn find_stops_on_a_repeated_next_token() {
        let rule = mock!(Client::list_document_classification_jobs).then_output(|| {
            ListDocumentClassificationJobsOutput::builder()
                .next_token("same")
                .build()
        });
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        assert_eq!(aws.find_jobs_by_name("", "ns-job").await.unwrap(), vec![]);
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn find_gives_up_on_endless_pages() {
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let rule = mock!(Client::list_document_classification_jobs).then_output(move || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ListDocumentClassificationJobsOutput::builder()
                .next_token(format!("token-{n}"))
                .build()
        });
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        let err = aws.find_jobs_by_name("", "ns-job").await.unwrap_err();

        assert_eq!(err.kind, ErrorKind::Transient);
        assert_eq!(err.code, "ResponseError");
        assert_eq!(rule.num_calls(), MAX_LIST_PAGES);
    }

    const NEWS: &str = "arn:aws:comprehend:eu-west-1:111122223333:document-classifier/news";
    const MODEL_KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/model";
    const MODEL_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"comprehend:ImportModel","Resource":"*"}]}"#;

    fn full_classifier_request() -> CreateClassifierRequest {
        CreateClassifierRequest {
            name: "news".into(),
            version_name: Some("v1".into()),
            language_code: "en".into(),
            mode: Some("MULTI_LABEL".into()),
            data_format: Some("AUGMENTED_MANIFEST".into()),
            s3_uri: Some("s3://train-bucket/train.csv".into()),
            test_s3_uri: Some("s3://train-bucket/test.csv".into()),
            label_delimiter: Some("|".into()),
            augmented_manifests: vec![
                AugmentedManifest {
                    s3_uri: "s3://train-bucket/train.manifest".into(),
                    split: Some("TRAIN".into()),
                    attribute_names: vec!["labels".into(), "extra".into()],
                    annotation_data_s3_uri: Some("s3://train-bucket/annotations/".into()),
                    source_documents_s3_uri: Some("s3://train-bucket/pdfs/".into()),
                    document_type: Some("SEMI_STRUCTURED_DOCUMENT".into()),
                },
                AugmentedManifest {
                    s3_uri: "s3://train-bucket/test.manifest".into(),
                    split: Some("TEST".into()),
                    attribute_names: vec!["labels".into()],
                    annotation_data_s3_uri: None,
                    source_documents_s3_uri: None,
                    document_type: None,
                },
            ],
            document_type: Some("SEMI_STRUCTURED_DOCUMENT".into()),
            documents: Some(ClassifierDocuments {
                s3_uri: "s3://train-bucket/pdfs/".into(),
                test_s3_uri: Some("s3://train-bucket/test-pdfs/".into()),
            }),
            document_reader_config: Some(DocumentReaderConfig {
                document_read_action: "TEXTRACT_ANALYZE_DOCUMENT".into(),
                document_read_mode: Some("FORCE_DOCUMENT_READ_ACTION".into()),
                feature_types: vec!["TABLES".into(), "FORMS".into()],
            }),
            output_s3_uri: Some("s3://out-bucket/classifier/".into()),
            output_kms_key_id: Some("alias/out".into()),
            flywheel_stats_s3_prefix: Some("s3://lake-bucket/stats/".into()),
            data_access_role_arn: ROLE.into(),
            volume_kms_key_id: Some("alias/volume".into()),
            model_kms_key_id: Some(MODEL_KEY.into()),
            model_policy: Some(MODEL_POLICY.into()),
            vpc_config: Some(VpcConfig {
                security_group_ids: vec!["sg-1".into()],
                subnets: vec!["subnet-a".into(), "subnet-b".into()],
            }),
            tags: BTreeMap::from([
                ("team".to_string(), "docs".to_string()),
                ("cost-center".to_string(), "42".to_string()),
            ]),
            client_request_token: "7a0d0e9c-1b2c-4d5e-8f90-a1b2c3d4e5f6".into(),
        }
    }

    /// The SDK input `full_classifier_request` must become, built
    /// independently of the code under test.
    fn full_expected_classifier_input() -> CreateDocumentClassifierInput {
        CreateDocumentClassifierInput::builder()
            .document_classifier_name("news")
            .version_name("v1")
            .language_code(LanguageCode::En)
            .mode(DocumentClassifierMode::MultiLabel)
            .input_data_config(
                DocumentClassifierInputDataConfig::builder()
                    .data_format(DocumentClassifierDataFormat::AugmentedManifest)
                    .s3_uri("s3://train-bucket/train.csv")
                    .test_s3_uri("s3://train-bucket/test.csv")
                    .label_delimiter("|")
                    .augmented_manifests(
                        AugmentedManifestsListItem::builder()
                            .s3_uri("s3://train-bucket/train.manifest")
                            .split(Split::Train)
                            .attribute_names("labels")
                            .attribute_names("extra")
                            .annotation_data_s3_uri("s3://train-bucket/annotations/")
                            .source_documents_s3_uri("s3://train-bucket/pdfs/")
                            .document_type(
                                AugmentedManifestsDocumentTypeFormat::SemiStructuredDocument,
                            )
                            .build()
                            .unwrap(),
                    )
                    .augmented_manifests(
                        AugmentedManifestsListItem::builder()
                            .s3_uri("s3://train-bucket/test.manifest")
                            .split(Split::Test)
                            .attribute_names("labels")
                            .build()
                            .unwrap(),
                    )
                    .document_type(DocumentClassifierDocumentTypeFormat::SemiStructuredDocument)
                    .documents(
                        DocumentClassifierDocuments::builder()
                            .s3_uri("s3://train-bucket/pdfs/")
                            .test_s3_uri("s3://train-bucket/test-pdfs/")
                            .build()
                            .unwrap(),
                    )
                    .document_reader_config(
                        aws_sdk_comprehend::types::DocumentReaderConfig::builder()
                            .document_read_action(DocumentReadAction::TextractAnalyzeDocument)
                            .document_read_mode(DocumentReadMode::ForceDocumentReadAction)
                            .feature_types(DocumentReadFeatureTypes::Tables)
                            .feature_types(DocumentReadFeatureTypes::Forms)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .output_data_config(
                DocumentClassifierOutputDataConfig::builder()
                    .s3_uri("s3://out-bucket/classifier/")
                    .kms_key_id("alias/out")
                    .flywheel_stats_s3_prefix("s3://lake-bucket/stats/")
                    .build(),
            )
            .data_access_role_arn(ROLE)
            .volume_kms_key_id("alias/volume")
            .model_kms_key_id(MODEL_KEY)
            .model_policy(MODEL_POLICY)
            .vpc_config(
                aws_sdk_comprehend::types::VpcConfig::builder()
                    .security_group_ids("sg-1")
                    .subnets("subnet-a")
                    .subnets("subnet-b")
                    .build()
                    .unwrap(),
            )
            // BTreeMap order: cost-center sorts before team.
            .tags(
                Tag::builder()
                    .key("cost-center")
                    .value("42")
                    .build()
                    .unwrap(),
            )
            .tags(Tag::builder().key("team").value("docs").build().unwrap())
            .client_request_token("7a0d0e9c-1b2c-4d5e-8f90-a1b2c3d4e5f6")
            .build()
            .unwrap()
    }

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
            .create_classifier("eu-west-1", &full_classifier_request())
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

        assert_eq!(aws.create_classifier("", &req).await.unwrap(), NEWS);
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

        aws.create_classifier("", &req).await.unwrap();
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

        aws.create_classifier("", &req).await.unwrap();
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

        aws.create_classifier("", &req).await.unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn create_classifier_without_arn_in_the_answer_is_a_transient_error() {
        let rule = mock!(Client::create_document_classifier)
            .then_output(|| CreateDocumentClassifierOutput::builder().build());
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        let err = aws
            .create_classifier("", &full_classifier_request())
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

        let found = aws.find_classifier("", "news", Some("v1")).await.unwrap();

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

        let found = aws.find_classifier("", "news", None).await.unwrap();

        let found = found.expect("an unversioned classifier exists");
        assert_eq!(found.arn, NEWS);
        assert_eq!(found.version_name, None);
        assert_eq!(found.submit_time.as_deref(), Some("2024-05-01T11:59:00Z"));
    }

    #[tokio::test]
    async fn find_classifier_returns_none_when_no_version_matches() {
        let [first_page, second_page] = classifier_pages();
        let aws = AwsComprehend::with_client(client_without_retries(&[&first_page, &second_page]));

        let found = aws.find_classifier("", "news", Some("v3")).await.unwrap();

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

        assert_eq!(aws.find_classifier("", "news", None).await.unwrap(), None);
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

        let err = aws.find_classifier("", "news", None).await.unwrap_err();

        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::Transient, "ResponseError")
        );
        assert_eq!(rule.num_calls(), MAX_LIST_PAGES);
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
            .describe_classifier("eu-west-1", CLASSIFIER)
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

            let err = aws.describe_classifier("", CLASSIFIER).await.unwrap_err();

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

        let err = aws.describe_classifier("", CLASSIFIER).await.unwrap_err();

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

        aws.stop_training_classifier("", CLASSIFIER).await.unwrap();
        assert_eq!((stop.num_calls(), delete.num_calls()), (1, 0));
        aws.delete_classifier("", CLASSIFIER).await.unwrap();
        assert_eq!((stop.num_calls(), delete.num_calls()), (1, 1));
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
                aws.find_classifier("", "news", None).await.unwrap_err(),
                expected
            );
            assert_eq!(
                aws.create_classifier("", &full_classifier_request())
                    .await
                    .unwrap_err(),
                expected
            );
            assert_eq!(
                aws.describe_classifier("", CLASSIFIER).await.unwrap_err(),
                expected
            );
            assert_eq!(
                aws.stop_training_classifier("", CLASSIFIER)
                    .await
                    .unwrap_err(),
                expected
            );
            assert_eq!(
                aws.delete_classifier("", CLASSIFIER).await.unwrap_err(),
                expected
            );
        }
    }

    #[test]
    fn classifier_name_of_arn_reads_the_name_with_or_without_version() {
        assert_eq!(classifier_name_of_arn(NEWS), Some("news"));
        assert_eq!(classifier_name_of_arn(CLASSIFIER), Some("news"));
        assert_eq!(classifier_name_of_arn("not-an-arn"), None);
    }

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
            let aws =
                AwsComprehend::with_client(client_without_retries(&[&describe, &start, &list]));
            let expected = AwsError {
                kind,
                code: code.to_owned(),
                message: format!("{code} says no"),
            };

            assert_eq!(aws.describe_job("", "j").await.unwrap_err(), expected);
            assert_eq!(
                aws.start_job("", &full_request()).await.unwrap_err(),
                expected
            );
            assert_eq!(aws.find_jobs_by_name("", "n").await.unwrap_err(), expected);
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

        let err = aws.describe_job("", "j").await.unwrap_err();

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

        let err = aws.describe_job("", "j").await.unwrap_err();

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

        let err = aws.find_jobs_by_name("", "n").await.unwrap_err();

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

        let err = aws.start_job("", &full_request()).await.unwrap_err();

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

        let err = aws.start_job("", &full_request()).await.unwrap_err();

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

        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
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

    #[test]
    fn region_clients_are_built_once_with_the_policy_and_default_region() {
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-west-2"))
            .build();
        let aws = AwsComprehend::new(
            base,
            Some("http://127.0.0.1:4566".into()),
            "eu-west-1".into(),
        );

        let default = aws.client("");
        let explicit = aws.client("eu-west-1");
        let other = aws.client("ap-southeast-2");

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

    #[test]
    fn fixed_client_serves_every_region() {
        let rule = mock!(Client::describe_document_classification_job)
            .then_output(|| DescribeDocumentClassificationJobOutput::builder().build());
        let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

        // The injected client keeps its own region; nothing is built or cached.
        assert_eq!(
            aws.client("eu-west-1").config().region(),
            Some(&Region::new("us-east-1"))
        );
        assert_eq!(aws.cached_clients(), 0);
    }
}
