//! The rate-limiting decorator: a [`Comprehend`] that waits for its
//! operation's budget before each call and counts every call in the
//! metrics, around any other [`Comprehend`]. So no reconcile acquires
//! tokens or records calls by hand, and both controllers share one budget
//! per operation, account and Region in a process (Comprehend's quotas are
//! per account and Region).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::comprehend::limits::RateLimiter;
use crate::comprehend::{
    AwsError, ClassifierDescription, Comprehend, CreateClassifierRequest, JobDescription, Listed,
    Place, StartJobRequest, StartedJob,
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

/// The budgets of one account in one Region.
struct Budgets {
    start: RateLimiter,
    describe: RateLimiter,
    list: RateLimiter,
    classifier: RateLimiter,
}

/// Which budget a call takes.
#[derive(Clone, Copy)]
enum Family {
    Start,
    Describe,
    List,
    Classifier,
}

impl Budgets {
    fn get(&self, family: Family) -> &RateLimiter {
        match family {
            Family::Start => &self.start,
            Family::Describe => &self.describe,
            Family::List => &self.list,
            Family::Classifier => &self.classifier,
        }
    }
}

/// A [`Comprehend`] within [`Rates`] per account and Region, counted in
/// [`Metrics`].
pub struct Limited<C> {
    inner: C,
    rates: Rates,
    /// Per (account label, Region): roles of one account share its budgets.
    budgets: Mutex<HashMap<(String, String), Arc<Budgets>>>,
    metrics: Arc<Metrics>,
}

impl<C> Limited<C> {
    /// `inner` within `rates`, its calls counted in `metrics`.
    pub fn new(inner: C, rates: Rates, metrics: Arc<Metrics>) -> Self {
        Limited {
            inner,
            rates,
            budgets: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// The wrapped value.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Makes a call that no budget here bounds (an S3 read, say) and counts
    /// it in the metrics like the others.
    pub async fn counted<T>(
        &self,
        at: &Place,
        operation: &str,
        call: impl std::future::Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        let result = call.await;
        let outcome = result.as_ref().map_or_else(AwsError::outcome, |_| "ok");
        self.metrics
            .aws_call(operation, at.account_label(), outcome);
        result
    }

    /// The budgets of `at`'s account and Region, made on first use.
    fn budgets(&self, at: &Place) -> Arc<Budgets> {
        let key = (at.account_label().to_string(), at.region.clone());
        let mut budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        budgets
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Budgets {
                    start: RateLimiter::new(self.rates.start),
                    describe: RateLimiter::new(self.rates.describe),
                    list: RateLimiter::new(self.rates.list),
                    classifier: RateLimiter::new(self.rates.classifier),
                })
            })
            .clone()
    }

    /// Waits for the budget of `family` at `at`, makes the call, counts it.
    async fn call<T>(
        &self,
        at: &Place,
        family: Family,
        operation: &str,
        call: impl std::future::Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        self.budgets(at).get(family).acquire().await;
        self.counted(at, operation, call).await
    }
}

#[async_trait]
impl<C: Comprehend> Comprehend for Limited<C> {
    async fn find_jobs_by_name(
        &self,
        at: &Place,
        job_name: &str,
    ) -> Result<Vec<JobDescription>, AwsError> {
        let call = self.inner.find_jobs_by_name(at, job_name);
        self.call(at, Family::List, "ListDocumentClassificationJobs", call)
            .await
    }

    async fn list_jobs_in_status(&self, at: &Place, status: &str) -> Result<Listed, AwsError> {
        const OPERATION: &str = "ListDocumentClassificationJobs";
        let call = self.inner.list_jobs_in_status(at, status);
        let listed = self.call(at, Family::List, OPERATION, call).await?;
        // The paginator reads every page in one go; each page past the
        // first is paid for here, after the fact, so the calls that follow
        // wait for the budget the pages used.
        let list = self.budgets(at);
        for _ in 1..listed.requests {
            list.list.acquire().await;
            self.metrics.aws_call(OPERATION, at.account_label(), "ok");
        }
        Ok(listed)
    }

    async fn start_job(&self, at: &Place, req: &StartJobRequest) -> Result<StartedJob, AwsError> {
        let call = self.inner.start_job(at, req);
        self.call(at, Family::Start, "StartDocumentClassificationJob", call)
            .await
    }

    async fn describe_job(&self, at: &Place, job_id: &str) -> Result<JobDescription, AwsError> {
        let call = self.inner.describe_job(at, job_id);
        self.call(
            at,
            Family::Describe,
            "DescribeDocumentClassificationJob",
            call,
        )
        .await
    }

