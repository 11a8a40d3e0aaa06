//! The rate-limiting decorator: a [`Comprehend`] that waits for its
//! operation's budget before each call and counts every call in the
//! metrics, around any other [`Comprehend`]. So no reconcile acquires
//! tokens or records calls by hand, and both controllers share one budget
//! per operation in a process.

use std::sync::Arc;

use async_trait::async_trait;

use crate::comprehend::limits::RateLimiter;
use crate::comprehend::{
    AwsError, ClassifierDescription, Comprehend, CreateClassifierRequest, JobDescription, Listed,
    StartJobRequest, StartedJob,
};
use crate::telemetry::Metrics;

/// Calls a second per operation family, as the quotas have them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// StartDocumentClassificationJob.
    pub start: f64,
    /// DescribeDocumentClassificationJob.
    pub describe: f64,
    /// ListDocumentClassificationJobs.
    pub list: f64,
    /// Every classifier operation together (Create, Describe, List,
    /// StopTraining, Delete).
    pub classifier: f64,
}

/// A [`Comprehend`] within [`Rates`], counted in [`Metrics`].
pub struct Limited<C> {
    inner: C,
    start: RateLimiter,
    describe: RateLimiter,
    list: RateLimiter,
    classifier: RateLimiter,
    metrics: Arc<Metrics>,
}

impl<C> Limited<C> {
    /// `inner` within `rates`, its calls counted in `metrics`.
    pub fn new(inner: C, rates: Rates, metrics: Arc<Metrics>) -> Self {
        Limited {
            inner,
            start: RateLimiter::new(rates.start),
            describe: RateLimiter::new(rates.describe),
            list: RateLimiter::new(rates.list),
            classifier: RateLimiter::new(rates.classifier),
            metrics,
        }
    }

    /// Waits for `limiter`, makes the call, counts it.
    async fn call<T>(
        &self,
        limiter: &RateLimiter,
        operation: &str,
        call: impl std::future::Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        limiter.acquire().await;
        let result = call.await;
        let outcome = result.as_ref().map_or_else(AwsError::outcome, |_| "ok");
        self.metrics.aws_call(operation, outcome);
        result
    }
}

#[async_trait]
impl<C: Comprehend> Comprehend for Limited<C> {
    async fn find_jobs_by_name(
        &self,
        region: &str,
        job_name: &str,
    ) -> Result<Vec<JobDescription>, AwsError> {
        let call = self.inner.find_jobs_by_name(region, job_name);
        self.call(&self.list, "ListDocumentClassificationJobs", call)
            .await
    }

    async fn list_jobs_in_status(&self, region: &str, status: &str) -> Result<Listed, AwsError> {
        const OPERATION: &str = "ListDocumentClassificationJobs";
        let call = self.inner.list_jobs_in_status(region, status);
        let listed = self.call(&self.list, OPERATION, call).await?;
        // The paginator reads every page in one go; each page past the
        // first is paid for here, after the fact, so the calls that follow
        // wait for the budget the pages used.
        for _ in 1..listed.requests {
            self.list.acquire().await;
            self.metrics.aws_call(OPERATION, "ok");
        }
        Ok(listed)
    }

    async fn start_job(&self, region: &str, req: &StartJobRequest) -> Result<StartedJob, AwsError> {
        let call = self.inner.start_job(region, req);
        self.call(&self.start, "StartDocumentClassificationJob", call)
            .await
    }

    async fn describe_job(&self, region: &str, job_id: &str) -> Result<JobDescription, AwsError> {
        let call = self.inner.describe_job(region, job_id);
        self.call(&self.describe, "DescribeDocumentClassificationJob", call)
            .await
    }

    async fn find_classifier(
        &self,
        region: &str,
        name: &str,
        version_name: Option<&str>,
    ) -> Result<Option<ClassifierDescription>, AwsError> {
        let call = self.inner.find_classifier(region, name, version_name);
        self.call(&self.classifier, "ListDocumentClassifiers", call)
            .await
    }

