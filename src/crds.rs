//! What both custom resources share: the API group, the patterns of the
//! Comprehend API, the types both specs use (tags, VPC, document reader),
//! the schema rules OpenAPI cannot express per field, and the list of CRDs.
//!
//! Every constraint of the Comprehend service model that OpenAPI can express
//! lives in the schemas, so the API server rejects bad input at `kubectl
//! apply`; `tests/conformance` checks them against the model.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The API group the project owns.
pub const GROUP: &str = "comprehend.operators.dev";

/// `JobName`: 1-256 characters of letters, separators, numbers and `_.:/=+-%@`.
pub const JOB_NAME_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$";
/// Input and output S3 URIs.
pub const S3_URI_PATTERN: &str = r"^s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?$";
/// `DataAccessRoleArn`.
pub const ROLE_ARN_PATTERN: &str = r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$";
/// `DocumentClassifierArn`.
pub const CLASSIFIER_ARN_PATTERN: &str = r"^arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:document-classifier/[a-zA-Z0-9](-*[a-zA-Z0-9])*(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*)?$";
/// `FlywheelArn`.
pub const FLYWHEEL_ARN_PATTERN: &str =
    r"^arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:flywheel/[a-zA-Z0-9](-*[a-zA-Z0-9])*$";
/// KMS key ID, key ARN, alias name or alias ARN: ASCII. The service model
/// says `^\p{ASCII}+$`, which Go's regexp (the API server's) cannot take.
pub const KMS_KEY_PATTERN: &str = r"^[\x00-\x7F]+$";
/// Subnet and security group IDs.
pub const VPC_ID_PATTERN: &str = r"^[-0-9a-zA-Z]+$";
/// Tag keys AWS reserves for itself (any case): refused.
pub const RESERVED_TAG_KEY_PATTERN: &str = "^[aA][wW][sS]:";
/// Tags a Comprehend resource can carry (the service model's
/// TooManyTagsException: "50 tags per resource").
pub const MAX_TAGS: usize = 50;
/// An AWS Region name such as `us-east-1` or `us-gov-west-1`.
pub const REGION_PATTERN: &str = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$";

/// How Comprehend extracts text from semi-structured documents.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentReaderConfig {
    /// TEXTRACT_DETECT_DOCUMENT_TEXT (DetectDocumentText) or
    /// TEXTRACT_ANALYZE_DOCUMENT (AnalyzeDocument, which takes `featureTypes`).
    pub document_read_action: DocumentReadAction,

    /// SERVICE_DEFAULT (let Comprehend choose for PDF files) or
    /// FORCE_DOCUMENT_READ_ACTION (always use `documentReadAction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_read_mode: Option<DocumentReadMode>,

    /// TABLES and/or FORMS: what AnalyzeDocument extracts. Only with
    /// TEXTRACT_ANALYZE_DOCUMENT.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 2))]
    pub feature_types: Vec<FeatureType>,
}

/// Which Amazon Textract API reads the documents.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DocumentReadAction {
    /// Amazon Textract DetectDocumentText.
    #[serde(rename = "TEXTRACT_DETECT_DOCUMENT_TEXT")]
    TextractDetectDocumentText,
    /// Amazon Textract AnalyzeDocument.
    #[serde(rename = "TEXTRACT_ANALYZE_DOCUMENT")]
    TextractAnalyzeDocument,
}

/// When the document read action applies.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DocumentReadMode {
    /// Comprehend decides for PDF files.
    #[serde(rename = "SERVICE_DEFAULT")]
    ServiceDefault,
    /// Always use the document read action.
    #[serde(rename = "FORCE_DOCUMENT_READ_ACTION")]
    ForceDocumentReadAction,
}

/// What Amazon Textract AnalyzeDocument extracts.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum FeatureType {
    /// Tables.
    #[serde(rename = "TABLES")]
    Tables,
    /// Forms.
    #[serde(rename = "FORMS")]
    Forms,
}

/// The VPC the job runs in.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcConfig {
    /// IDs of the subnets (1-16), such as `subnet-0123456789abcdef0`.
    #[schemars(
        length(min = 1, max = 16),
        inner(length(min = 1, max = 32), regex(pattern = VPC_ID_PATTERN))
    )]
    pub subnets: Vec<String>,

    /// IDs of the security groups (1-5), such as `sg-0123456789abcdef0`.
    #[schemars(
        length(min = 1, max = 5),
        inner(length(min = 1, max = 32), regex(pattern = VPC_ID_PATTERN))
    )]
    pub security_group_ids: Vec<String>,
}

