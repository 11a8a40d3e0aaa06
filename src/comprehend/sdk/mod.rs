//! [`Comprehend`] on top of `aws-sdk-comprehend`.
//!
//! This module is the only place that builds SDK clients: it maps the plain
//! request/answer types of [`crate::comprehend`] onto the SDK builders, and
//! reduces every SDK failure to an [`AwsError`] whose [`ErrorKind`] tells the
//! controller whether to back off and retry or to give up on the spec.
//!
//! The SDK is deliberately configured to retry little: the controller runs its
//! own capped, jittered backoff per object, and two nested retry loops would
//! multiply the time a reconcile holds a worker and the load on a throttled
//! account (StartDocumentClassificationJob is limited to 1 TPS).
//!
//! The module is split by resource: this file builds and caches the region
//! clients (Comprehend's, and S3's for [`crate::results`], from one config
//! per identity and region) and implements [`Comprehend`] by handing each call to `jobs` or
//! `classifiers`, which build the SDK requests and map the answers; `errors`
//! reduces SDK failures to [`AwsError`]s.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_comprehend::config::retry::RetryConfig;
use aws_sdk_comprehend::config::timeout::TimeoutConfig;
use aws_sdk_comprehend::config::Region;
use aws_sdk_comprehend::error::BuildError;
use aws_sdk_comprehend::types::{
    DocumentReadAction, DocumentReadFeatureTypes, DocumentReadMode, Tag,
};
use aws_sdk_comprehend::Client;
use aws_smithy_http_client::tls;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

use crate::comprehend::{
    AwsError, ClassifierDescription, Comprehend, CreateClassifierRequest, DocumentReaderConfig,
    JobDescription, Listed, Place, Role, StartJobRequest, StartedJob, VpcConfig,
};

mod classifiers;
mod errors;
mod jobs;
#[cfg(test)]
mod tests;

pub use errors::{bare_code, classify_error, classify_error_with, kind_for_code};

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
/// Page size for ListDocumentClassificationJobs and ListDocumentClassifiers
/// (the API allows 1-500; a name filter normally matches one job or a few
/// classifier versions, so this is only an upper bound).
const LIST_PAGE_SIZE: i32 = 100;
/// Page size of the listings by status that follow every active job: the
/// most the service allows (`MaxResultsInteger`, 1-500), so a tick costs as
/// few requests as possible.
const STATUS_PAGE_SIZE: i32 = 500;
/// Pages of a List operation we read before giving up. A name matches one
/// job (or a few retried ones), so hitting this means an endpoint that keeps
/// inventing tokens; failing beats looping for ever, and returning a partial
/// answer could hide the job and start it twice.
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

/// The clients of one identity in one Region, both built from one
/// [`SdkConfig`]: the same credentials provider and identity cache, so the
/// credentials of an assumed role are fetched and refreshed once for both.
#[derive(Clone)]
struct RegionClients {
    comprehend: Client,
    s3: aws_sdk_s3::Client,
}

/// Where [`AwsComprehend`] gets its SDK clients from.
enum Clients {
    /// One pair of clients per identity and region, built on first use
    /// from a shared base config.
    PerRegion {
        // Boxed: an SdkConfig is large and this enum is otherwise a pointer.
        base: Box<SdkConfig>,
        endpoint_url: Option<String>,
        /// S3 endpoint for reading job output (the stand-in's S3); set, it
        /// is addressed path-style. `None` is the SDK's regional endpoint.
        s3_endpoint_url: Option<String>,
        /// STS endpoint for AssumeRole (a VPC endpoint, or the stand-in);
        /// `None` is the SDK's regional STS endpoint.
        sts_endpoint_url: Option<String>,
        default_region: String,
        // A std mutex is enough: it is never held across an await.
        cache: Mutex<HashMap<(Option<Role>, String), RegionClients>>,
        /// One credentials provider per role, shared by its region
        /// clients, so they share the SDK's cached credentials.
        roles: Mutex<HashMap<Role, SharedCredentialsProvider>>,
    },
    /// Prebuilt clients used for every region (tests, mocks).
    Fixed {
        comprehend: Client,
        s3: Option<aws_sdk_s3::Client>,
    },
}

