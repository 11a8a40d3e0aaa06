//! Each path of the ClassificationJob reconcile, against an in-memory
//! Comprehend ([`FakeComprehend`]) and a mocked API server whose verifier
//! answers every request the reconcile makes, in order. On tokio's paused
//! clock, so a status held for [`crate::kernel::status::HOLD`] is written
//! as soon as nothing else is left to run, not 5 s later.

use serde_json::Value;

use super::*;
use crate::comprehend::fake::FakeComprehend;
use crate::comprehend::Place;
use crate::job::crd::{ClassificationJobSpec, ClassifierRef};
use crate::job::fixtures::{self, desc, err, spec};
use crate::job::status::{condition, spec_hash, SUCCEEDED};
use crate::kernel::conditions::Observed;
use crate::kernel::testing::{drive, mock_api, requeue_after, ApiServer};

const REGION: &str = "us-east-1";

/// The operator's own identity in the default Region.
fn here() -> Place {
    Place::own(REGION)
}
const KEY: &str = "team-a/daily";
const UID: &str = "0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10";
/// The job name derived from the fixture's namespace, name and UID.
const DERIVED: &str = "team-a.daily-0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10";

const LIST: &str = "ListDocumentClassificationJobs";
const START: &str = "StartDocumentClassificationJob";
const DESCRIBE: &str = "DescribeDocumentClassificationJob";
const EVERY_OPERATION: [&str; 8] = [
    LIST,
    START,
    DESCRIBE,
    "ListDocumentClassifiers",
    "CreateDocumentClassifier",
    "DescribeDocumentClassifier",
    "StopTrainingDocumentClassifier",
    "DeleteDocumentClassifier",
];

struct Test {
    ctx: Arc<Context>,
    fake: Arc<FakeComprehend>,
    outputs: Arc<crate::results::fake::FakeOutputs>,
    woken: mpsc::UnboundedReceiver<ObjectRef<ClassificationJob>>,
}

/// A context over a mocked API server that stores `job`.
fn setup(job: &ClassificationJob, settings: Settings) -> (Test, ApiServer) {
    let (client, api) = mock_api(job);
    let fake = Arc::new(FakeComprehend::default());
    let outputs = Arc::new(crate::results::fake::FakeOutputs::default());
    let (ctx, woken) = Context::for_test(client, fake.clone(), outputs.clone(), settings);
    let test = Test {
        ctx: Arc::new(ctx),
        fake,
        outputs,
        woken,
    };
    (test, api)
}

/// The resource holding the only slot in [`behind_another`].
const OTHER: &str = "team-a/other";

/// A new resource, with the only slot (`max_active_jobs: 1`) held by
/// another ([`OTHER`]): its first reconcile queues it.
fn behind_another() -> (ClassificationJob, Test, ApiServer) {
    let settings = Settings {
        max_active_jobs: 1,
        ..Settings::default()
    };
    let job = new_job(spec());
    let (t, api) = setup(&job, settings);
    t.ctx.slots.hold(&here(), OTHER);
    (job, t, api)
}

/// The fixture resource, as stored (with a resourceVersion).
fn new_job(spec: ClassificationJobSpec) -> ClassificationJob {
    let mut job = fixtures::job(spec);
    job.metadata.resource_version = Some("1".into());
    job
}

/// A resource whose job `abc123` was started under the derived name and
/// last seen in `job_status`.
fn started(job_status: &str) -> ClassificationJob {
    let mut job = new_job(spec());
    let mut status = ClassificationJobStatus {
        spec_hash: Some(spec_hash(&job.spec)),
        ..Default::default()
    };
    status::apply_description(&mut status, &desc(job_status), at());
    job.status = Some(status);
    job
}

/// Generation 1, observed at the fixtures' time.
fn at() -> Observed {
    Observed::new(Some(1), fixtures::now())
}

fn status_of(written: Value) -> ClassificationJobStatus {
    serde_json::from_value(written).expect("a ClassificationJob status")
}

/// `status/reason` of a condition.
fn cond(status: &ClassificationJobStatus, type_: &str) -> String {
    let c = condition(status, type_).unwrap_or_else(|| panic!("no {type_} condition"));
    format!("{}/{}", c.status, c.reason)
}

