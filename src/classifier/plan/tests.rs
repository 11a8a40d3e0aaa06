//! The decisions of a DocumentClassifier reconcile.

use crate::classifier::cleanup::*;
use crate::classifier::crd::{
    AugmentedManifest as SpecManifest, ClassifierDocuments as SpecDocuments,
    ClassifierInputDataConfig, DataFormat, DeletionPolicy, DocumentClassifierStatus, DocumentType,
    LanguageCode, ManifestDocumentType, Split,
};
use crate::classifier::fixtures::*;
use crate::classifier::plan::*;
use crate::classifier::status::*;
use crate::crds::{
    DocumentReadAction, DocumentReadMode, DocumentReaderConfig as SpecReader, FeatureType,
};
use crate::kernel::conditions::Observed;

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
fn plan_follows_the_life_cycle() {
    let mut dc = classifier(spec());
    assert!(matches!(plan(&dc), Plan::Create { .. }));
    let mut status = DocumentClassifierStatus::default();
    apply_creating(&mut status, &dc.spec, Observed::new(Some(1), now()));
    dc.status = Some(status.clone());
    // A create was attempted but no ARN recorded: still Create (which
    // looks the classifier up first).
    assert!(matches!(plan(&dc), Plan::Create { .. }));
    apply_created(&mut status, ARN, Observed::new(Some(1), now()));
    dc.status = Some(status.clone());
    assert_eq!(plan(&dc), Plan::Describe { arn: ARN.into() });
    apply_description(
        &mut status,
        &desc("TRAINING"),
        Observed::new(Some(1), now()),
    );
    dc.status = Some(status.clone());
    assert_eq!(plan(&dc), Plan::Describe { arn: ARN.into() });
    apply_description(&mut status, &desc("TRAINED"), Observed::new(Some(1), now()));
    dc.status = Some(status);
    assert_eq!(plan(&dc), Plan::Settled);
}

#[test]
fn a_rejected_spec_is_looked_at_again_after_an_edit() {
    let mut s = spec();
    s.input_data_config.s3_uri = None;
    let mut dc = classifier(s);
    let mut status = DocumentClassifierStatus::default();
    apply_rejected(&mut status, "bad", Observed::new(Some(1), now()));
    dc.status = Some(status);
    assert_eq!(plan(&dc), Plan::Settled);
    dc.metadata.generation = Some(2);
    dc.spec.input_data_config.s3_uri = Some("s3://train-bucket/train.csv".into());
    assert!(matches!(plan(&dc), Plan::Create { .. }));
}

#[test]
fn cleanup_follows_policy_and_what_was_created() {
    let mut dc = classifier(spec());
    assert_eq!(cleanup(&dc), Cleanup::Release);
    let mut status = DocumentClassifierStatus::default();
    apply_creating(&mut status, &dc.spec, Observed::new(Some(1), now()));
    dc.status = Some(status.clone());
    assert_eq!(cleanup(&dc), Cleanup::Find);
    apply_created(&mut status, ARN, Observed::new(Some(1), now()));
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
    apply_created(&mut status, ARN, Observed::new(Some(1), now()));
    apply_description(
        &mut status,
        &desc("TRAINING"),
        Observed::new(Some(1), now()),
    );
    dc.status = Some(status.clone());
    assert!(matches!(
        classifier_state(Some(&dc), "us-east-1"),
        ClassifierState::NotReady { .. }
    ));
    apply_description(&mut status, &desc("TRAINED"), Observed::new(Some(1), now()));
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
    apply_description(&mut status, &failed, Observed::new(Some(1), now()));
    dc.status = Some(status);
    match classifier_state(Some(&dc), "us-east-1") {
        ClassifierState::Failed { detail } => assert!(detail.contains("bad data")),
        other => panic!("{other:?}"),
    }
}
