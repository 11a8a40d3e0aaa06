//! The `DocumentClassifier` custom resource: what Comprehend's
//! CreateDocumentClassifier takes, and what training reports back.
//!
//! Same discipline as [`crate::crds`]: every API constraint OpenAPI can
//! express is in the schema, every field is documented, and the spec cannot
//! change once training has started.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::crds::{
    document_reader_rules, immutability_rule, tag_rules, DocumentReaderConfig, Tag, VpcConfig,
    KMS_KEY_PATTERN, REGION_PATTERN, ROLE_ARN_PATTERN, S3_URI_PATTERN,
};

/// `DocumentClassifierName` and `VersionName`: letters, digits and inner
/// hyphens.
pub const RESOURCE_NAME_PATTERN: &str = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$";
/// `LabelDelimiter`: one of the characters the API allows.
pub const LABEL_DELIMITER_PATTERN: &str = r"^[ ~!@#$%^*\-_+=|\\:;\t>?/]$";
/// `Policy`: the service model's `[\u0009\u000A\u000D\u0020-\u00FF]+`,
/// anchored and spelled for Go's regexp (the API server's), which has no
/// `\uXXXX`.
pub const MODEL_POLICY_PATTERN: &str = r"^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$";

/// A custom classifier to train. It cannot change once training has started:
/// create a new version (a new `versionName`) instead.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "comprehend.operators.dev",
    version = "v1alpha1",
    kind = "DocumentClassifier",
    namespaced,
    status = "DocumentClassifierStatus",
    shortname = "dclf",
    category = "comprehend",
    derive = "PartialEq",
    doc = "Trains one Amazon Comprehend custom document classifier (a model version) and reports its state and evaluation metrics. ClassificationJobs in the same namespace use it through spec.classifierRef. The spec cannot change once training has started. With deletionPolicy Delete, deleting this resource stops training and deletes the model in Comprehend; with Retain (the default) the model is kept.",
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.status","description":"Comprehend's classifier status"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether the classifier is trained"}"#,
    printcolumn = r#"{"name":"F1","type":"number","jsonPath":".status.evaluationMetrics.f1Score","description":"F1 score on the test data"}"#,
    printcolumn = r#"{"name":"ARN","type":"string","jsonPath":".status.documentClassifierArn","priority":1,"description":"ARN of the classifier"}"#,
    printcolumn = r#"{"name":"Output","type":"string","jsonPath":".status.outputS3Uri","priority":1,"description":"S3 URI of the training output (confusion matrix)"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DocumentClassifierSpec {
    /// Name of the classifier in Comprehend (at most 63 letters, digits and
    /// inner hyphens). Together with `versionName` it must be unique in the
    /// account and Region; the operator finds a classifier it created again
    /// by this pair.
    #[schemars(length(max = 63), regex(pattern = RESOURCE_NAME_PATTERN))]
    pub document_classifier_name: String,

    /// Version of the classifier (at most 63 letters, digits and inner
    /// hyphens). Train a new model under the same name by creating another
    /// DocumentClassifier with a new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = RESOURCE_NAME_PATTERN))]
    pub version_name: Option<String>,

    /// Language of the training documents, one of those custom
    /// classification supports: de, en, es, fr, it or pt for a plain-text
    /// model; en only for a native document model (`inputDataConfig.documentType`
    /// SEMI_STRUCTURED_DOCUMENT). All documents must be in this language.
    pub language_code: LanguageCode,

    /// MULTI_CLASS (one class a document, the default) or MULTI_LABEL (any
    /// number of labels a document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ClassifierMode>,

    /// Where the training (and optional test) data is.
    pub input_data_config: ClassifierInputDataConfig,

    /// Where Comprehend writes the confusion matrix and other training
    /// output. Required (with `s3Uri`) for a native document model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_data_config: Option<ClassifierOutputDataConfig>,

    /// ARN of the IAM role that grants Comprehend read access to the
    /// training data (and write access to the output).
    #[schemars(
        length(min = 20, max = 2048),
        regex(pattern = ROLE_ARN_PATTERN)
    )]
    pub data_access_role_arn: String,

    /// KMS key that encrypts the storage volume of the training instances:
    /// a key ID in this account, or a key ARN from any account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = KMS_KEY_PATTERN))]
    pub volume_kms_key_id: Option<String>,

    /// KMS key that encrypts the trained model: key ID, alias name, key ARN
    /// or alias ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = KMS_KEY_PATTERN))]
    pub model_kms_key_id: Option<String>,

    /// Trains inside your VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfig>,

    /// Resource-based policy attached to the trained model, for example to
    /// let another AWS account import it: a JSON document on one line,
    /// 1-20000 characters (tab, line feed, carriage return and U+0020 to
    /// U+00FF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 20000),
        regex(pattern = MODEL_POLICY_PATTERN)
    )]
    pub model_policy: Option<String>,

    /// Tags put on the classifier: at most 50, keys unique, none beginning
    /// with the reserved `aws:`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["key"]))]
    pub tags: Vec<Tag>,

    /// AWS Region of the classifier. Defaults to the operator's Region.
    /// ClassificationJobs that use it must run in the same Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = REGION_PATTERN))]
    pub region: Option<String>,

    /// What happens to the model in Comprehend when this resource is
    /// deleted: Retain (the default) keeps it; Delete stops training if it
    /// runs and deletes the model.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// A classifier's language. Comprehend's `LanguageCode` lists more
