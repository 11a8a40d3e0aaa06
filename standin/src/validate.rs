//! Request validation, table-driven from the Comprehend API reference: each
//! operation's input is described as a shape tree (types, required members,
//! lengths, patterns, enums, list sizes, integer ranges), and one walker
//! checks a JSON request against it and words the errors like the service:
//! `1 validation error detected: Value 'x' at 'dataAccessRoleArn' failed to
//! satisfy constraint: Member must satisfy regular expression pattern: ...`.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;
use serde_json::Value;

use crate::protocol::{ApiError, Operation};

/// The type of one member, with its constraints.
#[derive(Debug)]
pub enum Ty {
    /// A string with optional length bounds (in characters), a pattern the
    /// whole string must match, and an enum set.
    Str {
        /// Minimum length.
        min: Option<usize>,
        /// Maximum length.
        max: Option<usize>,
        /// Regular expression the whole value must match.
        pattern: Option<&'static str>,
        /// Allowed values.
        values: Option<&'static [&'static str]>,
    },
    /// An integer within `min..=max`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A timestamp (epoch seconds in awsJson1_1).
    Timestamp,
    /// A structure with named members.
    Struct(&'static [Member]),
    /// A list with optional size bounds.
    List {
        /// The type of each item.
        item: &'static Ty,
        /// Minimum number of items.
        min: Option<usize>,
        /// Maximum number of items.
        max: Option<usize>,
    },
    /// Anything (members this stand-in accepts without checking).
    Any,
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    /// The member's wire name (PascalCase).
    pub name: &'static str,
    /// Whether the member must be present.
    pub required: bool,
    /// The member's type.
    pub ty: &'static Ty,
}

const fn req(name: &'static str, ty: &'static Ty) -> Member {
    Member {
        name,
        required: true,
        ty,
    }
}

const fn opt(name: &'static str, ty: &'static Ty) -> Member {
    Member {
        name,
        required: false,
        ty,
    }
}

const fn string(min: Option<usize>, max: Option<usize>, pattern: &'static str) -> Ty {
    Ty::Str {
        min,
        max,
        pattern: Some(pattern),
        values: None,
    }
}

const fn enumeration(values: &'static [&'static str]) -> Ty {
    Ty::Str {
        min: None,
        max: None,
        pattern: None,
        values: Some(values),
    }
}

/// Pattern of `JobName` (and of `JobId`).
pub const JOB_NAME_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$";
/// Pattern of `ClientRequestToken`.
pub const CLIENT_REQUEST_TOKEN_PATTERN: &str = r"^[a-zA-Z0-9-]+$";
/// Pattern of every `S3Uri`.
pub const S3_URI_PATTERN: &str = r"s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?";
/// Pattern of `DataAccessRoleArn`.
pub const IAM_ROLE_ARN_PATTERN: &str = r"arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+";
/// Pattern of `DocumentClassifierArn`.
pub const DOCUMENT_CLASSIFIER_ARN_PATTERN: &str = r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:document-classifier/[a-zA-Z0-9](-*[a-zA-Z0-9])*(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*)?";
/// Pattern of `FlywheelArn`.
pub const FLYWHEEL_ARN_PATTERN: &str =
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:flywheel/[a-zA-Z0-9](-*[a-zA-Z0-9])*";
/// Pattern of a resource ARN in the tagging operations.
pub const COMPREHEND_ARN_PATTERN: &str = r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:[a-zA-Z0-9-]{1,64}/[a-zA-Z0-9](-*[a-zA-Z0-9])*(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*)?";
/// Pattern of KMS key ids, key ARNs, alias names and alias ARNs.
pub const KMS_KEY_ID_PATTERN: &str = r"^\p{ASCII}+$";
/// Pattern of security group ids and subnet ids.
pub const VPC_ID_PATTERN: &str = r"[-0-9a-zA-Z]+";
/// Pattern of `DocumentClassifierName` and `VersionName`.
pub const RESOURCE_NAME_PATTERN: &str = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$";
/// Pattern of `LabelDelimiter`.
pub const LABEL_DELIMITER_PATTERN: &str = r"^[ ~!@#$%^*\-_+=|\\:;\t>?/]$";
/// Pattern of `ModelPolicy`.
pub const MODEL_POLICY_PATTERN: &str = r"[\u{0009}\u{000A}\u{000D}\u{0020}-\u{00FF}]+";