    async fn create_classifier(
        &self,
        region: &str,
        req: &CreateClassifierRequest,
    ) -> Result<String, AwsError> {
        let call = self.inner.create_classifier(region, req);
        self.call(&self.classifier, "CreateDocumentClassifier", call)
            .await
    }

    async fn describe_classifier(
        &self,
        region: &str,
        arn: &str,
    ) -> Result<ClassifierDescription, AwsError> {
        let call = self.inner.describe_classifier(region, arn);
        self.call(&self.classifier, "DescribeDocumentClassifier", call)
            .await
    }

    async fn stop_training_classifier(&self, region: &str, arn: &str) -> Result<(), AwsError> {
        let call = self.inner.stop_training_classifier(region, arn);
        self.call(&self.classifier, "StopTrainingDocumentClassifier", call)
            .await
    }

    async fn delete_classifier(&self, region: &str, arn: &str) -> Result<(), AwsError> {
        let call = self.inner.delete_classifier(region, arn);
        self.call(&self.classifier, "DeleteDocumentClassifier", call)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comprehend::fake::FakeComprehend;
    use crate::comprehend::ErrorKind;

    fn rates() -> Rates {
        Rates {
            start: 1.0,
            describe: 2.0,
            list: 100.0,
            classifier: 1.0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_operation_waits_for_its_own_budget() {
        let metrics = Arc::new(Metrics::default());
        let limited = Limited::new(FakeComprehend::default(), rates(), metrics);
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            limited.describe_job("us-east-1", "missing").await.ok();
        }
        // Two a second, a burst of two: the third waits half a second.
        assert_eq!(start.elapsed().as_millis(), 500);
        let start = tokio::time::Instant::now();
        for _ in 0..2 {
            limited.delete_classifier("us-east-1", "arn").await.ok();
        }
        // The classifier budget is its own: one a second.
        assert_eq!(start.elapsed().as_millis(), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn every_call_is_counted_with_its_outcome() {
        let metrics = Arc::new(Metrics::default());
        let fake = FakeComprehend::default();
        fake.fail_next(
            "DescribeDocumentClassificationJob",
            AwsError {
                kind: ErrorKind::Throttled,
                code: "TooManyRequestsException".into(),
                message: "slow down".into(),
            },
        );
        let limited = Limited::new(fake, rates(), metrics.clone());
        assert!(limited.describe_job("us-east-1", "j").await.is_err());
        assert!(limited.find_jobs_by_name("us-east-1", "n").await.is_ok());
        let text = metrics.encode();
        assert!(
            text.contains("operation=\"DescribeDocumentClassificationJob\",outcome=\"throttled\"")
                || text.contains(
                    "outcome=\"throttled\",operation=\"DescribeDocumentClassificationJob\""
                ),
            "{text}"
        );
        assert!(text.contains("ListDocumentClassificationJobs"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn every_page_of_a_listing_takes_a_list_token() {
        let metrics = Arc::new(Metrics::default());
        let fake = FakeComprehend::default();
        fake.set_list_pages(3);
        let limited = Limited::new(
            fake,
            Rates {
                list: 2.0,
                ..rates()
            },
            metrics.clone(),
        );
        let start = tokio::time::Instant::now();
        let listed = limited
            .list_jobs_in_status("us-east-1", "IN_PROGRESS")
            .await
            .unwrap();
        assert_eq!(listed.requests, 3);
        // Three pages at two a second, a burst of two: the third page's
        // token comes half a second later.
        assert_eq!(start.elapsed().as_millis(), 500);
        let start = tokio::time::Instant::now();
        limited.find_jobs_by_name("us-east-1", "n").await.unwrap();
        // The next List waits for the budget the pages used.
        assert_eq!(start.elapsed().as_millis(), 500);
        let text = metrics.encode();
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("comprehend_operator_aws_calls_total")
                    && l.contains("ListDocumentClassificationJobs")
            })
            .unwrap_or_else(|| panic!("{text}"));
        assert!(line.ends_with(" 4"), "{line}");
    }
}
