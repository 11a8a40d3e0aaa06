//! The limits the service states only in prose (the API reference and the
//! developer guide; the model's shapes cannot express them), checked after
//! a request has passed the structural validation against the model:
//!
//! - at most 50 tags on a resource (`TooManyTagsException`; TagResource
//!   counts the tags already there too, in `tags.rs`);
//! - tag keys beginning with `aws:` (any case) are reserved
//!   (`InvalidRequestException`);
//! - `DocumentReaderConfig`: `FeatureTypes` goes with
//!   `TEXTRACT_ANALYZE_DOCUMENT` only, and that action needs it
//!   (`InvalidRequestException`);
//! - custom classification supports de, en, es, fr, it and pt for
//!   plain-text models, en only for native-document models
//!   (`UnsupportedLanguageException`);
//! - a native-document model (`DocumentType` `SEMI_STRUCTURED_DOCUMENT`)
//!   needs `InputDataConfig.Documents` and `OutputDataConfig`
//!   (`InvalidRequestException`).

use serde_json::Value;

use crate::protocol::{str_member, ApiError, Operation};

/// Most tags one resource may carry.
pub const MAX_TAGS: usize = 50;

/// Tag keys starting with this (in any case) are reserved for AWS.
pub const RESERVED_TAG_PREFIX: &str = "aws:";

/// Languages of plain-text custom classification models.
pub const PLAIN_TEXT_LANGUAGES: &[&str] = &["de", "en", "es", "fr", "it", "pt"];

/// Languages of native-document custom classification models.
pub const NATIVE_DOCUMENT_LANGUAGES: &[&str] = &["en"];

