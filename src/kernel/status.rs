//! Writing a resource's status: server-side apply under one field manager,
//! only when it changes, remembered against a lagging cache, with the event
//! the change deserves.

use std::collections::HashMap;
use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use kube::core::object::HasStatus;
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;

use crate::kernel::conditions::Noticed;
use crate::kernel::error::Error;
use crate::kernel::events::Events;
use crate::kernel::memory::Written;
use crate::settings::Settings;
use crate::telemetry::Metrics;

/// Field manager of the operator's status writes.
pub const MANAGER: &str = "comprehend-operator";

/// Status writes (with their events) in flight at once, per controller.
/// Each one in flight may need a connection to the API server, and every
/// connection opened stays in the client's pool, so this bounds the idle
/// connections a burst leaves behind (BENCHMARKS.md has the measurements).
const WRITES_IN_FLIGHT: usize = 16;

/// Writes statuses for both controllers: only when they change, remembered
/// against a lagging cache, counted, each with the event it deserves.
pub(crate) struct StatusWriter<S> {
    client: Client,
    events: Events,
    metrics: Arc<Metrics>,
    /// Statuses written that the cache has not caught up with.
    written: Written<S>,
    in_flight: tokio::sync::Semaphore,
}

impl<S> StatusWriter<S>
where
    S: Clone + Default + PartialEq + serde::Serialize + Noticed,
{
    pub(crate) fn new(client: Client, settings: &Settings, metrics: Arc<Metrics>) -> Self {
        StatusWriter {
            events: Events::new(client.clone(), &settings.instance),
            client,
            metrics,
            written: Written::default(),
            in_flight: tokio::sync::Semaphore::new(WRITES_IN_FLIGHT),
        }
    }

    /// The object with the newest status the operator knows of.
    pub(crate) fn freshest<K>(&self, obj: Arc<K>) -> Arc<K>
    where
        K: Resource + HasStatus<Status = S> + Clone,
    {
        self.written.freshest(obj)
    }

    /// Forgets written statuses the cache (UID to resourceVersion) has.
    pub(crate) fn prune(&self, cached_rv: &HashMap<String, u64>) {
        self.written.prune(cached_rv);
    }

    /// Writes `new` if it differs from what the object has; remembers it so
    /// a lagging cache cannot hide it; emits the event it deserves.
    pub(crate) async fn write<K>(&self, obj: &K, new: &S) -> Result<(), Error>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + HasStatus<Status = S>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let old = obj.status().cloned().unwrap_or_default();
        if &old == new {
            return Ok(());
        }
        let _permit = self.in_flight.acquire().await.expect("never closed");
        let written = apply_status(&self.client, obj, new)
            .await
            .map_err(Error::Kube)?;
        self.metrics.status_written();
        self.written.remember(&written, new.clone());
        if let Some(n) = new.notice_since(&old) {
            self.events.publish(obj, &n).await;
        }
        Ok(())
    }
}

/// Writes `status` into the status subresource of `obj` with server-side
/// apply (the operator owns every status field); answers the object written.
pub(crate) async fn apply_status<K, S>(client: &Client, obj: &K, status: &S) -> kube::Result<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: serde::Serialize,
{
    let api: Api<K> = Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
}
