//! What the classifier's unit tests share: a full spec, a resource, a
//! description.

use k8s_openapi::jiff::Timestamp;
use kube::api::ObjectMeta;

use crate::classifier::crd::*;
use crate::classifier::status::{condition, READY};
use crate::comprehend::ClassifierDescription;
use crate::crds::{Tag, VpcConfig as SpecVpc};

pub(crate) const ROLE: &str = "arn:aws:iam::123456789012:role/comprehend";

pub(crate) const ARN: &str =
    "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news/version/v1";

pub(crate) const OUTPUT: &str =
    "s3://out-bucket/training/123456789012-CLR-0123456789abcdef/output/output.tar.gz";

pub(crate) fn now() -> Timestamp {
    "2026-01-02T03:04:05Z".parse().unwrap()
}

pub(crate) fn spec() -> DocumentClassifierSpec {
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

pub(crate) fn classifier(spec: DocumentClassifierSpec) -> DocumentClassifier {
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

pub(crate) fn desc(status: &str) -> ClassifierDescription {
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

pub(crate) fn ready(status: &DocumentClassifierStatus) -> (String, String) {
    let c = condition(status, READY).expect("Ready");
    (c.status.clone(), c.reason.clone())
}
