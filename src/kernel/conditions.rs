//! Conditions as Kubernetes conventions have them (`type`, `status`,
//! `reason`, `message`, `observedGeneration`, `lastTransitionTime`), and the
//! events their changes deserve. Knows no CRD.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// Sets the condition `type_` in `conditions` (any resource's), keeping its
/// `lastTransitionTime` when its status does not change. An empty message
/// becomes the reason: the API server rejects an empty one in server-side
/// apply.
pub fn put_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    let message = if message.trim().is_empty() {
        reason.to_string()
    } else {
        message.to_string()
    };
    let last_transition_time = match conditions.iter().find(|c| c.type_ == type_) {
        Some(old) if old.status == value => old.last_transition_time.clone(),
        _ => Time(now),
    };
    let new = Condition {
        type_: type_.to_string(),
        status: value.to_string(),
        reason: reason.to_string(),
        message,
        observed_generation: generation,
        last_transition_time,
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => *c = new,
        None => conditions.push(new),
    }
}

/// An event worth telling the user about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Whether it is a warning.
    pub warning: bool,
    /// The CamelCase reason.
    pub reason: &'static str,
    /// Human-readable note.
    pub note: String,
}

/// A status whose changes may deserve an event.
pub trait Noticed {
    /// The event the change from `old` to `self` deserves, if any.
    fn notice_since(&self, old: &Self) -> Option<Notice>;
}

/// The API spelling of a spec enum (its serde name, `ONE_DOC_PER_LINE`, ...).
pub fn enum_str<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
