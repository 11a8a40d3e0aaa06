//! The reconcile: read the `ClassificationJob`, decide ([`crate::job::plan`]),
//! act against Comprehend, write the status once.
//!
//! Crash safety, step by step:
//! - Before Start, the status records the job name about to be used, and
//!   Start waits until the record is stored; a start under a recorded (or
//!   fixed) name first looks for a job under it (List) and adopts it. A
//!   crash between Start and the status write therefore adopts the job on
//!   the next reconcile instead of starting a second one, and Start carries
//!   the resource's UID as ClientRequestToken as a second guard. A derived
//!   name without a record was never used: no List; nor one this process
//!   recorded while the resource was queued and has not started under
//!   ([`crate::job::records`]).
//! - The job ID is written after Start returns, with the job's progress
//!   (held up to [`crate::kernel::status::HOLD`], so a job that moves on
//!   meanwhile costs one write); a crash before it is stored finds the job
//!   under the recorded name, as above.
//! - A status the operator wrote but its cache has not seen yet is kept in
//!   memory and preferred, so a lagging cache never looks like "not started".
//! - Slots of resources deleted while running are swept, so nothing waits
//!   forever for a slot.
//!
//! Following: one task lists each Region's active jobs every poll interval
//! ([`crate::job::follow`]) and wakes only the resources whose job changed;
//! their reconcile takes the status from the listing, and Describes only a
//! job that left the lists (or when listings fail). The same listing counts
//! the account's active jobs that are not this operator's into the slots.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt};
use kube::{Api, Client, ResourceExt};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, instrument, warn};

use crate::accounts::{self, Accounts};
use crate::classifier::crd::DocumentClassifier;
use crate::classifier::{classifier_state, ClassifierState};
use crate::comprehend::{AwsError, Comprehend, Place, StartJobRequest};
use crate::http::Health;
use crate::job::crd::{ClassificationJob, ClassificationJobStatus};
use crate::job::follow::{self, View, Views};
use crate::job::plan::{self, Found, Plan};
use crate::job::records::FreshRecords;
use crate::job::slots::{Slot, SlotPool};
use crate::job::status::{self, AfterError, Call, Reason};
use crate::job::summary;
use crate::kernel::conditions::Observed;
use crate::kernel::error::Error;
use crate::kernel::memory::{jittered, release_free_memory, resource_version, Failures};
use crate::kernel::status::{Lane, StatusWriter};
use crate::kernel::watch::{cached_watch, changed_generations, tokio_stream_from, LeftOut};
use crate::results::{self, Outputs, ResultsError};
use crate::settings::Settings;
use crate::telemetry::Metrics;

/// What every reconcile shares.
pub struct Context {
    client: Client,
    comprehend: Arc<dyn Comprehend>,
    status: StatusWriter<ClassificationJob>,
    metrics: Arc<Metrics>,
    settings: Settings,
    slots: SlotPool,
    wake: mpsc::UnboundedSender<ObjectRef<ClassificationJob>>,
    /// Consecutive retryable failures, for backoff.
    failures: Failures,
    /// Set once running jobs have been counted into the slots.
    seeded: watch::Receiver<bool>,
    /// The DocumentClassifiers of the watched namespaces, for
    /// `classifierRef`.
    classifiers: Vec<Store<DocumentClassifier>>,
    /// Followed jobs and each Region's latest listing of active jobs.
    views: Views,
    /// One listing at a time, so concurrent starts share one.
    listing: tokio::sync::Mutex<()>,
    /// Job names recorded here while queued, not started under yet.
    fresh: FreshRecords,
    /// Which identity each namespace acts with.
    accounts: Accounts,
    /// Reads completed jobs' outputs for their results summary.
    outputs: Arc<dyn Outputs>,
    /// Summaries read at once: each streams an archive from S3, so a burst
    /// of completions neither holds many workers nor much memory.
    summaries: Arc<tokio::sync::Semaphore>,
}

/// Summaries read at once, whole process.
const CONCURRENT_SUMMARIES: usize = 4;

/// Longest a summary may read before the attempt counts as failed.
const SUMMARY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

impl Context {
    /// Where the job acts now: a job whose start is recorded, with the
    /// identity recorded (or nowhere, if the mapping no longer gives it);
    /// any other, with the namespace's mapping (or nowhere, if a mapping is
    /// required and missing).
    fn place(&self, job: &ClassificationJob) -> Result<Place, (Reason, String)> {
        let namespace = job.namespace().unwrap_or_default();
        let current = self.accounts.place(&namespace, job.spec.region.as_deref());
        match job.status.as_ref() {
            Some(s) if s.job_id.is_some() || s.job_name.is_some() => {
                let spec_region = plan::region(&job.spec, &self.settings.default_region);
                status::followed_place(s, current, &spec_region)
                    .map_err(|m| (Reason::AccountMappingChanged, m))
            }
            _ => current.map_err(|e| (Reason::NoAccountMapping, e.to_string())),
        }
    }

