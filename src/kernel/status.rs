//! Writing a resource's status: server-side apply under one field manager,
//! only when it changes, remembered against a lagging cache, with the event
//! the change deserves.
//!
//! Writes go through a queue that keeps only the latest pending status per
//! object, so a reconcile need not hold a worker while its write waits for
//! one of the few connections: [`StatusWriter::publish`] hands the status
//! over and returns; [`StatusWriter::write`] also waits until it (or a newer
//! one) is stored, for the writes that must land before the reconcile acts
//! (a record before a call to AWS). Writes waited for go first
//! ([`Lane::Waited`]: a record holds up a Start, so a burst of outcomes
//! must not hold it up), then outcomes ([`Lane::Urgent`]); progress
//! (queued, started, running) waits for them ([`Lane::Progress`]), so
//! under load a job that moves on while its progress write waits costs
//! one write, not two. A job's own progress (submitted, running) is also
//! held back for [`HOLD`] before it joins that queue ([`Lane::Held`]), so
//! a job that moves on within that time costs one write, not two, under
//! any load. Events are published after the write, outside the write
//! permits, once no urgent write waits (outcomes reach the API server
//! before the events about them). No crate offers such a coalescing status
//! queue (kube-runtime's controller writes nothing), hence this one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use kube::core::object::HasStatus;
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};
use tracing::warn;

use crate::kernel::conditions::Noticed;
use crate::kernel::error::Error;
use crate::kernel::events::Events;
use crate::kernel::memory::Written;
use crate::settings::Settings;
use crate::telemetry::Metrics;

/// Field manager of the operator's status writes.
pub const MANAGER: &str = "comprehend-operator";

/// Status writes in flight at once, per controller. Each one in flight may
/// need a connection to the API server, and every connection opened stays
/// in the client's pool, so this bounds the idle connections a burst leaves
/// behind (BENCHMARKS.md has the measurements).
const WRITES_IN_FLIGHT: usize = 16;

/// Events in flight at once, apart from the writes. Those waiting hold an
/// object reference and the notice, not the object.
const EVENTS_IN_FLIGHT: usize = 8;

/// How many urgent writes (waited for, or outcomes) wait for a permit.
/// Events wait until none does: when writes pile up (many jobs ending at
/// once) the API server takes the outcomes first, and their events follow.
#[derive(Default)]
struct Backlog {
    waiting: AtomicUsize,
    drained: Notify,
}

impl Backlog {
    fn queued(&self) {
        self.waiting.fetch_add(1, Ordering::SeqCst);
    }

    fn taken(&self) {
        if self.waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.drained.notify_waiters();
        }
    }

    /// Returns once no urgent write waits.
    async fn drained(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            // Registered before the count is read: a drain in between wakes it.
            notified.as_mut().enable();
            if self.waiting.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The longest wait before a failed write is tried again.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// How long a [`Lane::Held`] status waits before it is queued: the most a
/// job's progress is written late. A status replacing it meanwhile is
/// written instead (an outcome at once).
pub(crate) const HOLD: Duration = Duration::from_secs(5);

/// What a [`StatusWriter`] can write: a namespaced resource with a status.
pub(crate) trait Writable:
    Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
    + HasStatus<Status = Self::S>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    type S: Clone + Default + PartialEq + serde::Serialize + Noticed + Send + Sync + 'static;
}

impl<K> Writable for K
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + HasStatus
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    K::Status: Clone + Default + PartialEq + serde::Serialize + Noticed + Send + Sync + 'static,
{
    type S = K::Status;
}

type Waiter = oneshot::Sender<Result<(), String>>;

/// Which queue a status waits in, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Lane {
    /// Written before anything else: statuses someone waits for (a record
    /// before a Start, a flush).
    Waited,
    /// Written before any progress: outcomes.
    Urgent,
    /// Written when no urgent write waits; replaced while it waits.
    Progress,
    /// Progress that joins [`Lane::Progress`] only after [`HOLD`]: what
    /// replaces it meanwhile is written instead, once.
    Held,
}

impl Lane {
    /// The lane's label on the write-delay metric (a held status is
    /// written from the progress lane).
    fn label(self) -> &'static str {
        match self {
            Lane::Waited => "waited",
            Lane::Urgent => "urgent",
            Lane::Progress | Lane::Held => "progress",
        }
    }
}