/// languages (ar, hi, ja, ko, zh, zh-TW) than custom classification trains
/// in; the schema offers only the six it supports. Any other value is kept
/// as written ([`LanguageCode::Unsupported`]) rather than failing to
/// deserialize: one object the operator cannot read would stop the watch of
/// every DocumentClassifier. The operator refuses such a spec instead.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LanguageCode {
    /// German.
    De,
    /// English.
    En,
    /// Spanish.
    Es,
    /// French.
    Fr,
    /// Italian.
    It,
    /// Portuguese.
    Pt,
    /// A value custom classification does not support, as written.
    Unsupported(String),
}

impl LanguageCode {
    /// The languages custom classification trains plain-text models in.
    pub const SUPPORTED: [&'static str; 6] = ["de", "en", "es", "fr", "it", "pt"];
    /// The languages it trains native document models in.
    pub const SUPPORTED_NATIVE: [&'static str; 1] = ["en"];

    /// The API's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            LanguageCode::De => "de",
            LanguageCode::En => "en",
            LanguageCode::Es => "es",
            LanguageCode::Fr => "fr",
            LanguageCode::It => "it",
            LanguageCode::Pt => "pt",
            LanguageCode::Unsupported(other) => other,
        }
    }
}

impl From<&str> for LanguageCode {
    fn from(value: &str) -> Self {
        match value {
            "de" => LanguageCode::De,
            "en" => LanguageCode::En,
            "es" => LanguageCode::Es,
            "fr" => LanguageCode::Fr,
            "it" => LanguageCode::It,
            "pt" => LanguageCode::Pt,
            other => LanguageCode::Unsupported(other.to_string()),
        }
    }
}

impl Serialize for LanguageCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LanguageCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Ok(LanguageCode::from(value.as_str()))
    }
}

/// Only the supported languages, as a plain string enum (the field's doc
/// comment is its description).
impl JsonSchema for LanguageCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LanguageCode".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": LanguageCode::SUPPORTED,
        })
    }
}

/// How many classes a document gets.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ClassifierMode {
    /// Exactly one class a document.
    #[serde(rename = "MULTI_CLASS")]
    MultiClass,
    /// Any number of labels a document.
    #[serde(rename = "MULTI_LABEL")]
    MultiLabel,
}

/// What deleting the resource does to the model.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the model in Comprehend.
    #[default]
    Retain,
    /// Stop training if it runs, and delete the model.
    Delete,
}

