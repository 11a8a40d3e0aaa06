//! The document classifier operations: ListDocumentClassifiers,
//! CreateDocumentClassifier, DescribeDocumentClassifier,
//! StopTrainingDocumentClassifier and DeleteDocumentClassifier, their
//! requests built from the plain types and their answers mapped back.

use aws_sdk_comprehend::error::BuildError;
use aws_sdk_comprehend::types::{
    AugmentedManifestsDocumentTypeFormat, AugmentedManifestsListItem, ClassifierEvaluationMetrics,
    DocumentClassifierDataFormat, DocumentClassifierDocumentTypeFormat,
    DocumentClassifierDocuments, DocumentClassifierFilter, DocumentClassifierInputDataConfig,
    DocumentClassifierMode, DocumentClassifierOutputDataConfig, DocumentClassifierProperties,
    LanguageCode, Split,
};
use aws_sdk_comprehend::Client;

use super::errors::{build_error, classify_error, malformed};
use super::{
    rfc3339, sdk_document_reader_config, sdk_tags, sdk_vpc_config, PageLimit, LIST_PAGE_SIZE,
    MAX_LIST_PAGES,
};
use crate::comprehend::{
    AwsError, ClassifierDescription, ClassifierMetrics, CreateClassifierRequest,
};

/// The newest classifier named `name` with exactly `version_name` (none
/// matches only an unversioned one), from every page of
/// ListDocumentClassifiers filtered by DocumentClassifierName.
pub(super) async fn find(
    client: &Client,
    name: &str,
    version_name: Option<&str>,
) -> Result<Option<ClassifierDescription>, AwsError> {
    let filter = DocumentClassifierFilter::builder()
        .document_classifier_name(name)
        .build();
    let wanted_version = version_name.filter(|v| !v.is_empty());
    let mut newest: Option<DocumentClassifierProperties> = None;
    let mut pages = client
        .list_document_classifiers()
        .filter(filter)
        .into_paginator()
        .page_size(LIST_PAGE_SIZE)
        .stop_on_duplicate_token(true)
        .send();
    let mut limit = PageLimit::default();
    while let Some(page) = pages.try_next().await.map_err(|e| classify_error(&e))? {
        for classifier in page.document_classifier_properties_list() {
            // The entries carry no name of their own; the ARN does. As
            // for jobs, a lenient endpoint's near miss is skipped.
            if classifier
                .document_classifier_arn()
                .and_then(classifier_name_of_arn)
                .is_some_and(|n| n != name)
            {
                continue;
            }
            // Versions match exactly; no version matches only no version.
            if classifier.version_name().filter(|v| !v.is_empty()) != wanted_version {
                continue;
            }
            if newest
                .as_ref()
                .is_none_or(|best| classifier.submit_time() > best.submit_time())
            {
                newest = Some(classifier.clone());
            }
        }
        if limit.exceeded_after(page.next_token()) {
            return Err(malformed(&format!(
                "ListDocumentClassifiers returned more than {MAX_LIST_PAGES} pages for DocumentClassifierName {name:?}"
            )));
        }
    }
    newest.map(|c| describe_classifier_props(&c)).transpose()
}

/// Starts training a classifier (CreateDocumentClassifier) and returns its ARN.
pub(super) async fn create(
    client: &Client,
    req: &CreateClassifierRequest,
) -> Result<String, AwsError> {
    let mut call = client
        .create_document_classifier()
        .document_classifier_name(&req.name)
        .set_version_name(req.version_name.clone())
        .language_code(LanguageCode::from(req.language_code.as_str()))
        .set_mode(req.mode.as_deref().map(DocumentClassifierMode::from))
        .input_data_config(classifier_input_data_config(req).map_err(build_error)?)
        .data_access_role_arn(&req.data_access_role_arn)
        .set_volume_kms_key_id(req.volume_kms_key_id.clone())
        .set_model_kms_key_id(req.model_kms_key_id.clone())
        .set_model_policy(req.model_policy.clone())
        .client_request_token(&req.client_request_token);
    // Without a location, key or prefix there is nothing to say: no
    // member at all.
    if req.output_s3_uri.is_some()
        || req.output_kms_key_id.is_some()
        || req.flywheel_stats_s3_prefix.is_some()
    {
        call = call.output_data_config(
            DocumentClassifierOutputDataConfig::builder()
                .set_s3_uri(req.output_s3_uri.clone())
                .set_kms_key_id(req.output_kms_key_id.clone())
                .set_flywheel_stats_s3_prefix(req.flywheel_stats_s3_prefix.clone())
                .build(),
        );
    }
    if let Some(vpc) = &req.vpc_config {
        call = call.vpc_config(sdk_vpc_config(vpc).map_err(build_error)?);
    }
    // No tags means no Tags member at all, not an empty list.
    for tag in sdk_tags(&req.tags).map_err(build_error)? {
        call = call.tags(tag);
    }
    let out = call.send().await.map_err(|e| classify_error(&e))?;
    out.document_classifier_arn()
        .filter(|arn| !arn.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            malformed("CreateDocumentClassifier answered without a DocumentClassifierArn")
        })
}

