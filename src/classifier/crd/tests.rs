//! The DocumentClassifier schema: constraints, documentation and the
//! rules added after derivation.

use super::*;
use crate::crds::{KMS_KEY_PATTERN, ROLE_ARN_PATTERN, S3_URI_PATTERN};

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
    assert_eq!(props["versionName"]["pattern"], RESOURCE_NAME_PATTERN);
    // ComprehendArnName and VersionName have no minimum length.
    assert!(props["documentClassifierName"].get("minLength").is_none());
    assert!(props["versionName"].get("minLength").is_none());
    assert_eq!(props["dataAccessRoleArn"]["pattern"], ROLE_ARN_PATTERN);
    assert_eq!(props["dataAccessRoleArn"]["minLength"], 20);
    assert_eq!(props["dataAccessRoleArn"]["maxLength"], 2048);
    assert_eq!(props["modelKmsKeyId"]["pattern"], KMS_KEY_PATTERN);
    assert_eq!(props["languageCode"]["type"], "string");
    assert_eq!(
        props["languageCode"]["enum"],
        json!(["de", "en", "es", "fr", "it", "pt"])
    );
    assert_eq!(props["modelPolicy"]["minLength"], 1);
    assert_eq!(props["modelPolicy"]["maxLength"], 20000);
    assert_eq!(props["modelPolicy"]["pattern"], MODEL_POLICY_PATTERN);
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
    let manifest = &input["augmentedManifests"]["items"]["properties"];
    assert_eq!(
        input["augmentedManifests"]["items"]["required"],
        json!(["attributeNames", "s3Uri"])
    );
    // AttributeNamesList has no minimum; each name is 1-63 characters.
    assert!(manifest["attributeNames"].get("minItems").is_none());
    assert_eq!(manifest["attributeNames"]["items"]["minLength"], 1);
    assert_eq!(manifest["attributeNames"]["items"]["maxLength"], 63);
    assert_eq!(
        manifest["documentType"]["enum"],
        json!(["PLAIN_TEXT_DOCUMENT", "SEMI_STRUCTURED_DOCUMENT"])
    );
    for uri in ["s3Uri", "annotationDataS3Uri", "sourceDocumentsS3Uri"] {
        assert_eq!(manifest[uri]["pattern"], S3_URI_PATTERN, "{uri}");
        assert_eq!(manifest[uri]["maxLength"], 1024, "{uri}");
    }
    assert_eq!(
        input["documentType"]["enum"],
        json!(["PLAIN_TEXT_DOCUMENT", "SEMI_STRUCTURED_DOCUMENT"])
    );
    let documents = &input["documents"];
    assert_eq!(documents["required"], json!(["s3Uri"]));
    for uri in ["s3Uri", "testS3Uri"] {
        assert_eq!(documents["properties"][uri]["pattern"], S3_URI_PATTERN);
        assert_eq!(documents["properties"][uri]["maxLength"], 1024);
    }
    let reader = &input["documentReaderConfig"];
    assert_eq!(reader["required"], json!(["documentReadAction"]));
    assert_eq!(reader["properties"]["featureTypes"]["minItems"], 1);
    assert_eq!(reader["properties"]["featureTypes"]["maxItems"], 2);
    let output = &props["outputDataConfig"]["properties"];
    for uri in ["s3Uri", "flywheelStatsS3Prefix"] {
        assert_eq!(output[uri]["pattern"], S3_URI_PATTERN, "{uri}");
        assert_eq!(output[uri]["maxLength"], 1024, "{uri}");
    }
    assert_eq!(output["kmsKeyId"]["pattern"], KMS_KEY_PATTERN);
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
    assert_eq!(names, ["Status", "Ready", "F1", "ARN", "Output", "Age"]);
    let output = &cols[4];
    assert_eq!(output.json_path, ".status.outputS3Uri");
    assert_eq!(output.priority, Some(1), "only with -o wide");
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

#[test]
fn a_stored_language_the_schema_now_refuses_still_deserializes() {
    // One object that fails to deserialize would fail the whole watch.
    let dc: DocumentClassifier = serde_json::from_value(json!({
        "apiVersion": "comprehend.operators.dev/v1alpha1",
        "kind": "DocumentClassifier",
        "metadata": {"name": "old", "namespace": "ml"},
        "spec": {
            "documentClassifierName": "old",
            "languageCode": "zh-TW",
            "inputDataConfig": {"s3Uri": "s3://bucket/train.csv"},
            "dataAccessRoleArn": "arn:aws:iam::123456789012:role/comprehend"
        }
    }))
    .unwrap();
    assert_eq!(
        dc.spec.language_code,
        LanguageCode::Unsupported("zh-TW".into())
    );
    // Written back as it was read.
    assert_eq!(
        serde_json::to_value(&dc.spec).unwrap()["languageCode"],
        "zh-TW"
    );
    for code in LanguageCode::SUPPORTED {
        let parsed: LanguageCode = serde_json::from_value(json!(code)).unwrap();
        assert!(!matches!(parsed, LanguageCode::Unsupported(_)), "{code}");
        assert_eq!(serde_json::to_value(&parsed).unwrap(), code);
    }
}