/// `JobStatus` values.
pub const JOB_STATUSES: &[&str] = &[
    "SUBMITTED",
    "IN_PROGRESS",
    "COMPLETED",
    "FAILED",
    "STOP_REQUESTED",
    "STOPPED",
];
/// `ModelStatus` values.
pub const MODEL_STATUSES: &[&str] = &[
    "SUBMITTED",
    "TRAINING",
    "DELETING",
    "STOP_REQUESTED",
    "STOPPED",
    "IN_ERROR",
    "TRAINED",
    "TRAINED_WITH_WARNING",
];
/// `LanguageCode` values.
pub const LANGUAGE_CODES: &[&str] = &[
    "en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW",
];

static JOB_NAME: Ty = string(Some(1), Some(256), JOB_NAME_PATTERN);
static JOB_ID: Ty = string(Some(1), Some(32), JOB_NAME_PATTERN);
static CLIENT_REQUEST_TOKEN: Ty = string(Some(1), Some(64), CLIENT_REQUEST_TOKEN_PATTERN);
static S3_URI: Ty = string(None, Some(1024), S3_URI_PATTERN);
static IAM_ROLE_ARN: Ty = string(Some(20), Some(2048), IAM_ROLE_ARN_PATTERN);
static DOCUMENT_CLASSIFIER_ARN: Ty = string(None, Some(256), DOCUMENT_CLASSIFIER_ARN_PATTERN);
static FLYWHEEL_ARN: Ty = string(None, Some(256), FLYWHEEL_ARN_PATTERN);
static COMPREHEND_ARN: Ty = string(None, Some(256), COMPREHEND_ARN_PATTERN);
static KMS_KEY_ID: Ty = string(None, Some(2048), KMS_KEY_ID_PATTERN);
static VPC_ID: Ty = string(Some(1), Some(32), VPC_ID_PATTERN);
static RESOURCE_NAME: Ty = string(None, Some(63), RESOURCE_NAME_PATTERN);
static LABEL_DELIMITER: Ty = string(Some(1), Some(1), LABEL_DELIMITER_PATTERN);
static MODEL_POLICY: Ty = string(Some(1), Some(20000), MODEL_POLICY_PATTERN);
static NEXT_TOKEN: Ty = Ty::Str {
    min: Some(1),
    max: None,
    pattern: None,
    values: None,
};
static MAX_RESULTS: Ty = Ty::Int { min: 1, max: 500 };
static TIMESTAMP: Ty = Ty::Timestamp;
static ANY: Ty = Ty::Any;

static TAG_KEY: Ty = Ty::Str {
    min: Some(1),
    max: Some(128),
    pattern: None,
    values: None,
};
static TAG_VALUE: Ty = Ty::Str {
    min: Some(0),
    max: Some(256),
    pattern: None,
    values: None,
};
static TAG: Ty = Ty::Struct(&[req("Key", &TAG_KEY), opt("Value", &TAG_VALUE)]);
static TAG_LIST: Ty = Ty::List {
    item: &TAG,
    min: None,
    max: None,
};
static TAG_KEY_LIST: Ty = Ty::List {
    item: &TAG_KEY,
    min: None,
    max: None,
};

static VPC_CONFIG: Ty = Ty::Struct(&[
    req(
        "SecurityGroupIds",
        &Ty::List {
            item: &VPC_ID,
            min: Some(1),
            max: Some(5),
        },
    ),
    req(
        "Subnets",
        &Ty::List {
            item: &VPC_ID,
            min: Some(1),
            max: Some(16),
        },
    ),
]);

static INPUT_FORMAT: Ty = enumeration(&["ONE_DOC_PER_FILE", "ONE_DOC_PER_LINE"]);
static DOCUMENT_READER_CONFIG: Ty = Ty::Struct(&[
    req(
        "DocumentReadAction",
        &enumeration(&["TEXTRACT_DETECT_DOCUMENT_TEXT", "TEXTRACT_ANALYZE_DOCUMENT"]),
    ),
    opt(
        "DocumentReadMode",
        &enumeration(&["SERVICE_DEFAULT", "FORCE_DOCUMENT_READ_ACTION"]),
    ),
    opt(
        "FeatureTypes",
        &Ty::List {
            item: &enumeration(&["TABLES", "FORMS"]),
            min: Some(1),
            max: Some(2),
        },
    ),
]);
static INPUT_DATA_CONFIG: Ty = Ty::Struct(&[
    req("S3Uri", &S3_URI),
    opt("InputFormat", &INPUT_FORMAT),
    opt("DocumentReaderConfig", &DOCUMENT_READER_CONFIG),
]);
static OUTPUT_DATA_CONFIG: Ty = Ty::Struct(&[req("S3Uri", &S3_URI), opt("KmsKeyId", &KMS_KEY_ID)]);

