//! Events for outcomes and warnings.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client};
use tracing::warn;

use crate::kernel::conditions::Notice;
use crate::kernel::status::MANAGER;

/// Publishes events.k8s.io/v1 Events. Unlike kube-runtime's `Recorder`, it
/// keeps no cache of past events, which grows with the number of resources:
/// the operator emits an event only when a reason changes, so there is
/// nothing to deduplicate.
#[derive(Clone)]
pub struct Events {
    client: Client,
    instance: String,
}

impl Events {
    pub fn new(client: Client, instance: &str) -> Self {
        Events {
            client,
            instance: instance.to_string(),
        }
    }

    /// Publishes the event a status change deserves, about the object
    /// `regarding` refers to (a reference, not the object: events waiting
    /// for their turn hold little). An event lost is no reason to redo a
    /// reconcile: failures are only logged.
    pub async fn publish(&self, regarding: ObjectReference, notice: &Notice) {
        let event = self.event(regarding, notice);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            warn!(error = %e, "could not publish event");
        }
    }

    /// The events.k8s.io/v1 Event for `notice` about the object `regarding`
    /// refers to, in its namespace.
    pub fn event(&self, regarding: ObjectReference, notice: &Notice) -> Event {
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let suffix: u64 = rand::random();
        Event {
            metadata: ObjectMeta {
                // A name is at most 253 characters: the object's, cut short,
                // then a random suffix.
                name: Some(format!(
                    "{}.{suffix:016x}",
                    truncate(regarding.name.as_deref().unwrap_or("object"), 200)
                        .trim_end_matches(['.', '-'])
                )),
                namespace: Some(namespace),
                ..ObjectMeta::default()
            },
            action: Some("Reconcile".into()),
            reason: Some(notice.reason.to_string()),
            note: Some(truncate(&notice.note, 1000)),
            type_: Some(if notice.warning { "Warning" } else { "Normal" }.into()),
            event_time: Some(MicroTime(Timestamp::now())),
            regarding: Some(regarding),
            reporting_controller: Some(MANAGER.into()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
