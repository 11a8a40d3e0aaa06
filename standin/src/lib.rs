//! A local stand-in for Amazon Comprehend custom document classification.
//!
//! It speaks Comprehend's awsJson1_1 protocol, so the unmodified
//! `aws-sdk-comprehend` client works against it with `endpoint_url`; it
//! validates requests against the Comprehend service model (the botocore
//! extract in `model/comprehend.json`), enforces the service's
//! quotas, really trains classifiers and runs jobs against S3 (an embedded
//! s3s-fs server unless an external endpoint is given), can inject faults,
//! and can persist its state. It also plays STS (AssumeRole,
//! GetCallerIdentity) for the roles it is given, and keeps each account's
//! jobs and classifiers apart by the credentials of each request (see
//! [`accounts`]). See [`start`].
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let running = comprehend_standin::start(comprehend_standin::Config::default()).await?;
//! println!("Comprehend at {}, S3 at {}", running.endpoint(), running.s3_endpoint());
//! running.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod accounts;
pub mod admin;
pub mod app;
pub mod archive;
pub mod classifiers;
pub mod faults;
pub mod jobs;
pub mod manifest;
pub mod model;
pub mod protocol;
pub mod quota;
pub mod rules;
pub mod s3;
pub mod server;
pub mod state;
pub mod sts;
pub mod tags;
pub mod training;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use accounts::Role;
pub use faults::Faults;
pub use quota::Limits;

use app::{Account, App};
use state::{JobStatus, ModelStatus, Store};

/// How a stand-in is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address of the Comprehend API (and admin API); port 0 picks one.
    pub listen: SocketAddr,
    /// Address of the embedded S3 server; port 0 picks one.
    pub s3_listen: SocketAddr,
    /// Folder the embedded S3 server keeps buckets in; `None` means a
    /// temporary folder removed at shutdown.
    pub s3_root: Option<PathBuf>,
    /// An external S3 endpoint to use instead of the embedded server.
    pub s3_endpoint: Option<String>,
    /// Folder for the state snapshot; `None` keeps state in memory only.
    pub data_dir: Option<PathBuf>,
    /// The default account: the 12-digit account id in ARNs and output
    /// paths of requests made without credentials AssumeRole issued.
    pub account_id: String,
    /// The region in ARNs.
    pub region: String,
    /// Quotas and timings.
    pub limits: Limits,
    /// Faults to inject from the start.
    pub faults: Faults,
    /// Seed of the fault-injection random source.
    pub seed: Option<u64>,
    /// The IAM roles AssumeRole can assume (each in the account of its ARN).
    pub roles: Vec<Role>,
    /// When set, credentials AssumeRole issues are valid at most this many
    /// seconds, whatever `DurationSeconds` asks for.
    pub credential_seconds: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Config {
            listen: loopback,
            s3_listen: loopback,
            s3_root: None,
            s3_endpoint: None,
            data_dir: None,
            account_id: "123456789012".to_string(),
            region: "us-east-1".to_string(),
            limits: Limits::default(),
            faults: Faults::default(),
            seed: None,
            roles: Vec::new(),
            credential_seconds: None,
        }
    }
}

/// A running stand-in; dropping it stops it too.
pub struct Running {
    endpoint: String,
    s3_endpoint: String,
    app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    s3_server: Option<JoinHandle<()>>,
    _s3_root: Option<tempfile::TempDir>,
}

impl Running {
    /// The Comprehend endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The S3 endpoint jobs read from and write to, `http://127.0.0.1:PORT`.
    pub fn s3_endpoint(&self) -> &str {
        &self.s3_endpoint
    }

    /// The default account id in ARNs and output paths (of requests
    /// without credentials AssumeRole issued).
    pub fn account_id(&self) -> &str {
        &self.app.account.id
    }

    /// The region in ARNs.
    pub fn region(&self) -> &str {
        &self.app.account.region
    }