/// The latest status waiting to be written for one object.
struct Pending<K: Writable> {
    /// Where the object is (not the object: thousands of writes may wait).
    at: Target,
    status: K::S,
    /// The status last stored (or seen) before this one: the event is
    /// for the change from it.
    base: K::S,
    /// Callers waiting for this status (or a newer one) to be stored.
    waiters: Vec<Waiter>,
    /// A write of it is under way.
    in_flight: bool,
    /// Replaced while a write was under way: write again.
    dirty: bool,
    /// When the oldest change not yet stored entered this lane (was handed
    /// over in it, or raised to it): a write's delay, on the metrics, runs
    /// from then, retries included, so each lane shows how long its
    /// changes wait (a queued status raised when its Start comes counts
    /// from the raise; a held one from the end of its hold).
    since: tokio::time::Instant,
    /// When a change arrived (or was raised) while a write was under way:
    /// the next write's `since`.
    replaced_at: Option<tokio::time::Instant>,
    attempts: u32,
    lane: Lane,
}

impl<K: Writable> Pending<K> {
    /// Moves the entry to `lane` if that is more urgent. True when it must
    /// be queued again in that lane: it waits in a less urgent one (or is
    /// held), not under way (the older queue entry then finds it written,
    /// and is skipped).
    fn raise(&mut self, lane: Lane) -> bool {
        if lane >= self.lane {
            return false;
        }
        self.lane = lane;
        // Its wait in the new lane starts now.
        let now = tokio::time::Instant::now();
        if self.in_flight {
            self.replaced_at = Some(now);
        } else {
            self.since = now;
        }
        !self.in_flight
    }
}

/// What a caller waiting for a write hears.
async fn stored(rx: oneshot::Receiver<Result<(), String>>) -> Result<(), Error> {
    match rx.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(Error::Write(message)),
        Err(_) => Err(Error::Write("the status writer stopped".into())),
    }
}

struct Inner<K: Writable> {
    client: Client,
    events: Events,
    metrics: Arc<Metrics>,
    /// Statuses written that the cache has not caught up with.
    written: Written<K::S>,
    pending: Mutex<HashMap<String, Pending<K>>>,
    waited: mpsc::UnboundedSender<String>,
    urgent: mpsc::UnboundedSender<String>,
    progress: mpsc::UnboundedSender<String>,
    /// Held statuses, with when each may join the progress lane.
    held: mpsc::UnboundedSender<(Instant, String)>,
    events_in_flight: Arc<Semaphore>,
    /// Waited-for and urgent writes waiting: events wait for them.
    backlog: Arc<Backlog>,
}

/// Writes statuses for a controller: only when they change, the latest per
/// object, remembered against a lagging cache, counted, each with the event
/// it deserves.
pub(crate) struct StatusWriter<K: Writable> {
    inner: Arc<Inner<K>>,
}