/// One classifier by ARN (DescribeDocumentClassifier).
pub(super) async fn describe(
    client: &Client,
    arn: &str,
) -> Result<ClassifierDescription, AwsError> {
    let out = client
        .describe_document_classifier()
        .document_classifier_arn(arn)
        .send()
        .await
        .map_err(|e| classify_error(&e))?;
    let props = out.document_classifier_properties().ok_or_else(|| {
        malformed("DescribeDocumentClassifier answered without classifier properties")
    })?;
    describe_classifier_props(props)
}

/// Stops a classifier's training (StopTrainingDocumentClassifier).
pub(super) async fn stop_training(client: &Client, arn: &str) -> Result<(), AwsError> {
    client
        .stop_training_document_classifier()
        .document_classifier_arn(arn)
        .send()
        .await
        .map_err(|e| classify_error(&e))?;
    Ok(())
}

/// Deletes a classifier (DeleteDocumentClassifier).
pub(super) async fn delete(client: &Client, arn: &str) -> Result<(), AwsError> {
    client
        .delete_document_classifier()
        .document_classifier_arn(arn)
        .send()
        .await
        .map_err(|e| classify_error(&e))?;
    Ok(())
}

/// `DocumentClassifierInputDataConfig` from the request. Enum values go
/// through the SDK's `From<&str>` like the job's; an empty manifest list is
/// left out rather than sent empty.
fn classifier_input_data_config(
    req: &CreateClassifierRequest,
) -> Result<DocumentClassifierInputDataConfig, BuildError> {
    let manifests = req
        .augmented_manifests
        .iter()
        .map(|m| {
            AugmentedManifestsListItem::builder()
                .s3_uri(&m.s3_uri)
                .set_split(m.split.as_deref().map(Split::from))
                .set_attribute_names(Some(m.attribute_names.clone()))
                .set_annotation_data_s3_uri(m.annotation_data_s3_uri.clone())
                .set_source_documents_s3_uri(m.source_documents_s3_uri.clone())
                .set_document_type(
                    m.document_type
                        .as_deref()
                        .map(AugmentedManifestsDocumentTypeFormat::from),
                )
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let documents = req
        .documents
        .as_ref()
        .map(|d| {
            DocumentClassifierDocuments::builder()
                .s3_uri(&d.s3_uri)
                .set_test_s3_uri(d.test_s3_uri.clone())
                .build()
        })
        .transpose()?;
    let reader = req
        .document_reader_config
        .as_ref()
        .map(sdk_document_reader_config)
        .transpose()?;
    Ok(DocumentClassifierInputDataConfig::builder()
        .set_data_format(
            req.data_format
                .as_deref()
                .map(DocumentClassifierDataFormat::from),
        )
        .set_s3_uri(req.s3_uri.clone())
        .set_test_s3_uri(req.test_s3_uri.clone())
        .set_label_delimiter(req.label_delimiter.clone())
        .set_augmented_manifests(if manifests.is_empty() {
            None
        } else {
            Some(manifests)
        })
        .set_document_type(
            req.document_type
                .as_deref()
                .map(DocumentClassifierDocumentTypeFormat::from),
        )
        .set_documents(documents)
        .set_document_reader_config(reader)
        .build())
}

/// The classifier name inside a classifier ARN
/// (`...:document-classifier/<name>[/version/<v>]`), if it has that shape.
pub(super) fn classifier_name_of_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":document-classifier/")?;
    rest.split('/').next().filter(|n| !n.is_empty())
}

/// Maps classifier properties (from Describe or one List entry) to a
/// [`ClassifierDescription`].
fn describe_classifier_props(
    p: &DocumentClassifierProperties,
) -> Result<ClassifierDescription, AwsError> {
    let arn = p
        .document_classifier_arn()
        .filter(|arn| !arn.is_empty())
        .ok_or_else(|| malformed("a classifier was reported without a DocumentClassifierArn"))?;
    // As for jobs: without a status there is nothing to decide on.
    let status = p
        .status()
        .map(|s| s.as_str().to_owned())
        .ok_or_else(|| malformed("a classifier was reported without a Status"))?;
    let meta = p.classifier_metadata();
    Ok(ClassifierDescription {
        arn: arn.to_owned(),
        version_name: p.version_name().map(str::to_owned),
        status,
        message: p.message().map(str::to_owned),
        submit_time: p.submit_time().and_then(rfc3339),
        training_start_time: p.training_start_time().and_then(rfc3339),
        training_end_time: p.training_end_time().and_then(rfc3339),
        output_s3_uri: p
            .output_data_config()
            .and_then(|o| o.s3_uri())
            .filter(|u| !u.is_empty())
            .map(str::to_owned),
        metrics: meta
            .and_then(|m| m.evaluation_metrics())
            .map(classifier_metrics),
        number_of_labels: meta.and_then(|m| m.number_of_labels()).map(i64::from),
        number_of_trained_documents: meta
            .and_then(|m| m.number_of_trained_documents())
            .map(i64::from),
        number_of_test_documents: meta
            .and_then(|m| m.number_of_test_documents())
            .map(i64::from),
    })
}

/// `ClassifierEvaluationMetrics`, member for member.
fn classifier_metrics(m: &ClassifierEvaluationMetrics) -> ClassifierMetrics {
    ClassifierMetrics {
        accuracy: m.accuracy(),
        precision: m.precision(),
        recall: m.recall(),
        f1_score: m.f1_score(),
        micro_precision: m.micro_precision(),
        micro_recall: m.micro_recall(),
        micro_f1_score: m.micro_f1_score(),
        hamming_loss: m.hamming_loss(),
    }
}
