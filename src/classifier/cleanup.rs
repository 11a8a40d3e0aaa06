//! What deleting a DocumentClassifier must still do, by its deletion policy
//! and what was created. Pure; the reconcile carries it out.

use crate::classifier::crd::{DeletionPolicy, DocumentClassifier};

/// The finalizer that lets the operator act on deletion.
pub const FINALIZER: &str = "comprehend.operators.dev/classifier";

/// What a deletion must still do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cleanup {
    /// Nothing in Comprehend to remove (Retain, or never created).
    Release,
    /// A create may have reached Comprehend before its ARN was recorded:
    /// look the classifier up by name and version.
    Find,
    /// Look at the classifier and take the next step.
    Describe { arn: String },
}

/// The next step of deleting a classifier Comprehend still has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CleanupStep {
    /// Training runs: StopTrainingDocumentClassifier first.
    StopTraining,
    /// Stopping or deleting already: wait.
    Wait,
    /// DeleteDocumentClassifier.
    Delete,
}

/// What deleting the resource must still do.
pub fn cleanup(dc: &DocumentClassifier) -> Cleanup {
    if dc.spec.deletion_policy == DeletionPolicy::Retain {
        return Cleanup::Release;
    }
    let status = dc.status.clone().unwrap_or_default();
    match (status.document_classifier_arn, status.spec_hash) {
        (Some(arn), _) => Cleanup::Describe { arn },
        (None, Some(_)) => Cleanup::Find,
        (None, None) => Cleanup::Release,
    }
}

/// The next deletion step for a classifier in Comprehend's `status`.
pub fn cleanup_step(status: &str) -> CleanupStep {
    match status {
        "SUBMITTED" | "TRAINING" => CleanupStep::StopTraining,
        "STOP_REQUESTED" | "DELETING" => CleanupStep::Wait,
        _ => CleanupStep::Delete,
    }
}