impl<K: Writable> StatusWriter<K> {
    /// A writer with its queue running on the current runtime.
    pub(crate) fn new(client: Client, settings: &Settings, metrics: Arc<Metrics>) -> Self {
        let (waited, waited_rx) = mpsc::unbounded_channel();
        let (urgent, urgent_rx) = mpsc::unbounded_channel();
        let (progress, progress_rx) = mpsc::unbounded_channel();
        let (held, held_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            events: Events::new(client.clone(), &settings.instance),
            client,
            metrics,
            written: Written::default(),
            pending: Mutex::new(HashMap::new()),
            waited,
            urgent,
            progress,
            held,
            events_in_flight: Arc::new(Semaphore::new(EVENTS_IN_FLIGHT)),
            backlog: Arc::default(),
        });
        tokio::spawn(drain(
            Arc::downgrade(&inner),
            [waited_rx, urgent_rx, progress_rx],
        ));
        tokio::spawn(release_held(Arc::downgrade(&inner), held_rx));
        StatusWriter { inner }
    }

    /// The object with the newest status the operator knows of: one waiting
    /// to be written, else one written that the cache has not seen yet,
    /// else its own.
    pub(crate) fn freshest(&self, obj: Arc<K>) -> Arc<K> {
        let uid = obj.uid().unwrap_or_default();
        let pending = self.inner.lock().get(&uid).map(|p| p.status.clone());
        match pending {
            Some(status) => {
                let mut newer = (*obj).clone();
                *newer.status_mut() = Some(status);
                Arc::new(newer)
            }
            None => self.inner.written.freshest(obj),
        }
    }

    /// Forgets written statuses the cache (UID to resourceVersion, read
    /// from `read_began` on) has, or whose objects are gone.
    pub(crate) fn prune(&self, cached_rv: &HashMap<String, u64>, read_began: Instant) {
        self.inner.written.prune(cached_rv, read_began);
        crate::kernel::memory::shrink_if_sparse(&mut self.inner.lock());
    }

    /// Hands `new` over to be written in `lane` if it differs from what the
    /// object has (or what waits to be written for it), and returns at
    /// once; a status still waiting for its turn is replaced, not written
    /// too.
    pub(crate) fn publish(&self, obj: &K, new: &K::S, lane: Lane) {
        self.enqueue(obj, new, None, lane);
    }

    /// As [`Self::publish`], and waits until `new` (or a newer status) is
    /// stored.
    pub(crate) async fn write(&self, obj: &K, new: &K::S) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        if !self.enqueue(obj, new, Some(tx), Lane::Waited) {
            return Ok(());
        }
        stored(rx).await
    }

    /// Waits until nothing is left to write for `obj` (what waits is
    /// written ahead of the rest).
    pub(crate) async fn flush(&self, obj: &K) -> Result<(), Error> {
        let uid = obj.uid().unwrap_or_default();
        let (rx, promote) = {
            let mut pending = self.inner.lock();
            let Some(p) = pending.get_mut(&uid) else {
                return Ok(());
            };
            let (tx, rx) = oneshot::channel();
            p.waiters.push(tx);
            // Someone waits for it now: it goes ahead of the rest.
            (rx, p.raise(Lane::Waited))
        };
        if promote {
            self.inner.send(uid, Lane::Waited);
        }
        stored(rx).await
    }

    /// Whether a write of `obj`'s status is waiting or under way.
    #[cfg(test)]
    pub(crate) fn is_pending(&self, obj: &K) -> bool {
        self.inner
            .lock()
            .contains_key(&obj.uid().unwrap_or_default())
    }

    /// Queues `new` for `obj` in `lane`; answers false when there is
    /// nothing to write (then `waiter` is not needed).
    fn enqueue(&self, obj: &K, new: &K::S, waiter: Option<Waiter>, lane: Lane) -> bool {
        let uid = obj.uid().unwrap_or_default();
        let mut pending = self.inner.lock();
        if let Some(p) = pending.get_mut(&uid) {
            if &p.status != new {
                p.status = new.clone();
                p.attempts = 0;
                if p.in_flight {
                    p.dirty = true;
                    p.replaced_at.get_or_insert_with(tokio::time::Instant::now);
                }
            }
            p.waiters.extend(waiter);
            let promote = p.raise(lane);
            drop(pending);
            if promote {
                self.inner.send(uid, lane);
            }
            return true;
        }
        let old = obj.status().cloned().unwrap_or_default();
        if &old == new {
            return false;
        }
        pending.insert(
            uid.clone(),
            Pending {
                at: Target::of(obj),
                status: new.clone(),
                base: old,
                waiters: waiter.into_iter().collect(),
                in_flight: false,
                dirty: false,
                since: tokio::time::Instant::now(),
                replaced_at: None,
                attempts: 0,
                lane,
            },
        );
        drop(pending);
        self.inner.send(uid, lane);
        true
    }
}

