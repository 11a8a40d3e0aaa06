//! The classification job operations: ListDocumentClassificationJobs,
//! StartDocumentClassificationJob and DescribeDocumentClassificationJob,
//! their requests built from the plain types and their answers mapped back.

use aws_sdk_comprehend::error::BuildError;
use aws_sdk_comprehend::types::{
    DocumentClassificationJobFilter, DocumentClassificationJobProperties, InputDataConfig,
    InputFormat, JobStatus, OutputDataConfig,
};
use aws_sdk_comprehend::Client;

use super::errors::{build_error, classify_error, malformed};
use super::{
    rfc3339, sdk_document_reader_config, sdk_tags, sdk_vpc_config, PageLimit, LIST_PAGE_SIZE,
    MAX_LIST_PAGES, STATUS_PAGE_SIZE,
};
use crate::comprehend::{AwsError, JobDescription, Listed, ModelRef, StartJobRequest, StartedJob};

/// Every job named `job_name`, newest first (ListDocumentClassificationJobs
/// filtered by JobName, every page read).
pub(super) async fn find_by_name(
    client: &Client,
    job_name: &str,
) -> Result<Vec<JobDescription>, AwsError> {
    let filter = DocumentClassificationJobFilter::builder()
        .job_name(job_name)
        .build();
    let mut pages = client
        .list_document_classification_jobs()
        .filter(filter)
        .into_paginator()
        .page_size(LIST_PAGE_SIZE)
        .stop_on_duplicate_token(true)
        .send();
    let mut limit = PageLimit::default();
    let mut found: Vec<DocumentClassificationJobProperties> = Vec::new();
    while let Some(page) = pages.try_next().await.map_err(|e| classify_error(&e))? {
        // The filter should already match exactly; checking again
        // keeps a lenient endpoint from handing us a stranger's job.
        found.extend(
            page.document_classification_job_properties_list()
                .iter()
                .filter(|job| job.job_name().is_none_or(|n| n == job_name))
                .cloned(),
        );
        if limit.exceeded_after(page.next_token()) {
            return Err(malformed(&format!(
                "ListDocumentClassificationJobs returned more than {MAX_LIST_PAGES} pages for JobName {job_name:?}"
            )));
        }
    }
    found.sort_by(|a, b| b.submit_time().cmp(&a.submit_time()));
    found.iter().map(|job| describe_props(job, None)).collect()
}

/// Every job in `status` (ListDocumentClassificationJobs filtered by
/// JobStatus, [`STATUS_PAGE_SIZE`] per page, every page read).
pub(super) async fn list_in_status(client: &Client, status: &str) -> Result<Listed, AwsError> {
    let filter = DocumentClassificationJobFilter::builder()
        .job_status(JobStatus::from(status))
        .build();
    let mut pages = client
        .list_document_classification_jobs()
        .filter(filter)
        .into_paginator()
        .page_size(STATUS_PAGE_SIZE)
        .stop_on_duplicate_token(true)
        .send();
    let mut limit = PageLimit::default();
    let mut listed = Listed::default();
    while let Some(page) = pages.try_next().await.map_err(|e| classify_error(&e))? {
        listed.requests += 1;
        for job in page.document_classification_job_properties_list() {
            // A job that changed status while the pages were read may be
            // listed with its new status: keep what the service says.
            listed.jobs.push(describe_props(job, None)?);
        }
        if limit.exceeded_after(page.next_token()) {
            return Err(malformed(&format!(
                "ListDocumentClassificationJobs returned more than {MAX_LIST_PAGES} pages for JobStatus {status}"
            )));
        }
    }
    Ok(listed)
}

