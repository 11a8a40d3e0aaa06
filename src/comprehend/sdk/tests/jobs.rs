//! The job operations: requests built field by field, answers mapped,
//! and the listing that finds a job by name across pages.

use crate::comprehend::Place;
use std::collections::BTreeMap;

use aws_sdk_comprehend::config::retry::RetryConfig;
use aws_sdk_comprehend::operation::describe_document_classification_job::DescribeDocumentClassificationJobOutput;
use aws_sdk_comprehend::operation::list_document_classification_jobs::ListDocumentClassificationJobsOutput;
use aws_sdk_comprehend::operation::start_document_classification_job::StartDocumentClassificationJobOutput;
use aws_sdk_comprehend::types::{
    DocumentClassificationJobProperties, InputDataConfig, JobStatus, OutputDataConfig,
};
use aws_sdk_comprehend::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::DateTime;

use super::fixtures::{full_expected_input, full_request};
use super::{client_without_retries, CLASSIFIER, NOON};
use crate::comprehend::sdk::{AwsComprehend, LIST_PAGE_SIZE, MAX_LIST_PAGES, STATUS_PAGE_SIZE};
use crate::comprehend::{
    Comprehend, ErrorKind, JobDescription, ModelRef, StartJobRequest, StartedJob,
};

const FLYWHEEL: &str = "arn:aws:comprehend:eu-west-1:111122223333:flywheel/news";

fn props(
    id: &str,
    name: &str,
    status: JobStatus,
    submit: i64,
) -> DocumentClassificationJobProperties {
    DocumentClassificationJobProperties::builder()
        .job_id(id)
        .job_name(name)
        .job_status(status)
        .submit_time(DateTime::from_secs(submit))
        .build()
}

#[tokio::test]
async fn start_maps_every_request_field_and_the_answer() {
    let expected = full_expected_input();
    let rule = mock!(Client::start_document_classification_job)
        .match_requests(move |req| {
            // Comparing whole inputs catches any field mapped wrongly or
            // left out; the assert (rather than `false`) shows the diff.
            assert_eq!(req, &expected);
            true
        })
        .then_output(|| {
            StartDocumentClassificationJobOutput::builder()
                .job_id("0123456789abcdef0123456789abcdef")
                .job_arn("arn:aws:comprehend:eu-west-1:111122223333:document-classification-job/0123456789abcdef0123456789abcdef")
                .job_status(JobStatus::Submitted)
                .document_classifier_arn(CLASSIFIER)
                .build()
        });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let started = aws
        .start_job(&Place::own("eu-west-1"), &full_request())
        .await
        .unwrap();

    assert_eq!(
        started,
        StartedJob {
            job_id: "0123456789abcdef0123456789abcdef".into(),
            job_arn: Some("arn:aws:comprehend:eu-west-1:111122223333:document-classification-job/0123456789abcdef0123456789abcdef".into()),
            job_status: Some("SUBMITTED".into()),
            document_classifier_arn: Some(CLASSIFIER.into()),
        }
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn start_with_flywheel_and_no_optionals_sends_only_what_is_set() {
    let rule = mock!(Client::start_document_classification_job)
        .match_requests(|req| {
            assert_eq!(req.flywheel_arn(), Some(FLYWHEEL));
            assert_eq!(req.document_classifier_arn(), None);
            let input = req.input_data_config().unwrap();
            assert_eq!(input.s3_uri(), "s3://in-bucket/docs/");
            assert_eq!(input.input_format(), None);
            assert_eq!(input.document_reader_config(), None);
            assert_eq!(req.output_data_config().unwrap().kms_key_id(), None);
            assert_eq!(req.volume_kms_key_id(), None);
            assert_eq!(req.vpc_config(), None);
            assert!(req.tags.is_none(), "no Tags member when there are no tags");
            assert_eq!(req.client_request_token(), Some("uid-1"));
            true
        })
        .then_output(|| {
            StartDocumentClassificationJobOutput::builder()
                .job_id("j1")
                .build()
        });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));
    let req = StartJobRequest {
        model: ModelRef::Flywheel(FLYWHEEL.into()),
        input_format: None,
        document_reader_config: None,
        output_kms_key_id: None,
        volume_kms_key_id: None,
        vpc_config: None,
        tags: BTreeMap::new(),
        client_request_token: "uid-1".into(),
        ..full_request()
    };

    let started = aws.start_job(&Place::own(""), &req).await.unwrap();

    assert_eq!(started.job_id, "j1");
    assert_eq!(started.job_arn, None);
    assert_eq!(started.job_status, None);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn start_without_job_id_in_the_answer_is_a_transient_error() {
    let rule = mock!(Client::start_document_classification_job)
        .then_output(|| StartDocumentClassificationJobOutput::builder().build());
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .start_job(&Place::own(""), &full_request())
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code, "ResponseError");
}