/// Checks the prose-only rules of an operation's request.
pub fn check(op: Operation, request: &Value) -> Result<(), ApiError> {
    match op {
        Operation::StartDocumentClassificationJob => {
            check_tags(request)?;
            check_reader_config(request.get("InputDataConfig"))
        }
        Operation::CreateDocumentClassifier => {
            check_tags(request)?;
            let input = request.get("InputDataConfig");
            check_reader_config(input)?;
            check_classifier(request)
        }
        Operation::TagResource => check_tags(request),
        Operation::UntagResource => {
            let keys = request.get("TagKeys").and_then(Value::as_array);
            for key in keys.into_iter().flatten().filter_map(Value::as_str) {
                if is_reserved(key) {
                    return Err(ApiError::invalid_request(format!(
                        "Tag keys beginning with '{RESERVED_TAG_PREFIX}' are reserved for AWS \
                         use and cannot be removed: {key}"
                    )));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether a tag key is reserved for AWS.
pub fn is_reserved(key: &str) -> bool {
    key.get(..RESERVED_TAG_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(RESERVED_TAG_PREFIX))
}

/// The error for more than [`MAX_TAGS`] tags on one resource.
pub fn too_many_tags() -> ApiError {
    ApiError::too_many_tags(format!("A resource can have at most {MAX_TAGS} tags."))
}

fn check_tags(request: &Value) -> Result<(), ApiError> {
    let tags = request
        .get("Tags")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    for key in tags.iter().filter_map(|t| str_member(t, "Key")) {
        if is_reserved(key) {
            return Err(ApiError::invalid_request(format!(
                "Tag keys beginning with '{RESERVED_TAG_PREFIX}' are reserved for AWS use and \
                 cannot be set: {key}"
            )));
        }
    }
    Ok(())
}

fn check_reader_config(input: Option<&Value>) -> Result<(), ApiError> {
    let Some(reader) = input.and_then(|c| c.get("DocumentReaderConfig")) else {
        return Ok(());
    };
    let has_features = reader
        .get("FeatureTypes")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    let analyze = str_member(reader, "DocumentReadAction") == Some("TEXTRACT_ANALYZE_DOCUMENT");
    if has_features && !analyze {
        return Err(ApiError::invalid_request(
            "FeatureTypes can be specified only when DocumentReadAction is \
             TEXTRACT_ANALYZE_DOCUMENT.",
        ));
    }
    if analyze && !has_features {
        return Err(ApiError::invalid_request(
            "FeatureTypes is required when DocumentReadAction is TEXTRACT_ANALYZE_DOCUMENT: \
             specify TABLES, FORMS or both.",
        ));
    }
    Ok(())
}

fn check_classifier(request: &Value) -> Result<(), ApiError> {
    let input = request.get("InputDataConfig");
    let native =
        input.and_then(|i| str_member(i, "DocumentType")) == Some("SEMI_STRUCTURED_DOCUMENT");
    if native {
        if input.and_then(|i| i.get("Documents")).is_none() {
            return Err(ApiError::invalid_request(
                "InputDataConfig.Documents is required for a native document model \
                 (DocumentType SEMI_STRUCTURED_DOCUMENT).",
            ));
        }
        if request.get("OutputDataConfig").is_none() {
            return Err(ApiError::invalid_request(
                "OutputDataConfig is required for a native document model \
                 (DocumentType SEMI_STRUCTURED_DOCUMENT).",
            ));
        }
    }
    let language = str_member(request, "LanguageCode").unwrap_or_default();
    let (supported, kind) = if native {
        (NATIVE_DOCUMENT_LANGUAGES, "Native document classifiers")
    } else {
        (PLAIN_TEXT_LANGUAGES, "Custom classifiers")
    };
    if !supported.contains(&language) {
        return Err(ApiError::unsupported_language(format!(
            "{kind} do not support the language '{language}'. Supported languages: {}.",
            supported.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(input: Value, extra: Value) -> Value {
        let mut request = json!({
            "DocumentClassifierName": "c",
            "DataAccessRoleArn": "arn:aws:iam::123456789012:role/comprehend",
            "LanguageCode": "en",
            "InputDataConfig": input,
        });
        for (k, v) in extra.as_object().unwrap() {
            request[k] = v.clone();
        }
        request
    }

    fn code(op: Operation, request: &Value) -> Option<&'static str> {
        check(op, request).err().map(|e| e.code)
    }

    #[test]
    fn reserved_keys_in_any_case() {
        for key in ["aws:x", "AWS:created-by", "Aws:"] {
            assert!(is_reserved(key), "{key}");
        }
        for key in ["aws", "my-aws:x", "awsx:", "é"] {
            assert!(!is_reserved(key), "{key}");
        }
        let tags = json!({"Tags": [{"Key": "team"}, {"Key": "AWS:owner", "Value": "x"}]});
        let err = check(Operation::TagResource, &tags).unwrap_err();
        assert_eq!(err.code, "InvalidRequestException");
        assert!(err.message.contains("AWS:owner"), "{}", err.message);
        assert_eq!(
            code(Operation::UntagResource, &json!({"TagKeys": ["aws:x"]})),
            Some("InvalidRequestException")
        );
    }

    #[test]
    fn fifty_tags_at_most() {
        let tags = |n: usize| json!({"Tags": (0..n).map(|i| json!({"Key": format!("k{i}")})).collect::<Vec<_>>()});
        assert_eq!(
            code(Operation::StartDocumentClassificationJob, &tags(50)),
            None
        );
        assert_eq!(
            code(Operation::StartDocumentClassificationJob, &tags(51)),
            Some("TooManyTagsException")
        );
        assert_eq!(
            code(Operation::CreateDocumentClassifier, &{
                let mut r = create(json!({"S3Uri": "s3://b/x"}), json!({}));
                r["Tags"] = tags(51)["Tags"].clone();
                r
            }),
            Some("TooManyTagsException")
        );
    }

    #[test]
    fn analyze_needs_feature_types() {
        let reader = |config: Value| json!({"InputDataConfig": {"S3Uri": "s3://b/x", "DocumentReaderConfig": config}});
        let err = check(
            Operation::StartDocumentClassificationJob,
            &reader(json!({"DocumentReadAction": "TEXTRACT_ANALYZE_DOCUMENT"})),
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidRequestException");
        assert!(err.message.contains("FeatureTypes is required"));
        assert!(err.message.contains("TEXTRACT_ANALYZE_DOCUMENT"));
        assert_eq!(
            code(
                Operation::CreateDocumentClassifier,
                &create(
                    json!({"S3Uri": "s3://b/x", "DocumentReaderConfig": {"DocumentReadAction": "TEXTRACT_ANALYZE_DOCUMENT", "FeatureTypes": []}}),
                    json!({})
                )
            ),
            Some("InvalidRequestException")
        );
        for ok in [
            json!({"DocumentReadAction": "TEXTRACT_ANALYZE_DOCUMENT", "FeatureTypes": ["FORMS"]}),
            json!({"DocumentReadAction": "TEXTRACT_DETECT_DOCUMENT_TEXT"}),
        ] {
            assert_eq!(
                code(
                    Operation::StartDocumentClassificationJob,
                    &reader(ok.clone())
                ),
                None,
                "{ok}"
            );
        }
    }

    #[test]
    fn languages_of_custom_classification() {
        for language in PLAIN_TEXT_LANGUAGES {
            let request = create(
                json!({"S3Uri": "s3://b/x"}),
                json!({"LanguageCode": language}),
            );
            assert_eq!(code(Operation::CreateDocumentClassifier, &request), None);
        }
        for language in ["ar", "hi", "ja", "ko", "zh", "zh-TW"] {
            let request = create(
                json!({"S3Uri": "s3://b/x"}),
                json!({"LanguageCode": language}),
            );
            assert_eq!(
                code(Operation::CreateDocumentClassifier, &request),
                Some("UnsupportedLanguageException"),
                "{language}"
            );
        }
        let native = |language: &str| {
            create(
                json!({"S3Uri": "s3://b/x", "DocumentType": "SEMI_STRUCTURED_DOCUMENT", "Documents": {"S3Uri": "s3://b/docs/"}}),
                json!({"LanguageCode": language, "OutputDataConfig": {"S3Uri": "s3://b/out/"}}),
            )
        };
        assert_eq!(
            code(Operation::CreateDocumentClassifier, &native("en")),
            None
        );
        let err = check(Operation::CreateDocumentClassifier, &native("de")).unwrap_err();
        assert_eq!(err.code, "UnsupportedLanguageException");
        assert!(err.message.contains("'de'"), "{}", err.message);
    }

    #[test]
    fn native_document_models_need_documents_and_output() {
        let no_documents = create(
            json!({"S3Uri": "s3://b/x", "DocumentType": "SEMI_STRUCTURED_DOCUMENT"}),
            json!({"OutputDataConfig": {"S3Uri": "s3://b/out/"}}),
        );
        let err = check(Operation::CreateDocumentClassifier, &no_documents).unwrap_err();
        assert_eq!(err.code, "InvalidRequestException");
        assert!(err.message.contains("InputDataConfig.Documents"));
        let no_output = create(
            json!({"S3Uri": "s3://b/x", "DocumentType": "SEMI_STRUCTURED_DOCUMENT", "Documents": {"S3Uri": "s3://b/docs/"}}),
            json!({}),
        );
        let err = check(Operation::CreateDocumentClassifier, &no_output).unwrap_err();
        assert_eq!(err.code, "InvalidRequestException");
        assert!(err.message.contains("OutputDataConfig"));
    }
}
