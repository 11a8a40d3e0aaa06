//! The `DocumentClassifier` reconcile: read the resource, decide
//! ([`crate::classifier::plan`]), act against Comprehend, write the status
//! once.
//!
//! Crash safety, step by step:
//! - A finalizer is added before anything is created, so a deletion always
//!   passes through the operator.
//! - Before CreateDocumentClassifier, the status records the spec digest
//!   (`specHash`): from then on the classifier is looked up by name and
//!   version first, and adopted, so a crash between Create and the status
//!   write never creates a second one. The ClientRequestToken (UID plus
//!   spec digest) is a second guard. A classifier found under the name
//!   without that record was not created by this resource and is left
//!   alone.
//! - Deleting with deletionPolicy Delete stops training, deletes the model
//!   and waits until Comprehend no longer knows it; after a bounded number
//!   of failed attempts it gives up, says so in an event, and releases the
//!   resource.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::Shared;
use futures::{FutureExt, StreamExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{Controller, WatchStreamExt};
use kube::{Api, Client, ResourceExt};
use tracing::{debug, info, instrument, warn};

use crate::accounts::{self, Accounts};
use crate::classifier::cleanup::{self, Cleanup, CleanupStep, FINALIZER};
use crate::classifier::crd::{DocumentClassifier, DocumentClassifierStatus};
use crate::classifier::plan::{self, Plan};
use crate::classifier::status;
use crate::comprehend::{
    account_of_arn, AwsError, ClassifierDescription, Comprehend, ErrorKind, Place,
};
use crate::kernel::conditions::Observed;
use crate::kernel::error::Error;
use crate::kernel::finalizer;
use crate::kernel::memory::{jittered, resource_version, Failures};
use crate::kernel::status::StatusWriter;
use crate::kernel::watch::cached_watch;
use crate::settings::Settings;
use crate::telemetry::Metrics;

/// Operation names, as Comprehend spells them.
const CREATE: &str = "CreateDocumentClassifier";
const DESCRIBE: &str = "DescribeDocumentClassifier";
const LIST: &str = "ListDocumentClassifiers";
const STOP: &str = "StopTrainingDocumentClassifier";
const DELETE: &str = "DeleteDocumentClassifier";

/// What every reconcile shares.
pub struct Context {
    client: Client,
    comprehend: Arc<dyn Comprehend>,
    status: StatusWriter<DocumentClassifier>,
    metrics: Arc<Metrics>,
    settings: Settings,
    failures: Failures,
    /// Which identity each namespace acts with.
    accounts: Accounts,
    /// Set once the mappings are listed: nothing acts before.
    mappings_synced: tokio::sync::watch::Receiver<bool>,
}

impl Context {
    /// Where the classifier acts: the namespace's mapping (or the
    /// operator's own identity). Refused when a mapping is required and
    /// missing, or when a model created earlier is in another account
    /// than the mapping now gives: the operator never acts on a model with
    /// another account's identity. The error is an [`AwsError`] of kind
    /// Credentials, code `NoAccountMapping` or `AccountMappingChanged`, so
    /// it takes the path of any call that cannot be made (retried; a
    /// deletion gives up after its bounded attempts).
    fn place(&self, dc: &DocumentClassifier) -> Result<Place, AwsError> {
        let namespace = dc.namespace().unwrap_or_default();
        let place = self
            .accounts
            .place(&namespace, dc.spec.region.as_deref())
            .map_err(|e| AwsError {
                kind: ErrorKind::Credentials,
                code: accounts::NO_ACCOUNT_MAPPING.into(),
                message: e.to_string(),
            })?;
        let created_in = dc
            .status
            .as_ref()
            .and_then(|s| s.document_classifier_arn.as_deref())
            .and_then(account_of_arn);
        if let (Some(theirs), Some(ours)) = (created_in, place.account()) {
            if theirs != ours {
                return Err(AwsError {
                    kind: ErrorKind::Credentials,
                    code: "AccountMappingChanged".into(),
                    message: format!("the model is in account {theirs}, but namespace {namespace} now maps to account {ours}; restore the AccountMapping to go on"),
                });
            }
        }
        Ok(place)
    }

    fn poll_delay(&self) -> Duration {
        jittered(self.settings.classifier_poll_interval)
    }

    fn backoff(&self, dc: &DocumentClassifier) -> Duration {
        self.failures.backoff(dc, self.settings.max_backoff)
    }

    /// Through the shared writer; `dc` may be an `Arc` (deref coercion).
    async fn write_status(
        &self,
        dc: &DocumentClassifier,
        new: &DocumentClassifierStatus,
    ) -> Result<(), Error> {
        self.status.write(dc, new).await
    }

    fn api(&self, dc: &DocumentClassifier) -> Api<DocumentClassifier> {
        Api::namespaced(self.client.clone(), &dc.namespace().unwrap_or_default())
    }
}

#[cfg(test)]
impl Context {
    /// A context for unit tests, as [`run`] builds it, over `client` (a
    /// mocked API server).
    pub(crate) fn for_test(
        client: Client,
        comprehend: Arc<dyn Comprehend>,
        settings: Settings,
    ) -> Self {
        let metrics = Arc::new(Metrics::default());
        Context {
            status: StatusWriter::new(client.clone(), &settings, metrics.clone()),
            failures: Failures::default(),
            accounts: Accounts::own_identity(&settings.default_region),
            mappings_synced: tokio::sync::watch::channel(true).1,
            client,
            comprehend,
            metrics,
            settings,
        }
    }
}

fn key_of(dc: &DocumentClassifier) -> String {
    format!("{}/{}", dc.namespace().unwrap_or_default(), dc.name_any())
}

/// Reconciles one `DocumentClassifier`.
#[instrument(skip(dc, ctx), fields(classifier = %key_of(&dc)))]
pub async fn reconcile(dc: Arc<DocumentClassifier>, ctx: Arc<Context>) -> Result<Action, Error> {
    let mut synced = ctx.mappings_synced.clone();
    let _ = synced.wait_for(|s| *s).await;
    let dc = ctx.status.freshest(dc);
    if dc.metadata.deletion_timestamp.is_some() {
        return delete(&dc, &ctx).await;
    }
    let dc = ensure_finalizer(dc, &ctx).await?;
    let plan = plan::plan(&dc);
    debug!(?plan, "reconciling");
    let generation = dc.metadata.generation;
    let mut status = dc.status.clone().unwrap_or_default();
    match plan {
        Plan::Settled => after_observation(&dc, status, &ctx).await,
        Plan::Reject { message } => {
            status::apply_rejected(&mut status, &message, Observed::at_now(generation));
            ctx.write_status(&dc, &status).await?;
            Ok(Action::await_change())
        }
        Plan::Create { request } => create(&dc, &request, status, &ctx).await,
        Plan::Describe { arn } => {
            let place = match ctx.place(&dc) {
                Ok(place) => place,
                Err(e) => return failed_call(&dc, status, DESCRIBE, &e, &ctx).await,
            };
            let result = ctx.comprehend.describe_classifier(&place, &arn).await;
            match result {
                Ok(desc) => {
                    status::apply_description(&mut status, &desc, Observed::at_now(generation));
                    after_observation(&dc, status, &ctx).await
                }
                Err(e) if e.is_not_found() => {
                    status::apply_not_found(&mut status, Observed::at_now(generation));
                    ctx.write_status(&dc, &status).await?;
                    Ok(Action::await_change())
                }
                Err(e) => failed_call(&dc, status, DESCRIBE, &e, &ctx).await,
            }
        }
    }
}

/// Adds the finalizer before anything else happens; answers the object as
/// written.
async fn ensure_finalizer(
    dc: Arc<DocumentClassifier>,
    ctx: &Context,
) -> Result<Arc<DocumentClassifier>, Error> {
    match finalizer::ensure(&ctx.api(&dc), &*dc, FINALIZER)
        .await
        .map_err(Error::Kube)?
    {
        // The answer is the stored object: newer than the cache, status included.
        Some(patched) => Ok(Arc::new(patched)),
        None => Ok(dc),
    }
}

/// Finds the classifier under its name and version (adopting it if this
/// resource created it), else creates it.
async fn create(
    dc: &DocumentClassifier,
    request: &crate::comprehend::CreateClassifierRequest,
    mut status: DocumentClassifierStatus,
    ctx: &Context,
) -> Result<Action, Error> {
    let region = match ctx.place(dc) {
        Ok(place) => place,
        Err(e) => return failed_call(dc, status, LIST, &e, ctx).await,
    };
    let generation = dc.metadata.generation;
    let found = ctx
        .comprehend
        .find_classifier(&region, &request.name, request.version_name.as_deref())
        .await;
    match found {
        Ok(Some(existing)) if status.spec_hash.is_some() => {
            info!(arn = %existing.arn, "adopting the classifier this resource created earlier");
            status::apply_description(&mut status, &existing, Observed::at_now(generation));
            return after_observation(dc, status, ctx).await;
        }
        Ok(Some(existing)) => {
            warn!(arn = %existing.arn, "a classifier of this name and version exists already");
            status::apply_already_exists(
                &mut status,
                &dc.spec,
                &existing.arn,
                Observed::at_now(generation),
            );
            ctx.write_status(dc, &status).await?;
            return Ok(Action::await_change());
        }
        Ok(None) => {}
        Err(e) => return failed_call(dc, status, LIST, &e, ctx).await,
    }

    // Record the attempt before Create: after a crash the classifier is
    // found and adopted by name and version.
    status::apply_creating(&mut status, &dc.spec, Observed::at_now(generation));
    ctx.write_status(dc, &status).await?;
    let mut dc_now = dc.clone();
    dc_now.status = Some(status.clone());

    let result = ctx.comprehend.create_classifier(&region, request).await;
    match result {
        Ok(arn) => {
            info!(%arn, "created Comprehend classifier");
            if ctx.settings.failpoint.as_deref() == Some("after-create") {
                warn!("failpoint after-create: aborting");
                std::process::abort();
            }
            ctx.failures.reset(dc);
            status::apply_created(&mut status, &arn, Observed::at_now(generation));
            ctx.write_status(&dc_now, &status).await?;
            Ok(Action::requeue(ctx.poll_delay()))
        }
        Err(e) => failed_call(&dc_now, status, CREATE, &e, ctx).await,
    }
}

/// Writes what was observed; keeps polling until training has ended.
async fn after_observation(
    dc: &DocumentClassifier,
    mut status: DocumentClassifierStatus,
    ctx: &Context,
) -> Result<Action, Error> {
    ctx.failures.reset(dc);
    status::apply_spec_drift(
        &mut status,
        &dc.spec,
        Observed::at_now(dc.metadata.generation),
    );
    ctx.write_status(dc, &status).await?;
    let mut settled = dc.clone();
    settled.status = Some(status);
    match plan::plan(&settled) {
        Plan::Describe { .. } => Ok(Action::requeue(ctx.poll_delay())),
        _ => Ok(Action::await_change()),
    }
}

/// Records a failed call: retry throttling and server errors with backoff.
async fn failed_call(
    dc: &DocumentClassifier,
    mut status: DocumentClassifierStatus,
    operation: &str,
    err: &AwsError,
    ctx: &Context,
) -> Result<Action, Error> {
    warn!(operation, code = %err.code, message = %err.message, "Comprehend call failed");
    ctx.metrics.reconcile_error(err.category());
    status::apply_error(
        &mut status,
        operation,
        err,
        Observed::at_now(dc.metadata.generation),
    );
    ctx.write_status(dc, &status).await?;
    match err.kind {
        ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::Credentials => {
            Ok(Action::requeue(ctx.backoff(dc)))
        }
        ErrorKind::InvalidSpec | ErrorKind::JobNotFound => Ok(Action::await_change()),
    }
}

/// The resource is being deleted: apply the deletion policy, then release
/// the finalizer.
async fn delete(dc: &DocumentClassifier, ctx: &Context) -> Result<Action, Error> {
    if !finalizer::has(dc, FINALIZER) {
        return Ok(Action::await_change());
    }
    let cleanup = cleanup::cleanup(dc);
    let region = match (&cleanup, ctx.place(dc)) {
        (Cleanup::Release, _) => return release(dc, ctx).await,
        (_, Ok(place)) => place,
        (_, Err(e)) => return deletion_failed(dc, DELETE, &e, ctx).await,
    };
    let arn = match cleanup {
        Cleanup::Release => return release(dc, ctx).await,
        Cleanup::Describe { arn } => arn,
        Cleanup::Find => {
            let spec = &dc.spec;
            let found = ctx
                .comprehend
                .find_classifier(
                    &region,
                    &spec.document_classifier_name,
                    spec.version_name.as_deref(),
                )
                .await;
            match found {
                Ok(Some(existing)) => existing.arn,
                Ok(None) => return release(dc, ctx).await,
                Err(e) => return deletion_failed(dc, LIST, &e, ctx).await,
            }
        }
    };
    let described: Result<ClassifierDescription, AwsError> =
        ctx.comprehend.describe_classifier(&region, &arn).await;
    let desc = match described {
        Ok(desc) => desc,
        Err(e) if e.is_not_found() => {
            info!(%arn, "the model is gone from Comprehend");
            return release(dc, ctx).await;
        }
        Err(e) => return deletion_failed(dc, DESCRIBE, &e, ctx).await,
    };
    let (operation, message) = match cleanup::cleanup_step(&desc.status) {
        CleanupStep::StopTraining => (
            Some(STOP),
            format!("Stopping the training of {arn} before deleting it"),
        ),
        CleanupStep::Wait => (
            None,
            format!("Waiting for {arn} ({}) to be gone", desc.status),
        ),
        CleanupStep::Delete => (Some(DELETE), format!("Deleting the model {arn}")),
    };
    let result = match operation {
        Some(STOP) => ctx.comprehend.stop_training_classifier(&region, &arn).await,
        Some(_) => ctx.comprehend.delete_classifier(&region, &arn).await,
        None => Ok(()),
    };
    match result {
        Ok(()) => {
            let mut status = dc.status.clone().unwrap_or_default();
            status.document_classifier_arn = Some(arn.clone());
            status.status = Some(desc.status.clone());
            status::apply_deleting(
                &mut status,
                &message,
                Observed::at_now(dc.metadata.generation),
            );
            ctx.write_status(dc, &status).await?;
            Ok(Action::requeue(ctx.poll_delay()))
        }
        Err(e) if e.is_not_found() => release(dc, ctx).await,
        Err(e) => deletion_failed(dc, operation.unwrap_or(DELETE), &e, ctx).await,
    }
}

/// A deletion step failed: retry with backoff, or after the last attempt
/// report it and release the resource, leaving the model in Comprehend.
async fn deletion_failed(
    dc: &DocumentClassifier,
    operation: &str,
    err: &AwsError,
    ctx: &Context,
) -> Result<Action, Error> {
    let max = ctx.settings.classifier_delete_attempts.max(1);
    let mut status = dc.status.clone().unwrap_or_default();
    let attempts = status.deletion_attempts.unwrap_or(0).saturating_add(1);
    warn!(operation, attempts, code = %err.code, message = %err.message, "deleting the model failed");
    status::apply_delete_failed(
        &mut status,
        operation,
        err,
        attempts,
        max,
        Observed::at_now(dc.metadata.generation),
    );
    ctx.write_status(dc, &status).await?;
    if attempts >= max {
        return release(dc, ctx).await;
    }
    Ok(Action::requeue(ctx.backoff(dc)))
}

/// Removes the operator's finalizer, so the API server can delete the
/// resource.
async fn release(dc: &DocumentClassifier, ctx: &Context) -> Result<Action, Error> {
    if finalizer::release(&ctx.api(dc), dc, FINALIZER)
        .await
        .map_err(Error::Kube)?
    {
        info!("finalizer released");
    }
    Ok(Action::await_change())
}

/// What the controller does after a reconcile error (a failed write).
pub fn error_policy(dc: Arc<DocumentClassifier>, err: &Error, ctx: Arc<Context>) -> Action {
    warn!(classifier = %key_of(&dc), error = %err, "reconcile failed");
    ctx.metrics.reconcile_error(err.category());
    Action::requeue(ctx.backoff(&dc))
}

/// Reconciles on a new generation, and when deletion starts.
fn spec_or_deletion(dc: &DocumentClassifier) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    dc.metadata.generation.hash(&mut hasher);
    dc.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// Runs the DocumentClassifier controller until `shutdown` resolves.
pub async fn run<F>(
    client: Client,
    comprehend: Arc<dyn Comprehend>,
    settings: Settings,
    metrics: Arc<Metrics>,
    shutdown: Shared<F>,
) -> anyhow::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
    Shared<F>: Send,
{
    // The classifier controller watches the mappings on its own; a
    // resource refused for want of one is retried with backoff.
    let (accounts, mappings, mappings_synced) = accounts::watch(
        &client,
        &settings.default_region,
        settings.require_account_mapping,
    );
    let mappings = tokio::spawn(mappings.for_each(|_| async {}));
    let ctx = Arc::new(Context {
        status: StatusWriter::new(client.clone(), &settings, metrics.clone()),
        failures: Failures::default(),
        accounts,
        mappings_synced,
        client: client.clone(),
        comprehend,
        metrics,
        settings: settings.clone(),
    });
    let namespaces = settings.scopes();
    let mut controllers = Vec::new();
    let mut stores = Vec::new();
    for ns in &namespaces {
        let (reader, writer) = reflector::store();
        let stream = cached_watch::<DocumentClassifier>(&client, ns, writer, None, None)
            .applied_objects()
            .predicate_filter(spec_or_deletion, Default::default());
        stores.push(reader.clone());
        controllers.push(
            Controller::for_stream(stream, reader)
                .with_config(settings.controller_config())
                .graceful_shutdown_on(shutdown.clone())
                .run(reconcile, error_policy, ctx.clone())
                .for_each(|res| async move {
                    if let Err(e) = res {
                        debug!(error = %e, "classifier controller event");
                    }
                })
                .boxed(),
        );
    }
    let prune = tokio::spawn(prune_memory(ctx.clone(), stores));
    futures::future::join_all(controllers).await;
    prune.abort();
    mappings.abort();
    Ok(())
}

/// Forgets remembered statuses the cache has caught up with, and objects
/// that are gone.
async fn prune_memory(ctx: Arc<Context>, stores: Vec<Store<DocumentClassifier>>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        let read_began = Instant::now();
        let cached_rv: HashMap<String, u64> = stores
            .iter()
            .flat_map(|s| s.state())
            .map(|dc| (dc.uid().unwrap_or_default(), resource_version(&*dc)))
            .collect();
        ctx.status.prune(&cached_rv, read_began);
        ctx.failures.prune(&cached_rv, read_began);
    }
}

#[cfg(test)]
mod tests;