/// Just enough of OpenAPI's value validation to evaluate the rules the CRD
/// adds: properties (of present fields only), required, enum, minItems,
/// maxItems and the junctors. Types, patterns and lengths are the API
/// server's business and are tested against it.
fn holds(schema: &serde_json::Value, value: &serde_json::Value) -> bool {
    let all = |key: &str| {
        schema[key]
            .as_array()
            .is_none_or(|subs| subs.iter().all(|s| holds(s, value)))
    };
    let any = |key: &str| {
        schema[key]
            .as_array()
            .is_none_or(|subs| subs.iter().any(|s| holds(s, value)))
    };
    let one = schema["oneOf"]
        .as_array()
        .is_none_or(|subs| subs.iter().filter(|s| holds(s, value)).count() == 1);
    let not = schema.get("not").is_none_or(|n| !holds(n, value));
    let required = schema["required"]
        .as_array()
        .is_none_or(|r| r.iter().all(|k| value.get(k.as_str().unwrap()).is_some()));
    let enumerated = schema["enum"].as_array().is_none_or(|e| e.contains(value));
    let items = value.as_array().is_none_or(|a| {
        schema["minItems"]
            .as_u64()
            .is_none_or(|m| a.len() as u64 >= m)
            && schema["maxItems"]
                .as_u64()
                .is_none_or(|m| a.len() as u64 <= m)
            && a.iter()
                .all(|i| schema.get("items").is_none_or(|s| holds(s, i)))
    });
    let properties = schema["properties"].as_object().is_none_or(|props| {
        props
            .iter()
            .all(|(k, s)| value.get(k).is_none_or(|v| holds(s, v)))
    });
    all("allOf") && any("anyOf") && one && not && required && enumerated && items && properties
}

/// A valid spec of each kind: a plain-text model from a CSV, and a native
/// document model with every new field.
fn plain() -> serde_json::Value {
    json!({
        "documentClassifierName": "news",
        "languageCode": "de",
        "inputDataConfig": {"s3Uri": "s3://bucket/train.csv"},
        "dataAccessRoleArn": "arn:aws:iam::123456789012:role/comprehend"
    })
}

fn native() -> serde_json::Value {
    json!({
        "documentClassifierName": "forms",
        "languageCode": "en",
        "inputDataConfig": {
            "dataFormat": "COMPREHEND_CSV",
            "s3Uri": "s3://bucket/train.csv",
            "documentType": "SEMI_STRUCTURED_DOCUMENT",
            "documents": {"s3Uri": "s3://bucket/pdfs/", "testS3Uri": "s3://bucket/test-pdfs/"},
            "documentReaderConfig": {
                "documentReadAction": "TEXTRACT_ANALYZE_DOCUMENT",
                "featureTypes": ["TABLES"]
            }
        },
        "outputDataConfig": {
            "s3Uri": "s3://bucket/out/",
            "flywheelStatsS3Prefix": "s3://bucket/stats/"
        },
        "modelPolicy": "{\"Version\":\"2012-10-17\"}",
        "dataAccessRoleArn": "arn:aws:iam::123456789012:role/comprehend"
    })
}

