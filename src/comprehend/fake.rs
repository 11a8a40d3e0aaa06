//! An in-memory [`Comprehend`] for unit tests of the reconciles: jobs and
//! classifiers kept in maps, errors injected per operation, every call
//! counted. It checks nothing the real service would; the stand-in
//! (`standin/`) is the faithful one, for the integration tests.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::comprehend::{
    AwsError, ClassifierDescription, Comprehend, CreateClassifierRequest, ErrorKind,
    JobDescription, Listed, ModelRef, Place, StartJobRequest, StartedJob, RESOURCE_NOT_FOUND,
};

/// What the fake holds.
#[derive(Default)]
struct State {
    jobs: BTreeMap<String, JobDescription>,
    classifiers: BTreeMap<String, ClassifierDescription>,
    /// Errors to answer, per operation, before answering normally again.
    failures: HashMap<&'static str, VecDeque<AwsError>>,
    calls: HashMap<&'static str, usize>,
    next_id: u64,
    /// Requests a listing by status reports (pages), at least 1.
    list_pages: u32,
    /// Lists filtered by job name (also counted as List calls).
    by_name: usize,
}

/// An in-memory Comprehend.
#[derive(Default)]
pub struct FakeComprehend {
    state: Mutex<State>,
}

impl FakeComprehend {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts the call; answers an injected error if one waits for it.
    fn enter(&self, operation: &'static str) -> Result<(), AwsError> {
        let mut s = self.lock();
        *s.calls.entry(operation).or_default() += 1;
        match s.failures.get_mut(operation).and_then(VecDeque::pop_front) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// The next call of `operation` answers `err`.
    pub fn fail_next(&self, operation: &'static str, err: AwsError) {
        self.lock()
            .failures
            .entry(operation)
            .or_default()
            .push_back(err);
    }

    /// Listings by status report taking `pages` requests.
    pub fn set_list_pages(&self, pages: u32) {
        self.lock().list_pages = pages;
    }

    /// Calls made to `operation` so far.
    pub fn calls(&self, operation: &str) -> usize {
        self.lock().calls.get(operation).copied().unwrap_or(0)
    }

    /// Lists filtered by job name so far (a part of the List calls).
    pub fn lookups_by_name(&self) -> usize {
        self.lock().by_name
    }

    /// A job that exists in Comprehend, as if started elsewhere or earlier.
    pub fn put_job(&self, job: JobDescription) {
        self.lock().jobs.insert(job.job_id.clone(), job);
    }

    /// Moves a job to `status` (and an end time for a terminal one).
    pub fn set_job_status(&self, job_id: &str, status: &str) {
        if let Some(job) = self.lock().jobs.get_mut(job_id) {
            job.job_status = status.to_string();
            if matches!(status, "COMPLETED" | "FAILED" | "STOPPED") {
                job.end_time = Some("2026-01-02T04:00:00Z".into());
            }
        }
    }

    /// Every job, by ID.
    pub fn jobs(&self) -> Vec<JobDescription> {
        self.lock().jobs.values().cloned().collect()
    }

    /// Moves a classifier to `status`.
    pub fn set_classifier_status(&self, arn: &str, status: &str) {
        if let Some(c) = self.lock().classifiers.get_mut(arn) {
            c.status = status.to_string();
        }
    }

    /// Every classifier, by ARN.
    pub fn classifiers(&self) -> Vec<ClassifierDescription> {
        self.lock().classifiers.values().cloned().collect()
    }
}

fn not_found(kind: ErrorKind, code: &str, what: &str) -> AwsError {
    AwsError {
        kind,
        code: code.to_string(),
        message: format!("{what} not found"),
    }
}

#[async_trait]
impl Comprehend for FakeComprehend {
    async fn find_jobs_by_name(
        &self,
        _at: &Place,
        job_name: &str,
    ) -> Result<Vec<JobDescription>, AwsError> {
        self.enter("ListDocumentClassificationJobs")?;
        self.lock().by_name += 1;
        let mut found: Vec<JobDescription> = self
            .lock()
            .jobs
            .values()
            .filter(|j| j.job_name.as_deref() == Some(job_name))
            .cloned()
            .collect();
        found.sort_by(|a, b| b.submit_time.cmp(&a.submit_time));
        Ok(found)
    }

    async fn list_jobs_in_status(&self, _at: &Place, status: &str) -> Result<Listed, AwsError> {
        self.enter("ListDocumentClassificationJobs")?;
        let s = self.lock();
        Ok(Listed {
            jobs: s
                .jobs
                .values()
                .filter(|j| j.job_status == status)
                .cloned()
                .collect(),
            requests: s.list_pages.max(1),
        })
    }

