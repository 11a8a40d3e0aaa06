//! Watching resources: one cached watch per scope, with what the
//! controllers never read dropped.

use futures::StreamExt;
use kube::runtime::reflector;
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource};
use tokio::sync::{mpsc, watch};

use crate::kernel::memory::slim;

/// The watch of one scope (all namespaces, or one), with what the
/// controllers never read dropped ([`slim`], then `trim`, the resource's
/// own cut) and mirrored into `writer`; `synced`, if given, turns true once
/// the initial list is in the store.
pub(crate) fn cached_watch<K>(
    client: &Client,
    namespace: &Option<String>,
    writer: reflector::store::Writer<K>,
    synced: Option<watch::Sender<bool>>,
    trim: fn(&mut K),
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
    watcher(
        scoped::<K>(client, namespace),
        // The initial list in pages of 500 (from etcd: the watch cache
        // would answer everything at once, ignoring the limit), each object
        // cut down as it arrives, so a restart over thousands of resources
        // never holds one huge answer.
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(move |obj| {
        slim(obj);
        trim(obj);
    })
    .reflect(writer)
    .inspect(move |event| {
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
