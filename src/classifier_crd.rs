//! The `DocumentClassifier` custom resource: what Comprehend's
//! CreateDocumentClassifier takes, and what training reports back.
//!
//! Same discipline as [`crate::crd`]: every API constraint OpenAPI can
//! express is in the schema, every field is documented, and the spec cannot
//! change once training has started.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::crd::{Tag, VpcConfig};

/// `DocumentClassifierName` and `VersionName`: letters, digits and inner
/// hyphens.
pub const RESOURCE_NAME_PATTERN: &str = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$";
/// `LabelDelimiter`: one of the characters the API allows.
pub const LABEL_DELIMITER_PATTERN: &str = r"^[ ~!@#$%^*\-_+=|\\:;\t>?/]$";

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
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DocumentClassifierSpec {
    /// Name of the classifier in Comprehend (1-63 letters, digits and inner
    /// hyphens). Together with `versionName` it must be unique in the
    /// account and Region; the operator finds a classifier it created again
    /// by this pair.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
    )]
    pub document_classifier_name: String,

    /// Version of the classifier (1-63 letters, digits and inner hyphens).
    /// Train a new model under the same name by creating another
    /// DocumentClassifier with a new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
    )]
    pub version_name: Option<String>,

    /// Language of the training documents.
    pub language_code: LanguageCode,

    /// MULTI_CLASS (one class a document, the default) or MULTI_LABEL (any
    /// number of labels a document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ClassifierMode>,

    /// Where the training (and optional test) data is.
    pub input_data_config: ClassifierInputDataConfig,

    /// Where Comprehend writes the confusion matrix and other training
    /// output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_data_config: Option<ClassifierOutputDataConfig>,

    /// ARN of the IAM role that grants Comprehend read access to the
    /// training data (and write access to the output).
    #[schemars(
        length(min = 20, max = 2048),
        regex(pattern = r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$")
    )]
    pub data_access_role_arn: String,

    /// KMS key that encrypts the storage volume of the training instances:
    /// a key ID in this account, or a key ARN from any account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^[ -~]+$"))]
    pub volume_kms_key_id: Option<String>,

    /// KMS key that encrypts the trained model: key ID, alias name, key ARN
    /// or alias ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^[ -~]+$"))]
    pub model_kms_key_id: Option<String>,

    /// Trains inside your VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfig>,

    /// Tags put on the classifier.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["key"]))]
    pub tags: Vec<Tag>,

    /// AWS Region of the classifier. Defaults to the operator's Region.
    /// ClassificationJobs that use it must run in the same Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: Option<String>,

    /// What happens to the model in Comprehend when this resource is
    /// deleted: Retain (the default) keeps it; Delete stops training if it
    /// runs and deletes the model.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Languages Comprehend trains custom classifiers in.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum LanguageCode {
    /// English.
    #[serde(rename = "en")]
    En,
    /// Spanish.
    #[serde(rename = "es")]
    Es,
    /// French.
    #[serde(rename = "fr")]
    Fr,
    /// German.
    #[serde(rename = "de")]
    De,
    /// Italian.
    #[serde(rename = "it")]
    It,
    /// Portuguese.
    #[serde(rename = "pt")]
    Pt,
    /// Arabic.
    #[serde(rename = "ar")]
    Ar,
    /// Hindi.
    #[serde(rename = "hi")]
    Hi,
    /// Japanese.
    #[serde(rename = "ja")]
    Ja,
    /// Korean.
    #[serde(rename = "ko")]
    Ko,
    /// Simplified Chinese.
    #[serde(rename = "zh")]
    Zh,
    /// Traditional Chinese.
    #[serde(rename = "zh-TW")]
    ZhTw,
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

    /// S3 URI of the training CSV (an object or a prefix). Required with
    /// COMPREHEND_CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = r"^s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?$")
    )]
    pub s3_uri: Option<String>,

    /// S3 URI of separate test data. Without it, Comprehend keeps 10% of the
    /// training data aside to compute the evaluation metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = r"^s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?$")
    )]
    pub test_s3_uri: Option<String>,

    /// Character between the labels of a document in MULTI_LABEL mode
    /// (default `|`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 1),
        regex(pattern = r"^[ ~!@#$%^*\-_+=|\\:;\t>?/]$")
    )]
    pub label_delimiter: Option<String>,

    /// The augmented manifest files, with AUGMENTED_MANIFEST.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub augmented_manifests: Vec<AugmentedManifest>,
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
        regex(pattern = r"^s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?$")
    )]
    pub s3_uri: String,

    /// TRAIN (the default) or TEST: what the file is used for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,

    /// The JSON attribute names that hold the labels (1-63 letters, digits
    /// and inner hyphens each).
    #[schemars(
        length(min = 1),
        inner(
            length(min = 1, max = 63),
            regex(pattern = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
        )
    )]
    pub attribute_names: Vec<String>,

    /// S3 prefix of the annotation files of semi-structured documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = r"^s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?$")
    )]
    pub annotation_data_s3_uri: Option<String>,

    /// S3 prefix of the source PDF documents of semi-structured documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = r"^s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?$")
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
        regex(pattern = r"^s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?$")
    )]
    pub s3_uri: Option<String>,

    /// KMS key that encrypts the output: key ID, alias name, key ARN or alias
    /// ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^[ -~]+$"))]
    pub kms_key_id: Option<String>,
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
        "rule": immutability_rule(&root["properties"]["spec"]),
        "message": "spec is immutable once training has started (status.specHash is set), except deletionPolicy; create a DocumentClassifier with a new versionName instead"
    }]);
    let spec = &mut root["properties"]["spec"];
    spec["properties"]["deletionPolicy"]["default"] = json!("Retain");
    spec["properties"]["inputDataConfig"]["x-kubernetes-validations"] = json!([
        {
            "rule": "(has(self.dataFormat) && self.dataFormat == 'AUGMENTED_MANIFEST') ? (has(self.augmentedManifests) && size(self.augmentedManifests) > 0) : has(self.s3Uri)",
            "message": "s3Uri is required with dataFormat COMPREHEND_CSV, augmentedManifests with AUGMENTED_MANIFEST"
        }
    ]);
    serde_json::from_value(crd).expect("patched CRD deserializes")
}

