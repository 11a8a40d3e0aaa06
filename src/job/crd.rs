//! The `ClassificationJob` custom resource: what the Comprehend console's
//! "Create job" form asks for, and what the operator reports back.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::crds::{
    document_reader_rules, immutability_rule, tag_rules, DocumentReaderConfig, Tag, VpcConfig,
    CLASSIFIER_ARN_PATTERN, FLYWHEEL_ARN_PATTERN, JOB_NAME_PATTERN, KMS_KEY_PATTERN,
    REGION_PATTERN, ROLE_ARN_PATTERN, S3_URI_PATTERN,
};

/// The job to run: what Comprehend's StartDocumentClassificationJob takes.
/// It cannot change once the job has started.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "comprehend.operators.dev",
    version = "v1alpha1",
    kind = "ClassificationJob",
    namespaced,
    status = "ClassificationJobStatus",
    shortname = "cjob",
    category = "comprehend",
    derive = "PartialEq",
    doc = "Runs one Amazon Comprehend asynchronous custom classification job and reports its state and output location. The spec cannot change once the job has started. Comprehend cannot stop a classification job: deleting this resource does not stop a running job, and its output stays in S3.",
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.jobStatus","description":"Comprehend's job status"}"#,
    printcolumn = r#"{"name":"Succeeded","type":"string","jsonPath":".status.conditions[?(@.type==\"Succeeded\")].status","description":"Whether the job succeeded"}"#,
    printcolumn = r#"{"name":"Job ID","type":"string","jsonPath":".status.jobId","description":"Comprehend's job ID"}"#,
    printcolumn = r#"{"name":"Documents","type":"integer","jsonPath":".status.results.documents","description":"Documents classified (with spec.results.summarize)"}"#,
    printcolumn = r#"{"name":"Top Class","type":"string","jsonPath":".status.results.classes[0].name","priority":1,"description":"The class (or label) most documents got"}"#,
    printcolumn = r#"{"name":"Account","type":"string","jsonPath":".status.account","priority":1,"description":"AWS account the job runs in"}"#,
    printcolumn = r#"{"name":"Output","type":"string","jsonPath":".status.outputS3Uri","priority":1,"description":"S3 URI of output.tar.gz"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationJobSpec {
    /// ID of a classification job that already exists in Comprehend (started
    /// from the console, a script or another tool) to follow without
    /// starting anything: observe only. The status is filled as for a job
    /// the operator started, results summary included; deleting the
    /// resource never affects the job. With `jobId`, leave out every field
    /// that describes a new job (the model, `inputDataConfig`,
    /// `outputDataConfig`, `dataAccessRoleArn`, `jobName`,
    /// `volumeKmsKeyId`, `vpcConfig`, `tags`); `region` says where the job
    /// runs, in the account the namespace maps to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 32),
        regex(pattern = JOB_NAME_PATTERN)
    )]
    pub job_id: Option<String>,

    /// Name of the Comprehend job (1-256 characters: letters, spaces, digits
    /// and `_.:/=+-%@`). When omitted, a name unique to this resource is
    /// derived from its namespace, name and UID. The operator finds a job it
    /// started again by this name, so it must be unique in the account and
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 256),
        regex(pattern = JOB_NAME_PATTERN)
    )]
    pub job_name: Option<String>,

    /// ARN of the trained custom classifier (or classifier version) that
    /// classifies the documents. Exactly one of `documentClassifierArn`,
    /// `flywheelArn` and `classifierRef` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 256),
        regex(
            pattern = CLASSIFIER_ARN_PATTERN
        )
    )]
    pub document_classifier_arn: Option<String>,

    /// ARN of the flywheel whose active model version classifies the
    /// documents. Exactly one of `documentClassifierArn`, `flywheelArn` and
    /// `classifierRef` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 256),
        regex(
            pattern = FLYWHEEL_ARN_PATTERN
        )
    )]
    pub flywheel_arn: Option<String>,

    /// A DocumentClassifier resource in the same namespace whose trained
    /// model classifies the documents. The job waits (reason
    /// WaitingForClassifier) until the classifier is Ready, and fails if its
    /// training fails. Exactly one of `documentClassifierArn`, `flywheelArn`
    /// and `classifierRef` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier_ref: Option<ClassifierRef>,

    /// Where the documents to classify are, and how they are laid out.
    /// Required unless `jobId` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_data_config: Option<InputDataConfig>,

    /// Where Comprehend writes the results. Required unless `jobId` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_data_config: Option<OutputDataConfig>,

    /// ARN of the IAM role that grants Comprehend read access to the input
    /// and write access to the output (and VPC access when `vpcConfig` is
    /// set). Required unless `jobId` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 20, max = 2048),
        regex(pattern = ROLE_ARN_PATTERN)
    )]
    pub data_access_role_arn: Option<String>,

    /// KMS key that encrypts the storage volume of the instances that process
    /// the job: a key ID in this account, or a key ARN from any account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = KMS_KEY_PATTERN))]
    pub volume_kms_key_id: Option<String>,

    /// Runs the job inside your VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfig>,

    /// Tags put on the Comprehend job: at most 50, keys unique, none
    /// beginning with the reserved `aws:`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["key"]))]
    pub tags: Vec<Tag>,

    /// AWS Region of the job and the classifier. Defaults to the operator's
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = REGION_PATTERN))]
    pub region: Option<String>,

    /// When set, the resource is deleted this many seconds after the job
    /// reaches a terminal state (COMPLETED, FAILED or STOPPED), as with
    /// batch/v1 Job. The output in S3 is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub ttl_seconds_after_finished: Option<i64>,

    /// A summary of the predictions in `status.results` once the job
    /// completes (the operator must run with `--summarize-results`). It may
    /// change at any time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsSpec>,
}