    fn backoff(&self, job: &ClassificationJob) -> Duration {
        self.failures.backoff(job, self.settings.max_backoff)
    }

    fn succeeded(&self, job: &ClassificationJob) {
        self.failures.reset(job);
    }

    /// How long a listing (or the wait for the first one) is trusted;
    /// past it a job is followed with Describe.
    fn stale_after(&self) -> Duration {
        self.settings.poll_interval * 3
    }

    /// When a followed job's resource looks again without being woken: a
    /// fallback, as the listing wakes it when its job changes.
    fn fallback_delay(&self) -> Duration {
        jittered(self.settings.poll_interval * 5)
    }

    /// What the job's `classifierRef` points at, if it has one.
    fn classifier_state(&self, job: &ClassificationJob) -> Option<ClassifierState> {
        let name = &job.spec.classifier_ref.as_ref()?.name;
        let namespace = job.namespace().unwrap_or_default();
        let key = ObjectRef::new(name).within(&namespace);
        let found = self.classifiers.iter().find_map(|store| store.get(&key));
        // A classifier that names no Region trains in its namespace's
        // (the mapping's, else the operator's).
        let default_region = self
            .accounts
            .place(&namespace, None)
            .map_or_else(|_| self.settings.default_region.clone(), |p| p.region);
        Some(classifier_state(found.as_deref(), &default_region))
    }

    /// Hands the status to the shared writer and goes on: the write is off
    /// the reconcile's path (the latest pending status per object wins).
    /// `job` may be an `Arc` (deref coercion).
    fn write_status(&self, job: &ClassificationJob, new: &ClassificationJobStatus) {
        self.status
            .publish(job, new, lane_of(job.status.as_ref(), new));
    }

    /// Hands a settled `status` to the writer; answers the resource as it
    /// is with it (for what follows: the summary, the TTL).
    fn settle(
        &self,
        job: &ClassificationJob,
        status: ClassificationJobStatus,
    ) -> ClassificationJob {
        self.write_status(job, &status);
        let mut settled = job.clone();
        settled.status = Some(status);
        settled
    }

    /// Writes the status and waits until it is stored: for a record that
    /// must exist before the call to AWS that follows.
    async fn record_status(
        &self,
        job: &ClassificationJob,
        new: &ClassificationJobStatus,
    ) -> Result<(), Error> {
        self.status.write(job, new).await
    }

    /// Frees a slot and wakes the resources that may take it.
    fn release_slot(&self, place: &Place, key: &str) {
        let waiters = self.slots.release(place, key);
        self.wake_all(&waiters);
    }

    fn wake_all(&self, keys: &[String]) {
        for key in keys {
            if let Some(obj) = parse_key(key) {
                let _ = self.wake.send(obj);
            }
        }
    }
}

#[cfg(test)]
impl Context {
    /// A context for unit tests, as [`run`] builds it but with no watch:
    /// the slots count as seeded already (a reconcile waits for that first),
    /// no DocumentClassifier is known, and the wake-ups a released slot
    /// sends arrive on the returned receiver.
    pub(crate) fn for_test(
        client: Client,
        comprehend: Arc<dyn Comprehend>,
        outputs: Arc<dyn Outputs>,
        settings: Settings,
    ) -> (Self, mpsc::UnboundedReceiver<ObjectRef<ClassificationJob>>) {
        let (wake, woken) = mpsc::unbounded_channel();
        // The receiver keeps the value after the sender is gone.
        let (_, seeded) = watch::channel(true);
        let metrics = Arc::new(Metrics::default());
        let ctx = Context {
            status: StatusWriter::new(client.clone(), &settings, metrics.clone()),
            slots: SlotPool::new(settings.max_active_jobs),
            wake,
            failures: Failures::default(),
            seeded,
            classifiers: Vec::new(),
            views: Views::default(),
            listing: tokio::sync::Mutex::new(()),
            fresh: FreshRecords::default(),
            accounts: Accounts::own_identity(&settings.default_region),
            outputs,
            summaries: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_SUMMARIES)),
            client,
            comprehend,
            metrics,
            settings,
        };
        (ctx, woken)
    }
}

/// Where a status write waits: outcomes first (only a record a Start waits
/// for goes before them); progress waits for them, and is replaced if the
/// job moves on meanwhile; a started job's progress that deserves no event
/// is also held a moment, so a job that moves on within it (submitted, then
/// running) costs one write.
fn lane_of(old: Option<&ClassificationJobStatus>, new: &ClassificationJobStatus) -> Lane {
    if status::is_finished(new) {
        Lane::Urgent
    } else if status::is_job_progress(new)
        && status::notice(old.unwrap_or(&ClassificationJobStatus::default()), new).is_none()
    {
        Lane::Held
    } else {
        Lane::Progress
    }
}

fn key_of(job: &ClassificationJob) -> String {
    format!("{}/{}", job.namespace().unwrap_or_default(), job.name_any())
}

fn parse_key(key: &str) -> Option<ObjectRef<ClassificationJob>> {
    let (ns, name) = key.split_once('/')?;
    Some(ObjectRef::new(name).within(ns))
}

