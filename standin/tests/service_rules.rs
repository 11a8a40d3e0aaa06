//! Through the real `aws-sdk-comprehend` client: the rules the service
//! model states only in prose.

mod common;

use aws_sdk_comprehend::error::ProvideErrorMetadata;
use aws_sdk_comprehend::operation::create_document_classifier::builders::CreateDocumentClassifierFluentBuilder;
use aws_sdk_comprehend::types::{
    AugmentedManifestsListItem, DocumentClassifierDataFormat, DocumentClassifierDocumentTypeFormat,
    DocumentClassifierDocuments, DocumentClassifierInputDataConfig,
    DocumentClassifierOutputDataConfig, DocumentReadAction, DocumentReaderConfig, LanguageCode,
    Tag,
};
use common::{Harness, ROLE};

fn create(h: &Harness, name: &str) -> CreateDocumentClassifierFluentBuilder {
    h.comprehend
        .create_document_classifier()
        .document_classifier_name(name)
        .data_access_role_arn(ROLE)
        .language_code(LanguageCode::En)
        .input_data_config(
            DocumentClassifierInputDataConfig::builder()
                .s3_uri("s3://train/rules.csv")
                .build(),
        )
}

fn native_input() -> DocumentClassifierInputDataConfig {
    DocumentClassifierInputDataConfig::builder()
        .s3_uri("s3://train/native.csv")
        .document_type(DocumentClassifierDocumentTypeFormat::SemiStructuredDocument)
        .documents(
            DocumentClassifierDocuments::builder()
                .s3_uri("s3://train/docs/")
                .build()
                .unwrap(),
        )
        .build()
}

fn output() -> DocumentClassifierOutputDataConfig {
    DocumentClassifierOutputDataConfig::builder()
        .s3_uri("s3://train-out/")
        .build()
}

#[tokio::test]
async fn create_classifier_prose_rules() {
    let h = Harness::fast().await;
    type Case = (
        &'static str,
        fn(CreateDocumentClassifierFluentBuilder) -> CreateDocumentClassifierFluentBuilder,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "Japanese plain text",
            |b| b.language_code(LanguageCode::Ja),
            "UnsupportedLanguageException",
            "'ja'",
        ),
        (
            "Traditional Chinese plain text",
            |b| b.language_code(LanguageCode::ZhTw),
            "UnsupportedLanguageException",
            "de, en, es, fr, it, pt",
        ),
        (
            "German native documents",
            |b| {
                b.language_code(LanguageCode::De)
                    .input_data_config(native_input())
                    .output_data_config(output())
            },
            "UnsupportedLanguageException",
            "'de'",
        ),
        (
            "native documents without Documents",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train/native.csv")
                        .document_type(DocumentClassifierDocumentTypeFormat::SemiStructuredDocument)
                        .build(),
                )
                .output_data_config(output())
            },
            "InvalidRequestException",
            "InputDataConfig.Documents is required",
        ),
        (
            "native documents without OutputDataConfig",
            |b| b.input_data_config(native_input()),
            "InvalidRequestException",
            "OutputDataConfig is required",
        ),
        (
            "native documents, well formed (not trained by the stand-in)",
            |b| {
                b.input_data_config(native_input())
                    .output_data_config(output())
            },
            "InvalidRequestException",
            "not supported by this stand-in",
        ),
        (
            "ANALYZE without FeatureTypes",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .s3_uri("s3://train/x.csv")
                        .document_reader_config(
                            DocumentReaderConfig::builder()
                                .document_read_action(DocumentReadAction::TextractAnalyzeDocument)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
            },
            "InvalidRequestException",
            "FeatureTypes is required when DocumentReadAction is TEXTRACT_ANALYZE_DOCUMENT",
        ),
        (
            "reserved tag key",
            |b| b.tags(Tag::builder().key("aws:cost").value("x").build().unwrap()),
            "InvalidRequestException",
            "reserved",
        ),
        (
            "51 tags",
            |b| {
                b.set_tags(Some(
                    (0..51)
                        .map(|i| Tag::builder().key(format!("k{i}")).build().unwrap())
                        .collect(),
                ))
            },
            "TooManyTagsException",
            "50",
        ),
        (
            "manifest attribute name breaking the model's pattern",
            |b| {
                b.input_data_config(
                    DocumentClassifierInputDataConfig::builder()
                        .data_format(DocumentClassifierDataFormat::AugmentedManifest)
                        .augmented_manifests(
                            AugmentedManifestsListItem::builder()
                                .s3_uri("s3://train/m.jsonl")
                                .attribute_names("bad name!")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
            },
            "ValidationException",
            "at 'inputDataConfig.augmentedManifests.1.member.attributeNames'",
        ),
    ];
    for (name, mutate, code, expected) in cases {
        let err = mutate(create(&h, "rules"))
            .send()
            .await
            .expect_err(name)
            .into_service_error();
        assert_eq!(err.code(), Some(code), "{name}: {err:?}");
        let message = err.message().unwrap_or_default();
        assert!(message.contains(expected), "{name}: {message}");
    }
    // Every plain-text language custom classification supports is taken.
    for (i, language) in ["de", "en", "es", "fr", "it", "pt"].into_iter().enumerate() {
        create(&h, &format!("lang-{i}"))
            .language_code(LanguageCode::from(language))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{language}: {e:?}"));
    }
}

#[tokio::test]
async fn tag_limits_count_existing_tags_and_reserve_aws_keys() {
    let h = Harness::fast().await;
    let arn = create(&h, "tag-limits")
        .set_tags(Some(
            (0..30)
                .map(|i| Tag::builder().key(format!("a{i}")).build().unwrap())
                .collect(),
        ))
        .send()
        .await
        .unwrap()
        .document_classifier_arn
        .unwrap();
    let tag = |prefix: &str, n: usize| -> Vec<Tag> {
        (0..n)
            .map(|i| Tag::builder().key(format!("{prefix}{i}")).build().unwrap())
            .collect()
    };
    // 30 + 21 new = 51: refused, and nothing is added.
    let err = h
        .comprehend
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(tag("b", 21)))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_tags_exception(), "{err:?}");
    // 30 + 20 new = 50, and replacing existing keys adds none.
    h.comprehend
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some([tag("b", 20), tag("a", 5)].concat()))
        .send()
        .await
        .unwrap();
    let listed = h
        .comprehend
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.tags().len(), 50);

    for key in ["aws:owner", "AWS:owner", "Aws:x"] {
        let err = h
            .comprehend
            .tag_resource()
            .resource_arn(&arn)
            .tags(Tag::builder().key(key).build().unwrap())
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_invalid_request_exception(), "{key}: {err:?}");
        assert!(err.message().unwrap().contains(key));
        let err = h
            .comprehend
            .untag_resource()
            .resource_arn(&arn)
            .tag_keys(key)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_invalid_request_exception(), "{key}: {err:?}");
    }
}
