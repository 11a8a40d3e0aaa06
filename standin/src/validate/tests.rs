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

fn pattern_of(shape: &str) -> &'static Pattern {
    match &MODEL.shape(shape).unwrap().kind {
        Kind::Str {
            pattern: Some(p), ..
        } => p,
        other => panic!("{shape} has no pattern: {other:?}"),
    }
}

#[test]
fn the_model_covers_every_served_operation() {
    let served: Vec<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
    let modelled: Vec<&str> = MODEL.operations.keys().map(String::as_str).collect();
    let mut served_sorted = served.clone();
    served_sorted.sort();
    assert_eq!(modelled, served_sorted);
    for op in Operation::ALL {
        let spec = MODEL.operation(op).unwrap();
        assert!(
            matches!(MODEL.shapes[spec.input].kind, Kind::Struct(_)),
            "{}",
            op.name()
        );
        assert!(spec.errors.iter().any(|e| e == "InvalidRequestException"));
    }
}

#[test]
fn every_model_pattern_compiles() {
    // Straight from the JSON, not through the tree, so a pattern that does
    // not compile is named here rather than in a panic at first use.
    let models: Vec<Value> = [MODEL_JSON, STS_MODEL_JSON]
        .iter()
        .map(|json| serde_json::from_str(json).unwrap())
        .collect();
    let shapes: Vec<(&String, &Value)> = models
        .iter()
        .flat_map(|raw| raw["shapes"].as_object().unwrap())
        .collect();
    let mut count = 0;
    for (name, shape) in &shapes {
        if let Some(pattern) = shape.get("pattern").and_then(Value::as_str) {
            count += 1;
            if let Err(e) = Pattern::compile(pattern) {
                panic!("the pattern of {name} does not compile; add it to JAVA_PATTERNS: {e}");
            }
        }
    }
    assert!(count >= 10, "only {count} patterns");
    // Every rewrite is of a pattern a model still has.
    for (java, _) in JAVA_PATTERNS {
        assert!(
            shapes
                .iter()
                .any(|(_, s)| s.get("pattern").and_then(Value::as_str) == Some(*java)),
            "{java} is no longer in the model"
        );
    }
}

#[test]
fn the_sts_model_has_what_assume_role_needs() {
    let model = &*STS_MODEL;
    assert!(model.operations.contains_key("AssumeRole"));
    assert!(model.operations.contains_key("GetCallerIdentity"));
    let ok = serde_json::json!({
        "RoleArn": "arn:aws:iam::111122223333:role/a",
        "RoleSessionName": "s1",
        "DurationSeconds": 900,
    });
    assert!(validate_input(model, "AssumeRole", &ok).is_ok());
    let bad = serde_json::json!({
        "RoleArn": "arn:aws:iam::111122223333:role/a",
        "RoleSessionName": "bad name",
        "DurationSeconds": 60,
    });
    let err = validate_input(model, "AssumeRole", &bad).unwrap_err();
    assert_eq!(err.code, "ValidationException");
    assert!(
        err.message.starts_with("2 validation errors detected: "),
        "{}",
        err.message
    );
    assert!(err.message.contains("'durationSeconds'"), "{}", err.message);
    assert!(err.message.contains("'roleSessionName'"), "{}", err.message);
}

#[test]
fn java_pattern_features_mean_the_same() {
    // \p{ASCII}
    let kms = pattern_of("KmsKeyId");
    assert!(kms.matches("arn:aws:kms:us-east-1:123456789012:key/abc"));
    assert!(!kms.matches("clé"));
    assert!(!kms.matches(""));
    // \u0009, \u000A, \u000D, \u0020-\u00FF
    let policy = pattern_of("Policy");
    assert!(policy.matches("{\n\t\"Version\": \"2012-10-17\"\r\n}"));
    assert!(policy.matches("ÿ"));
    assert!(!policy.matches("Ā"));
    assert!(!policy.matches("\u{0008}"));
    // \p{L}\p{Z}\p{N}
    let job_name = pattern_of("JobName");
    assert!(job_name.matches("Auftrag-Überprüfung 1:2/3=4+5%6@7"));
    assert!(!job_name.matches("bad!name"));
    // \t and escapes in a class
    let delimiter = pattern_of("LabelDelimiter");
    for ok in ["|", "\t", "\\", "-", "^", " "] {
        assert!(delimiter.matches(ok), "{ok:?}");
    }
    for bad in ["a", ",", "||"] {
        assert!(!delimiter.matches(bad), "{bad:?}");
    }
    // Anchored: a pattern without `$` still applies to the whole value.
    let attribute = pattern_of("AttributeNamesListItem");
    assert!(attribute.matches("my-labels"));
    assert!(!attribute.matches("my-labels!"));
    // Dataset ARNs are resource ARNs too.
    assert!(pattern_of("ComprehendArn")
        .matches("arn:aws:comprehend:us-east-1:123456789012:flywheel/fw/dataset/ds"));
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
    assert_eq!(err.code, "ValidationException");
    assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
    assert_eq!(
        err.message,
        "1 validation error detected: Value 'arn:aws:iam::12:role/x-long-enough' at 'dataAccessRoleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+"
    );
}

