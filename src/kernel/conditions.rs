//! Conditions as Kubernetes conventions have them (`type`, `status`,
//! `reason`, `message`, `observedGeneration`, `lastTransitionTime`), and the
//! events their changes deserve. Knows no CRD.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// A condition's `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known (yet).
    Unknown,
}

impl ConditionStatus {
    /// As written in a condition.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }

    /// The status of `condition`, if it is one of the three.
    pub fn of(condition: &Condition) -> Option<ConditionStatus> {
        [
            ConditionStatus::True,
            ConditionStatus::False,
            ConditionStatus::Unknown,
        ]
        .into_iter()
        .find(|s| s.as_str() == condition.status)
    }
}

/// What an observation is tied to: the generation it describes and when it
/// was made. Passed as one value to everything that writes a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The `metadata.generation` observed.
    pub generation: Option<i64>,
    /// When.
    pub now: Timestamp,
}

impl Observed {
    /// `generation` observed at `now`.
    pub fn new(generation: Option<i64>, now: Timestamp) -> Self {
        Observed { generation, now }
    }

    /// `generation` observed now.
    pub fn at_now(generation: Option<i64>) -> Self {
        Observed::new(generation, Timestamp::now())
    }
}

/// A fixed set of condition reasons.
pub trait Reasons: Copy + 'static {
    /// Every reason.
    const ALL: &'static [Self];

    /// As written in a condition.
    fn as_str(self) -> &'static str;

    /// The reason `s` names, if it is one of these (a condition may also
    /// carry an AWS error code).
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == s)
    }

    /// Whether `condition` carries this reason.
    fn is_on(self, condition: &Condition) -> bool {
        condition.reason == self.as_str()
    }
}

/// Sets the condition `type_` in `conditions` (any resource's), keeping its
/// `lastTransitionTime` when its status does not change. An empty message
/// becomes the reason: the API server rejects an empty one in server-side
/// apply.
pub fn put_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: &str,
    at: Observed,
) {
    let value = status.as_str();
    let message = if message.trim().is_empty() {
        reason.to_string()
    } else {
        message.to_string()
    };
    let last_transition_time = match conditions.iter().find(|c| c.type_ == type_) {
        Some(old) if old.status == value => old.last_transition_time.clone(),
        _ => Time(at.now),
    };
    let new = Condition {
        type_: type_.to_string(),
        status: value.to_string(),
        reason: reason.to_string(),
        message,
        observed_generation: at.generation,
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