fn total_calls(fake: &FakeComprehend) -> usize {
    EVERY_OPERATION.iter().map(|op| fake.calls(op)).sum()
}

fn assert_event(event: &Value, reason: &str, type_: &str) {
    assert_eq!(event["reason"], reason, "{event}");
    assert_eq!(event["type"], type_, "{event}");
}

/// The fallback of a followed job: five 30 s poll intervals, jittered by
/// 10% (the listing wakes the resource sooner when its job changes).
fn assert_polls(action: &Action) {
    let after = requeue_after(action).expect("a requeue");
    assert!(
        (135.0..=165.0).contains(&after.as_secs_f64()),
        "{after:?} is no fallback delay"
    );
}

/// List calls a start makes: the account's active jobs (SUBMITTED, then
/// IN_PROGRESS) for the slots, then the job name if a start may have been
/// made under it (a record exists, or the name is fixed).
const START_LISTS: usize = 3;
/// The same for a new resource with a derived name: it never started a job.
const FIRST_START_LISTS: usize = 2;

/// Follows `job_id` for the fixture resource as if since `ago`.
fn followed_since(t: &Test, job_id: &str, ago: Duration) {
    let since = Instant::now().checked_sub(ago).unwrap_or_else(Instant::now);
    t.ctx.views.follow(&here(), job_id, KEY, since);
}

#[tokio::test(start_paused = true)]
async fn start_records_the_job_name_then_starts_once_then_writes_the_job_id() {
    let job = new_job(spec());
    let (t, api) = setup(&job, Settings::default());
    let fake = t.fake.clone();
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let starting = status_of(api.status_patch().await);
            assert_eq!(cond(&starting, SUCCEEDED), "Unknown/Starting");
            assert_eq!(starting.job_name.as_deref(), Some(DERIVED));
            assert_eq!(starting.spec_hash, Some(spec_hash(&spec())));
            assert_eq!(starting.job_id, None);
            assert_eq!(
                (fake.calls(LIST), fake.calls(START)),
                (FIRST_START_LISTS, 0),
                "the name is recorded before Start (and not looked for: no record, no job)"
            );
            // The job ID after Start, and no event (a step, not an outcome).
            let submitted = status_of(api.status_patch().await);
            assert_eq!(fake.calls(START), 1);
            assert_eq!(submitted.job_id.as_deref(), Some("job0001"));
            assert_eq!(submitted.job_name.as_deref(), Some(DERIVED));
            assert_eq!(cond(&submitted, SUCCEEDED), "Unknown/Submitted");
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!(t.fake.calls(START), 1);
    let jobs = t.fake.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].job_name.as_deref(), Some(DERIVED));
    assert_eq!(
        t.ctx.slots.active(&here()),
        1,
        "the started job holds a slot"
    );
}

#[tokio::test(start_paused = true)]
async fn a_start_already_recorded_starts_without_recording_it_again() {
    // A retry after Start failed (or a crash before it): the record stays.
    let mut job = new_job(spec());
    let request = plan::start_request(&job, None).expect("a valid spec");
    let mut recorded = ClassificationJobStatus::default();
    let hash = spec_hash(&job.spec);
    status::apply_starting(&mut recorded, &request, &hash, at());
    job.status = Some(recorded);
    let (t, api) = setup(&job, Settings::default());
    let fake = t.fake.clone();
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let submitted = status_of(api.status_patch().await);
            assert_eq!(fake.calls(START), 1, "no second record before Start");
            assert_eq!(submitted.job_id.as_deref(), Some("job0001"));
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!((t.fake.calls(LIST), t.fake.calls(START)), (START_LISTS, 1));
}

