//! Watching resources: one cached watch per scope, with what the
//! controllers never read dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use kube::runtime::reflector;
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource, ResourceExt};
use tokio::sync::{mpsc, watch};

use crate::kernel::memory::{shrink_if_sparse, slim};

/// Objects of a scope kept out of its cache: those a controller never needs
/// to look at again (settled, quiet resources), so that thousands of them
/// cost a map entry each rather than a cached object. A change that makes
/// one need a look again (a spec edit, a deletion) comes with the whole
/// object, which is cached again.
pub(crate) struct LeftOut<K> {
    /// The summary to keep of an object left out, or None to cache it.
    pub summary: fn(&K) -> Option<String>,
    /// UID to summary of the objects left out.
    pub map: Arc<Mutex<HashMap<String, String>>>,
}

impl<K> Clone for LeftOut<K> {
    fn clone(&self) -> Self {
        LeftOut {
            summary: self.summary,
            map: self.map.clone(),
        }
    }
}

impl<K> LeftOut<K> {
    /// Keeps out objects for which `summary` gives one.
    pub fn new(summary: fn(&K) -> Option<String>) -> Self {
        LeftOut {
            summary,
            map: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The summaries of the objects left out.
    pub fn summaries(&self) -> Vec<String> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Turns the events of objects to leave out into what keeps them out of
/// the cache: an object listed is skipped, an object changed is deleted
/// from the cache (it may have been cached before it settled).
pub(crate) fn leave_out<K, S>(
    events: S,
    left: LeftOut<K>,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send
where
    K: Resource + Send + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send,
{
    use watcher::Event;
    events.filter_map(move |event| {
        // Notes the object as left out (false) or cached (true).
        let cached = |obj: &K| {
            let uid = obj.uid().unwrap_or_default();
            match (left.summary)(obj) {
                Some(summary) => {
                    left.lock().insert(uid, summary);
                    false
                }
                None => {
                    left.lock().remove(&uid);
                    true
                }
            }
        };
        let out = match event {
            Ok(Event::InitApply(obj)) => cached(&obj).then_some(Ok(Event::InitApply(obj))),
            // Left out now, it may have been cached before it settled.
            Ok(Event::Apply(obj)) => Some(Ok(if cached(&obj) {
                Event::Apply(obj)
            } else {
                Event::Delete(obj)
            })),
            Ok(Event::Delete(obj)) => {
                left.lock().remove(&obj.uid().unwrap_or_default());
                Some(Ok(Event::Delete(obj)))
            }
            // A new list rebuilds the map.
            Ok(Event::Init) => {
                left.lock().clear();
                Some(Ok(Event::Init))
            }
            other => Some(other),
        };
        std::future::ready(out)
    })
}

/// The objects to reconcile from a scope's watch events: an object is
/// passed on when `needs` says it needs a look and its generation differs
/// from the one last passed for its UID (a new object, a spec edit, a
/// deletion begun), not when only its status or metadata changed, so the
/// operator's own status writes set off no reconcile. An object deleted,
/// left out of the cache or needing no look is forgotten (it is passed on
/// again if it needs one later); a relist passes on only what changed
/// meanwhile and forgets what it no longer finds.
///
/// kube-runtime's `predicate_filter(predicates::generation)` filters the
/// same way, but its cache keeps an entry per object for an hour after the
/// object is gone or settled, and never gives back its capacity: after a
/// burst of 10,000 resources its table alone held 1.8 MB (BENCHMARKS.md). This
/// one shrinks when a burst leaves it sparse.
pub(crate) fn changed_generations<K, S>(
    events: S,
    needs: fn(&K) -> bool,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send
where
    K: Resource + Send + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send,
{
    use watcher::Event;
    // UID -> generation last passed on.
    let mut passed: HashMap<String, Option<i64>> = HashMap::new();
    // During a relist: what was passed on before it began.
    let mut before: Option<HashMap<String, Option<i64>>> = None;
    events.filter_map(move |event| {
        let pass = |obj: K, uid: String, last: Option<Option<i64>>, passed: &mut HashMap<_, _>| {
            if !needs(&obj) {
                passed.remove(&uid);
                return None;
            }
            let generation = obj.meta().generation;
            passed.insert(uid, generation);
            // No generation to compare: always a change.
            (generation.is_none() || last != Some(generation)).then_some(Ok(obj))
        };
        let out = match event {
            Ok(Event::Init) => {
                before = Some(std::mem::take(&mut passed));
                None
            }
            Ok(Event::InitApply(obj)) => {
                let uid = obj.uid().unwrap_or_default();
                let last = before.as_mut().and_then(|b| b.remove(&uid));
                pass(obj, uid, last, &mut passed)
            }
            Ok(Event::InitDone) => {
                before = None;
                shrink_if_sparse(&mut passed);
                None
            }
            Ok(Event::Apply(obj)) => {
                let uid = obj.uid().unwrap_or_default();
                let last = passed.get(&uid).copied();
                pass(obj, uid, last, &mut passed)
            }
            Ok(Event::Delete(obj)) => {
                passed.remove(&obj.uid().unwrap_or_default());
                shrink_if_sparse(&mut passed);
                None
            }
            Err(e) => Some(Err(e)),
        };
        std::future::ready(out)
    })
}

/// The watch of one scope (all namespaces, or one), with what the
/// controllers never read dropped ([`slim`]), the objects `left` says to
/// leave out kept out, and the rest mirrored into `writer`; `synced`, if
/// given, turns true once the initial list is in the store.
pub(crate) fn cached_watch<K>(
    client: &Client,
    namespace: &Option<String>,
    writer: reflector::store::Writer<K>,
    synced: Option<watch::Sender<bool>>,
    left: Option<LeftOut<K>>,
) -> impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let events = watcher(
        scoped::<K>(client, namespace),
        // The initial list in pages of 500 (from etcd: the watch cache
        // would answer everything at once, ignoring the limit), each object
        // slimmed or left out as it arrives, so a restart over thousands of
        // resources never holds one huge answer.
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(slim);
    let events = match left {
        Some(left) => leave_out(events, left).left_stream(),
        None => events.right_stream(),
    };
    events.reflect(writer).inspect(move |event| {
        if let (Some(synced), Ok(watcher::Event::InitDone)) = (&synced, event) {
            let _ = synced.send(true);
        }
    })
}

/// An `Api` over all namespaces, or over one.
pub fn scoped<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A stream of what arrives on `rx`.
pub fn tokio_stream_from<T: Send + 'static>(
    mut rx: mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use watcher::Event;

    fn cm(uid: &str, settled: bool) -> ConfigMap {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(uid.into());
        cm.metadata.uid = Some(uid.into());
        if settled {
            cm.data = Some([("phase".to_string(), "Done".to_string())].into());
        }
        cm
    }

    fn summary(cm: &ConfigMap) -> Option<String> {
        cm.data.as_ref()?.get("phase").cloned()
    }

    fn names(events: &[Result<Event<ConfigMap>, watcher::Error>]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Ok(Event::InitApply(o)) => format!("init-apply {}", o.name_any()),
                Ok(Event::Apply(o)) => format!("apply {}", o.name_any()),
                Ok(Event::Delete(o)) => format!("delete {}", o.name_any()),
                Ok(Event::Init) => "init".into(),
                Ok(Event::InitDone) => "init-done".into(),
                Err(e) => format!("error {e}"),
            })
            .collect()
    }

    fn at_generation(uid: &str, generation: i64, settled: bool) -> ConfigMap {
        let mut cm = cm(uid, settled);
        cm.metadata.generation = Some(generation);
        cm
    }

    fn needs(cm: &ConfigMap) -> bool {
        summary(cm).is_none()
    }

    async fn passed(events: Vec<Event<ConfigMap>>) -> Vec<String> {
        let stream = futures::stream::iter(events.into_iter().map(Ok));
        changed_generations(stream, needs)
            .map(|r| {
                let cm = r.expect("no error");
                format!("{}@{}", cm.name_any(), cm.metadata.generation.unwrap())
            })
            .collect()
            .await
    }

    #[tokio::test]
    async fn only_a_new_generation_is_passed_on() {
        let out = passed(vec![
            Event::Apply(at_generation("a", 1, false)),
            // A status write: same generation.
            Event::Apply(at_generation("a", 1, false)),
            Event::Apply(at_generation("b", 1, false)),
            // A spec edit.
            Event::Apply(at_generation("a", 2, false)),
            Event::Apply(at_generation("a", 2, false)),
        ])
        .await;
        assert_eq!(out, ["a@1", "b@1", "a@2"]);
    }

    #[tokio::test]
    async fn an_object_deleted_or_needing_nothing_is_forgotten() {
        let out = passed(vec![
            Event::Apply(at_generation("a", 1, false)),
            // Settled: needs no look, and is forgotten.
            Event::Apply(at_generation("a", 1, true)),
            // Needs one again at the same generation: passed on again.
            Event::Apply(at_generation("a", 1, false)),
            Event::Apply(at_generation("b", 1, false)),
            // Left out of the cache (or deleted).
            Event::Delete(at_generation("b", 1, false)),
            Event::Apply(at_generation("b", 1, false)),
        ])
        .await;
        assert_eq!(out, ["a@1", "a@1", "b@1", "b@1"]);
    }

    #[tokio::test]
    async fn a_relist_passes_on_what_changed_and_forgets_what_is_gone() {
        let out = passed(vec![
            Event::Apply(at_generation("a", 1, false)),
            Event::Apply(at_generation("b", 1, false)),
            Event::Apply(at_generation("c", 1, false)),
            // The watch is lost; the relist finds a unchanged, b edited and
            // c gone.
            Event::Init,
            Event::InitApply(at_generation("a", 1, false)),
            Event::InitApply(at_generation("b", 2, false)),
            Event::InitDone,
            Event::Apply(at_generation("a", 1, false)),
            // c forgotten: were it seen again, it would be passed on.
            Event::Apply(at_generation("c", 1, false)),
        ])
        .await;
        assert_eq!(out, ["a@1", "b@1", "c@1", "b@2", "c@1"]);
    }

    #[tokio::test]
    async fn settled_objects_are_kept_out_of_the_cache_and_summarised() {
        let left = LeftOut::new(summary);
        let events = futures::stream::iter(vec![
            Ok(Event::Init),
            Ok(Event::InitApply(cm("a", true))),
            Ok(Event::InitApply(cm("b", false))),
            Ok(Event::InitDone),
            // b settles: out of the cache; a is edited: back in.
            Ok(Event::Apply(cm("b", true))),
            Ok(Event::Apply(cm("a", false))),
        ]);
        let out: Vec<_> = leave_out(events, left.clone()).collect().await;
        assert_eq!(
            names(&out),
            ["init", "init-apply b", "init-done", "delete b", "apply a"]
        );
        assert_eq!(left.summaries(), ["Done"]);
        let gone = futures::stream::iter(vec![Ok(Event::Delete(cm("b", true)))]);
        let _: Vec<_> = leave_out(gone, left.clone()).collect().await;
        assert!(left.summaries().is_empty());
    }
}
