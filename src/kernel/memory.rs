//! What a controller remembers between reconciles, shared by the
//! ClassificationJob and DocumentClassifier controllers: statuses it wrote
//! that its cache has not seen yet, and consecutive failures for backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::core::object::HasStatus;
use kube::{Resource, ResourceExt};
use rand::Rng;

/// The `metadata.resourceVersion` of an object as a number (0 if absent).
pub fn resource_version<K: Resource>(obj: &K) -> u64 {
    obj.meta()
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0)
}

/// Gives back the table of a map that a burst grew and that is now mostly
/// empty. `retain` and `remove` never shrink a `HashMap`, so a map that
/// once held an entry for each of 10,000 objects keeps a table of that size
/// (megabytes, with statuses inline) for ever after; called after pruning.
pub fn shrink_if_sparse<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if let Some(to) = sparse_shrink_to(map.len(), map.capacity()) {
        map.shrink_to(to);
    }
}

/// The capacity to shrink a hashed table (map or set) of `len` entries to,
/// if a burst left it mostly empty: the rule of [`shrink_if_sparse`].
pub fn sparse_shrink_to(len: usize, capacity: usize) -> Option<usize> {
    (capacity > 64 && len * 4 < capacity).then_some(len * 2)
}

/// Status last written per UID, with the resourceVersion the write
/// produced, until the cache has caught up with it. A lagging cache then
/// never looks like an older state (such as "not started").
pub struct Written<S> {
    /// UID -> (resourceVersion written, status, when remembered).
    by_uid: Mutex<HashMap<String, (u64, S, Instant)>>,
}

impl<S: Clone> Default for Written<S> {
    fn default() -> Self {
        Written {
            by_uid: Mutex::new(HashMap::new()),
        }
    }
}

impl<S: Clone> Written<S> {
    /// The status written for `obj` if it is newer than the object's own.
    pub fn newer_than<K: Resource>(&self, obj: &K) -> Option<S> {
        let uid = obj.uid().unwrap_or_default();
        let cached_rv = resource_version(obj);
        let mut map = self.by_uid.lock().expect("written lock");
        match map.get(&uid) {
            Some((rv, status, _)) if *rv > cached_rv => Some(status.clone()),
            Some(_) => {
                map.remove(&uid);
                None
            }
            None => None,
        }
    }

    /// The object with the newest status known: its own, or the one
    /// written for it that the cache has not seen yet.
    pub fn freshest<K>(&self, obj: Arc<K>) -> Arc<K>
    where
        K: Resource + HasStatus<Status = S> + Clone,
    {
        match self.newer_than(&*obj) {
            Some(status) => {
                let mut newer = (*obj).clone();
                *newer.status_mut() = Some(status);
                Arc::new(newer)
            }
            None => obj,
        }
    }

    /// Remembers the status a write produced.
    pub fn remember<K: Resource>(&self, written: &K, status: S) {
        self.by_uid.lock().expect("written lock").insert(
            written.uid().unwrap_or_default(),
            (resource_version(written), status, Instant::now()),
        );
    }

    /// Keeps only what the cache (UID to resourceVersion, read from
    /// `read_began` on) has not caught up with; forgets objects that are
    /// gone. What was remembered after the read began is kept whatever the
    /// read says: an object created meanwhile is not in it, and is not gone.
    pub fn prune(&self, cached_rv: &HashMap<String, u64>, read_began: Instant) {
        let mut map = self.by_uid.lock().expect("written lock");
        map.retain(|uid, (rv, _, at)| {
            *at >= read_began || cached_rv.get(uid).is_some_and(|cached| cached < rv)
        });
        shrink_if_sparse(&mut map);
    }
}

/// Consecutive retryable failures per UID: exponential backoff from 1 s,
/// capped, with jitter.
#[derive(Default)]
pub struct Failures {
    /// UID -> (consecutive failures, when the last was counted).
    by_uid: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Failures {
    /// Counts one more failure of `obj` and answers how long to wait.
    pub fn backoff<K: Resource>(&self, obj: &K, max: Duration) -> Duration {
        let mut map = self.by_uid.lock().expect("failures lock");
        let (n, at) = map
            .entry(obj.uid().unwrap_or_default())
            .or_insert((0, Instant::now()));
        *n = n.saturating_add(1);
        *at = Instant::now();
        let base = Duration::from_secs(1).saturating_mul(1u32 << (*n - 1).min(16));
        base.min(max).mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    /// `obj` did well: its next failure starts from 1 s again.
    pub fn reset<K: Resource>(&self, obj: &K) {
        self.by_uid
            .lock()
            .expect("failures lock")
            .remove(&obj.uid().unwrap_or_default());
    }

    /// Forgets objects that are gone: not in the cache read from
    /// `read_began` on, and no failure counted since.
    pub fn prune(&self, cached_rv: &HashMap<String, u64>, read_began: Instant) {
        let mut map = self.by_uid.lock().expect("failures lock");
        map.retain(|uid, (_, at)| *at >= read_began || cached_rv.contains_key(uid));
        shrink_if_sparse(&mut map);
    }
}

/// Drops what the controllers never read from an object before it is
/// cached: `managedFields` and kubectl's last-applied-configuration
/// annotation, which together are most of a stored object.
pub fn slim<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
    if let Some(annotations) = obj.meta_mut().annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// Hands memory glibc's malloc holds but no longer uses back to the system.
/// The operator's own allocations go to jemalloc, which purges on its own
/// (see `src/main.rs`); glibc's malloc still serves C code (the TLS
/// library's buffers of a burst of connections), and it keeps what they
/// freed in its arenas until `malloc_trim`. Elsewhere this does nothing.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the kernel; it takes no
    // pointer and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A poll delay: `interval` jittered by ±10%, so resources created together
/// do not poll together for ever.
pub fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(rand::rng().random_range(0.9..=1.1))
}

#[cfg(test)]
mod tests {
    use super::*;
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
        job_id: Option<String>,
    }