/// Amazon Comprehend through `aws-sdk-comprehend`, and the S3 objects its
/// jobs write through `aws-sdk-s3` (see [`crate::results`]).
///
/// A job may name its own region, and a namespace may map to a role in
/// another account, so clients are kept per role and region and created
/// lazily. The operator's own clients share the base config's credentials
/// provider; a role's clients share one `AssumeRoleProvider` (the SDK's STS
/// AssumeRole on top of the base chain: environment, IRSA, Pod Identity),
/// whose credentials the SDK's identity cache refreshes before they expire.
/// The Comprehend and the S3 client of a role and region are built from
/// one config, so output is read with the identity the job was started
/// with. An endpoint URL override (e.g. the local stand-in) applies to
/// every region.
pub struct AwsComprehend {
    clients: Clients,
}

impl std::fmt::Debug for AwsComprehend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.clients {
            Clients::PerRegion {
                endpoint_url,
                s3_endpoint_url,
                default_region,
                ..
            } => f
                .debug_struct("AwsComprehend")
                .field("endpoint_url", endpoint_url)
                .field("s3_endpoint_url", s3_endpoint_url)
                .field("default_region", default_region)
                .finish_non_exhaustive(),
            Clients::Fixed { .. } => f
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
                s3_endpoint_url: None,
                sts_endpoint_url: None,
                default_region,
                cache: Mutex::new(HashMap::new()),
                roles: Mutex::new(HashMap::new()),
            },
        }
    }

    /// Sends AssumeRole to `url` instead of the SDK's STS endpoint.
    pub fn with_sts_endpoint(mut self, url: Option<String>) -> Self {
        if let Clients::PerRegion {
            sts_endpoint_url, ..
        } = &mut self.clients
        {
            *sts_endpoint_url = url.filter(|u| !u.is_empty());
        }
        self
    }

    /// Reads job output from the S3 endpoint at `url` (path-style
    /// addressing, as local S3 servers need) instead of the SDK's regional
    /// S3 endpoint. Takes effect for clients not built yet: call it before
    /// the first call.
    pub fn with_s3_endpoint(mut self, url: Option<String>) -> Self {
        if let Clients::PerRegion {
            s3_endpoint_url, ..
        } = &mut self.clients
        {
            *s3_endpoint_url = url.filter(|u| !u.is_empty());
        }
        self
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
    /// Reading output fails until [`Self::with_s3_client`] gives an S3
    /// client.
    pub fn with_client(client: Client) -> Self {
        Self {
            clients: Clients::Fixed {
                comprehend: client,
                s3: None,
            },
        }
    }

    /// Uses `client` as is to read output in every region (tests, mocks);
    /// only after [`Self::with_client`].
    pub fn with_s3_client(mut self, client: aws_sdk_s3::Client) -> Self {
        if let Clients::Fixed { s3, .. } = &mut self.clients {
            *s3 = Some(client);
        }
        self
    }

    /// The Comprehend client for `at` (an empty region: the default
    /// region), built and cached on first use.
    async fn client(&self, at: &Place) -> Client {
        match &self.clients {
            Clients::Fixed { comprehend, .. } => comprehend.clone(),
            Clients::PerRegion { .. } => self.region_clients(at).await.comprehend,
        }
    }

    /// The S3 client for `at`, with the same identity and region as its
    /// Comprehend client, built and cached on first use. Fails only for
    /// fixed clients given no S3 client.
    pub(crate) async fn s3_client(&self, at: &Place) -> Result<aws_sdk_s3::Client, AwsError> {
        match &self.clients {
            Clients::Fixed { s3: Some(s3), .. } => Ok(s3.clone()),
            Clients::Fixed { s3: None, .. } => Err(AwsError {
                kind: crate::comprehend::ErrorKind::InvalidSpec,
                code: "InvalidRequest".to_owned(),
                message: "no S3 client was configured".to_owned(),
            }),
            Clients::PerRegion { .. } => Ok(self.region_clients(at).await.s3),
        }
    }

    /// Both clients of `at`, built and cached on first use from one
    /// per-(role, region) [`SdkConfig`]. Only for `PerRegion`.
    async fn region_clients(&self, at: &Place) -> RegionClients {
        let Clients::PerRegion {
            base,
            endpoint_url,
            s3_endpoint_url,
            sts_endpoint_url,
            default_region,
            cache,
            roles,
        } = &self.clients
        else {
            unreachable!("region clients are only built per region");
        };
        let region = if at.region.is_empty() {
            default_region.clone()
        } else {
            at.region.clone()
        };
        let key = (at.role.clone(), region);
        // A poisoned lock only means another thread panicked while
        // inserting a client; the map itself is still usable.
        if let Some(clients) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return clients.clone();
        }
        let mut conf = base.to_builder();
        if !key.1.is_empty() {
            conf = conf.region(Region::new(key.1.clone()));
        }
        if let Some(role) = &at.role {
            let known = roles
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(role)
                .cloned();
            let provider = match known {
                Some(p) => p,
                None => {
                    let p =
                        assume_role_provider(base, sts_endpoint_url, default_region, role).await;
                    roles
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(role.clone())
                        .or_insert(p)
                        .clone()
                }
            };
            conf = conf.credentials_provider(provider);
        }
        let place_config = conf.build();
        let mut comprehend = aws_sdk_comprehend::config::Builder::from(&place_config)
            .retry_config(sdk_retry_config())
            .timeout_config(sdk_timeout_config());
        if let Some(url) = endpoint_url {
            comprehend = comprehend.endpoint_url(url.clone());
        }
        let mut s3 = aws_sdk_s3::config::Builder::from(&place_config)
            .retry_config(sdk_retry_config())
            .timeout_config(sdk_timeout_config());
        if let Some(url) = s3_endpoint_url {
            s3 = s3.endpoint_url(url.clone()).force_path_style(true);
        }
        let clients = RegionClients {
            comprehend: Client::from_conf(comprehend.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
        };
        cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert(clients)
            .clone()
    }

    /// Number of (role, region) client pairs built so far (for tests).
    #[cfg(test)]
    fn cached_clients(&self) -> usize {
        match &self.clients {
            Clients::PerRegion { cache, .. } => cache.lock().map(|c| c.len()).unwrap_or(0),
            Clients::Fixed { .. } => 0,
        }
    }
}