#[tokio::test(start_paused = true)]
async fn a_job_found_under_the_derived_name_is_adopted_not_started() {
    // Crashed right after Start: the record was stored, the job ID not.
    let mut job = new_job(spec());
    let request = plan::start_request(&job, None).expect("a valid spec");
    let mut recorded = ClassificationJobStatus::default();
    status::apply_starting(&mut recorded, &request, &spec_hash(&job.spec), at());
    job.status = Some(recorded);
    let (t, api) = setup(&job, Settings::default());
    // Started before a crash, its ID never written.
    t.fake.put_job(desc("IN_PROGRESS"));
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let adopted = status_of(api.status_patch().await);
            assert_eq!(adopted.job_id.as_deref(), Some("abc123"));
            assert_eq!(adopted.job_name.as_deref(), Some(DERIVED));
            assert_eq!(adopted.job_status.as_deref(), Some("IN_PROGRESS"));
            assert_eq!(adopted.spec_hash, Some(spec_hash(&spec())));
            assert_eq!(cond(&adopted, SUCCEEDED), "Unknown/InProgress");
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!((t.fake.calls(LIST), t.fake.calls(START)), (START_LISTS, 0));
    // Counted as this operator's, not as a foreign job, from now on.
    assert_eq!(refresh_and_count_foreign(&t).await, 0);
    assert_eq!(t.fake.jobs().len(), 1);
    assert_eq!(t.ctx.slots.active(&here()), 1);
}