/// The training data.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierInputDataConfig {
    /// COMPREHEND_CSV (label in the first column, text in the second; the
    /// default) or AUGMENTED_MANIFEST (SageMaker Ground Truth output, in
    /// `augmentedManifests`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_format: Option<DataFormat>,

    /// S3 URI of the training CSV (an object, or a prefix whose objects are
    /// all used). Required with COMPREHEND_CSV. For a native document model
    /// the CSV names the documents under `documents.s3Uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub s3_uri: Option<String>,

    /// S3 URI of separate test data. Without it, Comprehend keeps 10% of the
    /// training data aside to compute the evaluation metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub test_s3_uri: Option<String>,

    /// Character between the labels of a document in MULTI_LABEL mode
    /// (default `|`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 1),
        regex(pattern = LABEL_DELIMITER_PATTERN)
    )]
    pub label_delimiter: Option<String>,

    /// The augmented manifest files (SageMaker Ground Truth output).
    /// Required with AUGMENTED_MANIFEST, allowed only with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub augmented_manifests: Vec<AugmentedManifest>,

    /// PLAIN_TEXT_DOCUMENT (the default) or SEMI_STRUCTURED_DOCUMENT (a
    /// native document model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<DocumentType>,

    /// Where the training (and test) documents of a native document model
    /// are. Required with documentType SEMI_STRUCTURED_DOCUMENT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<ClassifierDocuments>,

    /// How Comprehend extracts text from the PDF and image training
    /// documents of a native document model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_reader_config: Option<DocumentReaderConfig>,
}

/// The kind of training documents: PLAIN_TEXT_DOCUMENT (the default)
/// trains a plain-text model; SEMI_STRUCTURED_DOCUMENT trains a native
/// document model on PDF files, which needs `documents`,
/// `outputDataConfig.s3Uri` and languageCode en.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DocumentType {
    /// UTF-8 text: a plain-text model.
    #[serde(rename = "PLAIN_TEXT_DOCUMENT")]
    PlainTextDocument,
    /// PDF and other documents with layout: a native document model.
    #[serde(rename = "SEMI_STRUCTURED_DOCUMENT")]
    SemiStructuredDocument,
}

/// The training documents of a native document model.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierDocuments {
    /// S3 URI (prefix) of the training documents named in the training CSV
    /// (`inputDataConfig.s3Uri`).
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub s3_uri: String,

    /// S3 URI (prefix) of the test documents named in the test CSV
    /// (`inputDataConfig.testS3Uri`); only with a test CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub test_s3_uri: Option<String>,
}

/// The format of the training data.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DataFormat {
    /// A CSV file: label, then text.
    #[serde(rename = "COMPREHEND_CSV")]
    ComprehendCsv,
    /// SageMaker Ground Truth augmented manifests.
    #[serde(rename = "AUGMENTED_MANIFEST")]
    AugmentedManifest,
}

/// One augmented manifest file.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AugmentedManifest {
    /// S3 URI of the manifest file.
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub s3_uri: String,

    /// TRAIN (the default) or TEST: what the file is used for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,

    /// The JSON attribute names that hold the labels: the
    /// LabelAttributeName of the Ground Truth labeling job, or of one or more
    /// jobs of a chained labeling job (1-63 letters, digits and inner hyphens
    /// each).
    #[schemars(inner(
        length(min = 1, max = 63),
        regex(pattern = RESOURCE_NAME_PATTERN)
    ))]
    pub attribute_names: Vec<String>,

    /// S3 prefix of the annotation files of semi-structured documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub annotation_data_s3_uri: Option<String>,

    /// S3 prefix of the source PDF documents of semi-structured documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub source_documents_s3_uri: Option<String>,

    /// PLAIN_TEXT_DOCUMENT (the default) or SEMI_STRUCTURED_DOCUMENT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<ManifestDocumentType>,
}

/// What a manifest file is used for.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Split {
    /// Training.
    #[serde(rename = "TRAIN")]
    Train,
    /// Testing.
    #[serde(rename = "TEST")]
    Test,
}

/// The kind of documents a manifest lists.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ManifestDocumentType {
    /// Plain text.
    #[serde(rename = "PLAIN_TEXT_DOCUMENT")]
    PlainTextDocument,
    /// PDF and other semi-structured documents.
    #[serde(rename = "SEMI_STRUCTURED_DOCUMENT")]
    SemiStructuredDocument,
}