#[async_trait]
impl Comprehend for AwsComprehend {
    async fn find_jobs_by_name(
        &self,
        at: &Place,
        job_name: &str,
    ) -> Result<Vec<JobDescription>, AwsError> {
        jobs::find_by_name(&self.client(at).await, job_name).await
    }

    async fn list_jobs_in_status(&self, at: &Place, status: &str) -> Result<Listed, AwsError> {
        jobs::list_in_status(&self.client(at).await, status).await
    }

    async fn start_job(&self, at: &Place, req: &StartJobRequest) -> Result<StartedJob, AwsError> {
        jobs::start(&self.client(at).await, req).await
    }

    async fn describe_job(&self, at: &Place, job_id: &str) -> Result<JobDescription, AwsError> {
        jobs::describe(&self.client(at).await, job_id).await
    }

    async fn find_classifier(
        &self,
        at: &Place,
        name: &str,
        version_name: Option<&str>,
    ) -> Result<Option<ClassifierDescription>, AwsError> {
        classifiers::find(&self.client(at).await, name, version_name).await
    }

    async fn create_classifier(
        &self,
        at: &Place,
        req: &CreateClassifierRequest,
    ) -> Result<String, AwsError> {
        classifiers::create(&self.client(at).await, req).await
    }

    async fn describe_classifier(
        &self,
        at: &Place,
        arn: &str,
    ) -> Result<ClassifierDescription, AwsError> {
        classifiers::describe(&self.client(at).await, arn).await
    }

