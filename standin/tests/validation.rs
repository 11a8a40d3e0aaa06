//! Request validation through the real `aws-sdk-comprehend` client: every
//! constraint of the service model is a ValidationException worded like the
//! service's; the rules the model states only in prose are the operation's
//! own errors.

mod common;

use aws_sdk_comprehend::error::ProvideErrorMetadata;
use aws_sdk_comprehend::operation::start_document_classification_job::builders::StartDocumentClassificationJobFluentBuilder;
use aws_sdk_comprehend::types::{
    DocumentReadAction, DocumentReadFeatureTypes, DocumentReaderConfig, InputDataConfig,
    InputFormat, OutputDataConfig, Tag, VpcConfig,
};
use common::{good_start, input, output, Harness, CLASSIFIER, ROLE};

fn vpc(groups: usize, subnets: usize, subnet_name: &str) -> VpcConfig {
    VpcConfig::builder()
        .set_security_group_ids(Some((0..groups).map(|i| format!("sg-{i}")).collect()))
        .set_subnets(Some(
            (0..subnets).map(|i| format!("{subnet_name}{i}")).collect(),
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn start_validation_follows_the_api_reference() {
    let h = Harness::fast().await;
    type Case = (
        &'static str,
        fn(
            StartDocumentClassificationJobFluentBuilder,
        ) -> StartDocumentClassificationJobFluentBuilder,
        &'static str,
    );
    // Constraints of the service model: ValidationException.
    let cases: Vec<Case> = vec![
        ("bad JobName chars", |b| b.job_name("bad!name"), "'jobName'"),
        (
            "JobName too long",
            |b| b.job_name("a".repeat(257)),
            "length less than or equal to 256",
        ),
        (
            "empty JobName",
            |b| b.job_name(""),
            "length greater than or equal to 1",
        ),
        (
            "bad input S3Uri",
            |b| b.input_data_config(input("s3://In_Bucket/x")),
            "'inputDataConfig.s3Uri'",
        ),
        (
            "not an s3 uri",
            |b| b.output_data_config(output("https://bucket/x")),
            "'outputDataConfig.s3Uri'",
        ),
        (
            "bad role ARN",
            |b| b.data_access_role_arn("arn:aws:iam::1234:role/short-account"),
            "'dataAccessRoleArn'",
        ),
        (
            "role ARN too short",
            |b| b.data_access_role_arn("arn:aws:iam::1"),
            "length greater than or equal to 20",
        ),
        (
            "bad classifier ARN",
            |b| {
                b.document_classifier_arn(
                    "arn:aws:comprehend:us-east-1:123456789012:entity-recognizer/x",
                )
            },
            "'documentClassifierArn'",
        ),
        (
            "classifier ARN too long",
            |b| b.document_classifier_arn(format!("{CLASSIFIER}{}", "a".repeat(256))),
            "length less than or equal to 256",
        ),
        (
            "KMS key too long",
            |b| b.volume_kms_key_id("k".repeat(2049)),
            "'volumeKmsKeyId'",
        ),
        (
            "output KMS key too long",
            |b| {
                b.output_data_config(
                    OutputDataConfig::builder()
                        .s3_uri("s3://out-bucket/x")
                        .kms_key_id("k".repeat(2049))
                        .build()
                        .unwrap(),
                )
            },
            "'outputDataConfig.kmsKeyId'",
        ),
        (
            "6 security groups",
            |b| b.vpc_config(vpc(6, 1, "subnet-")),
            "'vpcConfig.securityGroupIds'",
        ),
        (
            "17 subnets",
            |b| b.vpc_config(vpc(1, 17, "subnet-")),
            "'vpcConfig.subnets'",
        ),
        (
            "bad subnet chars",
            |b| b.vpc_config(vpc(1, 1, "subnet_")),
            "regular expression pattern: [-0-9a-zA-Z]+",
        ),
        (
            "bad InputFormat",
            |b| {
                b.input_data_config(
                    InputDataConfig::builder()
                        .s3_uri("s3://in-bucket/x")
                        .input_format(InputFormat::from("ONE_DOC_PER_PAGE"))
                        .build()
                        .unwrap(),
                )
            },
            "enum value set: [ONE_DOC_PER_FILE, ONE_DOC_PER_LINE]",
        ),
        (
            "missing role",
            |b| b.set_data_access_role_arn(None),
            "Value null at 'dataAccessRoleArn'",
        ),
        (
            "missing output",
            |b| b.set_output_data_config(None),
            "Value null at 'outputDataConfig'",
        ),
        (
            "bad token",
            |b| b.client_request_token("not a token!"),
            "'clientRequestToken'",
        ),
        (
            "token too long",
            |b| b.client_request_token("a".repeat(65)),
            "length less than or equal to 64",
        ),
        (
            "tag key too long",
            |b| {
                b.tags(
                    Tag::builder()
                        .key("k".repeat(129))
                        .value("v")
                        .build()
                        .unwrap(),
                )
            },
            "'tags.1.member.key'",
        ),
    ];
    for (name, mutate, expected) in cases {
        let err = mutate(good_start(&h))
            .send()
            .await
            .expect_err(name)
            .into_service_error();
        assert_eq!(err.code(), Some("ValidationException"), "{name}: {err:?}");
        let message = err.message().unwrap_or_default();
        assert!(
            message.contains("validation error") && message.contains(expected),
            "{name}: {message}"
        );
    }

    // Rules the model states only in prose: InvalidRequestException.
    let cases: Vec<Case> = vec![
        (
            "FeatureTypes without ANALYZE",
            |b| {
                b.input_data_config(
                    InputDataConfig::builder()
                        .s3_uri("s3://in-bucket/x")
                        .document_reader_config(
                            DocumentReaderConfig::builder()
                                .document_read_action(
                                    DocumentReadAction::TextractDetectDocumentText,
                                )
                                .feature_types(DocumentReadFeatureTypes::Tables)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
            },
            "FeatureTypes",
        ),
        (
            "ANALYZE without FeatureTypes",
            |b| {
                b.input_data_config(
                    InputDataConfig::builder()
                        .s3_uri("s3://in-bucket/x")
                        .document_reader_config(
                            DocumentReaderConfig::builder()
                                .document_read_action(DocumentReadAction::TextractAnalyzeDocument)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
            },
            "FeatureTypes is required when DocumentReadAction is TEXTRACT_ANALYZE_DOCUMENT",
        ),
        (
            "reserved tag key",
            |b| b.tags(Tag::builder().key("AWS:team").value("v").build().unwrap()),
            "reserved",
        ),
        (
            "neither classifier nor flywheel",
            |b| b.set_document_classifier_arn(None),
            "Either DocumentClassifierArn or FlywheelArn",
        ),
    ];
    for (name, mutate, expected) in cases {
        let err = mutate(good_start(&h))
            .send()
            .await
            .expect_err(name)
            .into_service_error();
        assert!(err.is_invalid_request_exception(), "{name}: {err:?}");
        assert_eq!(err.code(), Some("InvalidRequestException"), "{name}");
        let message = err.message().unwrap_or_default();
        assert!(message.contains(expected), "{name}: {message}");
    }

    // More than 50 tags: TooManyTagsException.
    let tags: Vec<Tag> = (0..51)
        .map(|i| Tag::builder().key(format!("k{i}")).build().unwrap())
        .collect();
    let err = good_start(&h)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_tags_exception(), "{err:?}");

    // The good request passes validation and fails only on the missing
    // classifier.
    let err = good_start(&h)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn role_arn_message_is_worded_like_the_service() {
    let h = Harness::fast().await;
    let err = good_start(&h)
        .data_access_role_arn("arn:aws:iam::x:role/comprehend")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some(
            "1 validation error detected: Value 'arn:aws:iam::x:role/comprehend' at \
             'dataAccessRoleArn' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+"
        )
    );
}

#[tokio::test]
async fn create_classifier_validation_follows_the_api_reference() {
    use aws_sdk_comprehend::operation::create_document_classifier::builders::CreateDocumentClassifierFluentBuilder;
    use aws_sdk_comprehend::types::{
        DocumentClassifierInputDataConfig, DocumentClassifierMode, LanguageCode,
    };

    let h = Harness::fast().await;
    let good = || {
        h.comprehend
            .create_document_classifier()
            .document_classifier_name("valid-name")
            .data_access_role_arn(ROLE)
            .language_code(LanguageCode::En)
            .input_data_config(
                DocumentClassifierInputDataConfig::builder()
                    .s3_uri("s3://train-bucket/data.csv")
                    .build(),
            )
    };
    type Case = (
        &'static str,
        fn(CreateDocumentClassifierFluentBuilder) -> CreateDocumentClassifierFluentBuilder,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "name with underscore",
            |b| b.document_classifier_name("bad_name"),
            "'documentClassifierName'",
        ),
        (
            "name too long",
            |b| b.document_classifier_name("a".repeat(64)),
            "length less than or equal to 63",
        ),
        ("bad version", |b| b.version_name("-v1"), "'versionName'"),
        (
            "missing language",
            |b| b.set_language_code(None),
            "Value null at 'languageCode'",
        ),
        (
            "unknown language",
            |b| b.language_code(LanguageCode::from("xx")),
            "'languageCode'",
        ),
        (
            "unknown mode",
            |b| b.mode(DocumentClassifierMode::from("SOME_LABELS")),
            "'mode'",
        ),
        (
            "two-char delimiter",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train-bucket/x")
                        .label_delimiter("||")
                        .build(),
                )
            },
            "'inputDataConfig.labelDelimiter'",
        ),
        (
            "letter delimiter",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train-bucket/x")
                        .label_delimiter("a")
                        .build(),
                )
            },
            "regular expression pattern",
        ),
        (
            "bad test uri",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train-bucket/x")
                        .test_s3_uri("file:///x")
                        .build(),
                )
            },
            "'inputDataConfig.testS3Uri'",
        ),
        (
            "no S3Uri",
            |b| b.input_data_config(DocumentClassifierInputDataConfig::builder().build()),
            "S3Uri",
        ),
        (
            "bad role",
            |b| b.data_access_role_arn("role/comprehend-data-access"),
            "'dataAccessRoleArn'",
        ),
        (
            "empty model policy",
            |b| b.model_policy(""),
            "'modelPolicy'",
        ),
    ];
    for (name, mutate, expected) in cases {
        let err = mutate(good())
            .send()
            .await
            .expect_err(name)
            .into_service_error();
        // Constraints of the model are ValidationException; the rest is
        // checked by the operation.
        let code = if name == "no S3Uri" {
            "InvalidRequestException"
        } else {
            "ValidationException"
        };
        assert_eq!(err.code(), Some(code), "{name}: {err:?}");
        let message = err.message().unwrap_or_default();
        assert!(message.contains(expected), "{name}: {message}");
    }
    let arn = good()
        .send()
        .await
        .unwrap()
        .document_classifier_arn
        .unwrap();
    assert!(arn.ends_with(":document-classifier/valid-name"));
}

#[tokio::test]
async fn tagging_validation() {
    let h = Harness::fast().await;
    let err = h
        .comprehend
        .tag_resource()
        .resource_arn("arn:aws:s3:::bucket")
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    assert!(err.message().unwrap().contains("'resourceArn'"));

    let err = h
        .comprehend
        .untag_resource()
        .resource_arn(CLASSIFIER)
        .set_tag_keys(Some((0..51).map(|i| format!("k{i}")).collect()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_tag_keys_exception(), "{err:?}");

    let err = h
        .comprehend
        .tag_resource()
        .resource_arn(CLASSIFIER)
        .tags(
            Tag::builder()
                .key("k")
                .value("v".repeat(257))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    assert!(err.message().unwrap().contains("'tags.1.member.value'"));
}