/// Where the training output goes.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierOutputDataConfig {
    /// S3 URI of the output prefix (the confusion matrix and, in
    /// MULTI_LABEL mode, per-label metrics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub s3_uri: Option<String>,

    /// KMS key that encrypts the output: key ID, alias name, key ARN or alias
    /// ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = KMS_KEY_PATTERN))]
    pub kms_key_id: Option<String>,

    /// S3 prefix of the data lake where a flywheel keeps its statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub flywheel_stats_s3_prefix: Option<String>,
}

/// How well the classifier did on the test data.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationMetrics {
    /// Share of test documents classified right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Macro-averaged precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// Macro-averaged recall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
    /// Macro-averaged F1 score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f1_score: Option<f64>,
    /// Micro-averaged precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_precision: Option<f64>,
    /// Micro-averaged recall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_recall: Option<f64>,
    /// Micro-averaged F1 score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_f1_score: Option<f64>,
    /// Share of wrongly predicted labels (MULTI_LABEL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hamming_loss: Option<f64>,
}

/// What the operator knows of the classifier. Written only by the operator.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentClassifierStatus {
    /// ARN of the classifier (with `/version/<versionName>` when versioned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_classifier_arn: Option<String>,
    /// Comprehend's status: SUBMITTED, TRAINING, STOP_REQUESTED, STOPPED,
    /// IN_ERROR, TRAINED, TRAINED_WITH_WARNING or DELETING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Comprehend's message, such as why training failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When Comprehend received the request (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_time: Option<String>,
    /// When training started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_start_time: Option<String>,
    /// When training ended (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_end_time: Option<String>,
    /// S3 URI of the training output, `output.tar.gz` (the confusion matrix
    /// and, in MULTI_LABEL mode, per-label metrics), as Comprehend reports
    /// it: under `outputDataConfig.s3Uri`, in a folder of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_s3_uri: Option<String>,
    /// Metrics on the test data, once trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_metrics: Option<EvaluationMetrics>,
    /// Number of labels in the training data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_labels: Option<i64>,
    /// Number of documents trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_trained_documents: Option<i64>,
    /// Number of documents tested on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_test_documents: Option<i64>,
    /// Digest of the spec the classifier was created with; a spec that
    /// differs from it afterwards is ignored. Set just before
    /// CreateDocumentClassifier is called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// Failed attempts to delete the model (deletionPolicy Delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_attempts: Option<u32>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: True once TRAINED or TRAINED_WITH_WARNING, False on IN_ERROR,
    /// STOPPED or a spec that cannot be trained, Unknown while training.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// The CustomResourceDefinition as installed: the derived schema plus the
/// immutability rule and the data-format rules.
pub fn document_classifier_crd() -> CustomResourceDefinition {
    let mut crd = serde_json::to_value(DocumentClassifier::crd()).expect("CRD serializes");
    let version = &mut crd["spec"]["versions"][0];
    let root = &mut version["schema"]["openAPIV3Schema"];
    root["x-kubernetes-validations"] = json!([{
        "rule": immutability_rule(
            &root["properties"]["spec"],
            &["deletionPolicy"],
            "!has(oldSelf.status) || !has(oldSelf.status.specHash)",
        ),
        "message": "spec is immutable once training has started (status.specHash is set), except deletionPolicy; create a DocumentClassifier with a new versionName instead"
    }]);
    let spec = &mut root["properties"]["spec"];
    spec["properties"]["deletionPolicy"]["default"] = json!("Retain");
    tag_rules(spec);
    data_format_rules(&mut spec["properties"]["inputDataConfig"]);
    document_reader_rules(
        &mut spec["properties"]["inputDataConfig"]["properties"]["documentReaderConfig"],
    );
    native_document_rules(spec);
    serde_json::from_value(crd).expect("patched CRD deserializes")
}

