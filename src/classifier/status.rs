//! The DocumentClassifier's status: its `Ready` condition and reasons, and
//! how what Comprehend said (or refused) changes it. Pure.

use sha2::{Digest, Sha256};

use crate::classifier::crd::{
    DeletionPolicy, DocumentClassifierSpec, DocumentClassifierStatus, EvaluationMetrics,
};
use crate::comprehend::{AwsError, ClassifierDescription, ErrorKind};
use crate::kernel::conditions::{
    put_condition, ConditionStatus, Notice, Noticed, Observed, Reasons,
};

/// Condition type: the classifier is trained and can classify.
pub const READY: &str = "Ready";

/// Condition type, present only while a spec edit made after training
/// started is being ignored.
pub const SPEC_CHANGE_IGNORED: &str = "SpecChangeIgnored";

/// The fixed reasons of the `Ready` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// About to call CreateDocumentClassifier.
    Creating,
    /// Comprehend has the request (SUBMITTED).
    Submitted,
    /// TRAINING.
    Training,
    /// STOP_REQUESTED.
    StopRequested,
    /// TRAINED.
    Trained,
    /// TRAINED_WITH_WARNING.
    TrainedWithWarning,
    /// IN_ERROR.
    InError,
    /// STOPPED.
    Stopped,
    /// DELETING, or the resource is being deleted.
    Deleting,
    /// Comprehend throttled the operator; it retries.
    Throttled,
    /// Comprehend could not be reached or answered a server error; it retries.
    AwsUnavailable,
    /// The spec cannot create a classifier as it is.
    InvalidSpec,
    /// A classifier of this name and version exists that this resource did
    /// not create.
    AlreadyExists,
    /// Comprehend no longer knows the classifier.
    NotFound,
    /// Deleting the model failed; the operator retries.
    DeleteFailed,
    /// Deleting the model failed too often: the resource is released and
    /// the model is left in Comprehend.
    DeleteAbandoned,
    /// No credentials for the call (an assumed role was refused); retrying.
    CredentialsUnavailable,
    /// The namespace has no AccountMapping and the operator requires one.
    NoAccountMapping,
    /// The model is in another account than the namespace maps to now.
    AccountMappingChanged,
}

impl Reasons for Reason {
    const ALL: &'static [Reason] = &[
        Reason::Creating,
        Reason::Submitted,
        Reason::Training,
        Reason::StopRequested,
        Reason::Trained,
        Reason::TrainedWithWarning,
        Reason::InError,
        Reason::Stopped,
        Reason::Deleting,
        Reason::Throttled,
        Reason::AwsUnavailable,
        Reason::InvalidSpec,
        Reason::AlreadyExists,
        Reason::NotFound,
        Reason::DeleteFailed,
        Reason::DeleteAbandoned,
        Reason::CredentialsUnavailable,
        Reason::NoAccountMapping,
        Reason::AccountMappingChanged,
    ];

    /// The reason as written in a condition.
    fn as_str(self) -> &'static str {
        match self {
            Reason::Creating => "Creating",
            Reason::Submitted => "Submitted",
            Reason::Training => "Training",
            Reason::StopRequested => "StopRequested",
            Reason::Trained => "Trained",
            Reason::TrainedWithWarning => "TrainedWithWarning",
            Reason::InError => "InError",
            Reason::Stopped => "Stopped",
            Reason::Deleting => "Deleting",
            Reason::Throttled => "Throttled",
            Reason::AwsUnavailable => "AwsUnavailable",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::NotFound => "NotFound",
            Reason::DeleteFailed => "DeleteFailed",
            Reason::DeleteAbandoned => "DeleteAbandoned",
            Reason::CredentialsUnavailable => "CredentialsUnavailable",
            Reason::NoAccountMapping => "NoAccountMapping",
            Reason::AccountMappingChanged => "AccountMappingChanged",
        }
    }
}

