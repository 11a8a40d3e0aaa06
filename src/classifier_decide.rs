//! The decisions of the `DocumentClassifier` reconcile, as pure functions:
//! what to do next, how what Comprehend said becomes the status, what a
//! deletion must still do, and what a ClassificationJob that references the
//! classifier may do.

use k8s_openapi::jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::classifier_crd::{
    DeletionPolicy, DocumentClassifier, DocumentClassifierSpec, DocumentClassifierStatus,
    EvaluationMetrics,
};
pub use crate::classifier_validate::validate;
use crate::comprehend::{
    AugmentedManifest, AwsError, ClassifierDescription, ClassifierDocuments,
    CreateClassifierRequest, DocumentReaderConfig, ErrorKind, VpcConfig,
};
use crate::decide::{enum_str, put_condition};
use crate::jobname;

/// Condition type: the classifier is trained and can classify.
pub const READY: &str = "Ready";
/// Condition type, present only while a spec edit made after training
/// started is being ignored.
pub const SPEC_CHANGE_IGNORED: &str = "SpecChangeIgnored";
/// The finalizer that lets the operator act on deletion.
pub const FINALIZER: &str = "comprehend.operators.dev/classifier";

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
}

impl Reason {
    /// The reason as written in a condition.
    pub fn as_str(self) -> &'static str {
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
        }
    }
}

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

