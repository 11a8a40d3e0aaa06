//! The two full requests (every optional field set) and the SDK inputs
//! they must become, built independently of the code under test; the job
//! and classifier tests compare against them, the error tests send them.

use std::collections::BTreeMap;

use aws_sdk_comprehend::operation::create_document_classifier::CreateDocumentClassifierInput;
use aws_sdk_comprehend::operation::start_document_classification_job::StartDocumentClassificationJobInput;
use aws_sdk_comprehend::types::{
    AugmentedManifestsDocumentTypeFormat, AugmentedManifestsListItem, DocumentClassifierDataFormat,
    DocumentClassifierDocumentTypeFormat, DocumentClassifierDocuments,
    DocumentClassifierInputDataConfig, DocumentClassifierMode, DocumentClassifierOutputDataConfig,
    DocumentReadAction, DocumentReadFeatureTypes, DocumentReadMode, InputDataConfig, InputFormat,
    LanguageCode, OutputDataConfig, Split, Tag,
};

use super::{CLASSIFIER, ROLE};
use crate::comprehend::{
    AugmentedManifest, ClassifierDocuments, CreateClassifierRequest, DocumentReaderConfig,
    ModelRef, StartJobRequest, VpcConfig,
};

pub(super) fn full_request() -> StartJobRequest {
    StartJobRequest {
        job_name: "ns-job-0123abcd".into(),
        model: ModelRef::DocumentClassifier(CLASSIFIER.into()),
        input_s3_uri: "s3://in-bucket/docs/".into(),
        input_format: Some("ONE_DOC_PER_FILE".into()),
        document_reader_config: Some(DocumentReaderConfig {
            document_read_action: "TEXTRACT_ANALYZE_DOCUMENT".into(),
            document_read_mode: Some("FORCE_DOCUMENT_READ_ACTION".into()),
            feature_types: vec!["TABLES".into(), "FORMS".into()],
        }),
        output_s3_uri: "s3://out-bucket/results/".into(),
        output_kms_key_id: Some("alias/out".into()),
        data_access_role_arn: ROLE.into(),
        volume_kms_key_id: Some("1234abcd-12ab-34cd-56ef-1234567890ab".into()),
        vpc_config: Some(VpcConfig {
            security_group_ids: vec!["sg-1".into(), "sg-2".into()],
            subnets: vec!["subnet-a".into()],
        }),
        tags: BTreeMap::from([
            ("team".to_string(), "docs".to_string()),
            ("cost-center".to_string(), "42".to_string()),
        ]),
        client_request_token: "6f1c7a52-93a4-4d3e-a2b1-0c9d8e7f6a5b".into(),
    }
}

/// The SDK input `full_request` must become, built independently of the
/// code under test.
pub(super) fn full_expected_input() -> StartDocumentClassificationJobInput {
    StartDocumentClassificationJobInput::builder()
        .job_name("ns-job-0123abcd")
        .document_classifier_arn(CLASSIFIER)
        .input_data_config(
            InputDataConfig::builder()
                .s3_uri("s3://in-bucket/docs/")
                .input_format(InputFormat::OneDocPerFile)
                .document_reader_config(
                    aws_sdk_comprehend::types::DocumentReaderConfig::builder()
                        .document_read_action(DocumentReadAction::TextractAnalyzeDocument)
                        .document_read_mode(DocumentReadMode::ForceDocumentReadAction)
                        .feature_types(DocumentReadFeatureTypes::Tables)
                        .feature_types(DocumentReadFeatureTypes::Forms)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .output_data_config(
            OutputDataConfig::builder()
                .s3_uri("s3://out-bucket/results/")
                .kms_key_id("alias/out")
                .build()
                .unwrap(),
        )
        .data_access_role_arn(ROLE)
        .client_request_token("6f1c7a52-93a4-4d3e-a2b1-0c9d8e7f6a5b")
        .volume_kms_key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
        .vpc_config(
            aws_sdk_comprehend::types::VpcConfig::builder()
                .security_group_ids("sg-1")
                .security_group_ids("sg-2")
                .subnets("subnet-a")
                .build()
                .unwrap(),
        )
        // BTreeMap order: cost-center sorts before team.
        .tags(
            Tag::builder()
                .key("cost-center")
                .value("42")
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("team").value("docs").build().unwrap())
        .build()
        .unwrap()
}

const MODEL_KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/model";
const MODEL_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"comprehend:ImportModel","Resource":"*"}]}"#;