/// Lists the Region's active jobs as the tick does; answers the foreign
/// jobs counted.
/// Reconciles the resource as the API server stores it: its job starts,
/// the status says Submitted, and it is followed.
async fn starts_as_stored(t: &Test, api: ApiServer) {
    let seen: ClassificationJob = api.object();
    let (result, _) = drive(
        api,
        reconcile(Arc::new(seen), t.ctx.clone()),
        |mut api| async move {
            let submitted = status_of(api.status_patch().await);
            assert_eq!(cond(&submitted, SUCCEEDED), "Unknown/Submitted");
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
}

async fn refresh_and_count_foreign(t: &Test) -> usize {
    refresh(&t.ctx, &here()).await;
    t.ctx.slots.foreign(&here())
}

#[tokio::test(start_paused = true)]
async fn a_followed_job_takes_its_status_from_the_listing_without_describe() {
    let job = started("SUBMITTED");
    let (mut t, api) = setup(&job, Settings::default());
    t.fake.put_job(desc("IN_PROGRESS"));
    followed_since(&t, "abc123", Duration::from_secs(1));
    assert_eq!(refresh_and_count_foreign(&t).await, 0);
    let woken = t.woken.try_recv().expect("its job changed: woken");
    assert_eq!(woken, ObjectRef::new("daily").within("team-a"));
    let (result, api) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let running = status_of(api.status_patch().await);
            assert_eq!(running.job_status.as_deref(), Some("IN_PROGRESS"));
            assert_eq!(cond(&running, SUCCEEDED), "Unknown/InProgress");
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));

    // Listed again unchanged: nobody is woken; a fallback reconcile writes
    // nothing and calls nothing.
    refresh(&t.ctx, &here()).await;
    assert!(t.woken.try_recv().is_err());
    let seen: ClassificationJob = api.object();
    let (result, _) = drive(
        api,
        reconcile(Arc::new(seen), t.ctx.clone()),
        |api| async move { api },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!(t.fake.calls(DESCRIBE), 0);
    assert_eq!(t.fake.calls(LIST), 4, "two listings of two statuses");
    assert_eq!(t.fake.calls(START), 0);
}

#[tokio::test(start_paused = true)]
async fn a_job_without_a_trusted_listing_is_described() {
    let job = started("SUBMITTED");
    let (t, api) = setup(&job, Settings::default());
    t.fake.put_job(desc("IN_PROGRESS"));
    // Followed for longer than listings are trusted, with none since
    // (listings failing): Describe it.
    followed_since(&t, "abc123", Duration::from_secs(200));
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let running = status_of(api.status_patch().await);
            assert_eq!(running.job_status.as_deref(), Some("IN_PROGRESS"));
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!(t.fake.calls(DESCRIBE), 1);
}

#[tokio::test(start_paused = true)]
async fn a_job_just_followed_waits_for_the_next_listing() {
    let job = started("SUBMITTED");
    let (t, api) = setup(&job, Settings::default());
    t.fake.put_job(desc("IN_PROGRESS"));
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |api| async move { api },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!(total_calls(&t.fake), 0);
}

#[tokio::test(start_paused = true)]
async fn a_start_waits_while_foreign_jobs_fill_the_account() {
    let settings = Settings {
        max_active_jobs: 2,
        ..Settings::default()
    };
    let job = new_job(spec());
    let (mut t, api) = setup(&job, settings);
    for id in ["console-1", "script-2"] {
        let mut foreign = desc("IN_PROGRESS");
        foreign.job_id = id.into();
        foreign.job_name = Some(id.into());
        t.fake.put_job(foreign);
    }
    let (result, api) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let queued = status_of(api.status_patch().await);
            assert_eq!(cond(&queued, SUCCEEDED), "Unknown/Queued");
            api
        },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!(t.fake.calls(START), 0, "the account has no room");
    assert_eq!(t.ctx.slots.foreign(&here()), 2);
    let queued: ClassificationJob = api.object();
    assert_eq!(
        queued.status.as_ref().and_then(|s| s.job_name.as_deref()),
        Some(DERIVED),
        "the record rides on the Queued write"
    );

    // One foreign job ends: the next listing frees its slot and wakes the
    // waiter, which starts.
    t.fake.set_job_status("console-1", "COMPLETED");
    refresh(&t.ctx, &here()).await;
    let woken = t.woken.try_recv().expect("the waiter is woken");
    assert_eq!(woken, ObjectRef::new("daily").within("team-a"));
    starts_as_stored(&t, api).await;
    assert_eq!(t.fake.calls(START), 1);
    assert_eq!(
        t.fake.lookups_by_name(),
        0,
        "this process made the record and never started under it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_start_that_may_have_reached_comprehend_is_looked_up_on_retry() {
    let (job, t, api) = behind_another();
    let (_, api) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let queued = status_of(api.status_patch().await);
            assert_eq!(queued.job_name.as_deref(), Some(DERIVED));
            api
        },
    )
    .await;
    t.ctx.release_slot(&here(), OTHER);
    // The Start under the fresh record times out: it may have started the
    // job, so the retry looks for it, and finds nothing, and starts.
    t.fake.fail_next(
        START,
        err(crate::comprehend::ErrorKind::Transient, "RequestTimeout"),
    );
    let queued: ClassificationJob = api.object();
    let (result, api) = drive(
        api,
        reconcile(Arc::new(queued), t.ctx.clone()),
        |mut api| async move {
            let failed = status_of(api.status_patch().await);
            assert_eq!(cond(&failed, SUCCEEDED), "Unknown/AwsUnavailable");
            assert_event(&api.event().await, "AwsUnavailable", "Warning");
            api
        },
    )
    .await;
    assert!(requeue_after(&result.expect("reconcile")).is_some());
    assert_eq!((t.fake.calls(START), t.fake.lookups_by_name()), (1, 0));
    starts_as_stored(&t, api).await;
    assert_eq!((t.fake.calls(START), t.fake.lookups_by_name()), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_completed_job_frees_its_slot_when_it_leaves_the_lists_and_settles_true() {
    let settings = Settings {
        max_active_jobs: 1,
        ..Settings::default()
    };
    let job = started("IN_PROGRESS");
    let (mut t, api) = setup(&job, settings);
    t.fake.put_job(desc("IN_PROGRESS"));
    t.fake.set_job_status("abc123", "COMPLETED");
    t.ctx.slots.hold(&here(), KEY);
    followed_since(&t, "abc123", Duration::from_secs(1));
    let waiter = t.ctx.slots.try_acquire(&here(), "team-a/next", 0);
    assert!(matches!(waiter, Slot::Queued { .. }), "{waiter:?}");
    // The listing no longer has the job: the slot is free at once, before
    // any Describe or write, and the waiter and the resource are woken.
    refresh(&t.ctx, &here()).await;
    assert_eq!(t.ctx.slots.active(&here()), 0, "the slot is released");
    let mut woken = vec![t.woken.try_recv().unwrap(), t.woken.try_recv().unwrap()];
    woken.sort_by_key(|o| o.name.clone());
    assert_eq!(
        woken,
        [
            ObjectRef::new("daily").within("team-a"),
            ObjectRef::new("next").within("team-a")
        ]
    );
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let done = status_of(api.status_patch().await);
            assert_eq!(cond(&done, SUCCEEDED), "True/Completed");
            assert_eq!(cond(&done, status::READY), "True/Completed");
            assert_eq!(
                done.output_s3_uri.as_deref(),
                desc("COMPLETED").output_s3_uri.as_deref()
            );
            assert!(done.end_time.is_some());
            assert_event(&api.event().await, "Completed", "Normal");
            api
        },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!(t.fake.calls(DESCRIBE), 1, "one Describe to learn the end");
    assert_eq!(t.ctx.slots.active(&here()), 0);
}