/// One tag on a Comprehend resource.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// Tag key, 1-128 characters; keys beginning with `aws:` are reserved
    /// by AWS and refused.
    #[schemars(length(min = 1, max = 128))]
    pub key: String,

    /// Tag value, 0-256 characters (empty when omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub value: Option<String>,
}

/// Refuses tag keys beginning with the reserved `aws:` in the `tags` of a
/// spec schema: structurally (`not`), which every API server enforces, and
/// with a CEL rule whose message newer servers show.
pub(crate) fn tag_rules(spec: &mut serde_json::Value) {
    let key = &mut spec["properties"]["tags"]["items"]["properties"]["key"];
    key["not"] = json!({"pattern": RESERVED_TAG_KEY_PATTERN});
    key["x-kubernetes-validations"] = json!([{
        "rule": format!("!self.matches('{RESERVED_TAG_KEY_PATTERN}')"),
        "message": "tag keys beginning with aws: are reserved by AWS"
    }]);
}

/// TEXTRACT_ANALYZE_DOCUMENT needs `featureTypes` (the service model:
/// "If you chose TEXTRACT_ANALYZE_DOCUMENT as the read action, you must
/// specify one or both"). Structurally, so a 1.20 API server refuses it too,
/// and as a CEL rule with a clear message for newer ones.
pub(crate) fn document_reader_rules(reader: &mut serde_json::Value) {
    // The branch with `featureTypes` first: a 1.20 server names the field
    // of the branch that came closest.
    reader["anyOf"] = json!([
        {"required": ["featureTypes"]},
        {"properties": {"documentReadAction": {"enum": ["TEXTRACT_DETECT_DOCUMENT_TEXT"]}}}
    ]);
    reader["x-kubernetes-validations"] = json!([{
        "rule": "self.documentReadAction != 'TEXTRACT_ANALYZE_DOCUMENT' || has(self.featureTypes)",
        "message": "featureTypes (TABLES and/or FORMS) is required with documentReadAction TEXTRACT_ANALYZE_DOCUMENT"
    }]);
}

/// A CEL rule that freezes every spec field but those in `mutable` once
/// `guard` no longer holds: field by field, since CEL cannot compare an
/// object minus some keys.
pub(crate) fn immutability_rule(
    spec_schema: &serde_json::Value,
    mutable: &[&str],
    guard: &str,
) -> String {
    let required: Vec<&str> = spec_schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let mut fields: Vec<String> = spec_schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    fields.sort();
    let same: Vec<String> = fields
        .iter()
        .filter(|f| !mutable.contains(&f.as_str()))
        .map(|f| {
            if required.contains(&f.as_str()) {
                format!("self.spec.{f} == oldSelf.spec.{f}")
            } else {
                format!(
                    "(has(self.spec.{f}) == has(oldSelf.spec.{f}) && (!has(self.spec.{f}) || self.spec.{f} == oldSelf.spec.{f}))"
                )
            }
        })
        .collect();
    format!("{guard} || ({})", same.join(" && "))
}

/// A CRD as YAML, as written to `crds/`.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> String {
    format!(
        "# Generated by `comprehend-operator crd`; do not edit.\n{}",
        serde_yaml::to_string(crd).expect("CRD serializes to YAML")
    )
}
/// A document reader the service would refuse: AnalyzeDocument needs the
/// features to extract.
pub fn validate_reader(reader: &DocumentReaderConfig, path: &str) -> Result<(), String> {
    let analyze = reader.document_read_action == DocumentReadAction::TextractAnalyzeDocument;
    if analyze && reader.feature_types.is_empty() {
        return Err(format!(
            "{path}.featureTypes (TABLES and/or FORMS) is required with documentReadAction TEXTRACT_ANALYZE_DOCUMENT"
        ));
    }
    if !analyze && !reader.feature_types.is_empty() {
        return Err(format!(
            "{path}.featureTypes is allowed only with documentReadAction TEXTRACT_ANALYZE_DOCUMENT"
        ));
    }
    Ok(())
}

/// Tags the service would refuse: more than [`MAX_TAGS`], or a key with the
/// prefix AWS reserves.
pub fn validate_tags(tags: &[Tag]) -> Result<(), String> {
    if tags.len() > MAX_TAGS {
        return Err(format!(
            "spec.tags has {} tags; a Comprehend resource takes at most {MAX_TAGS}",
            tags.len()
        ));
    }
    if let Some(tag) = tags.iter().find(|t| {
        t.key
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
    }) {
        return Err(format!(
            "spec.tags key {:?} begins with aws:, which AWS reserves",
            tag.key
        ));
    }
    Ok(())
}