#[test]
fn two_errors_in_one_message() {
    let err = validate_request(
        Operation::StartDocumentClassificationJob,
        &start(json!({
            "InputDataConfig": {"S3Uri": "s3://In"},
            "OutputDataConfig": {"S3Uri": "s3://out-bucket/x", "KmsKeyId": "k".repeat(2049)},
        })),
    )
    .unwrap_err();
    assert_eq!(err.code, "ValidationException");
    assert_eq!(
        err.message,
        format!(
            "2 validation errors detected: Value 's3://In' at 'inputDataConfig.s3Uri' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: \
             s3://[a-z0-9][\\.\\-a-z0-9]{{1,61}}[a-z0-9](/.*)?; Value '{}' at \
             'outputDataConfig.kmsKeyId' failed to satisfy constraint: Member must have length \
             less than or equal to 2048",
            "k".repeat(2049)
        )
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
    assert!(err.message.contains(
        "Value '[subnet_1]' at 'vpcConfig.subnets' failed to satisfy constraint: Member must \
         satisfy constraint: [Member must satisfy regular expression pattern: [-0-9a-zA-Z]+]"
    ));
    assert!(err.message.contains("Value null at 'tags.1.member.key'"));
}

#[test]
fn enums_lists_and_ranges() {
    let err = validate_request(
        Operation::CreateDocumentClassifier,
        &json!({
            "DocumentClassifierName": "c",
            "DataAccessRoleArn": "arn:aws:iam::123456789012:role/comprehend",
            "LanguageCode": "xx",
            "InputDataConfig": {
                "S3Uri": "s3://train/x.csv",
                "DocumentReaderConfig": {
                    "DocumentReadAction": "TEXTRACT_ANALYZE_DOCUMENT",
                    "FeatureTypes": ["TABLES", "FORMS", "TABLES"],
                },
                "AugmentedManifests": [{"S3Uri": "s3://train/m.jsonl"}],
            },
        }),
    )
    .unwrap_err();
    assert_eq!(err.code, "ValidationException");
    for expected in [
        "Value 'xx' at 'languageCode' failed to satisfy constraint: Member must satisfy enum \
         value set: [en, es, fr, de, it, pt, ar, hi, ja, ko, zh, zh-TW]",
        "Value '[TABLES, FORMS, TABLES]' at 'inputDataConfig.documentReaderConfig.featureTypes' \
         failed to satisfy constraint: Member must have length less than or equal to 2",
        "Value null at 'inputDataConfig.augmentedManifests.1.member.attributeNames' failed to \
         satisfy constraint: Member must not be null",
    ] {
        assert!(err.message.contains(expected), "{}", err.message);
    }
    assert!(err.message.starts_with("3 validation errors detected: "));

    let err = validate_request(
        Operation::ListDocumentClassificationJobs,
        &json!({"MaxResults": 501}),
    )
    .unwrap_err();
    assert_eq!(
        err.message,
        "1 validation error detected: Value '501' at 'maxResults' failed to satisfy constraint: \
         Member must have value less than or equal to 500"
    );
}

#[test]
fn wrong_types_are_serialization_errors() {
    for (op, request) in [
        (
            Operation::ListDocumentClassificationJobs,
            json!({"MaxResults": "ten"}),
        ),
        (
            Operation::ListDocumentClassificationJobs,
            json!({"Filter": {"SubmitTimeAfter": "yesterday"}}),
        ),
        (
            Operation::DescribeDocumentClassificationJob,
            json!({"JobId": 7}),
        ),
        (
            Operation::StartDocumentClassificationJob,
            start(json!({"Tags": {"Key": "k"}})),
        ),
    ] {
        let err = validate_request(op, &request).unwrap_err();
        assert_eq!(err.code, "SerializationException", "{request}");
    }
}