/// What to summarize of a completed job's output.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultsSpec {
    /// Read the job's `output.tar.gz` from S3 (with the identity and Region
    /// of the job) when it completes and write the counts to
    /// `status.results`.
    pub summarize: bool,

    /// How many classes (MULTI_CLASS) or labels (MULTI_LABEL) to list, the
    /// most frequent first; 10 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub top_classes: Option<i32>,
}

/// What a completed job's output says, counted by the operator.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultsSummary {
    /// MULTI_CLASS (each document gets its top class) or MULTI_LABEL (each
    /// document counts under every label it has), as the output shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Documents classified.
    pub documents: i64,
    /// Documents per class (or label), the most frequent first, at most
    /// `spec.results.topClasses`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassCount>,
    /// Classes (or labels) seen but not listed in `classes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_classes: Option<i64>,
    /// Documents Comprehend reported errors for instead of classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_documents: Option<i64>,
    /// Lines of `predictions.jsonl` that could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed_lines: Option<i64>,
    /// Mean over the classified documents of their highest score (0 to 1,
    /// four decimals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_top_score: Option<String>,
}

/// How many documents one class (or label) got.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassCount {
    /// The class or label.
    pub name: String,
    /// Documents counted under it.
    pub documents: i64,
}

/// A DocumentClassifier in the job's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierRef {
    /// `metadata.name` of the DocumentClassifier.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Where the documents to classify are.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InputDataConfig {
    /// S3 URI of one object, or a prefix: every object under it is read. It
    /// must be in the job's Region.
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub s3_uri: String,

    /// ONE_DOC_PER_FILE (each file is one document, the default) or
    /// ONE_DOC_PER_LINE (each line of each file is one document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_format: Option<InputFormat>,

    /// How to read PDF, Word and image files (with Amazon Textract). Only with
    /// ONE_DOC_PER_FILE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_reader_config: Option<DocumentReaderConfig>,
}