    async fn stop_training_classifier(&self, at: &Place, arn: &str) -> Result<(), AwsError> {
        classifiers::stop_training(&self.client(at).await, arn).await
    }

    async fn delete_classifier(&self, at: &Place, arn: &str) -> Result<(), AwsError> {
        classifiers::delete(&self.client(at).await, arn).await
    }
}

/// The SDK's own AssumeRole provider for `role`, on top of the base
/// config's credentials chain, its STS client in the default region (or at
/// `sts_endpoint_url`). Credentials are cached and refreshed before they
/// expire by the identity cache of the clients that use it.
async fn assume_role_provider(
    base: &SdkConfig,
    sts_endpoint_url: &Option<String>,
    default_region: &str,
    role: &Role,
) -> SharedCredentialsProvider {
    let mut sts = base.to_builder();
    if let Some(url) = sts_endpoint_url {
        sts = sts.endpoint_url(url.clone());
    }
    if base.region().is_none() && !default_region.is_empty() {
        sts = sts.region(Region::new(default_region.to_owned()));
    }
    let mut builder = AssumeRoleProvider::builder(role.arn.clone())
        .session_name(role.session_name.clone())
        .configure(&sts.build());
    if let Some(id) = &role.external_id {
        builder = builder.external_id(id.clone());
    }
    SharedCredentialsProvider::new(builder.build().await)
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
fn sdk_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, BuildError> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// The SDK's `DocumentReaderConfig` for a job's input or a classifier's
/// training documents; no feature types means no `FeatureTypes` member.
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

/// RFC 3339 UTC with second precision (`2024-05-01T12:00:00Z`): the status
/// shows it and Kubernetes `Time` fields accept nothing finer.
fn rfc3339(t: &DateTime) -> Option<String> {
    // `secs()` is the floor, so dropping the nanos truncates toward the past.
    DateTime::from_secs(t.secs()).fmt(Format::DateTime).ok()
}

/// The page limit of one listing read through an SDK paginator.
///
/// What the paginator (`into_paginator().send()`) does itself: it requests a
/// page only when asked for the next one, and it ends the listing on a
/// missing or empty NextToken and on a NextToken equal to the one it just
/// sent (`stop_on_duplicate_token`, on by default; the listings set it
/// explicitly so the guarantee does not rest on a default). A repeated token
/// therefore needs no guard here. What it does not do is stop on distinct
/// tokens that never end, or on tokens that cycle (a, b, a, ...): this
/// counts the pages so that such a listing fails after [`MAX_LIST_PAGES`]
/// requests, as the hand-written loop did.
#[derive(Debug, Default)]
struct PageLimit {
    /// Pages read so far.
    pages: usize,
    /// The previous page's NextToken: the one the paginator sent for the
    /// page now being read.
    sent: Option<String>,
}

impl PageLimit {
    /// Records one page by its NextToken. True when that was the last page
    /// allowed and the paginator would still request another; a listing
    /// that ends on that page (no token, or the token just sent) is within
    /// the limit. Any page past the limit is over it too, so the listing
    /// stays bounded even if the paginator did not end where it should.
    fn exceeded_after(&mut self, next_token: Option<&str>) -> bool {
        self.pages += 1;
        let next = next_token.filter(|t| !t.is_empty());
        let more = next.is_some() && next != self.sent.as_deref();
        self.sent = next.map(str::to_owned);
        (more && self.pages >= MAX_LIST_PAGES) || self.pages > MAX_LIST_PAGES
    }
}
