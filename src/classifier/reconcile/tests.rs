//! Each path of the DocumentClassifier reconcile, against an in-memory
//! Comprehend ([`FakeComprehend`]) and a mocked API server whose verifier
//! answers every request the reconcile makes, in order.

use crate::comprehend::Place;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{json, Value};

use super::*;
use crate::classifier::crd::DeletionPolicy;
use crate::classifier::fixtures::{self, spec, ARN};
use crate::classifier::{classifier_state, ClassifierState};
use crate::comprehend::fake::FakeComprehend;
use crate::kernel::conditions::Observed;
use crate::kernel::testing::{drive, mock_api, requeue_after, ApiServer};

const REGION: &str = "us-east-1";

const EVERY_OPERATION: [&str; 8] = [
    LIST,
    CREATE,
    DESCRIBE,
    STOP,
    DELETE,
    "ListDocumentClassificationJobs",
    "StartDocumentClassificationJob",
    "DescribeDocumentClassificationJob",
];

/// A context over `fake` and a mocked API server that stores `dc`.
fn setup(dc: &DocumentClassifier, fake: &Arc<FakeComprehend>) -> (Arc<Context>, ApiServer) {
    let (client, api) = mock_api(dc);
    let ctx = Context::for_test(client, fake.clone(), Settings::default());
    (Arc::new(ctx), api)
}

/// The fixture resource (deletionPolicy Delete), as stored.
fn new_dc(spec: crate::classifier::DocumentClassifierSpec) -> DocumentClassifier {
    let mut dc = fixtures::classifier(spec);
    dc.metadata.resource_version = Some("1".into());
    dc
}

fn finalized(mut dc: DocumentClassifier) -> DocumentClassifier {
    dc.metadata.finalizers = Some(vec![FINALIZER.into()]);
    dc
}

/// Creates the classifier in the fake (one Create call), moves it to
/// `comprehend_status`, and gives `dc` the status the operator wrote
/// for it.
async fn created_earlier(
    fake: &FakeComprehend,
    dc: &mut DocumentClassifier,
    comprehend_status: &str,
) {
    let request = plan::create_request(dc).expect("a valid spec");
    let arn = fake
        .create_classifier(&Place::own(REGION), &request)
        .await
        .expect("created");
    assert_eq!(arn, ARN);
    fake.set_classifier_status(&arn, comprehend_status);
    let desc = fake.classifiers().remove(0);
    let mut s = DocumentClassifierStatus::default();
    status::apply_creating(&mut s, &dc.spec, at());
    status::apply_created(&mut s, &arn, at());
    status::apply_description(&mut s, &desc, at());
    dc.status = Some(s);
}

/// Generation 1, observed at the fixtures' time.
fn at() -> Observed {
    Observed::new(Some(1), fixtures::now())
}

fn status_of(written: Value) -> DocumentClassifierStatus {
    serde_json::from_value(written).expect("a DocumentClassifier status")
}

/// `status/reason` of the Ready condition.
fn ready(status: &DocumentClassifierStatus) -> String {
    let (value, reason) = fixtures::ready(status);
    format!("{value}/{reason}")
}

fn message(status: &DocumentClassifierStatus) -> String {
    status::condition(status, status::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// Calls other than the one Create that [`created_earlier`] makes.
fn calls_besides_create(fake: &FakeComprehend) -> usize {
    EVERY_OPERATION
        .iter()
        .filter(|op| **op != CREATE)
        .map(|op| fake.calls(op))
        .sum()
}

fn assert_event(event: &Value, reason: &str, type_: &str) {
    assert_eq!(event["reason"], reason, "{event}");
    assert_eq!(event["type"], type_, "{event}");
}

/// A poll delay: the 60 s classifier poll interval, jittered by 10%.
fn assert_polls(action: &Action) {
    let after = requeue_after(action).expect("a requeue");
    assert!(
        (54.0..=66.0).contains(&after.as_secs_f64()),
        "{after:?} is no poll delay"
    );
}

/// The patch that removes the operator's finalizer, the first one.
fn release_patch() -> Value {
    json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": FINALIZER},
        {"op": "remove", "path": "/metadata/finalizers/0"},
    ])
}