#[tokio::test(start_paused = true)]
async fn a_finished_resource_costs_no_call_and_no_write() {
    let job = started("COMPLETED");
    let (t, api) = setup(&job, Settings::default());
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |api| async move { api },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!(total_calls(&t.fake), 0);
}

#[tokio::test(start_paused = true)]
async fn a_finished_resource_past_its_ttl_is_deleted_with_its_uid_as_precondition() {
    let mut job = started("COMPLETED");
    job.spec.ttl_seconds_after_finished = Some(60);
    if let Some(status) = job.status.as_mut() {
        status.end_time = Some("2020-01-01T00:00:00Z".into());
    }
    let (t, api) = setup(&job, Settings::default());
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let options = api.delete().await;
            assert_eq!(options["preconditions"]["uid"], UID, "{options}");
            assert_eq!(options["propagationPolicy"], "Background", "{options}");
            api
        },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!(total_calls(&t.fake), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_active_job_cap_queues_without_starting() {
    let (job, t, api) = behind_another();
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let queued = status_of(api.status_patch().await);
            assert_eq!(cond(&queued, SUCCEEDED), "Unknown/Queued");
            assert_eq!(cond(&queued, status::READY), "True/Queued");
            // The start's record rides on this write (derived name).
            assert_eq!(queued.job_name.as_deref(), Some(DERIVED));
            assert_eq!(queued.spec_hash, Some(spec_hash(&spec())));
            api
        },
    )
    .await;
    // No requeue: a freed slot (or housekeeping) wakes it.
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!(t.fake.calls(START) + t.fake.calls(DESCRIBE), 0);
    assert_eq!(t.fake.calls(LIST), 2, "the account's active jobs, counted");
    assert_eq!(t.ctx.slots.queued(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_spec_edited_after_the_start_is_ignored_without_calling_aws() {
    let mut job = started("COMPLETED");
    job.spec.input_data_config.as_mut().unwrap().s3_uri = "s3://in-bucket/other/".into();
    job.metadata.generation = Some(2);
    let (t, api) = setup(&job, Settings::default());
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let ignored = status_of(api.status_patch().await);
            assert_eq!(cond(&ignored, status::READY), "False/SpecChangeIgnored");
            assert_eq!(cond(&ignored, SUCCEEDED), "True/Completed");
            assert_eq!(ignored.spec_hash, Some(spec_hash(&spec())), "kept");
            assert_eq!(ignored.observed_generation, Some(2));
            assert_event(&api.event().await, "SpecChangeIgnored", "Warning");
            api
        },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!(total_calls(&t.fake), 0);
}

#[tokio::test(start_paused = true)]
async fn access_denied_on_describe_keeps_the_outcome_open_and_retries() {
    let job = started("IN_PROGRESS");
    let (t, api) = setup(&job, Settings::default());
    t.fake.put_job(desc("IN_PROGRESS"));
    // Listings failing: the job is followed with Describe.
    followed_since(&t, "abc123", Duration::from_secs(200));
    t.fake.fail_next(
        DESCRIBE,
        err(
            crate::comprehend::ErrorKind::InvalidSpec,
            "AccessDeniedException",
        ),
    );
    let (result, api) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let denied = status_of(api.status_patch().await);
            assert_eq!(cond(&denied, SUCCEEDED), "Unknown/AccessDeniedException");
            assert_eq!(cond(&denied, status::READY), "False/AccessDeniedException");
            assert_eq!(denied.job_id.as_deref(), Some("abc123"), "the job is kept");
            assert_event(&api.event().await, "AwsCallFailed", "Warning");
            api
        },
    )
    .await;
    let after = requeue_after(&result.expect("reconcile")).expect("a retry");
    assert!(after <= Duration::from_secs(1), "first backoff: {after:?}");
    assert_eq!(t.ctx.slots.active(&here()), 1, "the job may run: slot kept");

    // The permission is back: the next Describe restores Ready.
    let seen: ClassificationJob = api.object();
    let (result, _) = drive(
        api,
        reconcile(Arc::new(seen), t.ctx.clone()),
        |mut api| async move {
            let back = status_of(api.status_patch().await);
            assert_eq!(cond(&back, status::READY), "True/InProgress");
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!(t.fake.calls(DESCRIBE), 2);
}

#[tokio::test(start_paused = true)]
async fn a_fixed_job_name_taken_by_a_foreign_job_is_not_started() {
    let mut fixed = spec();
    fixed.job_name = Some("nightly".into());
    let job = new_job(fixed);
    let (t, api) = setup(&job, Settings::default());
    let mut foreign = desc("IN_PROGRESS");
    foreign.job_id = "foreign1".into();
    foreign.job_name = Some("nightly".into());
    t.fake.put_job(foreign);
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let taken = status_of(api.status_patch().await);
            assert_eq!(cond(&taken, SUCCEEDED), "False/JobNameInUse");
            assert_eq!(cond(&taken, status::READY), "False/JobNameInUse");
            let message = &condition(&taken, SUCCEEDED).expect("Succeeded").message;
            assert!(message.contains("foreign1"), "{message}");
            assert_eq!((taken.job_id, taken.job_name), (None, None));
            assert_event(&api.event().await, "JobNameInUse", "Warning");
            api
        },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!((t.fake.calls(LIST), t.fake.calls(START)), (START_LISTS, 0));
    assert_eq!(t.fake.jobs().len(), 1);
    assert_eq!(t.ctx.slots.active(&here()), 0, "the slot is released");
}