pub(super) fn full_classifier_request() -> CreateClassifierRequest {
    CreateClassifierRequest {
        name: "news".into(),
        version_name: Some("v1".into()),
        language_code: "en".into(),
        mode: Some("MULTI_LABEL".into()),
        data_format: Some("AUGMENTED_MANIFEST".into()),
        s3_uri: Some("s3://train-bucket/train.csv".into()),
        test_s3_uri: Some("s3://train-bucket/test.csv".into()),
        label_delimiter: Some("|".into()),
        augmented_manifests: vec![
            AugmentedManifest {
                s3_uri: "s3://train-bucket/train.manifest".into(),
                split: Some("TRAIN".into()),
                attribute_names: vec!["labels".into(), "extra".into()],
                annotation_data_s3_uri: Some("s3://train-bucket/annotations/".into()),
                source_documents_s3_uri: Some("s3://train-bucket/pdfs/".into()),
                document_type: Some("SEMI_STRUCTURED_DOCUMENT".into()),
            },
            AugmentedManifest {
                s3_uri: "s3://train-bucket/test.manifest".into(),
                split: Some("TEST".into()),
                attribute_names: vec!["labels".into()],
                annotation_data_s3_uri: None,
                source_documents_s3_uri: None,
                document_type: None,
            },
        ],
        document_type: Some("SEMI_STRUCTURED_DOCUMENT".into()),
        documents: Some(ClassifierDocuments {
            s3_uri: "s3://train-bucket/pdfs/".into(),
            test_s3_uri: Some("s3://train-bucket/test-pdfs/".into()),
        }),
        document_reader_config: Some(DocumentReaderConfig {
            document_read_action: "TEXTRACT_ANALYZE_DOCUMENT".into(),
            document_read_mode: Some("FORCE_DOCUMENT_READ_ACTION".into()),
            feature_types: vec!["TABLES".into(), "FORMS".into()],
        }),
        output_s3_uri: Some("s3://out-bucket/classifier/".into()),
        output_kms_key_id: Some("alias/out".into()),
        flywheel_stats_s3_prefix: Some("s3://lake-bucket/stats/".into()),
        data_access_role_arn: ROLE.into(),
        volume_kms_key_id: Some("alias/volume".into()),
        model_kms_key_id: Some(MODEL_KEY.into()),
        model_policy: Some(MODEL_POLICY.into()),
        vpc_config: Some(VpcConfig {
            security_group_ids: vec!["sg-1".into()],
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
        }),
        tags: BTreeMap::from([
            ("team".to_string(), "docs".to_string()),
            ("cost-center".to_string(), "42".to_string()),
        ]),
        client_request_token: "7a0d0e9c-1b2c-4d5e-8f90-a1b2c3d4e5f6".into(),
    }
}

/// The SDK input `full_classifier_request` must become, built
/// independently of the code under test.
pub(super) fn full_expected_classifier_input() -> CreateDocumentClassifierInput {
    CreateDocumentClassifierInput::builder()
        .document_classifier_name("news")
        .version_name("v1")
        .language_code(LanguageCode::En)
        .mode(DocumentClassifierMode::MultiLabel)
        .input_data_config(
            DocumentClassifierInputDataConfig::builder()
                .data_format(DocumentClassifierDataFormat::AugmentedManifest)
                .s3_uri("s3://train-bucket/train.csv")
                .test_s3_uri("s3://train-bucket/test.csv")
                .label_delimiter("|")
                .augmented_manifests(
                    AugmentedManifestsListItem::builder()
                        .s3_uri("s3://train-bucket/train.manifest")
                        .split(Split::Train)
                        .attribute_names("labels")
                        .attribute_names("extra")
                        .annotation_data_s3_uri("s3://train-bucket/annotations/")
                        .source_documents_s3_uri("s3://train-bucket/pdfs/")
                        .document_type(AugmentedManifestsDocumentTypeFormat::SemiStructuredDocument)
                        .build()
                        .unwrap(),
                )
                .augmented_manifests(
                    AugmentedManifestsListItem::builder()
                        .s3_uri("s3://train-bucket/test.manifest")
                        .split(Split::Test)
                        .attribute_names("labels")
                        .build()
                        .unwrap(),
                )
                .document_type(DocumentClassifierDocumentTypeFormat::SemiStructuredDocument)
                .documents(
                    DocumentClassifierDocuments::builder()
                        .s3_uri("s3://train-bucket/pdfs/")
                        .test_s3_uri("s3://train-bucket/test-pdfs/")
                        .build()
                        .unwrap(),
                )
                .document_reader_config(
                    aws_sdk_comprehend::types::DocumentReaderConfig::builder()
                        .document_read_action(DocumentReadAction::TextractAnalyzeDocument)
                        .document_read_mode(DocumentReadMode::ForceDocumentReadAction)
                        .feature_types(DocumentReadFeatureTypes::Tables)
                        .feature_types(DocumentReadFeatureTypes::Forms)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .output_data_config(
            DocumentClassifierOutputDataConfig::builder()
                .s3_uri("s3://out-bucket/classifier/")
                .kms_key_id("alias/out")
                .flywheel_stats_s3_prefix("s3://lake-bucket/stats/")
                .build(),
        )
        .data_access_role_arn(ROLE)
        .volume_kms_key_id("alias/volume")
        .model_kms_key_id(MODEL_KEY)
        .model_policy(MODEL_POLICY)
        .vpc_config(
            aws_sdk_comprehend::types::VpcConfig::builder()
                .security_group_ids("sg-1")
                .subnets("subnet-a")
                .subnets("subnet-b")
                .build()
                .unwrap(),
        )
        // BTreeMap order: cost-center sorts before team.
        .tags(
            Tag::builder()
                .key("cost-center")
                .value("42")
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("team").value("docs").build().unwrap())
        .client_request_token("7a0d0e9c-1b2c-4d5e-8f90-a1b2c3d4e5f6")
        .build()
        .unwrap()
}