/// How the input is split into documents.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum InputFormat {
    /// Each file is one document.
    #[serde(rename = "ONE_DOC_PER_FILE")]
    OneDocPerFile,
    /// Each line of each file is one document.
    #[serde(rename = "ONE_DOC_PER_LINE")]
    OneDocPerLine,
}

impl InputFormat {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::OneDocPerFile => "ONE_DOC_PER_FILE",
            InputFormat::OneDocPerLine => "ONE_DOC_PER_LINE",
        }
    }
}

/// Where the results go.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputDataConfig {
    /// S3 URI of the output prefix. Comprehend writes
    /// `<prefix>/<account>-CLN-<jobId>/output/output.tar.gz`, reported in
    /// `status.outputS3Uri`.
    #[schemars(
        length(max = 1024),
        regex(pattern = S3_URI_PATTERN)
    )]
    pub s3_uri: String,

    /// KMS key that encrypts the output: key ID, alias name, key ARN or alias
    /// ARN, in this account or another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = KMS_KEY_PATTERN))]
    pub kms_key_id: Option<String>,
}

/// What the operator knows of the job. Written only by the operator.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationJobStatus {
    /// Comprehend's job ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Comprehend's job ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_arn: Option<String>,
    /// The name the job was started under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Comprehend's job status: SUBMITTED, IN_PROGRESS, COMPLETED, FAILED,
    /// STOP_REQUESTED or STOPPED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_status: Option<String>,
    /// Comprehend's message about the job, such as why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When Comprehend received the job (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_time: Option<String>,
    /// When the job ended (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// The classifier that classified the documents (for `classifierRef`,
    /// the ARN it resolved to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_classifier_arn: Option<String>,
    /// Full S3 URI of the job's `output.tar.gz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_s3_uri: Option<String>,
    /// The AWS account the job runs in (its ARN's, once started; before,
    /// the mapped role's). Absent for the operator's own identity until
    /// the job's ARN is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The IAM role the operator assumed to start the job (from the
    /// namespace's AccountMapping); absent for the operator's own identity.
    /// The job is followed with this role only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Digest of the spec the job was started with; a spec that differs from
    /// it afterwards is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// What the job's output says (with `spec.results.summarize`); see the
    /// `ResultsSummarized` condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsSummary>,
    /// Attempts made to read the output for the summary (bounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_attempts: Option<i32>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Succeeded` (Unknown while queued or running, True on COMPLETED, False
    /// on FAILED, STOPPED or an invalid spec), `Ready` (False when
    /// something needs the user's attention) and, with
    /// `spec.results.summarize`, `ResultsSummarized` (True once
    /// `status.results` is written, False when the output cannot be read or
    /// summarized, Unknown while retrying). A summary that fails never
    /// changes `Succeeded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// Spec fields that may change after the job started: neither changes the
/// job.
pub const MUTABLE_AFTER_START: [&str; 2] = ["ttlSecondsAfterFinished", "results"];

/// Spec fields that describe a job to start, and so conflict with `jobId`.
pub const NEW_JOB_FIELDS: [&str; 10] = [
    "documentClassifierArn",
    "flywheelArn",
    "classifierRef",
    "inputDataConfig",
    "outputDataConfig",
    "dataAccessRoleArn",
    "jobName",
    "volumeKmsKeyId",
    "vpcConfig",
    "tags",
];