static START_DOCUMENT_CLASSIFICATION_JOB: Ty = Ty::Struct(&[
    opt("JobName", &JOB_NAME),
    opt("DocumentClassifierArn", &DOCUMENT_CLASSIFIER_ARN),
    req("InputDataConfig", &INPUT_DATA_CONFIG),
    req("OutputDataConfig", &OUTPUT_DATA_CONFIG),
    req("DataAccessRoleArn", &IAM_ROLE_ARN),
    opt("ClientRequestToken", &CLIENT_REQUEST_TOKEN),
    opt("VolumeKmsKeyId", &KMS_KEY_ID),
    opt("VpcConfig", &VPC_CONFIG),
    opt("Tags", &TAG_LIST),
    opt("FlywheelArn", &FLYWHEEL_ARN),
]);
static DESCRIBE_DOCUMENT_CLASSIFICATION_JOB: Ty = Ty::Struct(&[req("JobId", &JOB_ID)]);
static LIST_DOCUMENT_CLASSIFICATION_JOBS: Ty = Ty::Struct(&[
    opt(
        "Filter",
        &Ty::Struct(&[
            opt("JobName", &JOB_NAME),
            opt("JobStatus", &enumeration(JOB_STATUSES)),
            opt("SubmitTimeBefore", &TIMESTAMP),
            opt("SubmitTimeAfter", &TIMESTAMP),
        ]),
    ),
    opt("NextToken", &NEXT_TOKEN),
    opt("MaxResults", &MAX_RESULTS),
]);

static CREATE_DOCUMENT_CLASSIFIER: Ty = Ty::Struct(&[
    req("DocumentClassifierName", &RESOURCE_NAME),
    opt("VersionName", &RESOURCE_NAME),
    req("DataAccessRoleArn", &IAM_ROLE_ARN),
    opt("Tags", &TAG_LIST),
    req(
        "InputDataConfig",
        &Ty::Struct(&[
            opt(
                "DataFormat",
                &enumeration(&["COMPREHEND_CSV", "AUGMENTED_MANIFEST"]),
            ),
            opt("S3Uri", &S3_URI),
            opt("TestS3Uri", &S3_URI),
            opt("LabelDelimiter", &LABEL_DELIMITER),
            opt(
                "AugmentedManifests",
                &Ty::List {
                    item: &ANY,
                    min: None,
                    max: None,
                },
            ),
            opt(
                "DocumentType",
                &enumeration(&["PLAIN_TEXT_DOCUMENT", "SEMI_STRUCTURED_DOCUMENT"]),
            ),
            opt(
                "Documents",
                &Ty::Struct(&[req("S3Uri", &S3_URI), opt("TestS3Uri", &S3_URI)]),
            ),
            opt("DocumentReaderConfig", &DOCUMENT_READER_CONFIG),
        ]),
    ),
    opt(
        "OutputDataConfig",
        &Ty::Struct(&[
            opt("S3Uri", &S3_URI),
            opt("KmsKeyId", &KMS_KEY_ID),
            opt("FlywheelStatsS3Prefix", &S3_URI),
        ]),
    ),
    opt("ClientRequestToken", &CLIENT_REQUEST_TOKEN),
    req("LanguageCode", &enumeration(LANGUAGE_CODES)),
    opt("VolumeKmsKeyId", &KMS_KEY_ID),
    opt("VpcConfig", &VPC_CONFIG),
    opt("Mode", &enumeration(&["MULTI_CLASS", "MULTI_LABEL"])),
    opt("ModelKmsKeyId", &KMS_KEY_ID),
    opt("ModelPolicy", &MODEL_POLICY),
]);
static CLASSIFIER_ARN_ONLY: Ty =
    Ty::Struct(&[req("DocumentClassifierArn", &DOCUMENT_CLASSIFIER_ARN)]);
static LIST_DOCUMENT_CLASSIFIERS: Ty = Ty::Struct(&[
    opt(
        "Filter",
        &Ty::Struct(&[
            opt("Status", &enumeration(MODEL_STATUSES)),
            opt("DocumentClassifierName", &RESOURCE_NAME),
            opt("SubmitTimeBefore", &TIMESTAMP),
            opt("SubmitTimeAfter", &TIMESTAMP),
        ]),
    ),
    opt("NextToken", &NEXT_TOKEN),
    opt("MaxResults", &MAX_RESULTS),
]);
static TAG_RESOURCE: Ty =
    Ty::Struct(&[req("ResourceArn", &COMPREHEND_ARN), req("Tags", &TAG_LIST)]);
