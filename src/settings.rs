//! How the controllers behave, as the command line sets it.

use std::time::Duration;

/// How the controller behaves; set from flags.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Region of jobs whose spec names none.
    pub default_region: String,
    /// Time between two Describe calls for a running job (jittered ±10%).
    pub poll_interval: Duration,
    /// StartDocumentClassificationJob calls a second, whole process.
    pub start_rate: f64,
    /// DescribeDocumentClassificationJob calls a second.
    pub describe_rate: f64,
    /// ListDocumentClassificationJobs calls a second.
    pub list_rate: f64,
    /// Active (submitted or running) jobs per account and Region.
    pub max_active_jobs: usize,
    /// Refuse namespaces without an AccountMapping (`NoAccountMapping`)
    /// instead of acting for them with the operator's own identity.
    pub require_account_mapping: bool,
    /// Read completed jobs' outputs from S3 for the resources that ask for
    /// a results summary (`spec.results.summarize`).
    pub summarize_results: bool,
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Longest wait between retries of a throttled or failed call.
    pub max_backoff: Duration,
    /// Name reported on events.
    pub instance: String,
    /// Test hook: `after-start` aborts the process right after Start
    /// returns, before the job id is written; `after-create` right after
    /// CreateDocumentClassifier returns, before the ARN is written. To prove
    /// crash safety.
    pub failpoint: Option<String>,
    /// Time between two DescribeDocumentClassifier calls while training.
    pub classifier_poll_interval: Duration,
    /// Calls a second to the classifier operations (Create, Describe, List,
    /// StopTraining, Delete), all together.
    pub classifier_rate: f64,
    /// Failed attempts at deleting a model (deletionPolicy Delete) before
    /// the operator gives up, reports it and releases the resource.
    pub classifier_delete_attempts: u32,
    /// Reconciles running at once, per controller. Bounds the connections
    /// and buffers held open to Comprehend and the API server.
    pub max_concurrent_reconciles: u16,
}

impl Settings {
    /// The namespaces to watch, one watch each: `None` is all of them.
    pub fn scopes(&self) -> Vec<Option<String>> {
        if self.namespaces.is_empty() {
            vec![None]
        } else {
            self.namespaces.iter().cloned().map(Some).collect()
        }
    }

    /// The kube-runtime controller configuration these settings ask for.
    pub fn controller_config(&self) -> kube::runtime::controller::Config {
        kube::runtime::controller::Config::default()
            .concurrency(self.max_concurrent_reconciles.max(1))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_region: "us-east-1".into(),
            poll_interval: Duration::from_secs(30),
            start_rate: 1.0,
            describe_rate: 8.0,
            list_rate: 8.0,
            max_active_jobs: 10,
            require_account_mapping: false,
            summarize_results: false,
            namespaces: Vec::new(),
            max_backoff: Duration::from_secs(300),
            instance: "comprehend-operator".into(),
            failpoint: None,
            classifier_poll_interval: Duration::from_secs(60),
            classifier_rate: 1.0,
            classifier_delete_attempts: 8,
            max_concurrent_reconciles: 32,
        }
    }
}