/// The CustomResourceDefinition as installed: the derived schema plus the
/// rules that OpenAPI cannot express per field (exactly one model, the
/// document reader's feature types, reserved tag keys, spec immutable once
/// the job has started).
pub fn classification_job_crd() -> CustomResourceDefinition {
    let mut crd = serde_json::to_value(ClassificationJob::crd()).expect("CRD serializes");
    let version = &mut crd["spec"]["versions"][0];
    let root = &mut version["schema"]["openAPIV3Schema"];
    // A transition rule at the root can see the stored status; older API
    // servers ignore it, so the controller enforces the same rule itself.
    // ttlSecondsAfterFinished may change at any time, as in batch/v1 Job.
    root["x-kubernetes-validations"] = json!([{
        "rule": immutability_rule(
            &root["properties"]["spec"],
            &MUTABLE_AFTER_START,
            "!has(oldSelf.status) || !has(oldSelf.status.jobId)",
        ),
        "message": "spec is immutable once the Comprehend job has started (status.jobId is set), except ttlSecondsAfterFinished and results; create a new ClassificationJob instead"
    }]);
    let spec = &mut root["properties"]["spec"];
    // A new job names exactly one model and says where its data is; an
    // existing job (jobId) names nothing that would describe a new one.
    // OpenAPI, so that every API server enforces it (CEL below says the
    // same in words on servers that run it).
    let new_job = |model: &str| {
        json!({
            "required": [model, "inputDataConfig", "outputDataConfig", "dataAccessRoleArn"],
            "not": {"required": ["jobId"]}
        })
    };
    let conflicting: Vec<_> = NEW_JOB_FIELDS
        .iter()
        .map(|f| json!({"required": [f]}))
        .collect();
    spec["oneOf"] = json!([
        new_job("documentClassifierArn"),
        new_job("flywheelArn"),
        new_job("classifierRef"),
        {"required": ["jobId"], "not": {"anyOf": conflicting}}
    ]);
    let none_of_new: Vec<String> = NEW_JOB_FIELDS
        .iter()
        .map(|f| format!("!has(self.{f})"))
        .collect();
    spec["x-kubernetes-validations"] = json!([
        {
            "rule": format!("!has(self.jobId) || ({})", none_of_new.join(" && ")),
            "message": format!("jobId follows an existing job: leave out {}", NEW_JOB_FIELDS.join(", "))
        },
        {
            "rule": "has(self.jobId) || (has(self.documentClassifierArn) ? 1 : 0) + (has(self.flywheelArn) ? 1 : 0) + (has(self.classifierRef) ? 1 : 0) == 1",
            "message": "exactly one of documentClassifierArn, flywheelArn and classifierRef must be set (or jobId, to follow an existing job)"
        },
        {
            "rule": "has(self.jobId) || (has(self.inputDataConfig) && has(self.outputDataConfig) && has(self.dataAccessRoleArn))",
            "message": "inputDataConfig, outputDataConfig and dataAccessRoleArn are required to start a job"
        }
    ]);
    tag_rules(spec);
    document_reader_rules(
        &mut spec["properties"]["inputDataConfig"]["properties"]["documentReaderConfig"],
    );
    serde_json::from_value(crd).expect("patched CRD deserializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crds::*;

    fn spec_schema() -> serde_json::Value {
        let crd = serde_json::to_value(classification_job_crd()).unwrap();
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
    }

    #[test]
    fn schema_carries_api_constraints() {
        let spec = spec_schema();
        let props = &spec["properties"];
        assert_eq!(props["jobName"]["maxLength"], 256);
        assert_eq!(props["jobName"]["pattern"], JOB_NAME_PATTERN);
        assert_eq!(props["dataAccessRoleArn"]["minLength"], 20);
        assert_eq!(props["dataAccessRoleArn"]["pattern"], ROLE_ARN_PATTERN);
        assert_eq!(
            props["documentClassifierArn"]["pattern"],
            CLASSIFIER_ARN_PATTERN
        );
        assert_eq!(props["flywheelArn"]["pattern"], FLYWHEEL_ARN_PATTERN);
        assert_eq!(
            props["inputDataConfig"]["properties"]["s3Uri"]["pattern"],
            S3_URI_PATTERN
        );
        assert_eq!(
            props["inputDataConfig"]["properties"]["s3Uri"]["maxLength"],
            1024
        );
        assert_eq!(
            props["inputDataConfig"]["properties"]["inputFormat"]["enum"],
            json!(["ONE_DOC_PER_FILE", "ONE_DOC_PER_LINE"])
        );
        assert_eq!(
            props["outputDataConfig"]["properties"]["kmsKeyId"]["maxLength"],
            2048
        );
        let vpc = &props["vpcConfig"]["properties"];
        assert_eq!(vpc["securityGroupIds"]["maxItems"], 5);
        assert_eq!(vpc["securityGroupIds"]["items"]["pattern"], VPC_ID_PATTERN);
        assert_eq!(vpc["subnets"]["maxItems"], 16);
        assert_eq!(
            props["vpcConfig"]["required"],
            json!(["securityGroupIds", "subnets"])
        );
        assert_eq!(
            props["tags"]["items"]["properties"]["key"]["maxLength"],
            128
        );
        assert_eq!(props["tags"]["maxItems"], MAX_TAGS);
        assert_eq!(
            props["tags"]["items"]["properties"]["key"]["not"]["pattern"],
            RESERVED_TAG_KEY_PATTERN
        );
        assert_eq!(props["volumeKmsKeyId"]["pattern"], KMS_KEY_PATTERN);
        assert_eq!(props["volumeKmsKeyId"].get("minLength"), None);
        let reader = &props["inputDataConfig"]["properties"]["documentReaderConfig"];
        assert_eq!(
            reader["anyOf"],
            json!([
                {"required": ["featureTypes"]},
                {"properties": {"documentReadAction": {"enum": ["TEXTRACT_DETECT_DOCUMENT_TEXT"]}}}
            ])
        );
        assert_eq!(
            props["tags"]["items"]["properties"]["value"]["maxLength"],
            256
        );
        assert_eq!(spec.get("required"), None);
        assert_eq!(
            spec["oneOf"][0]["required"],
            json!([
                "documentClassifierArn",
                "inputDataConfig",
                "outputDataConfig",
                "dataAccessRoleArn"
            ])
        );
        assert_eq!(spec["oneOf"][3]["required"], json!(["jobId"]));
        assert_eq!(
            spec["oneOf"][3]["not"]["anyOf"].as_array().map(Vec::len),
            Some(NEW_JOB_FIELDS.len())
        );
        assert_eq!(props["jobId"]["maxLength"], 32);
        assert_eq!(
            props["results"]["properties"]["topClasses"]["maximum"],
            100.0
        );
    }

    #[test]
    fn only_the_ttl_may_change_after_the_job_started() {
        let crd = serde_json::to_value(classification_job_crd()).unwrap();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let rule = root["x-kubernetes-validations"][0]["rule"]
            .as_str()
            .unwrap();
        assert!(rule.starts_with("!has(oldSelf.status) || !has(oldSelf.status.jobId) || ("));
        for field in root["properties"]["spec"]["properties"]
            .as_object()
            .unwrap()
            .keys()
        {
            let compared = rule.contains(&format!("self.spec.{field} == oldSelf.spec.{field}"));
            assert_eq!(
                compared,
                !MUTABLE_AFTER_START.contains(&field.as_str()),
                "{field} in {rule}"
            );
        }
    }

    #[test]
    fn every_spec_field_is_documented() {
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
        let crd = serde_json::to_value(classification_job_crd()).unwrap();
        walk("", &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
    }

    #[test]
    fn names_and_columns() {
        let crd = classification_job_crd();
        assert_eq!(crd.spec.group, GROUP);
        assert_eq!(
            crd.spec.names.categories,
            Some(vec!["comprehend".to_string()])
        );
        assert_eq!(crd.spec.names.short_names, Some(vec!["cjob".to_string()]));
        let cols = crd.spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap();
        let names: Vec<_> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Status",
                "Succeeded",
                "Job ID",
                "Documents",
                "Top Class",
                "Account",
                "Output",
                "Age"
            ]
        );
        assert_eq!(cols[3].priority, None);
        for wide in &cols[4..=6] {
            assert_eq!(wide.priority, Some(1), "{}", wide.name);
        }
    }
}
