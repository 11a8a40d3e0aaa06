//! A Kubernetes operator that runs Amazon Comprehend asynchronous custom
//! document classification jobs.
//!
//! The reconcile is a short pipeline: read the `ClassificationJob`, decide
//! what to do with pure code ([`decide`]), act against Comprehend through the
//! narrow [`comprehend::Comprehend`] trait, and write the status once
//! ([`controller`]).

pub mod aws;
pub mod classifier_controller;
pub mod classifier_crd;
pub mod classifier_decide;
pub mod classifier_validate;
pub mod comprehend;
pub mod controller;
pub mod crd;
pub mod decide;
pub mod http;
pub mod jobname;
pub mod leader;
pub mod memory;
pub mod quota;
pub mod telemetry;