    async fn start_job(&self, at: &Place, req: &StartJobRequest) -> Result<StartedJob, AwsError> {
        self.enter("StartDocumentClassificationJob")?;
        let mut s = self.lock();
        s.next_id += 1;
        let job_id = format!("job{:04}", s.next_id);
        let (classifier, flywheel) = match &req.model {
            ModelRef::DocumentClassifier(arn) => (Some(arn.clone()), None),
            ModelRef::Flywheel(arn) => (None, Some(arn.clone())),
        };
        let job = JobDescription {
            job_id: job_id.clone(),
            job_arn: Some(format!(
                "arn:aws:comprehend:{}:{}:document-classification-job/{job_id}",
                at.region,
                at.account().unwrap_or("123456789012")
            )),
            job_name: Some(req.job_name.clone()),
            job_status: "SUBMITTED".into(),
            message: None,
            submit_time: Some("2026-01-02T03:04:05Z".into()),
            end_time: None,
            document_classifier_arn: classifier.clone(),
            flywheel_arn: flywheel,
            input_s3_uri: Some(req.input_s3_uri.clone()),
            output_s3_uri: Some(format!(
                "{}/123456789012-CLN-{job_id}/output/output.tar.gz",
                req.output_s3_uri.trim_end_matches('/')
            )),
        };
        s.jobs.insert(job_id.clone(), job.clone());
        Ok(StartedJob {
            job_id,
            job_arn: job.job_arn,
            job_status: Some("SUBMITTED".into()),
            document_classifier_arn: classifier,
        })
    }

    async fn describe_job(&self, _at: &Place, job_id: &str) -> Result<JobDescription, AwsError> {
        self.enter("DescribeDocumentClassificationJob")?;
        self.lock().jobs.get(job_id).cloned().ok_or_else(|| {
            not_found(
                ErrorKind::JobNotFound,
                "JobNotFoundException",
                &format!("job {job_id}"),
            )
        })
    }

    async fn find_classifier(
        &self,
        _at: &Place,
        name: &str,
        version_name: Option<&str>,
    ) -> Result<Option<ClassifierDescription>, AwsError> {
        self.enter("ListDocumentClassifiers")?;
        let prefix = format!("document-classifier/{name}");
        Ok(self
            .lock()
            .classifiers
            .values()
            .find(|c| {
                let own = c.arn.split(':').next_back().unwrap_or_default();
                let base = own.split("/version/").next().unwrap_or_default();
                base == prefix && c.version_name.as_deref() == version_name
            })
            .cloned())
    }

    async fn create_classifier(
        &self,
        at: &Place,
        req: &CreateClassifierRequest,
    ) -> Result<String, AwsError> {
        self.enter("CreateDocumentClassifier")?;
        let version = req
            .version_name
            .as_ref()
            .map(|v| format!("/version/{v}"))
            .unwrap_or_default();
        let arn = format!(
            "arn:aws:comprehend:{}:{}:document-classifier/{}{version}",
            at.region,
            at.account().unwrap_or("123456789012"),
            req.name
        );
        self.lock().classifiers.insert(
            arn.clone(),
            ClassifierDescription {
                arn: arn.clone(),
                version_name: req.version_name.clone(),
                status: "SUBMITTED".into(),
                submit_time: Some("2026-01-02T03:04:05Z".into()),
                ..ClassifierDescription::default()
            },
        );
        Ok(arn)
    }

    async fn describe_classifier(
        &self,
        _at: &Place,
        arn: &str,
    ) -> Result<ClassifierDescription, AwsError> {
        self.enter("DescribeDocumentClassifier")?;
        self.lock().classifiers.get(arn).cloned().ok_or_else(|| {
            not_found(
                ErrorKind::InvalidSpec,
                RESOURCE_NOT_FOUND,
                &format!("classifier {arn}"),
            )
        })
    }

    async fn stop_training_classifier(&self, _at: &Place, arn: &str) -> Result<(), AwsError> {
        self.enter("StopTrainingDocumentClassifier")?;
        match self.lock().classifiers.get_mut(arn) {
            Some(c) => {
                c.status = "STOP_REQUESTED".into();
                Ok(())
            }
            None => Err(not_found(
                ErrorKind::InvalidSpec,
                RESOURCE_NOT_FOUND,
                &format!("classifier {arn}"),
            )),
        }
    }

    async fn delete_classifier(&self, _at: &Place, arn: &str) -> Result<(), AwsError> {
        self.enter("DeleteDocumentClassifier")?;
        match self.lock().classifiers.remove(arn) {
            Some(_) => Ok(()),
            None => Err(not_found(
                ErrorKind::InvalidSpec,
                RESOURCE_NOT_FOUND,
                &format!("classifier {arn}"),
            )),
        }
    }
}