static UNTAG_RESOURCE: Ty = Ty::Struct(&[
    req("ResourceArn", &COMPREHEND_ARN),
    req("TagKeys", &TAG_KEY_LIST),
]);
static LIST_TAGS_FOR_RESOURCE: Ty = Ty::Struct(&[req("ResourceArn", &COMPREHEND_ARN)]);

/// The input shape of an operation.
pub fn input_shape(op: Operation) -> &'static Ty {
    match op {
        Operation::StartDocumentClassificationJob => &START_DOCUMENT_CLASSIFICATION_JOB,
        Operation::DescribeDocumentClassificationJob => &DESCRIBE_DOCUMENT_CLASSIFICATION_JOB,
        Operation::ListDocumentClassificationJobs => &LIST_DOCUMENT_CLASSIFICATION_JOBS,
        Operation::CreateDocumentClassifier => &CREATE_DOCUMENT_CLASSIFIER,
        Operation::DescribeDocumentClassifier
        | Operation::StopTrainingDocumentClassifier
        | Operation::DeleteDocumentClassifier => &CLASSIFIER_ARN_ONLY,
        Operation::ListDocumentClassifiers => &LIST_DOCUMENT_CLASSIFIERS,
        Operation::TagResource => &TAG_RESOURCE,
        Operation::UntagResource => &UNTAG_RESOURCE,
        Operation::ListTagsForResource => &LIST_TAGS_FOR_RESOURCE,
    }
}

/// Checks a request against its operation's input shape.
///
/// A member of the wrong JSON type is a `SerializationException`; every
/// violated constraint is listed in one `InvalidRequestException`.
pub fn validate_request(op: Operation, request: &Value) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    check(input_shape(op), request, "", &mut errors)?;
    match errors.len() {
        0 => Ok(()),
        1 => Err(ApiError::invalid_request(format!(
            "1 validation error detected: {}",
            errors[0]
        ))),
        n => Err(ApiError::invalid_request(format!(
            "{n} validation errors detected: {}",
            errors.join("; ")
        ))),
    }
}

/// Whether `value` matches the whole of `pattern` (patterns are anchored, as
/// the service applies them).
pub fn matches(pattern: &'static str, value: &str) -> bool {
    static CACHE: LazyLock<Mutex<HashMap<&'static str, Regex>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let regex = cache.entry(pattern).or_insert_with(|| {
        Regex::new(&format!("^(?:{pattern})$")).expect("API patterns are valid regexes")
    });
    regex.is_match(value)
}

/// `DataAccessRoleArn` -> `dataAccessRoleArn`, as the service names members
/// in validation messages.
fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        lower_camel(name)
    } else {
        format!("{path}.{}", lower_camel(name))
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "null".to_string(),
        Value::Array(items) => format!(
            "'[{}]'",
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("'{other}'"),
    }
}

fn violation(value: &Value, path: &str, constraint: &str) -> String {
    format!(
        "Value {} at '{path}' failed to satisfy constraint: {constraint}",
        describe(value)
    )
}

/// The constraint messages a string breaks, without the path.
fn string_violations(ty: &Ty, s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ty::Str {
        min,
        max,
        pattern,
        values,
    } = ty
    {
        let len = s.chars().count();
        if let Some(min) = min {
            if len < *min {
                out.push(format!(
                    "Member must have length greater than or equal to {min}"
                ));
            }
        }
        if let Some(max) = max {
            if len > *max {
                out.push(format!(
                    "Member must have length less than or equal to {max}"
                ));
            }
        }
        if let Some(pattern) = pattern {
            if !matches(pattern, s) {
                out.push(format!(
                    "Member must satisfy regular expression pattern: {pattern}"
                ));
            }
        }
        if let Some(values) = values {
            if !values.contains(&s) {
                out.push(format!(
                    "Member must satisfy enum value set: [{}]",
                    values.join(", ")
                ));
            }
        }
    }
    out
}

fn type_error(path: &str, expected: &str) -> ApiError {
    ApiError::serialization(format!("Expected {expected} at '{path}'"))
}