fn creation_order(job: &ClassificationJob) -> i64 {
    job.metadata
        .creation_timestamp
        .as_ref()
        .map_or(0, |t| t.0.as_millisecond())
}

/// Reconciles one `ClassificationJob`.
#[instrument(skip(job, ctx), fields(job = %key_of(&job)))]
pub async fn reconcile(job: Arc<ClassificationJob>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let mut seeded = ctx.seeded.clone();
    // Count running jobs into the slots before anyone takes one.
    let _ = seeded.wait_for(|s| *s).await;
    let job = ctx.status.freshest(job);
    ctx.metrics.reconciled();
    let place = match ctx.place(&job) {
        Ok(place) => place,
        Err((reason, message)) => {
            let result = blocked(&job, reason, &message, &ctx).await;
            ctx.metrics.observe_reconcile(started.elapsed());
            return result;
        }
    };
    let classifier = ctx.classifier_state(&job);
    let plan = plan::plan(&job, &place, classifier.as_ref());
    debug!(?plan, "reconciling");
    let result = match plan {
        Plan::Finished => finished(&job, &place, &ctx).await,
        Plan::Reject { message } => {
            let mut status = job.status.clone().unwrap_or_default();
            status::apply_rejected(
                &mut status,
                &message,
                Observed::at_now(job.metadata.generation),
            );
            ctx.write_status(&job, &status);
            Ok(Action::await_change())
        }
        Plan::Wait { message } => {
            let mut status = job.status.clone().unwrap_or_default();
            status::apply_waiting(
                &mut status,
                &message,
                Observed::at_now(job.metadata.generation),
            );
            ctx.write_status(&job, &status);
            // Woken by the classifier's watch; this is only the fallback.
            Ok(Action::requeue(Duration::from_secs(300)))
        }
        Plan::ClassifierFailed { message } => {
            let mut status = job.status.clone().unwrap_or_default();
            status::apply_classifier_failed(
                &mut status,
                &message,
                Observed::at_now(job.metadata.generation),
            );
            expire(&ctx.settle(&job, status), &ctx).await
        }
        Plan::Start { request } => start(&job, *request, &place, &ctx).await,
        Plan::Describe { job_id } => follow(&job, &job_id, &place, &ctx).await,
        Plan::Adopt { job_id } => adopt(&job, &job_id, &place, &ctx).await,
    };
    ctx.metrics.observe_reconcile(started.elapsed());
    result
}

/// The outcome is settled: no Comprehend call. Notes spec edits, makes a
/// results summary that is due, and applies the TTL.
async fn finished(job: &ClassificationJob, place: &Place, ctx: &Context) -> Result<Action, Error> {
    let status = job.status.clone().unwrap_or_default();
    after_observation(job, status, place, ctx).await
}

/// Reads the completed job's output (with the identity and Region of the
/// job) and writes its summary, or why there is none. Bounded: a few at a
/// time (the others wait a moment, holding no worker), each attempt timed,
/// a bounded number of attempts ([`summary::apply_unreadable`]). Never
/// touches `Succeeded`.
async fn summarize(job: &ClassificationJob, place: &Place, ctx: &Context) -> Result<Action, Error> {
    let mut status = job.status.clone().unwrap_or_default();
    let at = Observed::at_now(job.metadata.generation);
    let uri = status.output_s3_uri.clone().unwrap_or_default();
    if !ctx.settings.summarize_results {
        summary::apply_disabled(&mut status, at);
        return settle_summary(job, status, ctx).await;
    }
    let Ok(_permit) = ctx.summaries.clone().try_acquire_owned() else {
        return Ok(Action::requeue(jittered(Duration::from_secs(1))));
    };
    let top = summary::top_classes(job);
    let began = Instant::now();
    let read = tokio::time::timeout(
        SUMMARY_TIMEOUT,
        results::summarize_output(&*ctx.outputs, place, &uri, top),
    )
    .await;
    let failure = match read {
        Ok(Ok(found)) => {
            info!(documents = found.documents, malformed = found.malformed_lines, elapsed = ?began.elapsed(), "summarized the output");
            summary::apply_summary(&mut status, &found, &uri, at);
            return settle_summary(job, status, ctx).await;
        }
        Ok(Err(ResultsError::Malformed(why))) => {
            warn!(%uri, %why, "the output is not a predictions archive");
            summary::apply_malformed(&mut status, &why, &uri, at);
            return settle_summary(job, status, ctx).await;
        }
        Ok(Err(ResultsError::Unreadable(e))) => (e.code, e.message),
        Err(_) => (
            "Timeout".to_string(),
            format!("not read within {} s", SUMMARY_TIMEOUT.as_secs()),
        ),
    };
    let (code, detail) = failure;
    warn!(%uri, %code, %detail, "reading the output failed");
    match summary::apply_unreadable(
        &mut status,
        &code,
        &detail,
        &uri,
        ctx.settings.max_backoff,
        at,
    ) {
        Some(wait) => {
            ctx.write_status(job, &status);
            Ok(Action::requeue(wait))
        }
        None => settle_summary(job, status, ctx).await,
    }
}

