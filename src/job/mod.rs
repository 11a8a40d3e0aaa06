//! `ClassificationJob`: the resource, what to do with it (pure), its status
//! transitions, the reconcile, active-job slots and job names.

pub mod crd;
pub mod follow;
pub mod naming;
pub mod plan;
pub mod reconcile;
pub mod records;
pub mod slots;
pub mod status;
pub mod summary;

#[cfg(test)]
pub(crate) mod fixtures;

pub use crd::{ClassificationJob, ClassificationJobSpec, ClassificationJobStatus};