/// A digest of what training depends on: the spec without
/// `deletionPolicy`, which may change at any time.
pub fn spec_hash(spec: &DocumentClassifierSpec) -> String {
    let mut spec = spec.clone();
    spec.deletion_policy = DeletionPolicy::default();
    let json = serde_json::to_vec(&spec).expect("spec serializes");
    Sha256::digest(&json)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The condition of `type_`, if any.
pub fn condition<'a>(
    status: &'a DocumentClassifierStatus,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

/// Whether Comprehend's status is final: training will not change it.
pub fn is_final_status(status: &str) -> bool {
    matches!(
        status,
        "TRAINED" | "TRAINED_WITH_WARNING" | "IN_ERROR" | "STOPPED"
    )
}

fn set_ready(
    status: &mut DocumentClassifierStatus,
    value: ConditionStatus,
    reason: Reason,
    message: &str,
    at: Observed,
) {
    put_condition(
        &mut status.conditions,
        READY,
        value,
        reason.as_str(),
        message,
        at,
    );
    status.observed_generation = at.generation;
}

fn display_name(spec: &DocumentClassifierSpec) -> String {
    match &spec.version_name {
        Some(v) => format!("{} version {v}", spec.document_classifier_name),
        None => spec.document_classifier_name.clone(),
    }
}

/// Records the spec a create is about to use, before
/// CreateDocumentClassifier is called: from here on the classifier is looked
/// up by name and version after a crash, and deletion looks for it too.
pub fn apply_creating(
    status: &mut DocumentClassifierStatus,
    spec: &DocumentClassifierSpec,
    at: Observed,
) {
    status.spec_hash = Some(spec_hash(spec));
    let message = format!("Creating classifier {}", display_name(spec));
    set_ready(
        status,
        ConditionStatus::Unknown,
        Reason::Creating,
        &message,
        at,
    );
}

/// Records the ARN CreateDocumentClassifier answered.
pub fn apply_created(status: &mut DocumentClassifierStatus, arn: &str, at: Observed) {
    status.document_classifier_arn = Some(arn.to_string());
    status.status = Some("SUBMITTED".into());
    let message = format!("Classifier {arn} was submitted to Comprehend");
    set_ready(
        status,
        ConditionStatus::Unknown,
        Reason::Submitted,
        &message,
        at,
    );
}

/// Records what Describe (or List) reported.
pub fn apply_description(
    status: &mut DocumentClassifierStatus,
    desc: &ClassifierDescription,
    at: Observed,
) {
    status.document_classifier_arn = Some(desc.arn.clone());
    status.status = Some(desc.status.clone());
    status.message = desc.message.clone();
    for (field, value) in [
        (&mut status.submit_time, &desc.submit_time),
        (&mut status.training_start_time, &desc.training_start_time),
        (&mut status.training_end_time, &desc.training_end_time),
        (&mut status.output_s3_uri, &desc.output_s3_uri),
    ] {
        if value.is_some() {
            field.clone_from(value);
        }
    }
    if let Some(m) = &desc.metrics {
        status.evaluation_metrics = Some(EvaluationMetrics {
            accuracy: m.accuracy,
            precision: m.precision,
            recall: m.recall,
            f1_score: m.f1_score,
            micro_precision: m.micro_precision,
            micro_recall: m.micro_recall,
            micro_f1_score: m.micro_f1_score,
            hamming_loss: m.hamming_loss,
        });
    }
    for (field, value) in [
        (&mut status.number_of_labels, desc.number_of_labels),
        (
            &mut status.number_of_trained_documents,
            desc.number_of_trained_documents,
        ),
        (
            &mut status.number_of_test_documents,
            desc.number_of_test_documents,
        ),
    ] {
        if value.is_some() {
            *field = value;
        }
    }
    let arn = &desc.arn;
    let aws = desc
        .message
        .as_deref()
        .unwrap_or("no message from Comprehend");
    let (value, reason, message) = match desc.status.as_str() {
        "TRAINED" => (
            ConditionStatus::True,
            Reason::Trained,
            match status.evaluation_metrics.as_ref().and_then(|m| m.f1_score) {
                Some(f1) => format!("Classifier {arn} is trained (F1 {f1:.3})"),
                None => format!("Classifier {arn} is trained"),
            },
        ),
        "TRAINED_WITH_WARNING" => (
            ConditionStatus::True,
            Reason::TrainedWithWarning,
            format!("Classifier {arn} is trained, with a warning: {aws}"),
        ),
        "IN_ERROR" => (
            ConditionStatus::False,
            Reason::InError,
            format!("Training classifier {arn} failed: {aws}"),
        ),
        "STOPPED" => (
            ConditionStatus::False,
            Reason::Stopped,
            format!("Training classifier {arn} was stopped"),
        ),
        "STOP_REQUESTED" => (
            ConditionStatus::Unknown,
            Reason::StopRequested,
            format!("A stop was requested for classifier {arn}"),
        ),
        "DELETING" => (
            ConditionStatus::False,
            Reason::Deleting,
            format!("Classifier {arn} is being deleted"),
        ),
        "TRAINING" => (
            ConditionStatus::Unknown,
            Reason::Training,
            format!("Classifier {arn} is training"),
        ),
        _ => (
            ConditionStatus::Unknown,
            Reason::Submitted,
            format!("Classifier {arn} was submitted to Comprehend"),
        ),
    };
    set_ready(status, value, reason, &message, at);
}

/// Comprehend no longer knows the recorded classifier (deleted outside
/// Kubernetes): settled, not Ready.
pub fn apply_not_found(status: &mut DocumentClassifierStatus, at: Observed) {
    let arn = status.document_classifier_arn.clone().unwrap_or_default();
    let message = format!("Comprehend no longer knows classifier {arn}; it was deleted outside this resource. Create a new DocumentClassifier (or version) to train again");
    set_ready(
        status,
        ConditionStatus::False,
        Reason::NotFound,
        &message,
        at,
    );
}

/// Records a spec that cannot create a classifier.
pub fn apply_rejected(status: &mut DocumentClassifierStatus, message: &str, at: Observed) {
    set_ready(
        status,
        ConditionStatus::False,
        Reason::InvalidSpec,
        message,
        at,
    );
}

/// A classifier of this name and version exists that this resource did not
/// create: it is neither adopted nor touched.
pub fn apply_already_exists(
    status: &mut DocumentClassifierStatus,
    spec: &DocumentClassifierSpec,
    arn: &str,
    at: Observed,
) {
    status.spec_hash = None;
    let message = format!(
        "Classifier {} already exists in Comprehend ({arn}) and was not created by this resource; choose another documentClassifierName or versionName",
        display_name(spec)
    );
    set_ready(
        status,
        ConditionStatus::False,
        Reason::AlreadyExists,
        &message,
        at,
    );
}

/// Records a failed call: throttling and server errors are retried; errors
/// about the request settle it.
pub fn apply_error(
    status: &mut DocumentClassifierStatus,
    operation: &str,
    err: &AwsError,
    at: Observed,
) {
    let (value, reason, message) = match err.kind {
        ErrorKind::Throttled => (
            ConditionStatus::Unknown,
            Reason::Throttled,
            format!(
                "{operation} was throttled by Comprehend ({}); retrying",
                err.code
            ),
        ),
        ErrorKind::Transient => (
            ConditionStatus::Unknown,
            Reason::AwsUnavailable,
            format!(
                "{operation} failed ({}: {}); retrying",
                err.code, err.message
            ),
        ),
        ErrorKind::Credentials => match err.code.as_str() {
            "NoAccountMapping" => (
                ConditionStatus::False,
                Reason::NoAccountMapping,
                format!("{}; retrying", err.message),
            ),
            "AccountMappingChanged" => (
                ConditionStatus::False,
                Reason::AccountMappingChanged,
                format!("{}; retrying", err.message),
            ),
            _ => (
                ConditionStatus::False,
                Reason::CredentialsUnavailable,
                format!(
                    "No AWS credentials for {operation} ({}: {}); nothing reached Comprehend; retrying",
                    err.code, err.message
                ),
            ),
        },
        ErrorKind::InvalidSpec | ErrorKind::JobNotFound => (
            ConditionStatus::False,
            Reason::InvalidSpec,
            format!(
                "{operation} was refused ({}: {}); fix the spec to try again",
                err.code, err.message
            ),
        ),
    };
    set_ready(status, value, reason, &message, at);
}

/// The resource is being deleted and the model with it: what is happening.
pub fn apply_deleting(status: &mut DocumentClassifierStatus, message: &str, at: Observed) {
    set_ready(
        status,
        ConditionStatus::False,
        Reason::Deleting,
        message,
        at,
    );
}

/// A deletion step failed; `attempts` failures so far out of `max`.
pub fn apply_delete_failed(
    status: &mut DocumentClassifierStatus,
    operation: &str,
    err: &AwsError,
    attempts: u32,
    max: u32,
    at: Observed,
) {
    status.deletion_attempts = Some(attempts);
    let arn = status.document_classifier_arn.clone().unwrap_or_default();
    let give_up = attempts >= max;
    let message = if give_up {
        format!(
            "{operation} failed {attempts} times ({}: {}); giving up: the model {arn} is left in Comprehend, delete it there",
            err.code, err.message
        )
    } else {
        format!(
            "{operation} failed ({}: {}); attempt {attempts} of {max}, retrying",
            err.code, err.message
        )
    };
    let reason = if give_up {
        Reason::DeleteAbandoned
    } else {
        Reason::DeleteFailed
    };
    set_ready(status, ConditionStatus::False, reason, &message, at);
}

/// After creation, a spec that differs from the one training started with is
/// ignored; the `SpecChangeIgnored` condition says so while it lasts.
pub fn apply_spec_drift(
    status: &mut DocumentClassifierStatus,
    spec: &DocumentClassifierSpec,
    at: Observed,
) {
    let Some(started) = status.spec_hash.clone() else {
        return;
    };
    if spec_hash(spec) == started {
        status.conditions.retain(|c| c.type_ != SPEC_CHANGE_IGNORED);
        return;
    }
    let message = "The spec changed after training started; the change was ignored because a trained model cannot change. Create a DocumentClassifier with a new versionName to train with the new spec";
    put_condition(
        &mut status.conditions,
        SPEC_CHANGE_IGNORED,
        ConditionStatus::True,
        SPEC_CHANGE_IGNORED,
        message,
        at,
    );
    status.observed_generation = at.generation;
}

impl Noticed for DocumentClassifierStatus {
    fn notice_since(&self, old: &Self) -> Option<Notice> {
        notice(old, self)
    }
}

/// An event a status change deserves: one per change of the `Ready` reason.
pub fn notice(old: &DocumentClassifierStatus, new: &DocumentClassifierStatus) -> Option<Notice> {
    let new_ready = condition(new, READY)?;
    let spec_change = condition(new, SPEC_CHANGE_IGNORED);
    if let Some(c) = spec_change {
        if condition(old, SPEC_CHANGE_IGNORED).is_none() {
            return Some(Notice {
                warning: true,
                reason: SPEC_CHANGE_IGNORED,
                note: c.message.clone(),
            });
        }
    }
    if condition(old, READY).is_some_and(|c| c.reason == new_ready.reason) {
        return None;
    }
    let ready_reason = Reason::parse(&new_ready.reason)?;
    let (warning, reason) = match ready_reason {
        Reason::Submitted => (false, "Created"),
        Reason::Training => (false, "Training"),
        Reason::Trained => (false, "Trained"),
        Reason::TrainedWithWarning => (true, "TrainedWithWarning"),
        Reason::InError => (true, "InError"),
        Reason::Stopped => (true, "Stopped"),
        Reason::StopRequested => (false, "StopRequested"),
        Reason::Deleting => (false, "Deleting"),
        Reason::Throttled => (true, "Throttled"),
        Reason::AwsUnavailable => (true, "AwsUnavailable"),
        Reason::InvalidSpec => (true, "InvalidSpec"),
        Reason::AlreadyExists => (true, "AlreadyExists"),
        Reason::NotFound => (true, "NotFound"),
        Reason::DeleteFailed => (true, "DeleteFailed"),
        Reason::DeleteAbandoned => (true, "DeleteAbandoned"),
        Reason::CredentialsUnavailable => (true, "CredentialsUnavailable"),
        Reason::NoAccountMapping => (true, "NoAccountMapping"),
        Reason::AccountMappingChanged => (true, "AccountMappingChanged"),
        Reason::Creating => return None,
    };

    Some(Notice {
        warning,
        reason,
        note: new_ready.message.clone(),
    })
}

#[cfg(test)]
mod tests;
