//! How what Comprehend said changes a DocumentClassifier's status.

use crate::classifier::crd::{ClassifierMode, DeletionPolicy, DocumentClassifierStatus};
use crate::classifier::fixtures::*;
use crate::classifier::status::*;
use crate::comprehend::{AwsError, ClassifierMetrics, ErrorKind};
use crate::kernel::conditions::Observed;

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
    apply_description(&mut status, &d, Observed::new(Some(1), now()));
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
    apply_description(&mut status, &desc("TRAINED"), Observed::new(Some(1), now()));
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
        apply_description(&mut status, &d, Observed::new(Some(1), now()));
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
    apply_description(&mut status, &d, Observed::new(Some(1), now()));
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
        Observed::new(Some(1), now()),
    );
    assert_eq!(ready(&status), ("Unknown".into(), "Throttled".into()));
    apply_error(
        &mut status,
        "CreateDocumentClassifier",
        &err(ErrorKind::InvalidSpec, "InvalidRequestException"),
        Observed::new(Some(1), now()),
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
        Observed::new(Some(1), now()),
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
        Observed::new(Some(1), now()),
    );
    let msg = condition(&status, READY).unwrap().message.clone();
    assert!(msg.contains("giving up") && msg.contains(ARN), "{msg}");
    assert_eq!(ready(&status).1, "DeleteAbandoned");
}

#[test]
fn spec_drift_is_flagged_and_cleared() {
    let dc = classifier(spec());
    let mut status = DocumentClassifierStatus::default();
    apply_creating(&mut status, &dc.spec, Observed::new(Some(1), now()));
    apply_spec_drift(&mut status, &dc.spec, Observed::new(Some(1), now()));
    assert!(condition(&status, SPEC_CHANGE_IGNORED).is_none());
    let mut edited = dc.spec.clone();
    edited.mode = Some(ClassifierMode::MultiClass);
    let before = status.clone();
    apply_spec_drift(&mut status, &edited, Observed::new(Some(2), now()));
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
    apply_spec_drift(&mut status, &policy_only, Observed::new(Some(3), now()));
    assert!(condition(&status, SPEC_CHANGE_IGNORED).is_none());
}