/// The CEL rule that freezes every spec field but `deletionPolicy` once
/// training has started: field by field, since CEL cannot compare an object
/// minus one key.
fn immutability_rule(spec_schema: &serde_json::Value) -> String {
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
        .filter(|f| f.as_str() != "deletionPolicy")
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
    format!(
        "!has(oldSelf.status) || !has(oldSelf.status.specHash) || ({})",
        same.join(" && ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{KMS_KEY_PATTERN, ROLE_ARN_PATTERN, S3_URI_PATTERN};

    fn spec_schema() -> serde_json::Value {
        let crd = serde_json::to_value(document_classifier_crd()).unwrap();
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
    }

    #[test]
    fn schema_carries_api_constraints() {
        let spec = spec_schema();
        let props = &spec["properties"];
        assert_eq!(
            props["documentClassifierName"]["pattern"],
            RESOURCE_NAME_PATTERN
        );
        assert_eq!(props["documentClassifierName"]["maxLength"], 63);
        assert_eq!(props["versionName"]["maxLength"], 63);
        assert_eq!(props["dataAccessRoleArn"]["pattern"], ROLE_ARN_PATTERN);
        assert_eq!(props["modelKmsKeyId"]["pattern"], KMS_KEY_PATTERN);
        assert_eq!(props["languageCode"]["enum"].as_array().unwrap().len(), 12);
        assert_eq!(props["mode"]["enum"], json!(["MULTI_CLASS", "MULTI_LABEL"]));
        assert_eq!(props["deletionPolicy"]["enum"], json!(["Retain", "Delete"]));
        assert_eq!(props["deletionPolicy"]["default"], "Retain");
        let input = &props["inputDataConfig"]["properties"];
        assert_eq!(input["s3Uri"]["pattern"], S3_URI_PATTERN);
        assert_eq!(input["testS3Uri"]["maxLength"], 1024);
        assert_eq!(input["labelDelimiter"]["maxLength"], 1);
        assert_eq!(input["labelDelimiter"]["pattern"], LABEL_DELIMITER_PATTERN);
        assert_eq!(
            input["augmentedManifests"]["items"]["properties"]["split"]["enum"],
            json!(["TRAIN", "TEST"])
        );
        assert_eq!(
            input["augmentedManifests"]["items"]["required"],
            json!(["attributeNames", "s3Uri"])
        );
        assert_eq!(props["vpcConfig"]["properties"]["subnets"]["maxItems"], 16);
        assert_eq!(
            spec["required"],
            json!([
                "dataAccessRoleArn",
                "documentClassifierName",
                "inputDataConfig",
                "languageCode"
            ])
        );
    }

    #[test]
    fn every_field_is_documented() {
        fn walk(path: &str, schema: &serde_json::Value) {
            if let Some(props) = schema["properties"].as_object() {
                for (name, sub) in props {
                    let p = format!("{path}.{name}");
                    assert!(
                        sub["description"].as_str().is_some_and(|d| !d.is_empty()),
                        "{p} has no description"
                    );
                    walk(&p, sub);
                    walk(&p, &sub["items"]);
                }
            }
        }
        let crd = serde_json::to_value(document_classifier_crd()).unwrap();
        walk("", &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
    }

    #[test]
    fn names_and_columns() {
        let crd = document_classifier_crd();
        assert_eq!(crd.spec.names.kind, "DocumentClassifier");
        assert_eq!(crd.spec.names.short_names, Some(vec!["dclf".to_string()]));
        assert_eq!(
            crd.spec.names.categories,
            Some(vec!["comprehend".to_string()])
        );
        let cols = crd.spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap();
        let names: Vec<_> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Status", "Ready", "F1", "ARN", "Age"]);
    }

    #[test]
    fn every_field_but_the_deletion_policy_is_frozen_after_training_starts() {
        let crd = serde_json::to_value(document_classifier_crd()).unwrap();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let rule = root["x-kubernetes-validations"][0]["rule"]
            .as_str()
            .unwrap();
        for field in root["properties"]["spec"]["properties"]
            .as_object()
            .unwrap()
            .keys()
        {
            let compared = rule.contains(&format!("self.spec.{field} == oldSelf.spec.{field}"));
            assert_eq!(compared, field != "deletionPolicy", "{field} in {rule}");
        }
        assert!(rule.contains("(has(self.spec.versionName) == has(oldSelf.spec.versionName)"));
        assert!(rule.starts_with("!has(oldSelf.status) || !has(oldSelf.status.specHash)"));
    }

    #[test]
    fn deletion_policy_defaults_to_retain() {
        let spec: DocumentClassifierSpec = serde_json::from_value(json!({
            "documentClassifierName": "news",
            "languageCode": "en",
            "inputDataConfig": {"s3Uri": "s3://bucket/train.csv"},
            "dataAccessRoleArn": "arn:aws:iam::123456789012:role/comprehend"
        }))
        .unwrap();
        assert_eq!(spec.deletion_policy, DeletionPolicy::Retain);
    }
}