/// Starts a job (StartDocumentClassificationJob) and returns what the answer
/// says about it.
pub(super) async fn start(client: &Client, req: &StartJobRequest) -> Result<StartedJob, AwsError> {
    let input = input_data_config(req).map_err(build_error)?;
    let output = OutputDataConfig::builder()
        .s3_uri(&req.output_s3_uri)
        .set_kms_key_id(req.output_kms_key_id.clone())
        .build()
        .map_err(build_error)?;
    let mut call = client
        .start_document_classification_job()
        .job_name(&req.job_name)
        .input_data_config(input)
        .output_data_config(output)
        .data_access_role_arn(&req.data_access_role_arn)
        .client_request_token(&req.client_request_token)
        .set_volume_kms_key_id(req.volume_kms_key_id.clone());
    call = match &req.model {
        ModelRef::DocumentClassifier(arn) => call.document_classifier_arn(arn),
        ModelRef::Flywheel(arn) => call.flywheel_arn(arn),
    };
    if let Some(vpc) = &req.vpc_config {
        call = call.vpc_config(sdk_vpc_config(vpc).map_err(build_error)?);
    }
    // No tags means no Tags member at all, not an empty list.
    for tag in sdk_tags(&req.tags).map_err(build_error)? {
        call = call.tags(tag);
    }
    let out = call.send().await.map_err(|e| classify_error(&e))?;
    let job_id = out
        .job_id()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| malformed("StartDocumentClassificationJob answered without a JobId"))?;
    Ok(StartedJob {
        job_id: job_id.to_owned(),
        job_arn: out.job_arn().map(str::to_owned),
        job_status: out.job_status().map(|s| s.as_str().to_owned()),
        document_classifier_arn: out.document_classifier_arn().map(str::to_owned),
    })
}

/// One job by id (DescribeDocumentClassificationJob).
pub(super) async fn describe(client: &Client, job_id: &str) -> Result<JobDescription, AwsError> {
    let out = client
        .describe_document_classification_job()
        .job_id(job_id)
        .send()
        .await
        .map_err(|e| classify_error(&e))?;
    let props = out
        .document_classification_job_properties()
        .ok_or_else(|| {
            malformed("DescribeDocumentClassificationJob answered without job properties")
        })?;
    describe_props(props, Some(job_id))
}

/// `InputDataConfig` from the request. Enum values go through the SDK's
/// `From<&str>`, which keeps unknown values verbatim, so the service (not
/// this mapping) is the judge of what is valid.
fn input_data_config(req: &StartJobRequest) -> Result<InputDataConfig, BuildError> {
    let reader = req
        .document_reader_config
        .as_ref()
        .map(sdk_document_reader_config)
        .transpose()?;
    InputDataConfig::builder()
        .s3_uri(&req.input_s3_uri)
        .set_input_format(req.input_format.as_deref().map(InputFormat::from))
        .set_document_reader_config(reader)
        .build()
}

/// Maps job properties (from Describe or one List entry) to a
/// [`JobDescription`]. `fallback_id` is the id the caller asked for, used if
/// the answer leaves `JobId` out.
fn describe_props(
    p: &DocumentClassificationJobProperties,
    fallback_id: Option<&str>,
) -> Result<JobDescription, AwsError> {
    let job_id = p
        .job_id()
        .filter(|id| !id.is_empty())
        .or(fallback_id)
        .ok_or_else(|| malformed("a classification job was reported without a JobId"))?;
    // Without a status the controller cannot decide anything; treat the
    // answer as broken (and retryable) rather than invent one.
    let job_status = p
        .job_status()
        .map(|s| s.as_str().to_owned())
        .ok_or_else(|| malformed("a classification job was reported without a JobStatus"))?;
    Ok(JobDescription {
        job_id: job_id.to_owned(),
        job_arn: p.job_arn().map(str::to_owned),
        job_name: p.job_name().map(str::to_owned),
        job_status,
        message: p.message().map(str::to_owned),
        submit_time: p.submit_time().and_then(rfc3339),
        end_time: p.end_time().and_then(rfc3339),
        document_classifier_arn: p.document_classifier_arn().map(str::to_owned),
        flywheel_arn: p.flywheel_arn().map(str::to_owned),
        input_s3_uri: p
            .input_data_config()
            .map(|i| i.s3_uri().to_owned())
            .filter(|u| !u.is_empty()),
        output_s3_uri: p
            .output_data_config()
            .map(|o| o.s3_uri().to_owned())
            .filter(|u| !u.is_empty()),
    })
}