/// Writes a settled summary (or why there is none) and applies the TTL.
async fn settle_summary(
    job: &ClassificationJob,
    status: ClassificationJobStatus,
    ctx: &Context,
) -> Result<Action, Error> {
    expire(&ctx.settle(job, status), ctx).await
}

/// The resource has no identity to act with now (no mapping, or not the
/// one its job was recorded with). A settled outcome needs none and goes
/// on; anything else waits, `Ready` False, until the mapping changes (the
/// mapping watch wakes it).
async fn blocked(
    job: &ClassificationJob,
    reason: Reason,
    message: &str,
    ctx: &Context,
) -> Result<Action, Error> {
    let status = job.status.clone().unwrap_or_default();
    if status::is_finished(&status) {
        if summary::pending(job) {
            // The output is read only with the job's own identity: wait
            // for the mapping to give it again.
            return Ok(Action::requeue(Duration::from_secs(300)));
        }
        let place = Place::own(plan::region(&job.spec, &ctx.settings.default_region));
        return finished(job, &place, ctx).await;
    }
    warn!(reason = ?reason, %message, "no identity to act with");
    let mut status = status;
    status::apply_blocked(
        &mut status,
        reason,
        message,
        Observed::at_now(job.metadata.generation),
    );
    ctx.write_status(job, &status);
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// Deletes a finished resource once its TTL has passed, or waits for it.
async fn expire(job: &ClassificationJob, ctx: &Context) -> Result<Action, Error> {
    let Some(at) = plan::expiry(job) else {
        return Ok(Action::await_change());
    };
    let now = Timestamp::now();
    if now < at {
        let wait = now.duration_until(at).unsigned_abs();
        return Ok(Action::requeue(wait + Duration::from_millis(100)));
    }
    // The outcome is stored (and its event sent) before the resource goes.
    ctx.status.flush(job).await?;
    let api: Api<ClassificationJob> =
        Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: job.uid(),
            resource_version: None,
        }),
        propagation_policy: Some(kube::api::PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    match api.delete(&job.name_any(), &params).await {
        Ok(_) => info!("deleted after ttlSecondsAfterFinished"),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
        Err(e) => return Err(Error::Kube(e)),
    }
    Ok(Action::await_change())
}

/// Finds the job under its name, else starts it, within the quotas.
async fn start(
    job: &ClassificationJob,
    request: StartJobRequest,
    place: &Place,
    ctx: &Context,
) -> Result<Action, Error> {
    let key = key_of(job);
    let generation = job.metadata.generation;
    let mut status = job.status.clone().unwrap_or_default();

    // The account's active jobs, not only ours, take slots.
    count_active(ctx, place).await;
    let hash = status::spec_hash(&job.spec);
    if let Slot::Queued { .. } = ctx.slots.try_acquire(place, &key, creation_order(job)) {
        status::apply_queued(
            &mut status,
            &place.to_string(),
            ctx.settings.max_active_jobs,
            Observed::at_now(generation),
        );
        if job.spec.job_name.is_none() {
            // The record a start needs rides on this write, so the start
            // spends none. Only for a derived name: a fixed one is recorded
            // right before Start, as it proves an attempt was made.
            if status.job_name.is_none() {
                ctx.fresh
                    .insert(&key, &job.uid().unwrap_or_default(), &request.job_name);
            }
            status.job_name = Some(request.job_name.clone());
            status.spec_hash = Some(hash.clone());
            status::apply_place(&mut status, place);
        }
        ctx.write_status(job, &status);
        // Woken when a slot frees (and by housekeeping, should that
        // wake-up come to nothing); no requeue: thousands of waiters would
        // each hold an entry in the controller's queue, whose tables never
        // shrink after the burst.
        return Ok(Action::await_change());
    }

    // Every Start follows a stored record of the job name (below), so a
    // resource with a derived name and no record has never started a job,
    // and no job can carry its name: nothing to look for; nor when this
    // process made the record while the resource was queued and has not
    // started since ([`FreshRecords`]). A fixed name may be another's, and
    // is always looked for.
    let never_started = job.spec.job_name.is_none()
        && (status.job_name.is_none()
            || ctx
                .fresh
                .take(&key, &job.uid().unwrap_or_default(), &request.job_name));
    let found = if never_started {
        Ok(Vec::new())
    } else {
        ctx.comprehend
            .find_jobs_by_name(place, &request.job_name)
            .await
    };
    let found = match found {
        Ok(found) => found,
        Err(e) => return failed_call(job, status, Call::List, &e, place, ctx).await,
    };
    match plan::identify(job, &request, &found) {
        Found::Ours(existing) => {
            info!(job_id = %existing.job_id, "adopting job started earlier under this name");
            if status.spec_hash.is_none() {
                status.spec_hash = Some(hash);
            }
            ctx.views
                .follow(place, &existing.job_id, &key, Instant::now());
            status::apply_place(&mut status, place);
            status::apply_description(&mut status, &existing, Observed::at_now(generation));
            return after_observation(job, status, place, ctx).await;
        }
        Found::NameInUse { job_id, why } => {
            warn!(%job_id, job_name = %request.job_name, %why, "job name taken by another job");
            status::apply_name_in_use(
                &mut status,
                &request.job_name,
                &job_id,
                &why,
                Observed::at_now(generation),
            );
            ctx.write_status(job, &status);
            ctx.release_slot(place, &key);
            return Ok(Action::await_change());
        }
        Found::Nothing => {}
    }

    // Record the name before Start, so a crash right after Start finds the
    // job again by this name (once is enough: a retry keeps the record),
    // and waits until it is stored.
    let recorded = status.job_name.as_deref() == Some(request.job_name.as_str())
        && status.spec_hash.as_deref() == Some(hash.as_str());
    if !recorded {
        status::apply_starting(&mut status, &request, &hash, Observed::at_now(generation));
        status::apply_place(&mut status, place);
        ctx.record_status(job, &status).await?;
    } else {
        // A record made while queued may still wait to be written: it is
        // stored before Start, or the rule above would not hold.
        ctx.status.flush(job).await?;
    }
    let mut job_now = job.clone();
    job_now.status = Some(status.clone());

    let result = ctx.comprehend.start_job(place, &request).await;
    match result {
        Ok(started) => {
            info!(job_id = %started.job_id, "started Comprehend job");
            if ctx.settings.failpoint.as_deref() == Some("after-start") {
                warn!("failpoint after-start: aborting");
                std::process::abort();
            }
            ctx.succeeded(job);
            ctx.views
                .follow(place, &started.job_id, &key, Instant::now());
            status::apply_started(&mut status, &started, Observed::at_now(generation));
            ctx.write_status(&job_now, &status);
            Ok(Action::requeue(ctx.fallback_delay()))
        }
        Err(e) => failed_call(&job_now, status, Call::Start, &e, place, ctx).await,
    }
}

