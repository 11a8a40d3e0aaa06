//! `DocumentClassifier`: the resource, what to do with it (pure), its
//! validation, the reconcile and its cleanup. A ClassificationJob learns of
//! its classifier only through [`ClassifierState`].

pub mod cleanup;
pub mod crd;
pub mod plan;
pub mod reconcile;
pub mod status;
pub mod validate;

#[cfg(test)]
pub(crate) mod fixtures;

pub use crd::{DocumentClassifier, DocumentClassifierSpec, DocumentClassifierStatus};
pub use plan::{classifier_state, ClassifierState};