    fn obj(uid: &str, rv: u64) -> Widget {
        let mut widget = Widget::new("w", WidgetSpec {});
        widget.metadata.uid = Some(uid.into());
        widget.metadata.resource_version = Some(rv.to_string());
        widget
    }

    #[test]
    fn written_status_wins_until_the_cache_catches_up() {
        let written: Written<WidgetStatus> = Written::default();
        let status = WidgetStatus {
            job_id: Some("abc".into()),
        };
        written.remember(&obj("u1", 10), status.clone());
        assert_eq!(written.newer_than(&obj("u1", 9)), Some(status));
        assert_eq!(written.newer_than(&obj("u1", 10)), None);
        // Forgotten once seen.
        assert_eq!(written.newer_than(&obj("u1", 9)), None);
        assert_eq!(written.newer_than(&obj("u2", 1)), None);
    }

    #[test]
    fn freshest_carries_the_written_status_until_the_cache_has_it() {
        let written: Written<WidgetStatus> = Written::default();
        let status = WidgetStatus {
            job_id: Some("abc".into()),
        };
        written.remember(&obj("u1", 10), status.clone());
        let lagging = written.freshest(Arc::new(obj("u1", 9)));
        assert_eq!(lagging.status, Some(status));
        let current = written.freshest(Arc::new(obj("u1", 10)));
        assert_eq!(current.status, None);
    }

    #[test]
    fn backoff_doubles_and_resets() {
        let failures = Failures::default();
        let o = obj("u1", 1);
        let max = Duration::from_secs(4);
        let waits: Vec<Duration> = (0..5).map(|_| failures.backoff(&o, max)).collect();
        assert!(waits[0] <= Duration::from_secs(1));
        assert!(waits[2] >= Duration::from_secs(2));
        assert!(waits.iter().all(|w| *w <= max));
        failures.reset(&o);
        assert!(failures.backoff(&o, max) <= Duration::from_secs(1));
    }

    #[test]
    fn a_prune_after_a_burst_gives_the_table_back() {
        let written: Written<WidgetStatus> = Written::default();
        let mut cached_rv = HashMap::new();
        for i in 0..10_000 {
            let uid = format!("u{i}");
            written.remember(&obj(&uid, 2), WidgetStatus::default());
            cached_rv.insert(uid, 1);
        }
        let burst = written.by_uid.lock().unwrap().capacity();
        assert!(burst >= 10_000);
        // The cache caught up with all but ten.
        for i in 10..10_000 {
            cached_rv.insert(format!("u{i}"), 2);
        }
        written.prune(&cached_rv, Instant::now());
        let map = written.by_uid.lock().unwrap();
        assert_eq!(map.len(), 10);
        assert!(map.capacity() < 100, "capacity {} kept", map.capacity());
    }

    #[test]
    fn what_is_remembered_after_the_cache_was_read_is_not_taken_for_gone() {
        let written: Written<WidgetStatus> = Written::default();
        let failures = Failures::default();
        let max = Duration::from_secs(4);
        written.remember(&obj("gone", 2), WidgetStatus::default());
        let _ = failures.backoff(&obj("gone", 2), max);
        // The cache is read (neither object in it); meanwhile an object is
        // created, written and fails: it is not in the read, yet not gone.
        let read_began = Instant::now();
        let cached_rv = HashMap::new();
        written.remember(&obj("new", 2), WidgetStatus::default());
        let _ = failures.backoff(&obj("new", 2), max);
        written.prune(&cached_rv, read_began);
        failures.prune(&cached_rv, read_began);
        assert!(
            written.newer_than(&obj("new", 1)).is_some(),
            "the write is kept"
        );
        assert!(written.newer_than(&obj("gone", 1)).is_none());
        let counted = failures.by_uid.lock().unwrap().clone();
        assert_eq!(counted.keys().collect::<Vec<_>>(), ["new"]);
    }
}