    /// The service state, for in-process inspection.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops both servers and every job and training run.
    pub async fn shutdown(mut self) {
        self.app.abort_tasks();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        if let Some(s3_server) = self.s3_server.take() {
            s3_server.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.app.abort_tasks();
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if let Some(s3_server) = self.s3_server.take() {
            s3_server.abort();
        }
    }
}

/// Starts a stand-in: the embedded S3 server (unless `s3_endpoint` is
/// set), the state from `data_dir` (resuming unfinished jobs and training),
/// and the Comprehend API.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    config.limits.check().map_err(anyhow::Error::msg)?;
    config.faults.check().map_err(anyhow::Error::msg)?;
    let roles = accounts::RoleSettings {
        roles: config.roles.clone(),
        credential_seconds: config.credential_seconds,
    };
    roles.check().map_err(anyhow::Error::msg)?;

    // The embedded S3 server listens first (its address is the endpoint of
    // the jobs' client) and serves once the service exists (it checks the
    // keys AssumeRole issued).
    let (s3_endpoint, s3_listener, s3_root_guard) = match &config.s3_endpoint {
        Some(endpoint) => (endpoint.trim_end_matches('/').to_string(), None, None),
        None => {
            let (root, guard) = match &config.s3_root {
                Some(root) => (root.clone(), None),
                None => {
                    let dir = tempfile::Builder::new()
                        .prefix("comprehend-standin-s3-")
                        .tempdir()?;
                    (dir.path().to_path_buf(), Some(dir))
                }
            };
            let listener = TcpListener::bind(config.s3_listen).await?;
            let address = listener.local_addr()?;
            (format!("http://{address}"), Some((listener, root)), guard)
        }
    };

    let mut store = match &config.data_dir {
        Some(dir) => Store::load(dir)?,
        None => Store::default(),
    };
    store.adopt(&config.account_id);
    let app = Arc::new(App::new(
        Account {
            id: config.account_id.clone(),
            region: config.region.clone(),
        },
        s3::client(&s3_endpoint, &config.region),
        store,
        config.limits.clone(),
        faults::FaultInjector::new(config.faults.clone(), config.seed),
        config.data_dir.clone(),
    ));
    app.set_roles(roles);
    let s3_server = match s3_listener {
        Some((listener, root)) => Some(s3::serve(
            listener,
            &root,
            s3::Auth::new(Arc::downgrade(&app)),
        )?),
        None => None,
    };

    let listener = TcpListener::bind(config.listen).await?;
    let address = listener.local_addr()?;
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let router = server::router(Arc::clone(&app));
    let server = tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "Comprehend API server failed");
        }
    });

    resume(&app);

    Ok(Running {
        endpoint: format!("http://{address}"),
        s3_endpoint,
        app,
        shutdown: Some(shutdown_tx),
        server: Some(server),
        s3_server,
        _s3_root: s3_root_guard,
    })
}

/// Restarts the timers of everything unfinished in a loaded snapshot.
fn resume(app: &Arc<App>) {
    let (jobs, training, deleting) = app.read(|store| {
        let jobs: Vec<String> = store
            .jobs
            .values()
            .filter(|j| matches!(j.status, JobStatus::Submitted | JobStatus::InProgress))
            .map(|j| j.job_id.clone())
            .collect();
        let training: Vec<String> = store
            .classifiers
            .values()
            .filter(|c| c.status.is_training())
            .map(|c| c.arn.clone())
            .collect();
        let deleting: Vec<String> = store
            .classifiers
            .values()
            .filter(|c| c.status == ModelStatus::Deleting)
            .map(|c| c.arn.clone())
            .collect();
        (jobs, training, deleting)
    });
    for job_id in jobs {
        jobs::spawn_run(app, job_id);
    }
    for arn in training {
        training::spawn_training(app, arn);
    }
    for arn in deleting {
        classifiers::spawn_deletion(app, arn);
    }
}
