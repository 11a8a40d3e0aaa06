//! A Kubernetes operator that runs Amazon Comprehend asynchronous custom
//! document classification jobs.
//!
//! Each reconcile is a short pipeline: read the resource, decide what to do
//! with pure code, act against Comprehend through the narrow
//! [`comprehend::Comprehend`] trait, and write the status once. Imports
//! point down only: `job` may use `classifier`, both use `kernel`,
//! `accounts`, `comprehend`, `crds` and `settings`; `results` (reading a
//! job's output) uses `comprehend`; nothing uses `job`.

pub mod accounts;
pub mod classifier;
pub mod comprehend;
pub mod crds;
pub mod http;
pub mod job;
pub mod kernel;
pub mod leader;
pub mod results;
pub mod settings;
pub mod telemetry;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// The CRDs the operator serves, with the file name each has in `crds/`.
pub fn all_crds() -> Vec<(&'static str, CustomResourceDefinition)> {
    vec![
        ("classificationjob.yaml", job::crd::classification_job_crd()),
        (
            "documentclassifier.yaml",
            classifier::crd::document_classifier_crd(),
        ),
        ("accountmapping.yaml", accounts::account_mapping_crd()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crds::crd_yaml;

    #[test]
    fn checked_in_crds_match_the_code() {
        for (file, crd) in all_crds() {
            let path = format!("{}/crds/{file}", env!("CARGO_MANIFEST_DIR"));
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == crd_yaml(&crd),
                "{path} is out of date: run `make crds`"
            );
        }
    }
}