#[tokio::test]
async fn describe_maps_status_message_times_and_output_uri() {
    let rule = mock!(Client::describe_document_classification_job)
        .match_requests(|req| req.job_id() == Some("job-1"))
        .then_output(|| {
            DescribeDocumentClassificationJobOutput::builder()
                .document_classification_job_properties(
                    DocumentClassificationJobProperties::builder()
                        .job_id("job-1")
                        .job_arn("arn:aws:comprehend:eu-west-1:111122223333:document-classification-job/job-1")
                        .job_name("ns-job")
                        .job_status(JobStatus::Failed)
                        .message("NO_READ_ACCESS_TO_INPUT: cannot read s3://in-bucket/docs/")
                        // Sub-second parts are dropped, not rounded.
                        .submit_time(DateTime::from_secs_and_nanos(NOON, 999_000_000))
                        .end_time(DateTime::from_secs(NOON + 367))
                        .document_classifier_arn(CLASSIFIER)
                        .input_data_config(
                            InputDataConfig::builder()
                                .s3_uri("s3://in-bucket/docs/")
                                .build()
                                .unwrap(),
                        )
                        .output_data_config(
                            OutputDataConfig::builder()
                                .s3_uri("s3://out-bucket/results/111122223333-CLN-job-1/output/output.tar.gz")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
        });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let job = aws
        .describe_job(&Place::own("eu-west-1"), "job-1")
        .await
        .unwrap();

    assert_eq!(
        job,
        JobDescription {
            job_id: "job-1".into(),
            job_arn: Some(
                "arn:aws:comprehend:eu-west-1:111122223333:document-classification-job/job-1"
                    .into()
            ),
            job_name: Some("ns-job".into()),
            job_status: "FAILED".into(),
            message: Some("NO_READ_ACCESS_TO_INPUT: cannot read s3://in-bucket/docs/".into()),
            submit_time: Some("2024-05-01T12:00:00Z".into()),
            end_time: Some("2024-05-01T12:06:07Z".into()),
            document_classifier_arn: Some(CLASSIFIER.into()),
            flywheel_arn: None,
            input_s3_uri: Some("s3://in-bucket/docs/".into()),
            output_s3_uri: Some(
                "s3://out-bucket/results/111122223333-CLN-job-1/output/output.tar.gz".into()
            ),
        }
    );
}

#[tokio::test]
async fn describe_keeps_unknown_status_strings_and_requested_id() {
    let rule = mock!(Client::describe_document_classification_job).then_output(|| {
        DescribeDocumentClassificationJobOutput::builder()
            .document_classification_job_properties(
                DocumentClassificationJobProperties::builder()
                    .job_status(JobStatus::from("PAUSED_FOR_LUNCH"))
                    .build(),
            )
            .build()
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let job = aws.describe_job(&Place::own(""), "job-9").await.unwrap();

    assert_eq!(job.job_id, "job-9");
    assert_eq!(job.job_status, "PAUSED_FOR_LUNCH");
    assert_eq!(job.submit_time, None);
    assert_eq!(job.output_s3_uri, None);
}

#[tokio::test]
async fn describe_without_properties_is_a_transient_error() {
    let rule = mock!(Client::describe_document_classification_job)
        .then_output(|| DescribeDocumentClassificationJobOutput::builder().build());
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .describe_job(&Place::own(""), "job-1")
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code, "ResponseError");
}

#[tokio::test]
async fn find_follows_next_token_and_picks_the_newest_match() {
    let first_page = mock!(Client::list_document_classification_jobs)
        .match_requests(|req| {
            req.next_token().is_none()
                && req.max_results() == Some(LIST_PAGE_SIZE)
                && req.filter().and_then(|f| f.job_name()) == Some("ns-job")
        })
        .then_output(|| {
            ListDocumentClassificationJobsOutput::builder()
                .document_classification_job_properties_list(props(
                    "old",
                    "ns-job",
                    JobStatus::Failed,
                    NOON - 3600,
                ))
                .document_classification_job_properties_list(props(
                    "newest",
                    "ns-job",
                    JobStatus::InProgress,
                    NOON,
                ))
                .next_token("page-2")
                .build()
        });
    let second_page = mock!(Client::list_document_classification_jobs)
        .match_requests(|req| {
            req.next_token() == Some("page-2")
                && req.max_results() == Some(LIST_PAGE_SIZE)
                && req.filter().and_then(|f| f.job_name()) == Some("ns-job")
        })
        .then_output(|| {
            ListDocumentClassificationJobsOutput::builder()
                .document_classification_job_properties_list(props(
                    "middle",
                    "ns-job",
                    JobStatus::Stopped,
                    NOON - 60,
                ))
                // A lenient endpoint's near miss must not be picked even
                // though it is newer.
                .document_classification_job_properties_list(props(
                    "stranger",
                    "ns-job-2",
                    JobStatus::Submitted,
                    NOON + 60,
                ))
                .build()
        });
    let aws = AwsComprehend::with_client(mock_client!(
        aws_sdk_comprehend,
        RuleMode::Sequential,
        [&first_page, &second_page],
        |c| c.retry_config(RetryConfig::disabled())
    ));

    let jobs = aws
        .find_jobs_by_name(&Place::own(""), "ns-job")
        .await
        .unwrap();

    let ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, ["newest", "middle", "old"]);
    let job = &jobs[0];
    assert_eq!(job.job_status, "IN_PROGRESS");
    assert_eq!(job.submit_time.as_deref(), Some("2024-05-01T12:00:00Z"));
    assert_eq!(first_page.num_calls(), 1);
    assert_eq!(second_page.num_calls(), 1);
}

#[tokio::test]
async fn find_returns_none_when_nothing_matches() {
    let rule = mock!(Client::list_document_classification_jobs)
        .then_output(|| ListDocumentClassificationJobsOutput::builder().build());
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    assert_eq!(
        aws.find_jobs_by_name(&Place::own(""), "ns-job")
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn find_stops_on_a_repeated_next_token() {
    let rule = mock!(Client::list_document_classification_jobs).then_output(|| {
        ListDocumentClassificationJobsOutput::builder()
            .next_token("same")
            .build()
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    assert_eq!(
        aws.find_jobs_by_name(&Place::own(""), "ns-job")
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn find_gives_up_on_endless_pages() {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let rule = mock!(Client::list_document_classification_jobs).then_output(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ListDocumentClassificationJobsOutput::builder()
            .next_token(format!("token-{n}"))
            .build()
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .find_jobs_by_name(&Place::own(""), "ns-job")
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code, "ResponseError");
    assert_eq!(rule.num_calls(), MAX_LIST_PAGES);
}

/// The page a stateless listing answers for a request's NextToken: `None`
/// is page 0 and `token-<n>` asks for page n + 1.
fn page_number(next_token: Option<&str>) -> usize {
    next_token.map_or(0, |t| {
        t.strip_prefix("token-").unwrap().parse::<usize>().unwrap() + 1
    })
}

#[tokio::test]
async fn find_reads_every_page_up_to_the_last_one_allowed() {
    // One job per page, each newer than the last; the last page allowed
    // has no NextToken, so the listing ends within the limit.
    let rule = mock!(Client::list_document_classification_jobs).then_compute_output(|req| {
        assert_eq!(req.max_results(), Some(LIST_PAGE_SIZE));
        let n = page_number(req.next_token());
        let page = ListDocumentClassificationJobsOutput::builder()
            .document_classification_job_properties_list(props(
                &format!("job-{n}"),
                "ns-job",
                JobStatus::Completed,
                NOON + n as i64,
            ));
        if n + 1 < MAX_LIST_PAGES {
            page.next_token(format!("token-{n}")).build()
        } else {
            page.build()
        }
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let jobs = aws
        .find_jobs_by_name(&Place::own(""), "ns-job")
        .await
        .unwrap();

    let ids: Vec<String> = jobs.into_iter().map(|j| j.job_id).collect();
    let newest_first: Vec<String> = (0..MAX_LIST_PAGES)
        .rev()
        .map(|n| format!("job-{n}"))
        .collect();
    assert_eq!(ids, newest_first);
    assert_eq!(rule.num_calls(), MAX_LIST_PAGES);
}

#[tokio::test]
async fn find_keeps_the_jobs_of_the_page_that_repeats_its_token() {
    let rule = mock!(Client::list_document_classification_jobs).then_compute_output(|req| {
        let (id, submit) = match req.next_token() {
            None => ("older", NOON - 60),
            Some("same") => ("newer", NOON),
            Some(other) => panic!("unexpected NextToken {other:?}"),
        };
        ListDocumentClassificationJobsOutput::builder()
            .document_classification_job_properties_list(props(
                id,
                "ns-job",
                JobStatus::Completed,
                submit,
            ))
            .next_token("same")
            .build()
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let jobs = aws
        .find_jobs_by_name(&Place::own(""), "ns-job")
        .await
        .unwrap();

    let ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, ["newer", "older"]);
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn find_gives_up_on_tokens_that_cycle() {
    // a, b, a, b, ...: no token repeats the one just sent, so only the page
    // limit ends the listing.
    let rule = mock!(Client::list_document_classification_jobs).then_compute_output(|req| {
        let next = if req.next_token() == Some("a") {
            "b"
        } else {
            "a"
        };
        ListDocumentClassificationJobsOutput::builder()
            .next_token(next)
            .build()
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .find_jobs_by_name(&Place::own(""), "ns-job")
        .await
        .unwrap_err();

    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Transient, "ResponseError")
    );
    assert_eq!(
        err.message,
        format!(
            "ListDocumentClassificationJobs returned more than {MAX_LIST_PAGES} pages for JobName \"ns-job\""
        )
    );
    assert_eq!(rule.num_calls(), MAX_LIST_PAGES);
}

#[tokio::test]
async fn list_in_status_filters_by_status_reads_every_page_and_counts_them() {
    let first_page = mock!(Client::list_document_classification_jobs)
        .match_requests(|req| {
            req.next_token().is_none()
                && req.max_results() == Some(STATUS_PAGE_SIZE)
                && req.filter().and_then(|f| f.job_status()) == Some(&JobStatus::InProgress)
                && req.filter().and_then(|f| f.job_name()).is_none()
        })
        .then_output(|| {
            ListDocumentClassificationJobsOutput::builder()
                .document_classification_job_properties_list(props(
                    "a",
                    "ours",
                    JobStatus::InProgress,
                    NOON,
                ))
                .next_token("page-2")
                .build()
        });
    let second_page = mock!(Client::list_document_classification_jobs)
        .match_requests(|req| {
            req.next_token() == Some("page-2")
                && req.max_results() == Some(STATUS_PAGE_SIZE)
                && req.filter().and_then(|f| f.job_status()) == Some(&JobStatus::InProgress)
        })
        .then_output(|| {
            ListDocumentClassificationJobsOutput::builder()
                .document_classification_job_properties_list(props(
                    "b",
                    "someone-elses",
                    JobStatus::InProgress,
                    NOON + 1,
                ))
                .build()
        });
    let aws = AwsComprehend::with_client(mock_client!(
        aws_sdk_comprehend,
        RuleMode::Sequential,
        [&first_page, &second_page],
        |c| c.retry_config(RetryConfig::disabled())
    ));

    let listed = aws
        .list_jobs_in_status(&Place::own(""), "IN_PROGRESS")
        .await
        .unwrap();

    let ids: Vec<&str> = listed.jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(listed.requests, 2);
    assert_eq!(listed.jobs[1].job_name.as_deref(), Some("someone-elses"));
    assert_eq!(first_page.num_calls(), 1);
    assert_eq!(second_page.num_calls(), 1);
}

#[tokio::test]
async fn list_in_status_gives_up_on_endless_pages() {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let rule = mock!(Client::list_document_classification_jobs).then_output(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ListDocumentClassificationJobsOutput::builder()
            .next_token(format!("token-{n}"))
            .build()
    });
    let aws = AwsComprehend::with_client(client_without_retries(&[&rule]));

    let err = aws
        .list_jobs_in_status(&Place::own(""), "SUBMITTED")
        .await
        .unwrap_err();

    assert!(err.message.contains("JobStatus SUBMITTED"), "{err:?}");
    assert_eq!(rule.num_calls(), MAX_LIST_PAGES);
}