    async fn find_classifier(
        &self,
        at: &Place,
        name: &str,
        version_name: Option<&str>,
    ) -> Result<Option<ClassifierDescription>, AwsError> {
        let call = self.inner.find_classifier(at, name, version_name);
        self.call(at, Family::Classifier, "ListDocumentClassifiers", call)
            .await
    }

    async fn create_classifier(
        &self,
        at: &Place,
        req: &CreateClassifierRequest,
    ) -> Result<String, AwsError> {
        let call = self.inner.create_classifier(at, req);
        self.call(at, Family::Classifier, "CreateDocumentClassifier", call)
            .await
    }

    async fn describe_classifier(
        &self,
        at: &Place,
        arn: &str,
    ) -> Result<ClassifierDescription, AwsError> {
        let call = self.inner.describe_classifier(at, arn);
        self.call(at, Family::Classifier, "DescribeDocumentClassifier", call)
            .await
    }

    async fn stop_training_classifier(&self, at: &Place, arn: &str) -> Result<(), AwsError> {
        let call = self.inner.stop_training_classifier(at, arn);
        self.call(
            at,
            Family::Classifier,
            "StopTrainingDocumentClassifier",
            call,
        )
        .await
    }

    async fn delete_classifier(&self, at: &Place, arn: &str) -> Result<(), AwsError> {
        let call = self.inner.delete_classifier(at, arn);
        self.call(at, Family::Classifier, "DeleteDocumentClassifier", call)
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
            limited
                .describe_job(&Place::own("us-east-1"), "missing")
                .await
                .ok();
        }
        // Two a second, a burst of two: the third waits half a second.
        assert_eq!(start.elapsed().as_millis(), 500);
        let start = tokio::time::Instant::now();
        for _ in 0..2 {
            limited
                .delete_classifier(&Place::own("us-east-1"), "arn")
                .await
                .ok();
        }
        // The classifier budget is its own: one a second.
        assert_eq!(start.elapsed().as_millis(), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn each_account_and_region_has_its_own_budget() {
        let metrics = Arc::new(Metrics::default());
        let limited = Limited::new(FakeComprehend::default(), rates(), metrics.clone());
        let role = |account: &str| crate::comprehend::Role {
            arn: format!("arn:aws:iam::{account}:role/team"),
            external_id: None,
            session_name: "s".into(),
        };
        let a = Place {
            role: Some(role("111122223333")),
            region: "us-east-1".into(),
        };
        // Another role of the same account shares its budget.
        let a2 = Place {
            role: Some(crate::comprehend::Role {
                arn: "arn:aws:iam::111122223333:role/other".into(),
                ..role("111122223333")
            }),
            region: "us-east-1".into(),
        };
        let b = Place {
            role: Some(role("444455556666")),
            region: "us-east-1".into(),
        };
        let start = tokio::time::Instant::now();
        // Describe: two a second, a burst of two, per account and Region.
        for place in [
            &a,
            &a,
            &b,
            &b,
            &Place::own("us-east-1"),
            &Place::own("us-east-1"),
        ] {
            limited.describe_job(place, "missing").await.ok();
        }
        assert_eq!(start.elapsed().as_millis(), 0, "separate budgets");
        limited.describe_job(&a2, "missing").await.ok();
        assert_eq!(start.elapsed().as_millis(), 500, "one account, one budget");
        let text = metrics.encode();
        assert!(
            text.contains("account=\"444455556666\""),
            "calls carry their account: {text}"
        );
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
        assert!(limited
            .describe_job(&Place::own("us-east-1"), "j")
            .await
            .is_err());
        assert!(limited
            .find_jobs_by_name(&Place::own("us-east-1"), "n")
            .await
            .is_ok());
        let text = metrics.encode();
        assert!(
            text.contains(
                "operation=\"DescribeDocumentClassificationJob\",account=\"default\",outcome=\"throttled\""
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
            .list_jobs_in_status(&Place::own("us-east-1"), "IN_PROGRESS")
            .await
            .unwrap();
        assert_eq!(listed.requests, 3);
        // Three pages at two a second, a burst of two: the third page's
        // token comes half a second later.
        assert_eq!(start.elapsed().as_millis(), 500);
        let start = tokio::time::Instant::now();
        limited
            .find_jobs_by_name(&Place::own("us-east-1"), "n")
            .await
            .unwrap();
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
