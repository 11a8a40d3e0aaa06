//! The running service's shared state: records, quotas, faults, counters,
//! roles and issued credentials, the S3 client jobs use, and the background
//! tasks that move jobs and classifiers along.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::HeaderMap;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::accounts::{self, Caller, ExpiredKey, Issued, Role, RoleSettings};
use crate::faults::{FaultInjector, Faults};
use crate::protocol::Operation;
use crate::quota::{Limits, RateLimiter};
use crate::state::Store;

/// Call counters of one operation.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStats {
    /// Calls received.
    pub calls: u64,
    /// Calls answered with success.
    pub ok: u64,
    /// Calls answered `TooManyRequestsException`.
    pub throttled: u64,
    /// Calls answered with any other error.
    pub errors: u64,
}

/// How a call ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success.
    Ok,
    /// Throttled (rate, active-jobs quota or injected).
    Throttled,
    /// Any other error.
    Error,
}

/// Counters since start or the last reset.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Per operation name.
    pub operations: BTreeMap<&'static str, OperationStats>,
    /// The most jobs ever SUBMITTED or IN_PROGRESS at once (all accounts).
    pub max_active_jobs: usize,
    /// The most jobs ever SUBMITTED or IN_PROGRESS at once, by account.
    pub max_active_jobs_by_account: BTreeMap<String, usize>,
    /// Requests answered `ExpiredTokenException` (or STS's `ExpiredToken`).
    pub expired_tokens: u64,
}

/// Identity of the default account (the one of requests without issued
/// credentials) and the region.
#[derive(Debug, Clone)]
pub struct Account {
    /// 12-digit account id.
    pub id: String,
    /// Region name.
    pub region: String,
}

/// Shared state of one stand-in.
pub struct App {
    /// The default account and the region in ARNs.
    pub account: Account,
    /// The client jobs use to read input and write output.
    pub s3: aws_sdk_s3::Client,
    store: Mutex<Store>,
    stats: Mutex<Stats>,
    limits: Mutex<Limits>,
    limiter: Mutex<HashMap<String, RateLimiter>>,
    roles: Mutex<RoleSettings>,
    faults: Mutex<FaultInjector>,
    /// Woken at every change of the faults (held jobs wait on it).
    faults_changed: tokio::sync::Notify,
    data_dir: Option<PathBuf>,
    tasks: Mutex<JoinSet<()>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one handler must not wedge the service.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl App {
    /// A new service over `store`.
    pub fn new(
        account: Account,
        s3: aws_sdk_s3::Client,
        store: Store,
        limits: Limits,
        faults: FaultInjector,
        data_dir: Option<PathBuf>,
    ) -> Self {
        App {
            account,
            s3,
            store: Mutex::new(store),
            stats: Mutex::new(Stats::default()),
            limits: Mutex::new(limits),
            limiter: Mutex::new(HashMap::new()),
            roles: Mutex::new(RoleSettings::default()),
            faults: Mutex::new(faults),
            faults_changed: tokio::sync::Notify::new(),
            data_dir,
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Reads the records.
    pub fn read<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&lock(&self.store))
    }

    /// Changes the records and writes the snapshot (with `--data-dir`).
    pub fn write<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut store = lock(&self.store);
        let result = f(&mut store);
        if let Some(dir) = &self.data_dir {
            if let Err(e) = store.save(dir) {
                tracing::warn!(error = %e, dir = %dir.display(), "cannot write state snapshot");
            }
        }
        let by_account = store.active_jobs_by_account();
        let active = by_account.values().sum();
        drop(store);
        let mut stats = lock(&self.stats);
        stats.max_active_jobs = stats.max_active_jobs.max(active);
        for (account, active) in by_account {
            let seen = stats.max_active_jobs_by_account.entry(account).or_insert(0);
            *seen = (*seen).max(active);
        }
        result
    }

    /// A copy of the current limits.
    pub fn limits(&self) -> Limits {
        lock(&self.limits).clone()
    }

    /// Changes the limits.
    pub fn set_limits(&self, limits: Limits) {
        *lock(&self.limits) = limits;
    }

    /// A copy of the current faults.
    pub fn faults(&self) -> Faults {
        lock(&self.faults).faults.clone()
    }

