//! What the operator checks in a `DocumentClassifier` spec before it calls
//! CreateDocumentClassifier: the same rules as the schema's, for objects an
//! API server let through (one that ignores CEL, or one that stored the
//! object before a rule existed), each refused with a message that names
//! the field.

use crate::classifier::crd::{DataFormat, DocumentClassifierSpec, DocumentType, LanguageCode};
use crate::crds::{validate_reader, validate_tags};

/// Checks what the schema cannot (or what an API server without the CEL
/// rules lets through).
pub fn validate(spec: &DocumentClassifierSpec) -> Result<(), String> {
    validate_language(spec)?;
    validate_data_format(spec)?;
    validate_native_document(spec)?;
    if let Some(reader) = &spec.input_data_config.document_reader_config {
        validate_reader(reader, "spec.inputDataConfig.documentReaderConfig")?;
    }
    validate_tags(&spec.tags)
}

/// Whether the spec trains a native document model.
pub fn is_native_document(spec: &DocumentClassifierSpec) -> bool {
    spec.input_data_config.document_type == Some(DocumentType::SemiStructuredDocument)
}

/// Custom classification trains in six of Comprehend's languages.
fn validate_language(spec: &DocumentClassifierSpec) -> Result<(), String> {
    if let LanguageCode::Unsupported(other) = &spec.language_code {
        return Err(format!(
            "spec.languageCode {other:?} is not supported by Comprehend custom classification: use one of {} ({} only for a native document model)",
            LanguageCode::SUPPORTED.join(", "),
            LanguageCode::SUPPORTED_NATIVE.join(", "),
        ));
    }
    Ok(())
}

/// COMPREHEND_CSV takes `s3Uri` (and `testS3Uri`), AUGMENTED_MANIFEST takes
/// `augmentedManifests`, and neither takes the other's.
fn validate_data_format(spec: &DocumentClassifierSpec) -> Result<(), String> {
    let input = &spec.input_data_config;
    match input.data_format.unwrap_or(DataFormat::ComprehendCsv) {
        DataFormat::ComprehendCsv => {
            if input.s3_uri.is_none() {
                return Err(
                    "spec.inputDataConfig.s3Uri is required with dataFormat COMPREHEND_CSV".into(),
                );
            }
            if !input.augmented_manifests.is_empty() {
                return Err("spec.inputDataConfig.augmentedManifests is allowed only with dataFormat AUGMENTED_MANIFEST".into());
            }
        }
        DataFormat::AugmentedManifest => {
            if input.augmented_manifests.is_empty() {
                return Err("spec.inputDataConfig.augmentedManifests is required with dataFormat AUGMENTED_MANIFEST".into());
            }
            if input.s3_uri.is_some() || input.test_s3_uri.is_some() {
                return Err("spec.inputDataConfig.s3Uri and testS3Uri are allowed only with dataFormat COMPREHEND_CSV".into());
            }
        }
    }
    Ok(())
}