#[tokio::test]
async fn the_finalizer_is_added_before_any_aws_call() {
    let dc = new_dc(spec());
    let fake = Arc::new(FakeComprehend::default());
    let (ctx, api) = setup(&dc, &fake);
    let seen = fake.clone();
    let (result, api) = drive(api, reconcile(Arc::new(dc), ctx), |mut api| async move {
        let patch = api.json_patch().await;
        let expected = json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ]);
        assert_eq!(patch, expected);
        assert_eq!(calls_besides_create(&seen) + seen.calls(CREATE), 0);
        // Then the create, as below.
        let creating = status_of(api.status_patch().await);
        assert_eq!(ready(&creating), "Unknown/Creating");
        api.status_patch().await;
        assert_event(&api.event().await, "Created", "Normal");
        api
    })
    .await;
    assert_polls(&result.expect("reconcile"));
    let stored: DocumentClassifier = api.object();
    assert_eq!(stored.finalizers(), [FINALIZER.to_string()]);
    assert_eq!(fake.calls(CREATE), 1);
}

#[tokio::test]
async fn create_records_the_spec_digest_first_and_creates_once() {
    let dc = finalized(new_dc(spec()));
    let fake = Arc::new(FakeComprehend::default());
    let (ctx, api) = setup(&dc, &fake);
    let seen = fake.clone();
    let (result, _) = drive(api, reconcile(Arc::new(dc), ctx), |mut api| async move {
        let creating = status_of(api.status_patch().await);
        assert_eq!(creating.spec_hash, Some(status::spec_hash(&spec())));
        assert_eq!(ready(&creating), "Unknown/Creating");
        assert_eq!(creating.document_classifier_arn, None);
        assert_eq!(
            (seen.calls(LIST), seen.calls(CREATE)),
            (1, 0),
            "looked up by name and version, digest recorded, not created yet"
        );
        let submitted = status_of(api.status_patch().await);
        assert_eq!(seen.calls(CREATE), 1);
        assert_eq!(submitted.document_classifier_arn.as_deref(), Some(ARN));
        assert_eq!(submitted.status.as_deref(), Some("SUBMITTED"));
        assert_eq!(ready(&submitted), "Unknown/Submitted");
        assert_event(&api.event().await, "Created", "Normal");
        api
    })
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!(fake.calls(CREATE), 1);
    assert_eq!(fake.classifiers().len(), 1);
}

#[tokio::test]
async fn a_classifier_created_before_a_lost_write_is_adopted_not_created_again() {
    let mut dc = finalized(new_dc(spec()));
    let fake = Arc::new(FakeComprehend::default());
    created_earlier(&fake, &mut dc, "TRAINING").await;
    // Only the digest was written before the crash.
    let mut recorded = DocumentClassifierStatus::default();
    status::apply_creating(&mut recorded, &dc.spec, at());
    dc.status = Some(recorded);
    let (ctx, api) = setup(&dc, &fake);
    let (result, _) = drive(api, reconcile(Arc::new(dc), ctx), |mut api| async move {
        let adopted = status_of(api.status_patch().await);
        assert_eq!(adopted.document_classifier_arn.as_deref(), Some(ARN));
        assert_eq!(ready(&adopted), "Unknown/Training");
        assert_event(&api.event().await, "Training", "Normal");
        api
    })
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!(fake.calls(LIST), 1);
    assert_eq!(fake.calls(CREATE), 1, "only the earlier create");
}

#[tokio::test]
async fn training_is_followed_until_trained_then_left_alone() {
    let mut dc = finalized(new_dc(spec()));
    let fake = Arc::new(FakeComprehend::default());
    created_earlier(&fake, &mut dc, "SUBMITTED").await;
    fake.set_classifier_status(ARN, "TRAINING");
    let (ctx, api) = setup(&dc, &fake);
    let (result, api) = drive(
        api,
        reconcile(Arc::new(dc), ctx.clone()),
        |mut api| async move {
            let training = status_of(api.status_patch().await);
            assert_eq!(training.status.as_deref(), Some("TRAINING"));
            assert_eq!(ready(&training), "Unknown/Training");
            assert_event(&api.event().await, "Training", "Normal");
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));

    fake.set_classifier_status(ARN, "TRAINED");
    let seen: DocumentClassifier = api.object();
    let (result, api) = drive(
        api,
        reconcile(Arc::new(seen), ctx.clone()),
        |mut api| async move {
            let trained = status_of(api.status_patch().await);
            assert_eq!(trained.status.as_deref(), Some("TRAINED"));
            assert_eq!(ready(&trained), "True/Trained");
            assert_event(&api.event().await, "Trained", "Normal");
            api
        },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);

    // Trained: nothing more to ask Comprehend, nothing to write.
    let seen: DocumentClassifier = api.object();
    let (result, api) = drive(
        api,
        reconcile(Arc::new(seen), ctx),
        |api| async move { api },
    )
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!(fake.calls(DESCRIBE), 2);
    assert_eq!(fake.calls(CREATE), 1, "only the earlier create");
    let stored: DocumentClassifier = api.object();
    assert_eq!(
        classifier_state(Some(&stored), REGION),
        ClassifierState::Ready {
            arn: ARN.into(),
            region: REGION.into()
        },
        "jobs may use it"
    );
}

