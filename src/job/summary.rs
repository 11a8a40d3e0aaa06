//! The results summary of a completed job (`spec.results.summarize`): when
//! it is due, and how what the output said (or why it could not be read)
//! goes into `status.results` and the `ResultsSummarized` condition. Pure:
//! no client, no clock. A summary never changes `Succeeded`: the job
//! completed whatever its output looks like to the operator.

use std::time::Duration;

use crate::job::crd::{ClassCount, ClassificationJob, ClassificationJobStatus, ResultsSummary};
use crate::job::status::{condition, set_condition, Reason};
use crate::kernel::conditions::{ConditionStatus, Observed, Reasons};
use crate::results::Summary;

/// Condition type: whether `status.results` holds the output's summary.
pub const RESULTS_SUMMARIZED: &str = "ResultsSummarized";

/// Classes listed when `spec.results.topClasses` is not set.
pub const DEFAULT_TOP_CLASSES: usize = 10;

/// Attempts at reading an output before the summary is given up (until
/// the spec changes).
pub const MAX_ATTEMPTS: i32 = 5;

/// Whether the resource asks for a summary and its job completed with an
/// output to read.
pub fn wanted(job: &ClassificationJob) -> bool {
    let asked = job.spec.results.as_ref().is_some_and(|r| r.summarize);
    let status = job.status.as_ref();
    asked
        && status.is_some_and(|s| {
            s.job_status.as_deref() == Some("COMPLETED") && s.output_s3_uri.is_some()
        })
}

/// Whether a summary is still to be made: wanted, and not settled for the
/// current generation (a summary made, or given up, stays until the spec
/// changes). A summary refused because the operator runs without
/// `--summarize-results` is looked at again by each reconcile, so a
/// restart with the flag makes it.
pub fn pending(job: &ClassificationJob) -> bool {
    if !wanted(job) {
        return false;
    }
    let Some(c) = job
        .status
        .as_ref()
        .and_then(|s| condition(s, RESULTS_SUMMARIZED))
    else {
        return true;
    };
    let settled = match ConditionStatus::of(c) {
        Some(ConditionStatus::True) => true,
        Some(ConditionStatus::False) => !Reason::SummaryDisabled.is_on(c),
        _ => false,
    };
    !settled || c.observed_generation != job.metadata.generation
}