/// The Region of a classifier.
pub fn region(spec: &DocumentClassifierSpec, default_region: &str) -> String {
    spec.region
        .clone()
        .unwrap_or_else(|| default_region.to_string())
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
        client_request_token: jobname::client_request_token(
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

/// What to do for a classifier that is not being deleted.
pub fn plan(dc: &DocumentClassifier) -> Plan {
    let status = dc.status.clone().unwrap_or_default();
    if let Some(arn) = status.document_classifier_arn.clone() {
        let gone = condition(&status, READY).is_some_and(|c| c.reason == "NotFound");
        if gone || status.status.as_deref().is_some_and(is_final_status) {
            return Plan::Settled;
        }
        return Plan::Describe { arn };
    }
    // Refused before anything was created: look again only after an edit.
    let refused = condition(&status, READY)
        .is_some_and(|c| c.reason == "InvalidSpec" || c.reason == "AlreadyExists");
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

fn set_ready(
    status: &mut DocumentClassifierStatus,
    value: &str,
    reason: Reason,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    put_condition(
        &mut status.conditions,
        READY,
        value,
        reason.as_str(),
        message,
        generation,
        now,
    );
    status.observed_generation = generation;
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
    generation: Option<i64>,
    now: Timestamp,
) {
    status.spec_hash = Some(spec_hash(spec));
    let message = format!("Creating classifier {}", display_name(spec));
    set_ready(
        status,
        "Unknown",
        Reason::Creating,
        &message,
        generation,
        now,
    );
}

/// Records the ARN CreateDocumentClassifier answered.
pub fn apply_created(
    status: &mut DocumentClassifierStatus,
    arn: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    status.document_classifier_arn = Some(arn.to_string());
    status.status = Some("SUBMITTED".into());
    let message = format!("Classifier {arn} was submitted to Comprehend");
    set_ready(
        status,
        "Unknown",
        Reason::Submitted,
        &message,
        generation,
        now,
    );
}

/// Records what Describe (or List) reported.
pub fn apply_description(
    status: &mut DocumentClassifierStatus,
    desc: &ClassifierDescription,
    generation: Option<i64>,
    now: Timestamp,
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
            "True",
            Reason::Trained,
            match status.evaluation_metrics.as_ref().and_then(|m| m.f1_score) {
                Some(f1) => format!("Classifier {arn} is trained (F1 {f1:.3})"),
                None => format!("Classifier {arn} is trained"),
            },
        ),
        "TRAINED_WITH_WARNING" => (
            "True",
            Reason::TrainedWithWarning,
            format!("Classifier {arn} is trained, with a warning: {aws}"),
        ),
        "IN_ERROR" => (
            "False",
            Reason::InError,
            format!("Training classifier {arn} failed: {aws}"),
        ),
        "STOPPED" => (
            "False",
            Reason::Stopped,
            format!("Training classifier {arn} was stopped"),
        ),
        "STOP_REQUESTED" => (
            "Unknown",
            Reason::StopRequested,
            format!("A stop was requested for classifier {arn}"),
        ),
        "DELETING" => (
            "False",
            Reason::Deleting,
            format!("Classifier {arn} is being deleted"),
        ),
        "TRAINING" => (
            "Unknown",
            Reason::Training,
            format!("Classifier {arn} is training"),
        ),
        _ => (
            "Unknown",
            Reason::Submitted,
            format!("Classifier {arn} was submitted to Comprehend"),
        ),
    };
    set_ready(status, value, reason, &message, generation, now);
}

/// Comprehend no longer knows the recorded classifier (deleted outside
/// Kubernetes): settled, not Ready.
pub fn apply_not_found(
    status: &mut DocumentClassifierStatus,
    generation: Option<i64>,
    now: Timestamp,
) {
    let arn = status.document_classifier_arn.clone().unwrap_or_default();
    let message = format!("Comprehend no longer knows classifier {arn}; it was deleted outside this resource. Create a new DocumentClassifier (or version) to train again");
    set_ready(status, "False", Reason::NotFound, &message, generation, now);
}

/// Records a spec that cannot create a classifier.
pub fn apply_rejected(
    status: &mut DocumentClassifierStatus,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    set_ready(
        status,
        "False",
        Reason::InvalidSpec,
        message,
        generation,
        now,
    );
}

/// A classifier of this name and version exists that this resource did not
/// create: it is neither adopted nor touched.
pub fn apply_already_exists(
    status: &mut DocumentClassifierStatus,
    spec: &DocumentClassifierSpec,
    arn: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    status.spec_hash = None;
    let message = format!(
        "Classifier {} already exists in Comprehend ({arn}) and was not created by this resource; choose another documentClassifierName or versionName",
        display_name(spec)
    );
    set_ready(
        status,
        "False",
        Reason::AlreadyExists,
        &message,
        generation,
        now,
    );
}

/// Records a failed call: throttling and server errors are retried; errors
/// about the request settle it.
pub fn apply_error(
    status: &mut DocumentClassifierStatus,
    operation: &str,
    err: &AwsError,
    generation: Option<i64>,
    now: Timestamp,
) {
    let (value, reason, message) = match err.kind {
        ErrorKind::Throttled => (
            "Unknown",
            Reason::Throttled,
            format!(
                "{operation} was throttled by Comprehend ({}); retrying",
                err.code
            ),
        ),
        ErrorKind::Transient => (
            "Unknown",
            Reason::AwsUnavailable,
            format!(
                "{operation} failed ({}: {}); retrying",
                err.code, err.message
            ),
        ),
        ErrorKind::InvalidSpec | ErrorKind::JobNotFound => (
            "False",
            Reason::InvalidSpec,
            format!(
                "{operation} was refused ({}: {}); fix the spec to try again",
                err.code, err.message
            ),
        ),
    };
    set_ready(status, value, reason, &message, generation, now);
}

/// The resource is being deleted and the model with it: what is happening.
pub fn apply_deleting(
    status: &mut DocumentClassifierStatus,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    set_ready(status, "False", Reason::Deleting, message, generation, now);
}

/// A deletion step failed; `attempts` failures so far out of `max`.
pub fn apply_delete_failed(
    status: &mut DocumentClassifierStatus,
    operation: &str,
    err: &AwsError,
    attempts: u32,
    max: u32,
    generation: Option<i64>,
    now: Timestamp,
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
    set_ready(status, "False", reason, &message, generation, now);
}

/// After creation, a spec that differs from the one training started with is
/// ignored; the `SpecChangeIgnored` condition says so while it lasts.
pub fn apply_spec_drift(
    status: &mut DocumentClassifierStatus,
    spec: &DocumentClassifierSpec,
    generation: Option<i64>,
    now: Timestamp,
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
        "True",
        SPEC_CHANGE_IGNORED,
        message,
        generation,
        now,
    );
    status.observed_generation = generation;
}