impl<K: Writable> Inner<K> {
    fn send(&self, uid: String, lane: Lane) {
        // A send fails only once the writer is being dropped.
        match lane {
            Lane::Waited | Lane::Urgent => {
                let queue = if lane == Lane::Waited {
                    &self.waited
                } else {
                    &self.urgent
                };
                if queue.send(uid).is_ok() {
                    self.backlog.queued();
                }
            }
            Lane::Progress => drop(self.progress.send(uid)),
            Lane::Held => drop(self.held.send((Instant::now() + HOLD, uid))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending<K>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the latest status pending for `uid`, then settles the entry:
    /// done, again (replaced meanwhile), retried later, or dropped (the
    /// object is gone).
    async fn write_one(self: Arc<Self>, uid: String) {
        let (obj, status, lane, since) = {
            let mut pending = self.lock();
            let Some(p) = pending.get_mut(&uid) else {
                return;
            };
            p.in_flight = true;
            p.dirty = false;
            // This write carries every change so far.
            p.replaced_at = None;
            (p.at.clone(), p.status.clone(), p.lane, p.since)
        };
        let result = apply_status_at::<K, _>(&self.client, &obj, &status).await;
        let mut pending = self.lock();
        let Some(p) = pending.get_mut(&uid) else {
            return;
        };
        p.in_flight = false;
        match result {
            Ok(written) => {
                self.metrics.status_written(lane.label(), since.elapsed());
                self.written.remember(&written, status.clone());
                if let Some(notice) = status.notice_since(&p.base) {
                    let events = self.events.clone();
                    let permits = self.events_in_flight.clone();
                    let backlog = self.backlog.clone();
                    let regarding = written.object_ref(&());
                    tokio::spawn(async move {
                        let _permit = permits.acquire_owned().await;
                        backlog.drained().await;
                        events.publish(regarding, &notice).await;
                    });
                }
                p.base = status;
                if p.dirty {
                    p.since = p
                        .replaced_at
                        .take()
                        .unwrap_or_else(tokio::time::Instant::now);
                    let lane = p.lane;
                    drop(pending);
                    self.send(uid, lane);
                } else if let Some(done) = pending.remove(&uid) {
                    for w in done.waiters {
                        let _ = w.send(Ok(()));
                    }
                }
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {
                // The object is gone: nothing left to write.
                if let Some(gone) = pending.remove(&uid) {
                    for w in gone.waiters {
                        let _ = w.send(Err(format!("{} is gone", obj.name)));
                    }
                }
            }
            Err(e) => {
                warn!(object = %obj.name, error = %e, "status write failed; retrying");
                self.metrics.reconcile_error("kube");
                // Those waiting hear of it (their reconcile is retried);
                // the status itself is written again after a backoff.
                for w in p.waiters.drain(..) {
                    let _ = w.send(Err(e.to_string()));
                }
                p.attempts = p.attempts.saturating_add(1);
                let delay = Duration::from_millis(200)
                    .saturating_mul(1u32 << p.attempts.min(8))
                    .min(MAX_RETRY_DELAY);
                let lane = p.lane;
                drop(pending);
                let inner = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    inner.send(uid, lane);
                });
            }
        }
    }
}

/// Takes objects off the queues (waited for, urgent, progress), the most
/// urgent first, and writes each, [`WRITES_IN_FLIGHT`] at a time, until the
/// writer is dropped.
async fn drain<K: Writable>(
    inner: std::sync::Weak<Inner<K>>,
    [mut waited, mut urgent, mut progress]: [mpsc::UnboundedReceiver<String>; 3],
) {
    let permits = Arc::new(Semaphore::new(WRITES_IN_FLIGHT));
    loop {
        // A permit first, then the most urgent object waiting.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (uid, lane) = tokio::select! {
            biased;
            Some(uid) = waited.recv() => (uid, Lane::Waited),
            Some(uid) = urgent.recv() => (uid, Lane::Urgent),
            Some(uid) = progress.recv() => (uid, Lane::Progress),
            else => return,
        };
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if lane < Lane::Progress {
            inner.backlog.taken();
        }
        // Queued again while under way (replaced meanwhile): the write
        // that finishes re-queues it.
        if inner.lock().get(&uid).is_none_or(|p| p.in_flight) {
            continue;
        }
        tokio::spawn(async move {
            inner.write_one(uid).await;
            drop(permit);
        });
    }
}

/// Moves each held status into the progress lane once its hold is over,
/// unless it was raised (or written) meanwhile, until the writer is
/// dropped. One hold for all, so the due times arrive in order.
async fn release_held<K: Writable>(
    inner: std::sync::Weak<Inner<K>>,
    mut held: mpsc::UnboundedReceiver<(Instant, String)>,
) {
    while let Some((due, uid)) = held.recv().await {
        tokio::time::sleep_until(due.into()).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let release = {
            let mut pending = inner.lock();
            match pending.get_mut(&uid) {
                Some(p) => p.raise(Lane::Progress),
                None => false,
            }
        };
        if release {
            inner.send(uid, Lane::Progress);
        }
    }
}

/// Where an object is: namespace and name.
#[derive(Clone, Debug)]
struct Target {
    namespace: String,
    name: String,
}

impl Target {
    fn of<K: Resource>(obj: &K) -> Self {
        Target {
            namespace: obj.namespace().unwrap_or_default(),
            name: obj.name_any(),
        }
    }
}

/// Writes `status` into the status subresource of the object at `obj` with
/// server-side apply (the operator owns every status field); answers the
/// object written.
async fn apply_status_at<K, S>(client: &Client, obj: &Target, status: &S) -> kube::Result<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: serde::Serialize,
{
    let api: Api<K> = Api::namespaced(client.clone(), &obj.namespace);
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::conditions::Notice;
    use crate::kernel::testing::{mock_api, Received};
    use http::StatusCode;
    use kube::CustomResource;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// A resource of the tests' own: the kernel knows no CRD of the
    /// operator.
    #[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
    #[kube(
        group = "test.invalid",
        version = "v1",
        kind = "Widget",
        namespaced,
        status = "WidgetStatus"
    )]
    struct WidgetSpec {}

    #[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
    struct WidgetStatus {
        step: u32,
    }

    impl Noticed for WidgetStatus {
        /// An event for step 9 only (an outcome).
        fn notice_since(&self, old: &Self) -> Option<Notice> {
            (self.step == 9 && old.step != 9).then(|| Notice {
                warning: false,
                reason: "Done",
                note: String::new(),
            })
        }
    }

    fn widget() -> Widget {
        let mut w = Widget::new("w", WidgetSpec {});
        w.metadata.namespace = Some("ns".into());
        w.metadata.uid = Some("u1".into());
        w.metadata.resource_version = Some("1".into());
        w
    }

    /// A second widget beside [`widget`]: `b`, UID `u2`.
    fn widget_b() -> Widget {
        let mut b = widget();
        b.metadata.name = Some("b".into());
        b.metadata.uid = Some("u2".into());
        b
    }

    /// Answers a status write with `obj` stored at `step`.
    fn answer_stored(received: Received, obj: &Widget, step: u32) {
        let mut stored = obj.clone();
        stored.status = Some(WidgetStatus { step });
        received.answer(StatusCode::OK, &serde_json::to_value(&stored).unwrap());
    }

    fn writer(client: Client) -> StatusWriter<Widget> {
        StatusWriter::new(client, &Settings::default(), Arc::new(Metrics::default()))
    }

    #[tokio::test]
    async fn only_the_latest_pending_status_is_written() {
        let obj = widget();
        let (client, mut api) = mock_api(&obj);
        let writer = writer(client);
        // Handed over back to back, before the queue runs: one write.
        for step in 1..=3 {
            writer.publish(&obj, &WidgetStatus { step }, Lane::Progress);
        }
        assert_eq!(api.status_patch().await["step"], 3);
        let fresh = writer.freshest(Arc::new(obj.clone()));
        assert_eq!(fresh.status.as_ref().map(|s| s.step), Some(3));
        tokio::time::sleep(Duration::from_millis(50)).await;
        api.assert_idle();
        assert!(!writer.is_pending(&obj));
        // The same status again is no write at all.
        writer.publish(&*fresh, &WidgetStatus { step: 3 }, Lane::Progress);
        assert!(!writer.is_pending(&obj));
    }

    #[tokio::test]
    async fn urgent_writes_go_before_progress_waiting_longer() {
        let (a, b) = (widget(), widget_b());
        let (client, mut api) = mock_api(&a);
        let writer = writer(client);
        // Handed over before the queue runs: the outcome of b goes first.
        writer.publish(&a, &WidgetStatus { step: 1 }, Lane::Progress);
        writer.publish(&b, &WidgetStatus { step: 2 }, Lane::Urgent);
        let first = api.next().await;
        assert!(first.path.ends_with("/widgets/b/status"), "{}", first.path);
        answer_stored(first, &b, 2);
        assert_eq!(api.status_patch().await["step"], 1);
    }

    #[tokio::test]
    async fn a_write_someone_waits_for_goes_before_outcomes_waiting_longer() {
        let (a, b) = (widget(), widget_b());
        let (client, mut api) = mock_api(&a);
        let writer = writer(client);
        // Handed over before the queue runs: a's outcome first, then b's
        // record, which a Start waits for; the record goes first.
        writer.publish(&a, &WidgetStatus { step: 9 }, Lane::Urgent);
        let mut recorded = Box::pin(writer.write(&b, &WidgetStatus { step: 1 }));
        assert!(futures::poll!(recorded.as_mut()).is_pending());
        let first = api.next().await;
        assert!(first.path.ends_with("/widgets/b/status"), "{}", first.path);
        answer_stored(first, &b, 1);
        recorded.await.expect("stored");
        assert_eq!(api.status_patch().await["step"], 9);
    }

    #[tokio::test]
    async fn a_progress_write_someone_waits_for_goes_ahead() {
        let (a, b) = (widget(), widget_b());
        let (client, mut api) = mock_api(&a);
        let writer = writer(client);
        writer.publish(&b, &WidgetStatus { step: 2 }, Lane::Progress);
        writer.publish(&a, &WidgetStatus { step: 1 }, Lane::Progress);
        let mut flushed = Box::pin(writer.flush(&a));
        assert!(futures::poll!(flushed.as_mut()).is_pending());
        // a waited behind b; someone waits for it now, so it goes first.
        assert_eq!(api.status_patch().await["step"], 1);
        flushed.await.expect("stored");
        let second = api.next().await;
        assert!(
            second.path.ends_with("/widgets/b/status"),
            "{}",
            second.path
        );
    }

    #[tokio::test]
    async fn a_status_replaced_while_in_flight_is_written_after_it() {
        let obj = widget();
        let (client, mut api) = mock_api(&obj);
        let writer = writer(client);
        writer.publish(&obj, &WidgetStatus { step: 1 }, Lane::Progress);
        let first = api.next().await;
        assert_eq!(first.body["status"]["step"], 1);
        // Under way: the newer one waits for it, then goes.
        writer.publish(&obj, &WidgetStatus { step: 2 }, Lane::Progress);
        let mut stored = api.object::<Widget>();
        stored.status = Some(WidgetStatus { step: 1 });
        stored.metadata.resource_version = Some("2".into());
        first.answer(StatusCode::OK, &serde_json::to_value(&stored).unwrap());
        assert_eq!(api.status_patch().await["step"], 2);
    }

    #[tokio::test]
    async fn events_wait_while_urgent_writes_wait() {
        let backlog = Arc::new(Backlog::default());
        // Nothing waits: an event goes at once.
        backlog.drained().await;
        backlog.queued();
        backlog.queued();
        let waiting = backlog.clone();
        let mut event = tokio::spawn(async move { waiting.drained().await });
        backlog.taken();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            futures::poll!(&mut event).is_pending(),
            "one write still waits"
        );
        backlog.taken();
        tokio::time::timeout(Duration::from_secs(1), event)
            .await
            .expect("the event goes once no write waits")
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_status_waits_its_hold_and_only_the_latest_is_written() {
        let obj = widget();
        let (client, mut api) = mock_api(&obj);
        let writer = writer(client);
        let began = tokio::time::Instant::now();
        writer.publish(&obj, &WidgetStatus { step: 1 }, Lane::Held);
        tokio::time::sleep(HOLD / 2).await;
        api.assert_idle();
        // Replaced while held: one write, of the latest, when the first
        // hold is over (not one hold later).
        writer.publish(&obj, &WidgetStatus { step: 2 }, Lane::Held);
        tokio::time::sleep(HOLD / 2 - Duration::from_millis(10)).await;
        api.assert_idle();
        assert_eq!(api.status_patch().await["step"], 2);
        let waited = began.elapsed();
        assert!(
            waited >= HOLD && waited < HOLD + Duration::from_millis(100),
            "{waited:?}"
        );
        tokio::time::sleep(HOLD * 2).await;
        api.assert_idle();
        assert!(!writer.is_pending(&obj));
    }

    #[tokio::test(start_paused = true)]
    async fn each_write_s_delay_runs_from_its_change_entering_the_lane() {
        let (a, b) = (widget(), widget_b());
        let (client, mut api) = mock_api(&a);
        let metrics = Arc::new(Metrics::default());
        let writer = Arc::new(StatusWriter::new(
            client,
            &Settings::default(),
            metrics.clone(),
        ));
        // a's progress is held; halfway through, a Start waits for a's
        // record: written at once, and its delay (answered 200 ms later)
        // runs from the raise, not from the held change.
        writer.publish(&a, &WidgetStatus { step: 1 }, Lane::Held);
        tokio::time::sleep(HOLD / 2).await;
        let (w, o) = (writer.clone(), a.clone());
        let waiting = tokio::spawn(async move { w.write(&o, &WidgetStatus { step: 2 }).await });
        let record = api.next().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        answer_stored(record, &a, 2);
        waiting.await.unwrap().expect("stored");
        // b's progress is held, then written from the progress lane at
        // once, answered 300 ms later: the hold is not the lane's wait.
        writer.publish(&b, &WidgetStatus { step: 7 }, Lane::Held);
        let progress = api.next().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        answer_stored(progress, &b, 7);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let text = metrics.encode();
        let value = |name: &str, lane: &str| -> f64 {
            let prefix = format!(
                "comprehend_operator_status_write_delay_seconds_{name}{{lane=\"{lane}\"}} "
            );
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
        };
        assert_eq!(value("count", "waited"), 1.0);
        let waited = value("sum", "waited");
        assert!((0.2..0.25).contains(&waited), "{waited}");
        assert_eq!(value("count", "progress"), 1.0);
        let progress = value("sum", "progress");
        assert!((0.3..0.35).contains(&progress), "{progress}");
        assert!(!text.contains("lane=\"urgent\""), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_outcome_replacing_a_held_status_is_written_at_once() {
        let obj = widget();
        let (client, mut api) = mock_api(&obj);
        let writer = writer(client);
        let began = tokio::time::Instant::now();
        writer.publish(&obj, &WidgetStatus { step: 1 }, Lane::Held);
        writer.publish(&obj, &WidgetStatus { step: 2 }, Lane::Urgent);
        assert_eq!(api.status_patch().await["step"], 2);
        assert!(began.elapsed() < HOLD, "{:?}", began.elapsed());
        // The hold that ends later finds nothing left to write.
        tokio::time::sleep(HOLD * 2).await;
        api.assert_idle();
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_status_someone_waits_for_is_written_at_once() {
        let obj = widget();
        let (client, mut api) = mock_api(&obj);
        let writer = writer(client);
        writer.publish(&obj, &WidgetStatus { step: 1 }, Lane::Held);
        let began = tokio::time::Instant::now();
        let flushed = writer.flush(&obj);
        let (_, step) = tokio::join!(flushed, api.status_patch());
        assert_eq!(step["step"], 1);
        assert!(began.elapsed() < HOLD, "{:?}", began.elapsed());
    }

    #[tokio::test]
    async fn write_waits_until_stored_and_the_event_follows() {
        let obj = widget();
        let (client, mut api) = mock_api(&obj);
        let writer = Arc::new(writer(client));
        let w = writer.clone();
        let o = obj.clone();
        let waiting = tokio::spawn(async move { w.write(&o, &WidgetStatus { step: 9 }).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "answered before the write was");
        assert_eq!(api.status_patch().await["step"], 9);
        waiting.await.unwrap().expect("stored");
        let event = api.event().await;
        assert_eq!(event["reason"], "Done");
    }

    #[tokio::test]
    async fn a_failed_write_is_retried_and_its_waiter_hears_of_it() {
        let obj = widget();
        let (client, mut api) = mock_api(&obj);
        let writer = Arc::new(writer(client));
        let w = writer.clone();
        let o = obj.clone();
        let waiting = tokio::spawn(async move { w.write(&o, &WidgetStatus { step: 4 }).await });
        let failed = api.next().await;
        failed.answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": "etcd is down", "reason": "InternalError", "code": 500
            }),
        );
        let err = waiting.await.unwrap().expect_err("the waiter hears of it");
        assert!(err.to_string().contains("etcd is down"), "{err}");
        // Written again after a backoff, without anyone asking.
        assert_eq!(api.status_patch().await["step"], 4);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!writer.is_pending(&obj));
    }

    #[tokio::test]
    async fn a_write_for_an_object_gone_is_dropped() {
        let obj = widget();
        let (client, mut api) = mock_api(&obj);
        let writer = writer(client);
        writer.publish(&obj, &WidgetStatus { step: 5 }, Lane::Urgent);
        let req = api.next().await;
        req.answer(
            StatusCode::NOT_FOUND,
            &serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": "not found", "reason": "NotFound", "code": 404
            }),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!writer.is_pending(&obj));
        api.assert_idle();
    }
}