/// A native document model is trained in English, on
/// `inputDataConfig.documents`, and writes its output to
/// `outputDataConfig.s3Uri`.
fn validate_native_document(spec: &DocumentClassifierSpec) -> Result<(), String> {
    if !is_native_document(spec) {
        return Ok(());
    }
    const NATIVE: &str =
        "with inputDataConfig.documentType SEMI_STRUCTURED_DOCUMENT (a native document model)";
    if !LanguageCode::SUPPORTED_NATIVE.contains(&spec.language_code.as_str()) {
        return Err(format!(
            "spec.languageCode {:?} is not supported {NATIVE}: use {}",
            spec.language_code.as_str(),
            LanguageCode::SUPPORTED_NATIVE.join(", "),
        ));
    }
    if spec.input_data_config.documents.is_none() {
        return Err(format!(
            "spec.inputDataConfig.documents is required {NATIVE}"
        ));
    }
    if spec
        .output_data_config
        .as_ref()
        .and_then(|o| o.s3_uri.as_ref())
        .is_none()
    {
        return Err(format!("spec.outputDataConfig.s3Uri is required {NATIVE}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::crd::{
        AugmentedManifest, ClassifierDocuments, ClassifierInputDataConfig,
        ClassifierOutputDataConfig, DeletionPolicy,
    };
    use crate::crds::{DocumentReadAction, DocumentReaderConfig, FeatureType, Tag};

    fn spec() -> DocumentClassifierSpec {
        DocumentClassifierSpec {
            document_classifier_name: "news".into(),
            version_name: None,
            language_code: LanguageCode::En,
            mode: None,
            input_data_config: ClassifierInputDataConfig {
                data_format: None,
                s3_uri: Some("s3://train-bucket/train.csv".into()),
                test_s3_uri: None,
                label_delimiter: None,
                augmented_manifests: vec![],
                document_type: None,
                documents: None,
                document_reader_config: None,
            },
            output_data_config: None,
            data_access_role_arn: "arn:aws:iam::123456789012:role/comprehend".into(),
            volume_kms_key_id: None,
            model_kms_key_id: None,
            vpc_config: None,
            model_policy: None,
            tags: vec![],
            region: None,
            deletion_policy: DeletionPolicy::Retain,
        }
    }

    /// A valid native document model.
    fn native() -> DocumentClassifierSpec {
        let mut s = spec();
        s.input_data_config.document_type = Some(DocumentType::SemiStructuredDocument);
        s.input_data_config.documents = Some(ClassifierDocuments {
            s3_uri: "s3://train-bucket/pdfs/".into(),
            test_s3_uri: None,
        });
        s.output_data_config = Some(ClassifierOutputDataConfig {
            s3_uri: Some("s3://out-bucket/training/".into()),
            kms_key_id: None,
            flywheel_stats_s3_prefix: None,
        });
        s
    }

    fn refused(spec: &DocumentClassifierSpec) -> String {
        validate(spec).expect_err("refused")
    }

    #[test]
    fn a_plain_text_model_in_each_supported_language_is_valid() {
        for code in LanguageCode::SUPPORTED {
            let mut s = spec();
            s.language_code = LanguageCode::from(code);
            assert!(!matches!(s.language_code, LanguageCode::Unsupported(_)));
            assert_eq!(validate(&s), Ok(()), "{code}");
        }
        assert_eq!(validate(&native()), Ok(()));
    }

    #[test]
    fn a_language_custom_classification_does_not_support_is_refused() {
        for code in ["ar", "hi", "ja", "ko", "zh", "zh-TW", "xx"] {
            let mut s = spec();
            s.language_code = LanguageCode::from(code);
            let err = refused(&s);
            assert!(
                err.contains("spec.languageCode") && err.contains(&format!("{code:?}")),
                "{err}"
            );
            assert!(err.contains("de, en, es, fr, it, pt"), "{err}");
        }
    }

    #[test]
    fn a_native_document_model_is_english_only() {
        for code in ["de", "es", "fr", "it", "pt"] {
            let mut s = native();
            s.language_code = LanguageCode::from(code);
            let err = refused(&s);
            assert!(
                err.contains("spec.languageCode") && err.contains("SEMI_STRUCTURED_DOCUMENT"),
                "{err}"
            );
        }
        // A plain-text model says so explicitly, and may be German.
        let mut s = spec();
        s.input_data_config.document_type = Some(DocumentType::PlainTextDocument);
        s.language_code = LanguageCode::De;
        assert_eq!(validate(&s), Ok(()));
    }

    #[test]
    fn a_native_document_model_needs_documents_and_an_output_location() {
        let mut s = native();
        s.input_data_config.documents = None;
        assert!(refused(&s).contains("spec.inputDataConfig.documents"));

        let mut s = native();
        s.output_data_config = None;
        assert!(refused(&s).contains("spec.outputDataConfig.s3Uri"));

        let mut s = native();
        s.output_data_config = Some(ClassifierOutputDataConfig {
            s3_uri: None,
            kms_key_id: Some("alias/out".into()),
            flywheel_stats_s3_prefix: None,
        });
        assert!(refused(&s).contains("spec.outputDataConfig.s3Uri"));
    }

    #[test]
    fn data_format_rules_are_enforced() {
        let mut s = spec();
        s.input_data_config.s3_uri = None;
        assert!(refused(&s).contains("spec.inputDataConfig.s3Uri is required"));

        let manifest = AugmentedManifest {
            s3_uri: "s3://train-bucket/train.manifest".into(),
            split: None,
            attribute_names: vec!["label".into()],
            annotation_data_s3_uri: None,
            source_documents_s3_uri: None,
            document_type: None,
        };
        let mut s = spec();
        s.input_data_config.augmented_manifests = vec![manifest.clone()];
        assert!(refused(&s).contains("allowed only with dataFormat AUGMENTED_MANIFEST"));

        let mut s = spec();
        s.input_data_config.data_format = Some(DataFormat::AugmentedManifest);
        assert!(refused(&s).contains("augmentedManifests is required"));
        s.input_data_config.augmented_manifests = vec![manifest];
        assert!(refused(&s).contains("allowed only with dataFormat COMPREHEND_CSV"));
        s.input_data_config.s3_uri = None;
        assert_eq!(validate(&s), Ok(()));
    }

    #[test]
    fn analyze_document_without_feature_types_is_refused() {
        let mut s = native();
        s.input_data_config.document_reader_config = Some(DocumentReaderConfig {
            document_read_action: DocumentReadAction::TextractAnalyzeDocument,
            document_read_mode: None,
            feature_types: vec![],
        });
        let err = refused(&s);
        assert!(
            err.contains("spec.inputDataConfig.documentReaderConfig.featureTypes"),
            "{err}"
        );
        s.input_data_config
            .document_reader_config
            .as_mut()
            .unwrap()
            .feature_types = vec![FeatureType::Tables];
        assert_eq!(validate(&s), Ok(()));
    }

    #[test]
    fn reserved_tag_keys_are_refused() {
        let mut s = spec();
        s.tags = vec![Tag {
            key: "AWS:owner".into(),
            value: None,
        }];
        assert!(refused(&s).contains("spec.tags"));
    }
}