fn check(ty: &Ty, value: &Value, path: &str, errors: &mut Vec<String>) -> Result<(), ApiError> {
    match ty {
        Ty::Any => {}
        Ty::Str { .. } => {
            let s = value.as_str().ok_or_else(|| type_error(path, "a string"))?;
            for constraint in string_violations(ty, s) {
                errors.push(violation(value, path, &constraint));
            }
        }
        Ty::Int { min, max } => {
            let n = value
                .as_i64()
                .ok_or_else(|| type_error(path, "an integer"))?;
            if n < *min {
                errors.push(violation(
                    value,
                    path,
                    &format!("Member must have value greater than or equal to {min}"),
                ));
            }
            if n > *max {
                errors.push(violation(
                    value,
                    path,
                    &format!("Member must have value less than or equal to {max}"),
                ));
            }
        }
        Ty::Timestamp => {
            if !value.is_number() {
                return Err(type_error(path, "a timestamp in epoch seconds"));
            }
        }
        Ty::Struct(members) => {
            let object = value
                .as_object()
                .ok_or_else(|| type_error(path, "an object"))?;
            for member in members.iter() {
                let member_path = join(path, member.name);
                match object.get(member.name) {
                    None | Some(Value::Null) => {
                        if member.required {
                            errors.push(violation(
                                &Value::Null,
                                &member_path,
                                "Member must not be null",
                            ));
                        }
                    }
                    Some(member_value) => check(member.ty, member_value, &member_path, errors)?,
                }
            }
        }
        Ty::List { item, min, max } => {
            let items = value.as_array().ok_or_else(|| type_error(path, "a list"))?;
            if let Some(min) = min {
                if items.len() < *min {
                    errors.push(violation(
                        value,
                        path,
                        &format!("Member must have length greater than or equal to {min}"),
                    ));
                }
            }
            if let Some(max) = max {
                if items.len() > *max {
                    errors.push(violation(
                        value,
                        path,
                        &format!("Member must have length less than or equal to {max}"),
                    ));
                }
            }
            if let Ty::Str { .. } = item {
                // The service reports string-list members together, at the
                // list's path.
                let mut broken: Vec<String> = Vec::new();
                for element in items {
                    let s = element
                        .as_str()
                        .ok_or_else(|| type_error(path, "a list of strings"))?;
                    for constraint in string_violations(item, s) {
                        if !broken.contains(&constraint) {
                            broken.push(constraint);
                        }
                    }
                }
                if !broken.is_empty() {
                    errors.push(violation(
                        value,
                        path,
                        &format!("Member must satisfy constraint: [{}]", broken.join(", ")),
                    ));
                }
            } else {
                for (index, element) in items.iter().enumerate() {
                    let element_path = format!("{path}.{}.member", index + 1);
                    check(item, element, &element_path, errors)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn start(overrides: Value) -> Value {
        let mut request = json!({
            "JobName": "job-1",
            "DocumentClassifierArn": "arn:aws:comprehend:us-east-1:123456789012:document-classifier/c1",
            "InputDataConfig": {"S3Uri": "s3://in-bucket/docs/", "InputFormat": "ONE_DOC_PER_LINE"},
            "OutputDataConfig": {"S3Uri": "s3://out-bucket/results/"},
            "DataAccessRoleArn": "arn:aws:iam::123456789012:role/comprehend",
        });
        for (k, v) in overrides.as_object().unwrap() {
            request[k] = v.clone();
        }
        request
    }

    #[test]
    fn a_good_request_passes() {
        validate_request(Operation::StartDocumentClassificationJob, &start(json!({}))).unwrap();
    }

    #[test]
    fn role_arn_message_names_the_member_and_pattern() {
        let err = validate_request(
            Operation::StartDocumentClassificationJob,
            &start(json!({"DataAccessRoleArn": "arn:aws:iam::12:role/x-long-enough"})),
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidRequestException");
        assert_eq!(
            err.message,
            "1 validation error detected: Value 'arn:aws:iam::12:role/x-long-enough' at 'dataAccessRoleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+"
        );
    }

    #[test]
    fn nested_and_list_paths() {
        let err = validate_request(
            Operation::StartDocumentClassificationJob,
            &start(json!({
                "InputDataConfig": {"S3Uri": "s3://In"},
                "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet_1"]},
                "Tags": [{"Value": "v"}],
            })),
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("3 validation errors detected: "),
            "{}",
            err.message
        );
        assert!(err.message.contains("at 'inputDataConfig.s3Uri'"));
        assert!(err.message.contains("at 'vpcConfig.subnets'"));
        assert!(err.message.contains("Value null at 'tags.1.member.key'"));
    }

    #[test]
    fn job_names_allow_unicode_letters() {
        assert!(matches(
            JOB_NAME_PATTERN,
            "Auftrag-Überprüfung 1:2/3=4+5%6@7"
        ));
        assert!(!matches(JOB_NAME_PATTERN, "bad!name"));
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        let err = validate_request(
            Operation::ListDocumentClassificationJobs,
            &json!({"MaxResults": "ten"}),
        )
        .unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }
}