#[tokio::test(start_paused = true)]
async fn a_missing_classifier_ref_waits_without_calling_aws() {
    let mut by_ref = spec();
    by_ref.document_classifier_arn = None;
    by_ref.classifier_ref = Some(ClassifierRef {
        name: "news".into(),
    });
    let job = new_job(by_ref);
    let (t, api) = setup(&job, Settings::default());
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let waiting = status_of(api.status_patch().await);
            assert_eq!(cond(&waiting, SUCCEEDED), "Unknown/WaitingForClassifier");
            api
        },
    )
    .await;
    let after = requeue_after(&result.expect("reconcile"));
    assert_eq!(after, Some(Duration::from_secs(300)));
    assert_eq!(total_calls(&t.fake), 0);
}

#[tokio::test(start_paused = true)]
async fn a_listing_that_adds_only_details_to_the_same_state_costs_no_write() {
    let job = started("SUBMITTED");
    let (t, api) = setup(&job, Settings::default());
    let mut listed = desc("SUBMITTED");
    listed.message = Some("a detail".into());
    t.fake.put_job(listed);
    followed_since(&t, "abc123", Duration::from_secs(1));
    refresh(&t.ctx, &here()).await;
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |api| async move { api },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!(t.fake.calls(DESCRIBE), 0);
}

/// A resource that follows the existing job `abc123` (observe only).
fn observing() -> ClassificationJob {
    let mut s = spec();
    s.job_id = Some("abc123".into());
    s.document_classifier_arn = None;
    s.input_data_config = None;
    s.output_data_config = None;
    s.data_access_role_arn = None;
    s.volume_kms_key_id = None;
    s.vpc_config = None;
    s.tags = vec![];
    new_job(s)
}