/// Finds the existing job `spec.jobId` names, with the namespace's
/// identity and Region, and follows it from then on as if it were started
/// here. Nothing is ever started for such a resource, and nothing is
/// recorded before Describe answers: a job ID Comprehend does not know
/// there settles the resource (JobNotFound) without claiming a job.
async fn adopt(
    job: &ClassificationJob,
    job_id: &str,
    place: &Place,
    ctx: &Context,
) -> Result<Action, Error> {
    let mut status = job.status.clone().unwrap_or_default();
    let at = Observed::at_now(job.metadata.generation);
    match ctx.comprehend.describe_job(place, job_id).await {
        Ok(desc) => {
            info!(job_id, job_status = %desc.job_status, "following a job started elsewhere");
            ctx.views
                .follow(place, &desc.job_id, &key_of(job), Instant::now());
            status::apply_adopted(&mut status, &desc, &job.spec, place, at);
            after_observation(job, status, place, ctx).await
        }
        Err(e) => {
            warn!(job_id, code = %e.code, message = %e.message, "Describe of the job to follow failed");
            ctx.metrics.reconcile_error(e.category());
            let next = status::apply_adopt_error(&mut status, job_id, place, &e, at);
            ctx.write_status(job, &status);
            match next {
                AfterError::Retry { .. } => Ok(Action::requeue(ctx.backoff(job))),
                AfterError::Settle => Ok(Action::await_change()),
            }
        }
    }
}

/// Follows a started job: from the latest listing, or with one Describe
/// when the job left the lists (or listings cannot be trusted).
async fn follow(
    job: &ClassificationJob,
    job_id: &str,
    place: &Place,
    ctx: &Context,
) -> Result<Action, Error> {
    let now = Instant::now();
    ctx.views.follow(place, job_id, &key_of(job), now);
    let status = job.status.clone().unwrap_or_default();
    let view = ctx.views.view(place, job_id, now, ctx.stale_after());
    // A job the lists no longer show takes no slot (the listing freed it);
    // any other may run, and holds one (after a restart too).
    if view != View::Absent {
        ctx.slots.hold(place, &key_of(job));
    }
    match view {
        View::Listed(desc) => {
            let mut status = status;
            // Only a new state is worth a write: details a listing adds to
            // the same state (its submit time, say) ride on the next one.
            if status.job_status.as_deref() != Some(desc.job_status.as_str()) {
                status::apply_description(
                    &mut status,
                    &desc,
                    Observed::at_now(job.metadata.generation),
                );
            }
            return after_observation(job, status, place, ctx).await;
        }
        // The next listing says; it wakes the resource if anything changed.
        View::Pending => return Ok(Action::requeue(ctx.fallback_delay())),
        View::Absent | View::Stale => {}
    }
    let result = ctx.comprehend.describe_job(place, job_id).await;
    match result {
        Ok(desc) => {
            let mut status = status;
            status::apply_description(
                &mut status,
                &desc,
                Observed::at_now(job.metadata.generation),
            );
            after_observation(job, status, place, ctx).await
        }
        Err(e) => failed_call(job, status, Call::Describe, &e, place, ctx).await,
    }
}

