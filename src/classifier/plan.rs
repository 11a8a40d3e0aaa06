//! What the DocumentClassifier reconcile must do next, and what a
//! ClassificationJob that references the classifier may do, as pure
//! functions.

use crate::classifier::crd::{DocumentClassifier, DocumentClassifierSpec};
use crate::classifier::status::{condition, is_final_status, spec_hash, Reason, READY};
pub use crate::classifier::validate::validate;
use crate::comprehend::{
    AugmentedManifest, ClassifierDocuments, CreateClassifierRequest, DocumentReaderConfig,
    VpcConfig,
};
use crate::kernel::conditions::enum_str;
use crate::kernel::conditions::ConditionStatus;
use crate::kernel::conditions::Reasons;

/// What the reconcile must do next for a classifier that is not being
/// deleted.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Training has ended (or the spec is known bad): no AWS call.
    Settled,
    /// The spec cannot create a classifier; say so, no AWS call.
    Reject { message: String },
    /// Find the classifier by name and version, else create it.
    Create {
        request: Box<CreateClassifierRequest>,
    },
    /// Follow training.
    Describe { arn: String },
}

/// The Region of a classifier.
pub fn region(spec: &DocumentClassifierSpec, default_region: &str) -> String {
    spec.region
        .clone()
        .unwrap_or_else(|| default_region.to_string())
}

/// The CreateDocumentClassifier request for a resource.
pub fn create_request(dc: &DocumentClassifier) -> Result<CreateClassifierRequest, String> {
    let spec = &dc.spec;
    validate(spec)?;
    let reader = input_reader(spec);
    let input = &spec.input_data_config;
    let output = spec.output_data_config.as_ref();
    Ok(CreateClassifierRequest {
        name: spec.document_classifier_name.clone(),
        version_name: spec.version_name.clone(),
        language_code: enum_str(&spec.language_code),
        mode: spec.mode.as_ref().map(enum_str),
        data_format: input.data_format.as_ref().map(enum_str),
        s3_uri: input.s3_uri.clone(),
        test_s3_uri: input.test_s3_uri.clone(),
        label_delimiter: input.label_delimiter.clone(),
        augmented_manifests: input
            .augmented_manifests
            .iter()
            .map(|m| AugmentedManifest {
                s3_uri: m.s3_uri.clone(),
                split: m.split.as_ref().map(enum_str),
                attribute_names: m.attribute_names.clone(),
                annotation_data_s3_uri: m.annotation_data_s3_uri.clone(),
                source_documents_s3_uri: m.source_documents_s3_uri.clone(),
                document_type: m.document_type.as_ref().map(enum_str),
            })
            .collect(),
        document_type: input.document_type.as_ref().map(enum_str),
        documents: input.documents.as_ref().map(|d| ClassifierDocuments {
            s3_uri: d.s3_uri.clone(),
            test_s3_uri: d.test_s3_uri.clone(),
        }),
        document_reader_config: reader,
        output_s3_uri: output.and_then(|o| o.s3_uri.clone()),
        output_kms_key_id: output.and_then(|o| o.kms_key_id.clone()),
        flywheel_stats_s3_prefix: output.and_then(|o| o.flywheel_stats_s3_prefix.clone()),
        data_access_role_arn: spec.data_access_role_arn.clone(),
        volume_kms_key_id: spec.volume_kms_key_id.clone(),
        model_kms_key_id: spec.model_kms_key_id.clone(),
        model_policy: spec.model_policy.clone(),
        vpc_config: spec.vpc_config.as_ref().map(|v| VpcConfig {
            security_group_ids: v.security_group_ids.clone(),
            subnets: v.subnets.clone(),
        }),
        tags: spec
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
            .collect(),
        client_request_token: crate::comprehend::client_request_token(
            dc.metadata.uid.as_deref().unwrap_or_default(),
            &spec_hash(spec),
        ),
    })
}

/// The training documents' reader, in the API's spelling.
fn input_reader(spec: &DocumentClassifierSpec) -> Option<DocumentReaderConfig> {
    let r = spec.input_data_config.document_reader_config.as_ref()?;
    Some(DocumentReaderConfig {
        document_read_action: enum_str(&r.document_read_action),
        document_read_mode: r.document_read_mode.as_ref().map(enum_str),
        feature_types: r.feature_types.iter().map(enum_str).collect(),
    })
}

/// What to do for a classifier that is not being deleted.
pub fn plan(dc: &DocumentClassifier) -> Plan {
    let status = dc.status.clone().unwrap_or_default();
    if let Some(arn) = status.document_classifier_arn.clone() {
        let gone = condition(&status, READY).is_some_and(|c| Reason::NotFound.is_on(c));
        if gone || status.status.as_deref().is_some_and(is_final_status) {
            return Plan::Settled;
        }
        return Plan::Describe { arn };
    }
    // Refused before anything was created: look again only after an edit.
    let refused = condition(&status, READY)
        .is_some_and(|c| Reason::InvalidSpec.is_on(c) || Reason::AlreadyExists.is_on(c));
    if refused && status.observed_generation == dc.metadata.generation {
        return Plan::Settled;
    }
    match create_request(dc) {
        Ok(request) => Plan::Create {
            request: Box::new(request),
        },
        Err(message) => Plan::Reject { message },
    }
}

/// What a ClassificationJob that references a classifier may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassifierState {
    /// No DocumentClassifier of that name in the job's namespace.
    Missing,
    /// Not trained yet (or being deleted); `detail` says where it stands.
    NotReady { detail: String },
    /// It will not become Ready without a new resource: `detail` says why.
    Failed { detail: String },
    /// Trained: jobs may use `arn` in `region`.
    Ready { arn: String, region: String },
}

/// The state of a referenced classifier as the job controller sees it.
pub fn classifier_state(dc: Option<&DocumentClassifier>, default_region: &str) -> ClassifierState {
    let Some(dc) = dc else {
        return ClassifierState::Missing;
    };
    if dc.metadata.deletion_timestamp.is_some() {
        return ClassifierState::NotReady {
            detail: "it is being deleted".into(),
        };
    }
    let status = dc.status.clone().unwrap_or_default();
    let ready = condition(&status, READY);
    match (ready, &status.document_classifier_arn) {
        (Some(c), Some(arn)) if ConditionStatus::of(c) == Some(ConditionStatus::True) => {
            ClassifierState::Ready {
                arn: arn.clone(),
                region: region(&dc.spec, default_region),
            }
        }
        (Some(c), _) if ConditionStatus::of(c) == Some(ConditionStatus::False) => {
            ClassifierState::Failed {
                detail: format!("{}: {}", c.reason, c.message),
            }
        }
        (Some(c), _) => ClassifierState::NotReady {
            detail: format!("{}: {}", c.reason, c.message),
        },
        (None, _) => ClassifierState::NotReady {
            detail: "the operator has not looked at it yet".into(),
        },
    }
}

#[cfg(test)]
mod tests;