#[tokio::test(start_paused = true)]
async fn a_job_started_elsewhere_is_followed_and_never_started() {
    let job = observing();
    let (t, api) = setup(&job, Settings::default());
    let mut running = desc("IN_PROGRESS");
    running.job_name = Some("from-the-console".into());
    t.fake.put_job(running);
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let found = status_of(api.status_patch().await);
            assert_eq!(found.job_id.as_deref(), Some("abc123"));
            assert_eq!(found.job_name.as_deref(), Some("from-the-console"));
            assert_eq!(found.account.as_deref(), Some("123456789012"));
            assert_eq!(cond(&found, SUCCEEDED), "Unknown/InProgress");
            assert!(found.spec_hash.is_some(), "later spec edits are noticed");
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!((t.fake.calls(DESCRIBE), t.fake.calls(START)), (1, 0));
    assert_eq!(t.fake.calls(LIST), 0, "no name to look for, no slot to ask");
    // Counted as followed from now on, not as a foreign job.
    assert_eq!(refresh_and_count_foreign(&t).await, 0);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_job_id_settles_without_claiming_a_job() {
    let job = observing();
    let (t, api) = setup(&job, Settings::default());
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let missing = status_of(api.status_patch().await);
            assert_eq!(cond(&missing, SUCCEEDED), "False/JobNotFound");
            assert_eq!(cond(&missing, status::READY), "False/JobNotFound");
            assert_eq!(missing.job_id, None, "no job is claimed");
            let message = &condition(&missing, SUCCEEDED).unwrap().message;
            assert!(
                message.contains("abc123") && message.contains(REGION),
                "{message}"
            );
            let event = api.event().await;
            assert_event(&event, "JobNotFound", "Warning");
            api
        },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!((t.fake.calls(DESCRIBE), t.fake.calls(START)), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_failed_describe_of_a_job_to_follow_is_retried_and_records_nothing() {
    let job = observing();
    let (t, api) = setup(&job, Settings::default());
    t.fake.put_job(desc("IN_PROGRESS"));
    t.fake.fail_next(
        DESCRIBE,
        err(
            crate::comprehend::ErrorKind::Transient,
            "InternalServerException",
        ),
    );
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let retrying = status_of(api.status_patch().await);
            assert_eq!(cond(&retrying, SUCCEEDED), "Unknown/AwsUnavailable");
            assert_eq!(retrying.job_id, None);
            let _ = api.event().await;
            api
        },
    )
    .await;
    assert!(requeue_after(&result.expect("reconcile")).is_some());
    assert_eq!(t.fake.calls(START), 0);
}

/// `output.tar.gz` holding `predictions.jsonl` with these lines.
fn predictions(lines: &[&str]) -> Vec<u8> {
    let body = lines.join("\n");
    crate::results::fake::tar_gz(&[("predictions.jsonl", body.as_bytes())])
}

/// A resource whose job completed, asking for a summary.
fn completed_asking() -> ClassificationJob {
    let mut job = started("COMPLETED");
    job.spec.results = Some(crate::job::crd::ResultsSpec {
        summarize: true,
        top_classes: None,
    });
    job
}

const OUTPUT: &str = "s3://out-bucket/results/123456789012-CLN-abc123/output/output.tar.gz";