/// Writes what Describe or List showed (or, for a settled resource, what it
/// already had plus any ignored spec edit); frees the slot once the outcome
/// is known and applies the TTL.
async fn after_observation(
    job: &ClassificationJob,
    mut status: ClassificationJobStatus,
    place: &Place,
    ctx: &Context,
) -> Result<Action, Error> {
    ctx.succeeded(job);
    status::apply_spec_drift(
        &mut status,
        &job.spec,
        Observed::at_now(job.metadata.generation),
    );
    let key = key_of(job);
    if status::is_finished(&status) {
        // The slot is free as soon as the end is seen, before the write.
        ctx.release_slot(place, &key);
        if let Some(job_id) = status.job_id.as_deref() {
            ctx.views.forget(place, job_id);
        }
        let settled = ctx.settle(job, status);
        if summary::pending(&settled) {
            return summarize(&settled, place, ctx).await;
        }
        return expire(&settled, ctx).await;
    }
    ctx.slots.hold(place, &key);
    ctx.write_status(job, &status);
    Ok(Action::requeue(ctx.fallback_delay()))
}

/// Records a failed call: retry later, or settle the outcome.
async fn failed_call(
    job: &ClassificationJob,
    mut status: ClassificationJobStatus,
    call: Call,
    err: &AwsError,
    place: &Place,
    ctx: &Context,
) -> Result<Action, Error> {
    let operation = call.as_str();
    warn!(operation, code = %err.code, message = %err.message, "Comprehend call failed");
    ctx.metrics.reconcile_error(err.category());
    let next = status::apply_error(
        &mut status,
        call,
        err,
        Observed::at_now(job.metadata.generation),
    );
    // A slot given up is free before the write.
    match next {
        AfterError::Retry { release_slot: true } => ctx.release_slot(place, &key_of(job)),
        AfterError::Retry {
            release_slot: false,
        } => {}
        AfterError::Settle => {
            ctx.release_slot(place, &key_of(job));
            if let Some(job_id) = status.job_id.as_deref() {
                ctx.views.forget(place, job_id);
            }
        }
    }
    ctx.write_status(job, &status);
    match next {
        AfterError::Retry { .. } => Ok(Action::requeue(ctx.backoff(job))),
        AfterError::Settle => Ok(Action::await_change()),
    }
}

/// What the controller does after a reconcile error (a failed write).
pub fn error_policy(job: Arc<ClassificationJob>, err: &Error, ctx: Arc<Context>) -> Action {
    warn!(job = %key_of(&job), error = %err, "reconcile failed");
    ctx.metrics.reconcile_error(err.category());
    Action::requeue(ctx.backoff(&job))
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(
    client: Client,
    comprehend: Arc<dyn Comprehend>,
    outputs: Arc<dyn Outputs>,
    settings: Settings,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (wake_tx, wake_rx) = mpsc::unbounded_channel();
    let (seeded_tx, seeded_rx) = watch::channel(false);
    let shutdown = Box::pin(shutdown).shared();

    let namespaces = settings.scopes();
    let (accounts, mappings, mappings_synced) = accounts::watch(
        &client,
        &settings.default_region,
        settings.require_account_mapping,
    );
    // Jobs look up the classifiers they reference in these stores, and are
    // woken by the same watch when one changes.
    let mut classifier_streams = Vec::new();
    let mut classifier_stores = Vec::new();
    let mut synced = vec![mappings_synced];
    for ns in &namespaces {
        let (reader, writer) = reflector::store();
        let (synced_tx, synced_rx) = watch::channel(false);
        let stream = cached_watch::<DocumentClassifier>(&client, ns, writer, Some(synced_tx), None)
            .touched_objects();
        classifier_streams.push(stream);
        classifier_stores.push(reader);
        synced.push(synced_rx);
    }

    let ctx = Arc::new(Context {
        status: StatusWriter::new(client.clone(), &settings, metrics.clone()),
        slots: SlotPool::new(settings.max_active_jobs),
        wake: wake_tx,
        failures: Failures::default(),
        seeded: seeded_rx,
        classifiers: classifier_stores,
        views: Views::default(),
        listing: tokio::sync::Mutex::new(()),
        fresh: FreshRecords::default(),
        accounts,
        outputs,
        summaries: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_SUMMARIES)),
        client: client.clone(),
        comprehend,
        metrics,
        settings: settings.clone(),
    });

    // Wake-ups go to whichever controller watches the namespace.
    let mut wake_senders: Vec<(
        Option<String>,
        mpsc::UnboundedSender<ObjectRef<ClassificationJob>>,
    )> = Vec::new();
    let mut stores: Vec<Store<ClassificationJob>> = Vec::new();
    let mut settled: Vec<LeftOut<ClassificationJob>> = Vec::new();
    let mut controllers = Vec::new();
    for (ns, classifier_stream) in namespaces.iter().zip(classifier_streams) {
        let (reader, writer) = reflector::store();
        // Status writes do not change the generation: they set off no reconcile.
        // Readiness is taken from the stream itself: the store's own
        // readiness future wakes only one waiter, and the controller is it.
        let (synced_tx, synced_rx) = watch::channel(false);
        // Settled, quiet resources stay out of the cache (their reason is
        // kept for the metrics): thousands of them cost a map entry each.
        let left = LeftOut::new(plan::settled_summary);
        settled.push(left.clone());
        // A settled job costs nothing, also when a restart lists it.
        let stream = changed_generations(
            cached_watch::<ClassificationJob>(&client, ns, writer, Some(synced_tx), Some(left)),
            plan::needs_reconcile,
        );
        let (tx, rx) = mpsc::unbounded_channel();
        wake_senders.push((ns.clone(), tx));
        stores.push(reader.clone());
        synced.push(synced_rx);
        let jobs = reader.clone();
        let ctx = ctx.clone();
        let shutdown = shutdown.clone();
        controllers.push(
            Controller::for_stream(stream, reader)
                .with_config(settings.controller_config())
                .watches_stream(classifier_stream, move |dc: DocumentClassifier| {
                    waiting_on(&jobs, &dc)
                })
                .reconcile_on(tokio_stream_from(rx))
                .graceful_shutdown_on(shutdown)
                .run(reconcile, error_policy, ctx)
                .for_each(|res| async move {
                    if let Err(e) = res {
                        debug!(error = %e, "controller event");
                    }
                })
                .boxed(),
        );
    }

    // Route wake-ups, seed the slots, keep metrics and sweep stale slots.
    tokio::spawn(route_wakeups(wake_rx, wake_senders));
    tokio::spawn(wake_on_mapping(mappings, stores.clone(), ctx.clone()));
    tokio::spawn(housekeeping(
        ctx.clone(),
        stores,
        settled,
        synced,
        health,
        seeded_tx,
    ));
    tokio::spawn(follow_jobs(ctx.clone()));

    futures::future::join_all(controllers).await;
    Ok(())
}