/// How many classes to list.
pub fn top_classes(job: &ClassificationJob) -> usize {
    job.spec
        .results
        .as_ref()
        .and_then(|r| r.top_classes)
        .and_then(|t| usize::try_from(t).ok())
        .filter(|t| *t > 0)
        .unwrap_or(DEFAULT_TOP_CLASSES)
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Records the summary of the output at `uri`.
pub fn apply_summary(
    status: &mut ClassificationJobStatus,
    summary: &Summary,
    uri: &str,
    at: Observed,
) {
    let nonzero = |n: u64| (n > 0).then(|| count(n));
    status.results = Some(ResultsSummary {
        mode: summary.mode.map(|m| m.as_str().to_string()),
        documents: count(summary.documents),
        classes: summary
            .classes
            .iter()
            .map(|c| ClassCount {
                name: c.name.clone(),
                documents: count(c.documents),
            })
            .collect(),
        other_classes: nonzero(summary.other_classes),
        failed_documents: nonzero(summary.failed_documents),
        malformed_lines: nonzero(summary.malformed_lines),
        mean_top_score: summary.mean_top_score.map(|s| format!("{s:.4}")),
    });
    status.results_attempts = None;
    let mut message = format!("{} documents classified", summary.documents);
    if summary.failed_documents > 0 {
        message.push_str(&format!(
            ", {} failed in Comprehend",
            summary.failed_documents
        ));
    }
    if summary.malformed_lines > 0 {
        message.push_str(&format!(
            "; {} lines of predictions.jsonl could not be read (first: {})",
            summary.malformed_lines,
            summary.first_malformed.as_deref().unwrap_or("?")
        ));
    }
    message.push_str(&format!(" ({uri})"));
    set_condition(
        status,
        RESULTS_SUMMARIZED,
        ConditionStatus::True,
        Reason::Summarized,
        &message,
        at,
    );
}

/// The archive is not what Comprehend writes: reported, not retried (the
/// same bytes would fail the same way).
pub fn apply_malformed(status: &mut ClassificationJobStatus, why: &str, uri: &str, at: Observed) {
    status.results = None;
    status.results_attempts = None;
    let message = format!("The output {uri} is not a readable predictions archive: {why}");
    set_condition(
        status,
        RESULTS_SUMMARIZED,
        ConditionStatus::False,
        Reason::MalformedOutput,
        &message,
        at,
    );
}

/// The output could not be read (`code`: the S3 error, or a timeout).
/// Retried up to [`MAX_ATTEMPTS`]; answers the wait before the next
/// attempt, or None once given up (`ResultsSummarized` False).
pub fn apply_unreadable(
    status: &mut ClassificationJobStatus,
    code: &str,
    detail: &str,
    uri: &str,
    max_backoff: Duration,
    at: Observed,
) -> Option<Duration> {
    let attempt = status.results_attempts.unwrap_or(0).saturating_add(1);
    status.results = None;
    let base = format!("The output {uri} could not be read ({code}: {detail})");
    if attempt >= MAX_ATTEMPTS {
        status.results_attempts = None;
        let message = format!(
            "{base}; gave up after {attempt} attempts. The job's outcome stands; grant the operator's role s3:GetObject on the output (and kms:Decrypt on its key), then edit spec.results to try again"
        );
        set_condition(
            status,
            RESULTS_SUMMARIZED,
            ConditionStatus::False,
            Reason::ResultsUnavailable,
            &message,
            at,
        );
        return None;
    }
    status.results_attempts = Some(attempt);
    let message = format!("{base}; attempt {attempt} of {MAX_ATTEMPTS}, retrying");
    set_condition(
        status,
        RESULTS_SUMMARIZED,
        ConditionStatus::Unknown,
        Reason::ResultsUnavailable,
        &message,
        at,
    );
    // 5 s, 10 s, 20 s, ... within the operator's longest backoff.
    let wait = Duration::from_secs(5u64 << (attempt - 1).clamp(0, 10));
    Some(wait.min(max_backoff))
}

/// The resource asks for a summary but the operator runs without
/// `--summarize-results`.
pub fn apply_disabled(status: &mut ClassificationJobStatus, at: Observed) {
    set_condition(
        status,
        RESULTS_SUMMARIZED,
        ConditionStatus::False,
        Reason::SummaryDisabled,
        "spec.results.summarize is set but the operator runs without --summarize-results (chart value results.summarize); the output was not read",
        at,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::crd::ResultsSpec;
    use crate::job::fixtures::{desc, job, now, spec};
    use crate::job::status::apply_description;
    use crate::results::{ClassCount as Counted, Mode};

    const URI: &str = "s3://out-bucket/results/123456789012-CLN-abc123/output/output.tar.gz";

    fn at() -> Observed {
        Observed::new(Some(1), now())
    }

    fn completed(summarize: bool) -> ClassificationJob {
        let mut s = spec();
        s.results = Some(ResultsSpec {
            summarize,
            top_classes: Some(2),
        });
        let mut j = job(s);
        let mut status = ClassificationJobStatus::default();
        apply_description(&mut status, &desc("COMPLETED"), at());
        j.status = Some(status);
        j
    }

    fn summary() -> Summary {
        Summary {
            mode: Some(Mode::MultiClass),
            documents: 6,
            classes: vec![
                Counted {
                    name: "SPORTS".into(),
                    documents: 3,
                },
                Counted {
                    name: "FINANCE".into(),
                    documents: 2,
                },
            ],
            other_classes: 1,
            failed_documents: 0,
            malformed_lines: 1,
            first_malformed: Some("line 2: EOF while parsing".into()),
            mean_top_score: Some(0.812_34),
        }
    }

    #[test]
    fn due_only_for_a_completed_job_that_asks() {
        assert!(pending(&completed(true)));
        assert!(!pending(&completed(false)));
        let mut running = completed(true);
        apply_description(running.status.as_mut().unwrap(), &desc("IN_PROGRESS"), at());
        assert!(!pending(&running));
        let mut failed = completed(true);
        apply_description(failed.status.as_mut().unwrap(), &desc("FAILED"), at());
        assert!(!pending(&failed));
        assert_eq!(top_classes(&completed(true)), 2);
    }

    #[test]
    fn a_summary_is_written_and_settles() {
        let mut j = completed(true);
        let status = j.status.as_mut().unwrap();
        apply_summary(status, &summary(), URI, at());
        let results = status.results.clone().unwrap();
        assert_eq!(results.documents, 6);
        assert_eq!(results.mode.as_deref(), Some("MULTI_CLASS"));
        assert_eq!(results.classes[0].name, "SPORTS");
        assert_eq!(results.other_classes, Some(1));
        assert_eq!(results.failed_documents, None);
        assert_eq!(results.malformed_lines, Some(1));
        assert_eq!(results.mean_top_score.as_deref(), Some("0.8123"));
        let c = condition(status, RESULTS_SUMMARIZED).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "Summarized")
        );
        assert!(c.message.contains("line 2"), "{}", c.message);
        assert!(!pending(&j));
        // A new generation (spec.results edited) summarizes again only if
        // the last one did not succeed.
        j.metadata.generation = Some(2);
        assert!(pending(&j));
    }

    #[test]
    fn an_unreadable_output_is_retried_a_bounded_number_of_times() {
        let mut j = completed(true);
        let status = j.status.as_mut().unwrap();
        let mut waits = Vec::new();
        while let Some(wait) = apply_unreadable(
            status,
            "AccessDenied",
            "Access Denied",
            URI,
            Duration::from_secs(300),
            at(),
        ) {
            waits.push(wait.as_secs());
            let c = condition(status, RESULTS_SUMMARIZED).unwrap();
            assert_eq!(c.status, "Unknown");
        }
        assert_eq!(waits, [5, 10, 20, 40]);
        let c = condition(status, RESULTS_SUMMARIZED).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "ResultsUnavailable")
        );
        assert!(c.message.contains("AccessDenied"), "{}", c.message);
        assert_eq!(status.results_attempts, None);
        // Succeeded is untouched.
        assert_eq!(
            condition(status, crate::job::status::SUCCEEDED)
                .unwrap()
                .status,
            "True"
        );
        assert!(!pending(&j), "given up until the spec changes");
    }

    #[test]
    fn a_malformed_archive_settles_at_once_and_a_disabled_summary_stays_due() {
        let mut j = completed(true);
        apply_malformed(j.status.as_mut().unwrap(), "not gzip", URI, at());
        assert!(!pending(&j));
        let mut k = completed(true);
        apply_disabled(k.status.as_mut().unwrap(), at());
        assert!(
            pending(&k),
            "looked at again once the operator may summarize"
        );
    }
}