#[tokio::test(start_paused = true)]
async fn a_completed_job_that_asks_gets_its_output_summarized() {
    let job = completed_asking();
    let settings = Settings {
        summarize_results: true,
        ..Settings::default()
    };
    let (t, api) = setup(&job, settings);
    t.outputs.put(
        OUTPUT,
        predictions(&[
            r#"{"File": "a.txt", "Classes": [{"Name": "SPORTS", "Score": 0.9}, {"Name": "FINANCE", "Score": 0.1}]}"#,
            r#"{"File": "b.txt", "Classes": [{"Name": "FINANCE", "Score": 0.7}]}"#,
            r#"{"File": "c.txt", "Classes": [{"Name": "SPORTS", "Score": 0.8}]}"#,
        ]),
    );
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let written = status_of(api.status_patch().await);
            let results = written.results.clone().expect("status.results");
            assert_eq!(results.documents, 3);
            assert_eq!(results.classes[0].name, "SPORTS");
            assert_eq!(results.classes[0].documents, 2);
            assert_eq!(results.mean_top_score.as_deref(), Some("0.8000"));
            assert_eq!(
                cond(&written, summary::RESULTS_SUMMARIZED),
                "True/Summarized"
            );
            assert_eq!(cond(&written, SUCCEEDED), "True/Completed");
            assert_event(&api.event().await, "Summarized", "Normal");
            api
        },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!(total_calls(&t.fake), 0, "no Comprehend call");
    let opened = t.outputs.opened();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0], (here(), OUTPUT.to_string()));
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_output_is_retried_and_never_touches_the_outcome() {
    let job = completed_asking();
    let settings = Settings {
        summarize_results: true,
        ..Settings::default()
    };
    let (t, api) = setup(&job, settings);
    // Nothing at the output URI: NoSuchKey.
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let written = status_of(api.status_patch().await);
            assert_eq!(
                cond(&written, summary::RESULTS_SUMMARIZED),
                "Unknown/ResultsUnavailable"
            );
            assert_eq!(written.results_attempts, Some(1));
            assert_eq!(cond(&written, SUCCEEDED), "True/Completed");
            api
        },
    )
    .await;
    let wait = requeue_after(&result.expect("reconcile")).expect("a retry");
    assert_eq!(wait, Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_summary_the_operator_does_not_make_is_said_so() {
    let job = completed_asking();
    let (t, api) = setup(&job, Settings::default());
    let (result, _) = drive(
        api,
        reconcile(Arc::new(job), t.ctx.clone()),
        |mut api| async move {
            let written = status_of(api.status_patch().await);
            assert_eq!(
                cond(&written, summary::RESULTS_SUMMARIZED),
                "False/SummaryDisabled"
            );
            assert_event(&api.event().await, "SummaryDisabled", "Warning");
            api
        },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert!(t.outputs.opened().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_sweep_forgets_only_resources_gone_before_the_stores_were_read() {
    let settings = Settings {
        max_active_jobs: 1,
        ..Settings::default()
    };
    let job = new_job(spec());
    let (mut t, _api) = setup(&job, settings);
    t.ctx.slots.hold(&here(), "team-a/running");
    let _ = t.ctx.slots.try_acquire(&here(), "team-a/deleted", 1);
    let in_slots = t.ctx.slots.keys();
    // Read from the stores: only the running one. Meanwhile a new resource
    // queued: it is not in the read, and must keep its place.
    let alive: HashSet<String> = ["team-a/running".to_string()].into();
    let _ = t
        .ctx
        .slots
        .try_acquire(&here(), "team-a/queued-meanwhile", 2);
    sweep_slots(&t.ctx, in_slots, &alive);
    assert_eq!(t.ctx.slots.queued(), 1, "only the deleted one is forgotten");
    assert!(t.woken.try_recv().is_err(), "no slot is free: nobody woken");

    // The running job's slot frees and its wake-up comes to nothing: the
    // next sweep wakes the waiter that now fits.
    let _ = t.ctx.slots.release(&here(), "team-a/running");
    let alive: HashSet<String> = ["team-a/queued-meanwhile".to_string()].into();
    sweep_slots(&t.ctx, t.ctx.slots.keys(), &alive);
    assert_eq!(
        t.woken.try_recv().expect("woken by the sweep"),
        ObjectRef::new("queued-meanwhile").within("team-a")
    );
}

#[test]
fn only_a_started_jobs_quiet_progress_is_held() {
    let at = Observed::at_now(Some(1));
    let mut queued = ClassificationJobStatus::default();
    status::apply_queued(&mut queued, "us-east-1", 10, at);
    assert_eq!(lane_of(None, &queued), Lane::Progress);

    let mut submitted = queued.clone();
    status::apply_description(&mut submitted, &desc("SUBMITTED"), at);
    assert_eq!(lane_of(Some(&queued), &submitted), Lane::Held);
    let mut running = submitted.clone();
    status::apply_description(&mut running, &desc("IN_PROGRESS"), at);
    assert_eq!(lane_of(Some(&submitted), &running), Lane::Held);

    // A warning while following deserves an event: not held.
    let mut throttled = running.clone();
    status::apply_error(
        &mut throttled,
        Call::Describe,
        &err(
            crate::comprehend::ErrorKind::Throttled,
            "TooManyRequestsException",
        ),
        at,
    );
    assert_eq!(lane_of(Some(&running), &throttled), Lane::Progress);

    let mut done = running.clone();
    status::apply_description(&mut done, &desc("COMPLETED"), at);
    assert_eq!(lane_of(Some(&running), &done), Lane::Urgent);
}