#[tokio::test]
async fn deletion_with_policy_delete_stops_training_deletes_then_releases() {
    let mut dc = finalized(new_dc(spec()));
    let fake = Arc::new(FakeComprehend::default());
    created_earlier(&fake, &mut dc, "TRAINING").await;
    dc.metadata.deletion_timestamp = Some(Time(fixtures::now()));
    let (ctx, api) = setup(&dc, &fake);

    let seen = fake.clone();
    let (result, api) = drive(
        api,
        reconcile(Arc::new(dc), ctx.clone()),
        |mut api| async move {
            let stopping = status_of(api.status_patch().await);
            assert_eq!((seen.calls(STOP), seen.calls(DELETE)), (1, 0));
            assert_eq!(ready(&stopping), "False/Deleting");
            assert!(message(&stopping).contains("Stopping the training"));
            assert_event(&api.event().await, "Deleting", "Normal");
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));

    // Stopping: wait, and say so (no new event: still Deleting).
    let seen: DocumentClassifier = api.object();
    let (result, api) = drive(
        api,
        reconcile(Arc::new(seen), ctx.clone()),
        |mut api| async move {
            let waiting = status_of(api.status_patch().await);
            assert_eq!(waiting.status.as_deref(), Some("STOP_REQUESTED"));
            assert!(message(&waiting).contains("Waiting for"));
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!((fake.calls(STOP), fake.calls(DELETE)), (1, 0));

    fake.set_classifier_status(ARN, "STOPPED");
    let seen: DocumentClassifier = api.object();
    let (result, api) = drive(
        api,
        reconcile(Arc::new(seen), ctx.clone()),
        |mut api| async move {
            let deleting = status_of(api.status_patch().await);
            assert!(message(&deleting).contains("Deleting the model"));
            api
        },
    )
    .await;
    assert_polls(&result.expect("reconcile"));
    assert_eq!(fake.calls(DELETE), 1);
    assert!(fake.classifiers().is_empty());

    // Gone from Comprehend: the finalizer goes.
    let seen: DocumentClassifier = api.object();
    let (result, api) = drive(api, reconcile(Arc::new(seen), ctx), |mut api| async move {
        assert_eq!(api.json_patch().await, release_patch());
        api
    })
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    let stored: DocumentClassifier = api.object();
    assert!(stored.finalizers().is_empty());
    assert_eq!((fake.calls(STOP), fake.calls(DELETE)), (1, 1));
    assert_eq!(fake.calls(DESCRIBE), 4);
}

#[tokio::test]
async fn deletion_with_policy_retain_releases_without_any_aws_call() {
    let mut retain = spec();
    retain.deletion_policy = DeletionPolicy::Retain;
    let mut dc = finalized(new_dc(retain));
    let fake = Arc::new(FakeComprehend::default());
    created_earlier(&fake, &mut dc, "TRAINED").await;
    dc.metadata.deletion_timestamp = Some(Time(fixtures::now()));
    let (ctx, api) = setup(&dc, &fake);
    let (result, api) = drive(api, reconcile(Arc::new(dc), ctx), |mut api| async move {
        assert_eq!(api.json_patch().await, release_patch());
        api
    })
    .await;
    assert_eq!(requeue_after(&result.expect("reconcile")), None);
    assert_eq!(calls_besides_create(&fake), 0);
    assert_eq!(fake.classifiers().len(), 1, "the model is kept");
    let stored: DocumentClassifier = api.object();
    assert!(stored.finalizers().is_empty());
}