/// The jobs a change of `dc` may unblock: those in its namespace that
/// reference it and have not started.
fn waiting_on(
    jobs: &Store<ClassificationJob>,
    dc: &DocumentClassifier,
) -> Vec<ObjectRef<ClassificationJob>> {
    let ns = dc.namespace();
    let name = dc.name_any();
    jobs.state()
        .iter()
        .filter(|job| {
            job.namespace() == ns
                && job
                    .spec
                    .classifier_ref
                    .as_ref()
                    .is_some_and(|r| r.name == name)
                && job.status.as_ref().is_none_or(|s| s.job_id.is_none())
        })
        .map(|job| ObjectRef::from_obj(&**job))
        .collect()
}

/// Keeps the mapping store current and wakes the unsettled resources of a
/// namespace whose mapping appeared, changed or went.
async fn wake_on_mapping(
    mappings: impl futures::Stream<
        Item = Result<crate::accounts::AccountMapping, kube::runtime::watcher::Error>,
    >,
    stores: Vec<Store<ClassificationJob>>,
    ctx: Arc<Context>,
) {
    futures::pin_mut!(mappings);
    while let Some(event) = mappings.next().await {
        let Ok(mapping) = event else { continue };
        let namespace = mapping.name_any();
        for store in &stores {
            for job in store.state() {
                let unsettled = job.status.as_ref().is_none_or(|s| !status::is_finished(s));
                if unsettled && job.namespace().as_deref() == Some(namespace.as_str()) {
                    let _ = ctx.wake.send(ObjectRef::from_obj(&*job));
                }
            }
        }
    }
}

async fn route_wakeups(
    mut rx: mpsc::UnboundedReceiver<ObjectRef<ClassificationJob>>,
    senders: Vec<(
        Option<String>,
        mpsc::UnboundedSender<ObjectRef<ClassificationJob>>,
    )>,
) {
    while let Some(obj) = rx.recv().await {
        for (ns, tx) in &senders {
            if ns.is_none() || ns.as_deref() == obj.namespace.as_deref() {
                let _ = tx.send(obj.clone());
            }
        }
    }
}