impl crate::decide::Noticed for DocumentClassifierStatus {
    fn notice_since(&self, old: &Self) -> Option<crate::decide::Notice> {
        notice(old, self)
    }
}

/// An event a status change deserves: one per change of the `Ready` reason.
pub fn notice(
    old: &DocumentClassifierStatus,
    new: &DocumentClassifierStatus,
) -> Option<crate::decide::Notice> {
    let new_ready = condition(new, READY)?;
    let spec_change = condition(new, SPEC_CHANGE_IGNORED);
    if let Some(c) = spec_change {
        if condition(old, SPEC_CHANGE_IGNORED).is_none() {
            return Some(crate::decide::Notice {
                warning: true,
                reason: SPEC_CHANGE_IGNORED,
                note: c.message.clone(),
            });
        }
    }
    if condition(old, READY).is_some_and(|c| c.reason == new_ready.reason) {
        return None;
    }
    let (warning, reason) = match new_ready.reason.as_str() {
        "Submitted" => (false, "Created"),
        "Training" => (false, "Training"),
        "Trained" => (false, "Trained"),
        "TrainedWithWarning" => (true, "TrainedWithWarning"),
        "InError" => (true, "InError"),
        "Stopped" => (true, "Stopped"),
        "StopRequested" => (false, "StopRequested"),
        "Deleting" => (false, "Deleting"),
        "Throttled" => (true, "Throttled"),
        "AwsUnavailable" => (true, "AwsUnavailable"),
        "InvalidSpec" => (true, "InvalidSpec"),
        "AlreadyExists" => (true, "AlreadyExists"),
        "NotFound" => (true, "NotFound"),
        "DeleteFailed" => (true, "DeleteFailed"),
        "DeleteAbandoned" => (true, "DeleteAbandoned"),
        _ => return None,
    };
    Some(crate::decide::Notice {
        warning,
        reason,
        note: new_ready.message.clone(),
    })
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
        (Some(c), Some(arn)) if c.status == "True" => ClassifierState::Ready {
            arn: arn.clone(),
            region: region(&dc.spec, default_region),
        },
        (Some(c), _) if c.status == "False" => ClassifierState::Failed {
            detail: format!("{}: {}", c.reason, c.message),
        },
        (Some(c), _) => ClassifierState::NotReady {
            detail: format!("{}: {}", c.reason, c.message),
        },
        (None, _) => ClassifierState::NotReady {
            detail: "the operator has not looked at it yet".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier_crd::{
        AugmentedManifest as SpecManifest, ClassifierDocuments as SpecDocuments,
        ClassifierInputDataConfig, ClassifierMode, ClassifierOutputDataConfig, DataFormat,
        DocumentType, LanguageCode, ManifestDocumentType, Split,
    };
    use crate::comprehend::ClassifierMetrics;
    use crate::crd::{
        DocumentReadAction, DocumentReadMode, DocumentReaderConfig as SpecReader, FeatureType, Tag,
        VpcConfig as SpecVpc,
    };
    use kube::api::ObjectMeta;

    const ROLE: &str = "arn:aws:iam::123456789012:role/comprehend";
    const ARN: &str =
        "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news/version/v1";
    const OUTPUT: &str =
        "s3://out-bucket/training/123456789012-CLR-0123456789abcdef/output/output.tar.gz";

    fn now() -> Timestamp {
        "2026-01-02T03:04:05Z".parse().unwrap()
    }

    fn spec() -> DocumentClassifierSpec {
        DocumentClassifierSpec {
            document_classifier_name: "news".into(),
            version_name: Some("v1".into()),
            language_code: LanguageCode::En,
            mode: Some(ClassifierMode::MultiLabel),
            input_data_config: ClassifierInputDataConfig {
                data_format: Some(DataFormat::ComprehendCsv),
                s3_uri: Some("s3://train-bucket/train.csv".into()),
                test_s3_uri: Some("s3://train-bucket/test.csv".into()),
                label_delimiter: Some(";".into()),
                augmented_manifests: vec![],
                document_type: None,
                documents: None,
                document_reader_config: None,
            },
            output_data_config: Some(ClassifierOutputDataConfig {
                s3_uri: Some("s3://out-bucket/training/".into()),
                kms_key_id: Some("alias/out".into()),
                flywheel_stats_s3_prefix: None,
            }),
            data_access_role_arn: ROLE.into(),
            volume_kms_key_id: Some("vol-key".into()),
            model_kms_key_id: Some("model-key".into()),
            vpc_config: Some(SpecVpc {
                subnets: vec!["subnet-1".into()],
                security_group_ids: vec!["sg-1".into()],
            }),
            model_policy: None,
            tags: vec![Tag {
                key: "team".into(),
                value: Some("ml".into()),
            }],
            region: None,
            deletion_policy: DeletionPolicy::Delete,
        }
    }

    fn classifier(spec: DocumentClassifierSpec) -> DocumentClassifier {
        let mut dc = DocumentClassifier::new("news", spec);
        dc.metadata = ObjectMeta {
            name: Some("news".into()),
            namespace: Some("ml".into()),
            uid: Some("0b5c7a4e-1111-2222-3333-444455556666".into()),
            generation: Some(1),
            ..ObjectMeta::default()
        };
        dc
    }

    fn desc(status: &str) -> ClassifierDescription {
        ClassifierDescription {
            arn: ARN.into(),
            version_name: Some("v1".into()),
            status: status.into(),
            message: None,
            submit_time: Some("2026-01-02T03:00:00Z".into()),
            training_start_time: Some("2026-01-02T03:01:00Z".into()),
            training_end_time: None,
            output_s3_uri: None,
            metrics: None,
            number_of_labels: None,
            number_of_trained_documents: None,
            number_of_test_documents: None,
        }
    }

    fn ready(status: &DocumentClassifierStatus) -> (String, String) {
        let c = condition(status, READY).expect("Ready");
        (c.status.clone(), c.reason.clone())
    }

    #[test]
    fn spec_maps_to_every_create_field() {
        let req = create_request(&classifier(spec())).unwrap();
        assert_eq!(req.name, "news");
        assert_eq!(req.version_name.as_deref(), Some("v1"));
        assert_eq!(req.language_code, "en");
        assert_eq!(req.mode.as_deref(), Some("MULTI_LABEL"));
        assert_eq!(req.data_format.as_deref(), Some("COMPREHEND_CSV"));
        assert_eq!(req.s3_uri.as_deref(), Some("s3://train-bucket/train.csv"));
        assert_eq!(
            req.test_s3_uri.as_deref(),
            Some("s3://train-bucket/test.csv")
        );
        assert_eq!(req.label_delimiter.as_deref(), Some(";"));
        assert_eq!(
            req.output_s3_uri.as_deref(),
            Some("s3://out-bucket/training/")
        );
        assert_eq!(req.output_kms_key_id.as_deref(), Some("alias/out"));
        assert_eq!(req.data_access_role_arn, ROLE);
        assert_eq!(req.volume_kms_key_id.as_deref(), Some("vol-key"));
        assert_eq!(req.model_kms_key_id.as_deref(), Some("model-key"));
        assert_eq!(req.vpc_config.unwrap().subnets, vec!["subnet-1"]);
        assert_eq!(req.tags.get("team").map(String::as_str), Some("ml"));
        assert!(req
            .client_request_token
            .starts_with("0b5c7a4e-1111-2222-3333-444455556666"));
        assert!(req.client_request_token.len() <= 64);
    }

    #[test]
    fn augmented_manifests_map() {
        let mut s = spec();
        s.input_data_config = ClassifierInputDataConfig {
            data_format: Some(DataFormat::AugmentedManifest),
            s3_uri: None,
            test_s3_uri: None,
            label_delimiter: None,
            augmented_manifests: vec![SpecManifest {
                s3_uri: "s3://train-bucket/manifest.json".into(),
                split: Some(Split::Test),
                attribute_names: vec!["label".into()],
                annotation_data_s3_uri: None,
                source_documents_s3_uri: None,
                document_type: Some(ManifestDocumentType::PlainTextDocument),
            }],
            document_type: None,
            documents: None,
            document_reader_config: None,
        };
        let req = create_request(&classifier(s)).unwrap();
        assert_eq!(req.data_format.as_deref(), Some("AUGMENTED_MANIFEST"));
        let m = &req.augmented_manifests[0];
        assert_eq!(m.split.as_deref(), Some("TEST"));
        assert_eq!(m.document_type.as_deref(), Some("PLAIN_TEXT_DOCUMENT"));
        assert_eq!(m.attribute_names, vec!["label"]);
    }

    #[test]
    fn native_document_fields_and_the_model_policy_map() {
        let mut s = spec();
        s.mode = None;
        s.input_data_config.label_delimiter = None;
        s.input_data_config.document_type = Some(DocumentType::SemiStructuredDocument);
        s.input_data_config.documents = Some(SpecDocuments {
            s3_uri: "s3://train-bucket/pdfs/".into(),
            test_s3_uri: Some("s3://train-bucket/test-pdfs/".into()),
        });
        s.input_data_config.document_reader_config = Some(SpecReader {
            document_read_action: DocumentReadAction::TextractAnalyzeDocument,
            document_read_mode: Some(DocumentReadMode::ForceDocumentReadAction),
            feature_types: vec![FeatureType::Tables, FeatureType::Forms],
        });
        if let Some(o) = s.output_data_config.as_mut() {
            o.flywheel_stats_s3_prefix = Some("s3://lake-bucket/stats/".into());
        }
        s.model_policy = Some(r#"{"Version":"2012-10-17"}"#.into());
        let req = create_request(&classifier(s)).unwrap();
        assert_eq!(
            req.document_type.as_deref(),
            Some("SEMI_STRUCTURED_DOCUMENT")
        );
        assert_eq!(
            req.documents,
            Some(ClassifierDocuments {
                s3_uri: "s3://train-bucket/pdfs/".into(),
                test_s3_uri: Some("s3://train-bucket/test-pdfs/".into()),
            })
        );
        assert_eq!(
            req.document_reader_config,
            Some(DocumentReaderConfig {
                document_read_action: "TEXTRACT_ANALYZE_DOCUMENT".into(),
                document_read_mode: Some("FORCE_DOCUMENT_READ_ACTION".into()),
                feature_types: vec!["TABLES".into(), "FORMS".into()],
            })
        );
        assert_eq!(
            req.flywheel_stats_s3_prefix.as_deref(),
            Some("s3://lake-bucket/stats/")
        );
        assert_eq!(
            req.model_policy.as_deref(),
            Some(r#"{"Version":"2012-10-17"}"#)
        );
        // Absent, they are absent from the request too.
        let req = create_request(&classifier(spec())).unwrap();
        assert_eq!(
            (req.document_type, req.documents, req.document_reader_config),
            (None, None, None)
        );
        assert_eq!(
            (req.flywheel_stats_s3_prefix, req.model_policy),
            (None, None)
        );
    }

    #[test]
    fn a_spec_the_service_would_refuse_is_rejected_without_a_call() {
        let mut no_csv = spec();
        no_csv.input_data_config.s3_uri = None;
        let mut arabic = spec();
        arabic.language_code = LanguageCode::from("ar");
        let mut german_native = spec();
        german_native.language_code = LanguageCode::De;
        german_native.input_data_config.document_type = Some(DocumentType::SemiStructuredDocument);
        for (s, field) in [
            (no_csv, "spec.inputDataConfig.s3Uri"),
            (arabic, "spec.languageCode \"ar\""),
            (german_native, "spec.languageCode \"de\""),
        ] {
            match plan(&classifier(s)) {
                Plan::Reject { message } => assert!(message.contains(field), "{message}"),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn new_optional_fields_leave_the_hash_of_older_specs_alone() {
        // A spec stored before these fields existed hashes as it did: absent
        // fields are not serialized, so no SpecChangeIgnored appears.
        let json = serde_json::to_value(spec()).unwrap();
        for field in [
            "modelPolicy",
            "documentType",
            "documents",
            "documentReaderConfig",
            "flywheelStatsS3Prefix",
        ] {
            assert!(!json.to_string().contains(field), "{field} in {json}");
        }
        let back: DocumentClassifierSpec = serde_json::from_value(json).unwrap();
        assert_eq!(spec_hash(&back), spec_hash(&spec()));
    }

    #[test]
    fn deletion_policy_is_not_part_of_the_hash() {
        let a = spec();
        let mut b = spec();
        b.deletion_policy = DeletionPolicy::Retain;
        assert_eq!(spec_hash(&a), spec_hash(&b));
        let mut c = spec();
        c.version_name = Some("v2".into());
        assert_ne!(spec_hash(&a), spec_hash(&c));
    }

    #[test]
    fn plan_follows_the_life_cycle() {
        let mut dc = classifier(spec());
        assert!(matches!(plan(&dc), Plan::Create { .. }));
        let mut status = DocumentClassifierStatus::default();
        apply_creating(&mut status, &dc.spec, Some(1), now());
        dc.status = Some(status.clone());
        // A create was attempted but no ARN recorded: still Create (which
        // looks the classifier up first).
        assert!(matches!(plan(&dc), Plan::Create { .. }));
        apply_created(&mut status, ARN, Some(1), now());
        dc.status = Some(status.clone());
        assert_eq!(plan(&dc), Plan::Describe { arn: ARN.into() });
        apply_description(&mut status, &desc("TRAINING"), Some(1), now());
        dc.status = Some(status.clone());
        assert_eq!(plan(&dc), Plan::Describe { arn: ARN.into() });
        apply_description(&mut status, &desc("TRAINED"), Some(1), now());
        dc.status = Some(status);
        assert_eq!(plan(&dc), Plan::Settled);
    }

    #[test]
    fn a_rejected_spec_is_looked_at_again_after_an_edit() {
        let mut s = spec();
        s.input_data_config.s3_uri = None;
        let mut dc = classifier(s);
        let mut status = DocumentClassifierStatus::default();
        apply_rejected(&mut status, "bad", Some(1), now());
        dc.status = Some(status);
        assert_eq!(plan(&dc), Plan::Settled);
        dc.metadata.generation = Some(2);
        dc.spec.input_data_config.s3_uri = Some("s3://train-bucket/train.csv".into());
        assert!(matches!(plan(&dc), Plan::Create { .. }));
    }

    #[test]
    fn description_maps_to_status_and_ready() {
        let mut status = DocumentClassifierStatus::default();
        let mut d = desc("TRAINED");
        d.training_end_time = Some("2026-01-02T03:09:00Z".into());
        d.output_s3_uri = Some(OUTPUT.into());
        d.metrics = Some(ClassifierMetrics {
            accuracy: Some(0.9),
            f1_score: Some(0.875),
            hamming_loss: Some(0.1),
            ..ClassifierMetrics::default()
        });
        d.number_of_labels = Some(3);
        d.number_of_trained_documents = Some(27);
        d.number_of_test_documents = Some(3);
        apply_description(&mut status, &d, Some(1), now());
        assert_eq!(ready(&status), ("True".into(), "Trained".into()));
        let m = status.evaluation_metrics.clone().unwrap();
        assert_eq!(m.f1_score, Some(0.875));
        assert_eq!(m.hamming_loss, Some(0.1));
        assert_eq!(status.number_of_labels, Some(3));
        assert_eq!(status.number_of_test_documents, Some(3));
        assert_eq!(
            status.training_end_time.as_deref(),
            Some("2026-01-02T03:09:00Z")
        );
        assert_eq!(status.output_s3_uri.as_deref(), Some(OUTPUT));
        // A later answer without it keeps what was learnt.
        apply_description(&mut status, &desc("TRAINED"), Some(1), now());
        assert_eq!(status.output_s3_uri.as_deref(), Some(OUTPUT));
        assert!(condition(&status, READY)
            .unwrap()
            .message
            .contains("F1 0.875"));

        for (aws, expected) in [
            ("IN_ERROR", ("False", "InError")),
            ("STOPPED", ("False", "Stopped")),
            ("TRAINED_WITH_WARNING", ("True", "TrainedWithWarning")),
            ("TRAINING", ("Unknown", "Training")),
            ("SUBMITTED", ("Unknown", "Submitted")),
            ("STOP_REQUESTED", ("Unknown", "StopRequested")),
        ] {
            let mut status = DocumentClassifierStatus::default();
            let mut d = desc(aws);
            d.message = Some("INVALID_INPUT: only one label".into());
            apply_description(&mut status, &d, Some(1), now());
            assert_eq!(
                ready(&status),
                (expected.0.to_string(), expected.1.to_string()),
                "{aws}"
            );
            assert!(!condition(&status, READY).unwrap().message.is_empty());
        }
        let mut status = DocumentClassifierStatus::default();
        let mut d = desc("IN_ERROR");
        d.message = Some("INVALID_INPUT: only one label".into());
        apply_description(&mut status, &d, Some(1), now());
        assert!(condition(&status, READY)
            .unwrap()
            .message
            .contains("only one label"));
    }

    #[test]
    fn errors_map_to_ready() {
        let err = |kind, code: &str| AwsError {
            kind,
            code: code.into(),
            message: "m".into(),
        };
        let mut status = DocumentClassifierStatus::default();
        apply_error(
            &mut status,
            "CreateDocumentClassifier",
            &err(ErrorKind::Throttled, "TooManyRequestsException"),
            Some(1),
            now(),
        );
        assert_eq!(ready(&status), ("Unknown".into(), "Throttled".into()));
        apply_error(
            &mut status,
            "CreateDocumentClassifier",
            &err(ErrorKind::InvalidSpec, "InvalidRequestException"),
            Some(1),
            now(),
        );
        assert_eq!(ready(&status), ("False".into(), "InvalidSpec".into()));

        let mut status = DocumentClassifierStatus {
            document_classifier_arn: Some(ARN.into()),
            ..Default::default()
        };
        apply_delete_failed(
            &mut status,
            "DeleteDocumentClassifier",
            &err(ErrorKind::Transient, "InternalServerException"),
            2,
            5,
            Some(1),
            now(),
        );
        assert_eq!(status.deletion_attempts, Some(2));
        let msg = condition(&status, READY).unwrap().message.clone();
        assert!(msg.contains("attempt 2 of 5"), "{msg}");
        apply_delete_failed(
            &mut status,
            "DeleteDocumentClassifier",
            &err(ErrorKind::Transient, "InternalServerException"),
            5,
            5,
            Some(1),
            now(),
        );
        let msg = condition(&status, READY).unwrap().message.clone();
        assert!(msg.contains("giving up") && msg.contains(ARN), "{msg}");
        assert_eq!(ready(&status).1, "DeleteAbandoned");
    }

    #[test]
    fn cleanup_follows_policy_and_what_was_created() {
        let mut dc = classifier(spec());
        assert_eq!(cleanup(&dc), Cleanup::Release);
        let mut status = DocumentClassifierStatus::default();
        apply_creating(&mut status, &dc.spec, Some(1), now());
        dc.status = Some(status.clone());
        assert_eq!(cleanup(&dc), Cleanup::Find);
        apply_created(&mut status, ARN, Some(1), now());
        dc.status = Some(status);
        assert_eq!(cleanup(&dc), Cleanup::Describe { arn: ARN.into() });
        dc.spec.deletion_policy = DeletionPolicy::Retain;
        assert_eq!(cleanup(&dc), Cleanup::Release);

        assert_eq!(cleanup_step("TRAINING"), CleanupStep::StopTraining);
        assert_eq!(cleanup_step("SUBMITTED"), CleanupStep::StopTraining);
        assert_eq!(cleanup_step("STOP_REQUESTED"), CleanupStep::Wait);
        assert_eq!(cleanup_step("DELETING"), CleanupStep::Wait);
        assert_eq!(cleanup_step("TRAINED"), CleanupStep::Delete);
        assert_eq!(cleanup_step("IN_ERROR"), CleanupStep::Delete);
        assert_eq!(cleanup_step("STOPPED"), CleanupStep::Delete);
    }

    #[test]
    fn spec_drift_is_flagged_and_cleared() {
        let dc = classifier(spec());
        let mut status = DocumentClassifierStatus::default();
        apply_creating(&mut status, &dc.spec, Some(1), now());
        apply_spec_drift(&mut status, &dc.spec, Some(1), now());
        assert!(condition(&status, SPEC_CHANGE_IGNORED).is_none());
        let mut edited = dc.spec.clone();
        edited.mode = Some(ClassifierMode::MultiClass);
        let before = status.clone();
        apply_spec_drift(&mut status, &edited, Some(2), now());
        assert_eq!(
            condition(&status, SPEC_CHANGE_IGNORED).unwrap().status,
            "True"
        );
        assert_eq!(
            notice(&before, &status).unwrap().reason,
            SPEC_CHANGE_IGNORED
        );
        // deletionPolicy may change freely.
        let mut policy_only = dc.spec.clone();
        policy_only.deletion_policy = DeletionPolicy::Retain;
        apply_spec_drift(&mut status, &policy_only, Some(3), now());
        assert!(condition(&status, SPEC_CHANGE_IGNORED).is_none());
    }

    #[test]
    fn job_view_of_a_classifier() {
        assert_eq!(
            classifier_state(None, "us-east-1"),
            ClassifierState::Missing
        );
        let mut dc = classifier(spec());
        assert!(matches!(
            classifier_state(Some(&dc), "us-east-1"),
            ClassifierState::NotReady { .. }
        ));
        let mut status = DocumentClassifierStatus::default();
        apply_created(&mut status, ARN, Some(1), now());
        apply_description(&mut status, &desc("TRAINING"), Some(1), now());
        dc.status = Some(status.clone());
        assert!(matches!(
            classifier_state(Some(&dc), "us-east-1"),
            ClassifierState::NotReady { .. }
        ));
        apply_description(&mut status, &desc("TRAINED"), Some(1), now());
        dc.status = Some(status.clone());
        assert_eq!(
            classifier_state(Some(&dc), "eu-west-1"),
            ClassifierState::Ready {
                arn: ARN.into(),
                region: "eu-west-1".into()
            }
        );
        let mut failed = desc("IN_ERROR");
        failed.message = Some("bad data".into());
        apply_description(&mut status, &failed, Some(1), now());
        dc.status = Some(status);
        match classifier_state(Some(&dc), "us-east-1") {
            ClassifierState::Failed { detail } => assert!(detail.contains("bad data")),
            other => panic!("{other:?}"),
        }
    }
}