    /// Changes the faults (the random sequence goes on).
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.faults).faults = faults;
        self.faults_changed.notify_waiters();
    }

    /// Draws the fault verdict and latency for one call.
    pub fn fault_verdict(&self) -> (std::time::Duration, crate::faults::Verdict) {
        let mut injector = lock(&self.faults);
        let latency = injector.latency();
        (latency, injector.verdict())
    }

    /// Whether calls of this operation are to be denied.
    pub fn denies(&self, op: Operation) -> bool {
        lock(&self.faults).denies(op)
    }

    /// Whether a job of this name is to fail.
    pub fn fails_job(&self, job_name: Option<&str>) -> bool {
        lock(&self.faults).fails_job(job_name)
    }

    /// What is wrong with the output of a job of this name, if anything
    /// (`outputFaults`).
    pub fn output_fault(&self, job_name: Option<&str>) -> Option<crate::faults::OutputFault> {
        lock(&self.faults).output_fault(job_name)
    }

    /// The size of the generated `predictions.jsonl` of a job of this
    /// name, if it is to write a large output (`largeOutputs`).
    pub fn large_output(&self, job_name: Option<&str>) -> Option<u64> {
        lock(&self.faults).large_output(job_name)
    }

    /// Returns once a job of this name is no longer held (`holdJobNames`):
    /// at once if it is not.
    pub async fn wait_while_held(&self, job_name: Option<&str>) {
        loop {
            // Registered before the check, so a change between the check
            // and the wait is not missed.
            let changed = self.faults_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !lock(&self.faults).holds_job(job_name) {
                return;
            }
            changed.await;
        }
    }

    /// Takes a rate token for `op` in `account` (each account has its own
    /// buckets); false means throttled.
    pub fn admit(&self, account: &str, op: Operation) -> bool {
        let limits = self.limits();
        let mut limiters = lock(&self.limiter);
        if !limiters.contains_key(account) {
            limiters.insert(account.to_string(), RateLimiter::default());
        }
        limiters
            .get_mut(account)
            .is_some_and(|limiter| limiter.admit(op, &limits))
    }

    /// A copy of the roles and the credential lifetime cap.
    pub fn roles(&self) -> RoleSettings {
        lock(&self.roles).clone()
    }

    /// Changes the roles and the credential lifetime cap (credentials
    /// already issued stay valid).
    pub fn set_roles(&self, roles: RoleSettings) {
        *lock(&self.roles) = roles;
    }

    /// Who makes a request, from its `Authorization` header: the account
    /// of the role a key AssumeRole issued was issued for, or the default
    /// account for any other key (or none). `Err` gives the access key id
    /// of issued credentials past their expiration.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, ExpiredKey> {
        let issued = accounts::access_key_id(headers)
            .and_then(|key| self.read(|store| store.credentials.get(key).cloned()));
        match issued {
            Some(issued) if issued.expired_at(crate::protocol::now_epoch()) => {
                Err(ExpiredKey(issued.access_key_id))
            }
            Some(issued) => Ok(Caller::assumed(&issued)),
            None => Ok(Caller::default_user(&self.account.id)),
        }
    }

    /// Issues fresh credentials for `role`, valid `seconds` (capped by
    /// `credentialSeconds`), and remembers them.
    pub fn issue(&self, role: &Role, session_name: &str, seconds: u64) -> Issued {
        let seconds = match self.roles().credential_seconds {
            Some(cap) => seconds.min(cap),
            None => seconds,
        };
        let now = crate::protocol::now_epoch();
        let issued = Issued {
            access_key_id: accounts::new_access_key_id(),
            secret_access_key: accounts::new_secret(),
            session_token: accounts::new_session_token(),
            expiration: now.floor() as i64 + seconds as i64,
            account: role.account().to_string(),
            role_arn: role.arn.clone(),
            session_name: session_name.to_string(),
            assumed_role_id: format!("{}:{session_name}", accounts::role_id(&role.arn)),
        };
        self.write(|store| {
            // Keys a day past their expiration are forgotten.
            store
                .credentials
                .retain(|_, c| !c.expired_at(now - 86_400.0));
            store
                .credentials
                .insert(issued.access_key_id.clone(), issued.clone());
        });
        issued
    }

    /// Counts one request answered `ExpiredTokenException`.
    pub fn record_expired(&self) {
        lock(&self.stats).expired_tokens += 1;
    }

    /// Counts one call and how it ended.
    pub fn record(&self, op: Operation, outcome: Outcome) {
        self.record_call(op.name(), outcome);
    }

    /// Counts one call of the operation `name` (Comprehend's or STS's) and
    /// how it ended.
    pub fn record_call(&self, name: &'static str, outcome: Outcome) {
        let mut stats = lock(&self.stats);
        let entry = stats.operations.entry(name).or_default();
        entry.calls += 1;
        match outcome {
            Outcome::Ok => entry.ok += 1,
            Outcome::Throttled => entry.throttled += 1,
            Outcome::Error => entry.errors += 1,
        }
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    /// Runs a background task owned by this service (aborted at reset and
    /// shutdown).
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = lock(&self.tasks);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    /// Stops every background task.
    pub fn abort_tasks(&self) {
        lock(&self.tasks).abort_all();
    }

    /// Forgets all jobs, classifiers, tags, tokens and counters; limits,
    /// faults, roles and the credentials issued stay as they are.
    pub fn reset(&self) {
        self.abort_tasks();
        self.write(|store| {
            *store = Store {
                credentials: std::mem::take(&mut store.credentials),
                ..Store::default()
            }
        });
        *lock(&self.stats) = Stats::default();
        lock(&self.limiter).clear();
    }
}

/// The service handle passed around.
pub type SharedApp = Arc<App>;