async fn housekeeping(
    ctx: Arc<Context>,
    stores: Vec<Store<ClassificationJob>>,
    settled: Vec<LeftOut<ClassificationJob>>,
    synced: Vec<watch::Receiver<bool>>,
    health: Arc<Health>,
    seeded: watch::Sender<bool>,
) {
    // Every watch (jobs and the classifiers they reference) has listed.
    for mut s in synced {
        if s.wait_for(|s| *s).await.is_err() {
            return;
        }
    }
    // Jobs already running hold their slots before any queued job asks.
    for store in &stores {
        for job in store.state() {
            let Some(status) = job.status.as_ref() else {
                continue;
            };
            if let Some(job_id) = status.job_id.as_deref() {
                // A job the mapping no longer reaches is left to its
                // reconcile, which says so.
                if let (false, Ok(place)) = (status::is_finished(status), ctx.place(&job)) {
                    ctx.slots.hold(&place, &key_of(&job));
                    // Followed from the start, so the first listing counts
                    // these as ours, not as foreign.
                    ctx.views
                        .follow(&place, job_id, &key_of(&job), Instant::now());
                }
            }
        }
    }
    let _ = seeded.send(true);
    // The initial list is done: give back what it used and freed.
    release_free_memory();
    health.set_synced(true);
    info!("watch synced; reconciling");
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        // Who holds or waits for a slot before the stores are read: one
        // queued after the read is not in it, and is not gone.
        let read_began = Instant::now();
        let in_slots = ctx.slots.keys();
        let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
        let mut alive = HashSet::new();
        let mut cached_rv: HashMap<String, u64> = HashMap::new();
        for store in &stores {
            for job in store.state() {
                alive.insert(key_of(&job));
                cached_rv.insert(job.uid().unwrap_or_default(), resource_version(&*job));
                // Read in place: a copy of every status each pass was
                // megabytes of churn at thousands of resources.
                *by_status.entry(plan::phase(&job).to_string()).or_default() += 1;
            }
        }
        for left in &settled {
            for reason in left.summaries() {
                *by_status.entry(reason).or_default() += 1;
            }
        }
        ctx.metrics.set_jobs_by_status(&by_status);
        // Forget what the cache has caught up with, or what is gone.
        ctx.status.prune(&cached_rv, read_began);
        ctx.failures.prune(&cached_rv, read_began);
        ctx.fresh.prune(&alive, read_began);
        release_free_memory();
        ctx.metrics.set_queue_length(ctx.slots.queued() as i64);
        sweep_slots(&ctx, in_slots, &alive);
    }
}

/// Frees the slots and places in the queue of resources that are gone:
/// among `in_slots` (taken before the stores were read) and not `alive` in
/// the read. Then wakes the waiters that fit in free slots, should the
/// wake-up a freed slot sent have come to nothing (queued resources are
/// not requeued), and gives back the tables a burst grew.
fn sweep_slots(ctx: &Context, in_slots: Vec<(Place, String)>, alive: &HashSet<String>) {
    for (place, key) in in_slots {
        if !alive.contains(&key) {
            // Deleted while running or waiting: Comprehend runs the job on,
            // but nothing here can follow it any more.
            ctx.slots.forget_waiter(&place, &key);
            ctx.views.forget_key(&place, &key);
            ctx.release_slot(&place, &key);
        }
    }
    ctx.wake_all(&ctx.slots.ready_waiters());
    ctx.slots.compact();
}

/// Makes sure the slots know the account's active jobs at `place`
/// before a start: lists now unless a listing began within two poll
/// intervals (the tick keeps places with followed jobs fresh, so this
/// lists only for the first start in an account and Region, or after a
/// quiet spell).
async fn count_active(ctx: &Context, place: &Place) {
    let max_age = ctx.settings.poll_interval * 2;
    if ctx.views.is_fresh(place, Instant::now(), max_age) {
        return;
    }
    let _one = ctx.listing.lock().await;
    // Another start may have listed while this one waited.
    if ctx.views.is_fresh(place, Instant::now(), max_age) {
        return;
    }
    refresh(ctx, place).await;
}

/// Lists `region`'s active jobs and acts on what changed: frees the slots
/// of jobs that ended, counts the foreign ones, wakes the resources whose
/// job changed and the waiters that may now start. A failed listing
/// changes nothing (resources fall back to Describe once listings are
/// stale); it is logged and counted.
async fn refresh(ctx: &Context, place: &Place) {
    let began = Instant::now();
    match follow::list_active(&*ctx.comprehend, place).await {
        Ok((active, _requests)) => {
            let changes = ctx.views.apply(place, began, active);
            for key in &changes.ended {
                ctx.release_slot(place, key);
            }
            ctx.metrics.set_foreign_jobs(
                place.account_label(),
                &place.region,
                changes.foreign as i64,
            );
            let waiters = ctx.slots.set_foreign(place, changes.foreign);
            ctx.wake_all(&waiters);
            ctx.wake_all(&changes.wake);
        }
        Err(e) => {
            ctx.views.listing_failed(place, began);
            ctx.metrics.reconcile_error(e.category());
            warn!(%place, code = %e.code, message = %e.message, "listing active jobs failed");
        }
    }
}

/// Every poll interval, lists the active jobs of each Region that has
/// followed jobs or resources waiting for a slot.
async fn follow_jobs(ctx: Arc<Context>) {
    let mut seeded = ctx.seeded.clone();
    if seeded.wait_for(|s| *s).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(ctx.settings.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = Instant::now();
        let mut places: BTreeSet<Place> = ctx
            .views
            .places(now, ctx.stale_after())
            .into_iter()
            .collect();
        places.extend(ctx.slots.places_with_waiters());
        for place in places {
            let _one = ctx.listing.lock().await;
            refresh(&ctx, &place).await;
        }
    }
}

#[cfg(test)]
mod tests;