/// COMPREHEND_CSV (the default) needs `s3Uri`, AUGMENTED_MANIFEST needs
/// `augmentedManifests`: structurally (an `anyOf` each, which every API
/// server enforces; as in [`native_document_rules`], the branch with the
/// requirement comes first and matches the data format, so that its error
/// is the one reported), and as a CEL rule whose message newer servers show.
fn data_format_rules(input: &mut serde_json::Value) {
    let format = |f: &str| json!({"dataFormat": {"enum": [f]}});
    input["allOf"] = json!([
        {"anyOf": [
            {"required": ["s3Uri"], "properties": format("COMPREHEND_CSV")},
            {"required": ["dataFormat"], "properties": format("AUGMENTED_MANIFEST")}
        ]},
        {"anyOf": [
            {
                "required": ["augmentedManifests"],
                "properties": {
                    "dataFormat": {"enum": ["AUGMENTED_MANIFEST"]},
                    "augmentedManifests": {"minItems": 1}
                }
            },
            {"properties": format("COMPREHEND_CSV")}
        ]}
    ]);
    input["x-kubernetes-validations"] = json!([{
        "rule": "(has(self.dataFormat) && self.dataFormat == 'AUGMENTED_MANIFEST') ? (has(self.augmentedManifests) && size(self.augmentedManifests) > 0) : has(self.s3Uri)",
        "message": "s3Uri is required with dataFormat COMPREHEND_CSV, augmentedManifests with AUGMENTED_MANIFEST"
    }]);
}

/// CEL guard: the spec trains a native document model.
const NATIVE: &str = "has(self.inputDataConfig.documentType) && self.inputDataConfig.documentType == 'SEMI_STRUCTURED_DOCUMENT'";

/// A native document model (documentType SEMI_STRUCTURED_DOCUMENT) is
/// trained in English only, on `inputDataConfig.documents`, and needs
/// `outputDataConfig.s3Uri` (the service model: OutputDataConfig "is
/// mandatory if you are training a native document model"). Each rule is an
/// `anyOf` (a native model with what it needs, or a plain-text model) for
/// every API server, and a CEL rule with its own message for newer ones.
/// When no branch holds, an API server reports the errors of the branch that
/// came closest (the first of equals): the native branch, which also matches
/// the document type, so the message names the missing field.
fn native_document_rules(spec: &mut serde_json::Value) {
    let document_type = |t: &str| json!({"documentType": {"enum": [t]}});
    let plain_text = json!({"properties": {"inputDataConfig": {
        "properties": document_type("PLAIN_TEXT_DOCUMENT")
    }}});
    let native = document_type("SEMI_STRUCTURED_DOCUMENT");
    spec["allOf"] = json!([
        {"anyOf": [{"properties": {
            "inputDataConfig": {"properties": native},
            "languageCode": {"enum": LanguageCode::SUPPORTED_NATIVE}
        }}, plain_text]},
        {"anyOf": [{"properties": {
            "inputDataConfig": {"properties": native, "required": ["documents"]}
        }}, plain_text]},
        {"anyOf": [{
            "required": ["outputDataConfig"],
            "properties": {
                "inputDataConfig": {"properties": native},
                "outputDataConfig": {"required": ["s3Uri"]}
            }
        }, plain_text]}
    ]);
    spec["x-kubernetes-validations"] = json!([
        {
            "rule": format!("!({NATIVE}) || self.languageCode == 'en'"),
            "message": "a native document model (inputDataConfig.documentType SEMI_STRUCTURED_DOCUMENT) is trained in English only: languageCode must be en"
        },
        {
            "rule": format!("!({NATIVE}) || has(self.inputDataConfig.documents)"),
            "message": "inputDataConfig.documents is required with inputDataConfig.documentType SEMI_STRUCTURED_DOCUMENT"
        },
        {
            "rule": format!("!({NATIVE}) || (has(self.outputDataConfig) && has(self.outputDataConfig.s3Uri))"),
            "message": "outputDataConfig.s3Uri is required with inputDataConfig.documentType SEMI_STRUCTURED_DOCUMENT"
        }
    ]);
}

#[cfg(test)]
mod tests;