/// The CEL rules' messages in the spec and in inputDataConfig.
fn cel_messages(schema: &serde_json::Value) -> Vec<String> {
    schema["x-kubernetes-validations"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .map(|r| r["message"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn valid_specs_pass_the_structural_rules() {
    let spec = spec_schema();
    for good in [plain(), native()] {
        assert!(holds(&spec, &good), "{good}");
        // And they deserialize into the spec type, every field kept.
        let typed: DocumentClassifierSpec = serde_json::from_value(good.clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&typed).unwrap()["inputDataConfig"],
            good["inputDataConfig"]
        );
    }
    let mut explicit_plain = plain();
    explicit_plain["inputDataConfig"]["documentType"] = json!("PLAIN_TEXT_DOCUMENT");
    assert!(holds(&spec, &explicit_plain));
}

#[test]
fn an_unsupported_language_is_refused() {
    let spec = spec_schema();
    for code in ["ar", "hi", "ja", "ko", "zh", "zh-TW"] {
        let mut bad = plain();
        bad["languageCode"] = json!(code);
        assert!(!holds(&spec, &bad), "{code}");
    }
}

#[test]
fn a_native_document_model_must_be_english_with_documents_and_output() {
    let spec = spec_schema();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 4] = [
        ("languageCode", |s| s["languageCode"] = json!("de")),
        ("documents", |s| {
            s["inputDataConfig"]
                .as_object_mut()
                .unwrap()
                .remove("documents");
        }),
        ("outputDataConfig", |s| {
            s.as_object_mut().unwrap().remove("outputDataConfig");
        }),
        ("outputDataConfig.s3Uri", |s| {
            s["outputDataConfig"]
                .as_object_mut()
                .unwrap()
                .remove("s3Uri");
        }),
    ];
    for (what, edit) in edits {
        let mut bad = native();
        edit(&mut bad);
        assert!(!holds(&spec, &bad), "without {what}");
        // Each has a CEL rule with a message naming it.
        assert!(
            cel_messages(&spec)
                .iter()
                .any(|m| m.contains(what.split('.').next().unwrap())),
            "{what}"
        );
    }
    // The same edits are fine for a plain-text model.
    let mut plain_de = native();
    plain_de["inputDataConfig"]["documentType"] = json!("PLAIN_TEXT_DOCUMENT");
    plain_de["languageCode"] = json!("de");
    plain_de.as_object_mut().unwrap().remove("outputDataConfig");
    assert!(holds(&spec, &plain_de));
}

#[test]
fn the_data_format_decides_what_input_is_required() {
    let spec = spec_schema();
    let mut no_csv = plain();
    no_csv["inputDataConfig"] = json!({"dataFormat": "COMPREHEND_CSV"});
    assert!(!holds(&spec, &no_csv));
    let mut no_manifests = plain();
    no_manifests["inputDataConfig"] =
        json!({"dataFormat": "AUGMENTED_MANIFEST", "augmentedManifests": []});
    assert!(!holds(&spec, &no_manifests));
    // Manifests without saying AUGMENTED_MANIFEST mean COMPREHEND_CSV.
    let manifests = json!([{"s3Uri": "s3://bucket/train.manifest", "attributeNames": ["label"]}]);
    let mut implicit = plain();
    implicit["inputDataConfig"] = json!({"augmentedManifests": manifests});
    assert!(!holds(&spec, &implicit));
    let mut manifest = plain();
    manifest["inputDataConfig"] =
        json!({"dataFormat": "AUGMENTED_MANIFEST", "augmentedManifests": manifests});
    assert!(holds(&spec, &manifest));
    let input = &spec["properties"]["inputDataConfig"];
    assert!(cel_messages(input)[0].contains("augmentedManifests with AUGMENTED_MANIFEST"));
}

#[test]
fn analyze_document_needs_feature_types() {
    let spec = spec_schema();
    let mut bad = native();
    bad["inputDataConfig"]["documentReaderConfig"] =
        json!({"documentReadAction": "TEXTRACT_ANALYZE_DOCUMENT"});
    assert!(!holds(&spec, &bad));
    bad["inputDataConfig"]["documentReaderConfig"]["documentReadAction"] =
        json!("TEXTRACT_DETECT_DOCUMENT_TEXT");
    assert!(holds(&spec, &bad));
    let reader = &spec["properties"]["inputDataConfig"]["properties"]["documentReaderConfig"];
    assert!(cel_messages(reader)[0].contains("featureTypes"));
}

#[test]
fn the_rules_are_structural() {
    // No type, description or default inside a junctor (the API server
    // refuses such a CRD), and every field a junctor names exists outside.
    fn check(schema: &serde_json::Value, outer: &serde_json::Value, in_junctor: bool) {
        if in_junctor {
            for key in [
                "type",
                "description",
                "default",
                "additionalProperties",
                "nullable",
            ] {
                assert!(schema.get(key).is_none(), "{key} in a junctor: {schema}");
            }
            if let Some(props) = schema["properties"].as_object() {
                for (name, sub) in props {
                    let outside = &outer["properties"][name];
                    assert!(outside.is_object(), "{name} is only in a junctor");
                    check(sub, outside, true);
                }
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            for sub in schema[key].as_array().into_iter().flatten() {
                check(sub, outer, true);
            }
        }
        if let Some(not) = schema.get("not") {
            check(not, outer, true);
        }
        if !in_junctor {
            if let Some(props) = schema["properties"].as_object() {
                for sub in props.values() {
                    check(sub, sub, false);
                    check(&sub["items"], &sub["items"], false);
                }
            }
        }
    }
    let crd = serde_json::to_value(document_classifier_crd()).unwrap();
    let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    check(root, root, false);
}
