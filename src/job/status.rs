//! The ClassificationJob's status: its conditions and reasons, and how each
//! thing the reconcile saw (a description, a refusal, a wait) changes it.
//! Pure: no client, no clock.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use sha2::{Digest, Sha256};

use crate::accounts::NoAccountMapping;
use crate::comprehend::{
    account_of_arn, region_of_arn, AwsError, ErrorKind, JobDescription, ModelRef, Place,
    StartJobRequest, StartedJob,
};
use crate::job::crd::{ClassificationJobSpec, ClassificationJobStatus};
use crate::kernel::conditions::{
    put_condition, ConditionStatus, Notice, Noticed, Observed, Reasons,
};

/// Condition type: the job's outcome.
pub const SUCCEEDED: &str = "Succeeded";

/// Condition type: whether the resource is healthy and in sync.
pub const READY: &str = "Ready";

/// The fixed reasons a condition can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Waiting for an active-job slot.
    Queued,
    /// About to call StartDocumentClassificationJob.
    Starting,
    /// Comprehend has the job (SUBMITTED).
    Submitted,
    /// The job runs (IN_PROGRESS).
    InProgress,
    /// A stop was requested (STOP_REQUESTED).
    StopRequested,
    /// COMPLETED.
    Completed,
    /// FAILED.
    Failed,
    /// STOPPED.
    Stopped,
    /// Comprehend throttled the operator; it retries.
    Throttled,
    /// Comprehend could not be reached or answered a server error; it retries.
    AwsUnavailable,
    /// The spec can never start a job as it is.
    InvalidSpec,
    /// The spec changed after the job started and was ignored.
    SpecChangeIgnored,
    /// Comprehend does not know the job the status names.
    JobNotFound,
    /// The referenced DocumentClassifier is not Ready yet.
    WaitingForClassifier,
    /// The referenced DocumentClassifier failed to train.
    ClassifierFailed,
    /// Comprehend answered ResourceUnavailableException at Start: the
    /// classifier exists but cannot classify yet (still training); retrying.
    ClassifierNotReady,
    /// A job of another origin already has the fixed `spec.jobName`.
    JobNameInUse,
    /// No credentials for the call (an assumed role was refused); retrying.
    CredentialsUnavailable,
    /// The namespace has no AccountMapping and the operator requires one.
    NoAccountMapping,
    /// The job was started (or its start recorded) with another identity
    /// than the namespace's mapping gives now.
    AccountMappingChanged,
    /// `status.results` holds the output's summary.
    Summarized,
    /// The output could not be read from S3 (retried, then given up).
    ResultsUnavailable,
    /// The output is not a predictions archive.
    MalformedOutput,
    /// A summary is asked for but the operator does not make them.
    SummaryDisabled,
}

impl Reasons for Reason {
    const ALL: &'static [Reason] = &[
        Reason::Queued,
        Reason::Starting,
        Reason::Submitted,
        Reason::InProgress,
        Reason::StopRequested,
        Reason::Completed,
        Reason::Failed,
        Reason::Stopped,
        Reason::Throttled,
        Reason::AwsUnavailable,
        Reason::InvalidSpec,
        Reason::SpecChangeIgnored,
        Reason::JobNotFound,
        Reason::WaitingForClassifier,
        Reason::ClassifierFailed,
        Reason::ClassifierNotReady,
        Reason::JobNameInUse,
        Reason::CredentialsUnavailable,
        Reason::NoAccountMapping,
        Reason::AccountMappingChanged,
        Reason::Summarized,
        Reason::ResultsUnavailable,
        Reason::MalformedOutput,
        Reason::SummaryDisabled,
    ];

    /// The reason as written in a condition.
    fn as_str(self) -> &'static str {
        match self {
            Reason::Queued => "Queued",
            Reason::Starting => "Starting",
            Reason::Submitted => "Submitted",
            Reason::InProgress => "InProgress",
            Reason::StopRequested => "StopRequested",
            Reason::Completed => "Completed",
            Reason::Failed => "Failed",
            Reason::Stopped => "Stopped",
            Reason::Throttled => "Throttled",
            Reason::AwsUnavailable => "AwsUnavailable",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::SpecChangeIgnored => "SpecChangeIgnored",
            Reason::JobNotFound => "JobNotFound",
            Reason::WaitingForClassifier => "WaitingForClassifier",
            Reason::ClassifierFailed => "ClassifierFailed",
            Reason::ClassifierNotReady => "ClassifierNotReady",
            Reason::JobNameInUse => "JobNameInUse",
            Reason::CredentialsUnavailable => "CredentialsUnavailable",
            Reason::NoAccountMapping => "NoAccountMapping",
            Reason::AccountMappingChanged => "AccountMappingChanged",
            Reason::Summarized => "Summarized",
            Reason::ResultsUnavailable => "ResultsUnavailable",
            Reason::MalformedOutput => "MalformedOutput",
            Reason::SummaryDisabled => "SummaryDisabled",
        }
    }
}

/// A digest of the spec, recorded when the job starts, to notice later
/// edits. `ttlSecondsAfterFinished` is left out: it may change at any time.
pub fn spec_hash(spec: &ClassificationJobSpec) -> String {
    let mut frozen = spec.clone();
    frozen.ttl_seconds_after_finished = None;
    frozen.results = None;
    digest(&frozen)
}

/// The digest earlier versions recorded, over the whole spec: a job started
/// by one of them is still recognised (and its digest brought up to date).
fn legacy_spec_hash(spec: &ClassificationJobSpec) -> String {
    digest(spec)
}

fn digest(spec: &ClassificationJobSpec) -> String {
    let json = serde_json::to_vec(spec).expect("spec serializes");
    let digest = Sha256::digest(&json);
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The condition of `type_`, if any.
pub fn condition<'a>(status: &'a ClassificationJobStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the outcome is settled: `Succeeded` is True or False. Nothing more
/// is asked of AWS for such a resource.
pub fn is_finished(status: &ClassificationJobStatus) -> bool {
    condition(status, SUCCEEDED)
        .is_some_and(|c| ConditionStatus::of(c) != Some(ConditionStatus::Unknown))
}

/// Whether `status` reports a started job's progress (submitted, running,
/// stop requested) and no more: such a write may wait a moment, and the
/// job's next state replace it.
pub fn is_job_progress(status: &ClassificationJobStatus) -> bool {
    status.job_id.is_some()
        && condition(status, SUCCEEDED).is_some_and(|c| {
            [Reason::Submitted, Reason::InProgress, Reason::StopRequested]
                .iter()
                .any(|r| r.is_on(c))
        })
}

/// Sets a condition, keeping its `lastTransitionTime` when its status does
/// not change, so an unchanged situation writes nothing.
pub fn set_condition(
    status: &mut ClassificationJobStatus,
    type_: &str,
    value: ConditionStatus,
    reason: Reason,
    message: &str,
    at: Observed,
) {
    put_condition(
        &mut status.conditions,
        type_,
        value,
        reason.as_str(),
        message,
        at,
    );
}

/// Sets `Succeeded` and a matching `Ready`: Ready is True while things go
/// as they should, False when the user must act, Unknown while retrying.
fn set_outcome(
    status: &mut ClassificationJobStatus,
    succeeded: ConditionStatus,
    ready: ConditionStatus,
    reason: Reason,
    message: &str,
    at: Observed,
) {
    set_condition(status, SUCCEEDED, succeeded, reason, message, at);
    set_condition(status, READY, ready, reason, message, at);
    status.observed_generation = at.generation;
}

/// The resource waits for one of `max_active` slots in `region`.
pub fn apply_queued(
    status: &mut ClassificationJobStatus,
    region: &str,
    max_active: usize,
    at: Observed,
) {
    let message =
        format!("Waiting for one of the {max_active} active classification job slots in {region}");
    set_outcome(
        status,
        ConditionStatus::Unknown,
        ConditionStatus::True,
        Reason::Queued,
        &message,
        at,
    );
}

/// Records the name and spec a start is about to use, before Start is
/// called: after a crash the job is found again under this name.
pub fn apply_starting(
    status: &mut ClassificationJobStatus,
    request: &StartJobRequest,
    spec_hash: &str,
    at: Observed,
) {
    let job_name = request.job_name.as_str();
    status.job_name = Some(job_name.to_string());
    status.spec_hash = Some(spec_hash.to_string());
    if let ModelRef::DocumentClassifier(arn) = &request.model {
        status.document_classifier_arn = Some(arn.clone());
    }
    let message = format!("Starting Comprehend job {job_name}");
    set_outcome(
        status,
        ConditionStatus::Unknown,
        ConditionStatus::True,
        Reason::Starting,
        &message,
        at,
    );
}

/// Records the identity a start is about to use: the role (none for the
/// operator's own identity) and its account. A recorded start is followed
/// with this identity only ([`followed_place`]).
pub fn apply_place(status: &mut ClassificationJobStatus, place: &Place) {
    status.role_arn = place.role_arn().map(str::to_owned);
    status.account = place.account().map(str::to_owned);
}

/// Where a job whose start was recorded is followed: with the identity it
/// was recorded with, never another, since a job looked for in the wrong
/// account would look lost (or, for a start, be started twice).
/// `current` is where the namespace's resources act now; the Region is the
/// job ARN's, once known. Err says why the job cannot be followed now.
pub fn followed_place(
    status: &ClassificationJobStatus,
    current: Result<Place, NoAccountMapping>,
    spec_region: &str,
) -> Result<Place, String> {
    let region = status
        .job_arn
        .as_deref()
        .and_then(region_of_arn)
        .map(str::to_owned)
        .or_else(|| current.as_ref().ok().map(|p| p.region.clone()))
        .unwrap_or_else(|| spec_region.to_owned());
    let what = match &status.job_id {
        Some(id) => format!("Job {id}"),
        None => format!(
            "The start of job {}",
            status.job_name.as_deref().unwrap_or_default()
        ),
    };
    let identity = |role: Option<&str>| match role {
        Some(arn) => format!("role {arn}"),
        None => "the operator's own identity".to_owned(),
    };
    match (&status.role_arn, current) {
        // The operator's own identity can always follow the jobs it started.
        (None, _) if status.job_id.is_some() => Ok(Place::own(region)),
        (None, Ok(now)) if now.role.is_none() => Ok(Place::own(region)),
        (Some(recorded), Ok(now)) if now.role_arn() == Some(recorded.as_str()) => {
            Ok(Place { region, ..now })
        }
        (recorded, now) => {
            let now = match now {
                Ok(p) => identity(p.role_arn()),
                Err(e) => format!("nothing ({e})"),
            };
            Err(format!(
                "{what} was recorded under {} (account {}), but the namespace now maps to {now}; the operator acts for a job only with the identity it was recorded with: restore the AccountMapping to go on",
                identity(recorded.as_deref()),
                status.account.as_deref().unwrap_or("unknown")
            ))
        }
    }
}

/// The resource cannot act: no mapping (`reason` NoAccountMapping) or a
/// mapping that no longer gives the identity of its job
/// (AccountMappingChanged). Nothing is decided about the job: `Succeeded`
/// stays Unknown, `Ready` is False until an admin acts.
pub fn apply_blocked(
    status: &mut ClassificationJobStatus,
    reason: Reason,
    message: &str,
    at: Observed,
) {
    set_unconfirmed(status, reason.as_str(), message, at);
}

/// Records what Start answered.
pub fn apply_started(status: &mut ClassificationJobStatus, started: &StartedJob, at: Observed) {
    status.job_id = Some(started.job_id.clone());
    status.job_arn = started.job_arn.clone().or(status.job_arn.take());
    note_account(status);
    status.document_classifier_arn = started
        .document_classifier_arn
        .clone()
        .or(status.document_classifier_arn.take());
    let job_status = started
        .job_status
        .clone()
        .unwrap_or_else(|| "SUBMITTED".into());
    apply_job_status(status, &job_status, None, at);
}

/// Records a job Describe (or List) reported.
pub fn apply_description(
    status: &mut ClassificationJobStatus,
    desc: &JobDescription,
    at: Observed,
) {
    status.job_id = Some(desc.job_id.clone());
    if desc.job_arn.is_some() {
        status.job_arn = desc.job_arn.clone();
        note_account(status);
    }
    if desc.job_name.is_some() {
        status.job_name = desc.job_name.clone();
    }
    status.message = desc.message.clone();
    if desc.submit_time.is_some() {
        status.submit_time = desc.submit_time.clone();
    }
    status.end_time = desc.end_time.clone();
    if desc.document_classifier_arn.is_some() {
        status.document_classifier_arn = desc.document_classifier_arn.clone();
    }
    if desc.output_s3_uri.is_some() {
        status.output_s3_uri = desc.output_s3_uri.clone();
    }
    apply_job_status(status, &desc.job_status, desc.message.as_deref(), at);
}

/// Records the existing job `spec.jobId` names, as Describe found it with
/// the namespace's identity: from here on it is followed as if started
/// here (the spec digest notes later edits).
pub fn apply_adopted(
    status: &mut ClassificationJobStatus,
    desc: &JobDescription,
    spec: &ClassificationJobSpec,
    place: &Place,
    at: Observed,
) {
    apply_place(status, place);
    status.spec_hash = Some(spec_hash(spec));
    apply_description(status, desc, at);
}

/// Describe of the job `spec.jobId` names failed. A job Comprehend does not
/// know in this account and Region settles the resource (JobNotFound, no
/// job recorded); any other error is retried as for a followed job, and no
/// job ID is recorded until Describe answers.
pub fn apply_adopt_error(
    status: &mut ClassificationJobStatus,
    job_id: &str,
    place: &Place,
    err: &AwsError,
    at: Observed,
) -> AfterError {
    if err.kind == ErrorKind::JobNotFound {
        let message = format!(
            "Comprehend has no classification job {job_id} in {place} ({}): nothing to follow, and nothing was started. A job of another account or Region cannot be followed from here (spec.region selects the Region; the namespace's AccountMapping the account)",
            err.message
        );
        return settle_not_found(status, &message, at);
    }
    status.job_id = Some(job_id.to_string());
    let next = apply_error(status, Call::Describe, err, at);
    status.job_id = None;
    next
}

/// The account a job runs in is its ARN's, once known.
fn note_account(status: &mut ClassificationJobStatus) {
    if let Some(account) = status.job_arn.as_deref().and_then(account_of_arn) {
        status.account = Some(account.to_owned());
    }
}

fn apply_job_status(
    status: &mut ClassificationJobStatus,
    job_status: &str,
    aws_message: Option<&str>,
    at: Observed,
) {
    status.job_status = Some(job_status.to_string());
    let id = status.job_id.clone().unwrap_or_default();
    let (succeeded, ready, reason, message) = match job_status {
        "COMPLETED" => (
            ConditionStatus::True,
            ConditionStatus::True,
            Reason::Completed,
            format!(
                "Job {id} completed; output at {}",
                status.output_s3_uri.as_deref().unwrap_or("(not reported)")
            ),
        ),
        "FAILED" => (
            ConditionStatus::False,
            ConditionStatus::False,
            Reason::Failed,
            format!(
                "Job {id} failed: {}",
                aws_message.unwrap_or("no message from Comprehend")
            ),
        ),
        "STOPPED" => (
            ConditionStatus::False,
            ConditionStatus::False,
            Reason::Stopped,
            format!("Job {id} was stopped"),
        ),
        "STOP_REQUESTED" => (
            ConditionStatus::Unknown,
            ConditionStatus::True,
            Reason::StopRequested,
            format!("A stop was requested for job {id}"),
        ),
        "IN_PROGRESS" => (
            ConditionStatus::Unknown,
            ConditionStatus::True,
            Reason::InProgress,
            format!("Job {id} is running"),
        ),
        _ => (
            ConditionStatus::Unknown,
            ConditionStatus::True,
            Reason::Submitted,
            format!("Job {id} was submitted to Comprehend"),
        ),
    };
    set_outcome(status, succeeded, ready, reason, &message, at);
}

/// Settles the resource: the job it names is not in Comprehend (in this
/// account and Region), so nothing of it runs.
fn settle_not_found(
    status: &mut ClassificationJobStatus,
    message: &str,
    at: Observed,
) -> AfterError {
    set_outcome(
        status,
        ConditionStatus::False,
        ConditionStatus::False,
        Reason::JobNotFound,
        message,
        at,
    );
    AfterError::Settle
}

/// The Comprehend call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// ListDocumentClassificationJobs under the job's name, before Start.
    List,
    /// StartDocumentClassificationJob.
    Start,
    /// DescribeDocumentClassificationJob of a started job.
    Describe,
}

impl Call {
    /// The operation's name, as Comprehend spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Call::List => "ListDocumentClassificationJobs",
            Call::Start => "StartDocumentClassificationJob",
            Call::Describe => "DescribeDocumentClassificationJob",
        }
    }
}

/// What the controller does after a failed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterError {
    /// Retry with backoff; `release_slot` when no job of this resource can
    /// be running, so the slot can go to another.
    Retry { release_slot: bool },
    /// The outcome is settled: release the slot, wait for a change.
    Settle,
}

/// An AWS error code as a condition reason (`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`):
/// without a namespace prefix or suffix, letters and digits only.
pub fn code_reason(code: &str) -> String {
    let code = code.rsplit('#').next().unwrap_or(code);
    let code = code.split(':').next().unwrap_or(code);
    let reason: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    match reason.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => reason,
        _ => "AwsError".to_string(),
    }
}

/// Records a failed call and says what to do next. Throttling and server
/// errors leave the outcome open (the operator retries). An error from
/// Describe never settles a started job (it still runs in Comprehend,
/// whatever we may not see of it) but JobNotFound: `Succeeded` stays
/// Unknown and `Ready` is False with the AWS code as reason until Describe
/// answers again. At Start, a classifier still training is waited for, and
/// a permission error is retried; what the service refuses of the request
/// itself settles the resource as InvalidSpec.
pub fn apply_error(
    status: &mut ClassificationJobStatus,
    call: Call,
    err: &AwsError,
    at: Observed,
) -> AfterError {
    let operation = call.as_str();
    let id = status.job_id.clone().unwrap_or_default();
    // No job of this resource can be running: nothing was started, or the
    // start attempt under the recorded name was refused.
    let nothing_running = match call {
        // Refused: the List before it found no earlier job under the name.
        Call::Start => true,
        // A start attempt recorded earlier may have started one.
        Call::List => status.job_name.is_none(),
        Call::Describe => false,
    };
    match err.kind {
        ErrorKind::Throttled => {
            let message = format!(
                "{operation} was throttled by Comprehend ({}); retrying",
                err.code
            );
            set_outcome(
                status,
                ConditionStatus::Unknown,
                ConditionStatus::Unknown,
                Reason::Throttled,
                &message,
                at,
            );
            AfterError::Retry {
                release_slot: false,
            }
        }
        ErrorKind::Transient => {
            let message = format!(
                "{operation} failed ({}: {}); retrying",
                err.code, err.message
            );
            set_outcome(
                status,
                ConditionStatus::Unknown,
                ConditionStatus::Unknown,
                Reason::AwsUnavailable,
                &message,
                at,
            );
            AfterError::Retry {
                release_slot: false,
            }
        }
        ErrorKind::Credentials => {
            let message = format!(
                "No AWS credentials for {operation} ({}: {}); nothing reached Comprehend; retrying",
                err.code, err.message
            );
            set_unconfirmed(
                status,
                Reason::CredentialsUnavailable.as_str(),
                &message,
                at,
            );
            AfterError::Retry {
                release_slot: nothing_running,
            }
        }
        ErrorKind::JobNotFound if call == Call::Describe => {
            let message = format!("Comprehend does not know job {id}: {}", err.message);
            settle_not_found(status, &message, at)
        }
        _ if call == Call::Describe => {
            let message = format!(
                "{operation} of job {id} failed ({}: {}); the job may still be running in Comprehend; retrying until Describe answers",
                err.code, err.message
            );
            set_unconfirmed(status, &code_reason(&err.code), &message, at);
            AfterError::Retry {
                release_slot: false,
            }
        }
        _ if code_reason(&err.code) == "ResourceUnavailableException" && call == Call::Start => {
            let message = format!(
                "The classifier cannot classify yet ({}: {}); retrying",
                err.code, err.message
            );
            set_outcome(
                status,
                ConditionStatus::Unknown,
                ConditionStatus::Unknown,
                Reason::ClassifierNotReady,
                &message,
                at,
            );
            AfterError::Retry { release_slot: true }
        }
        _ if call == Call::List || code_reason(&err.code) == "AccessDeniedException" => {
            let message = format!(
                "{operation} failed ({}: {}); retrying",
                err.code, err.message
            );
            set_unconfirmed(status, &code_reason(&err.code), &message, at);
            AfterError::Retry {
                release_slot: nothing_running,
            }
        }
        _ => {
            let message = format!(
                "{operation} was refused ({}: {}); fix the spec to try again",
                err.code, err.message
            );
            set_outcome(
                status,
                ConditionStatus::False,
                ConditionStatus::False,
                Reason::InvalidSpec,
                &message,
                at,
            );
            AfterError::Settle
        }
    }
}

/// `Succeeded` Unknown and `Ready` False, both with `reason` (an AWS error
/// code): the outcome is open and the user may have to act.
fn set_unconfirmed(
    status: &mut ClassificationJobStatus,
    reason: &str,
    message: &str,
    at: Observed,
) {
    put_condition(
        &mut status.conditions,
        SUCCEEDED,
        ConditionStatus::Unknown,
        reason,
        message,
        at,
    );
    put_condition(
        &mut status.conditions,
        READY,
        ConditionStatus::False,
        reason,
        message,
        at,
    );
    status.observed_generation = at.generation;
}

/// The job name is taken by a job this resource cannot prove is its own:
/// settled, naming that job. The recorded name is dropped, so a fixed
/// `spec.jobName` can be chosen anew.
pub fn apply_name_in_use(
    status: &mut ClassificationJobStatus,
    job_name: &str,
    job_id: &str,
    why: &str,
    at: Observed,
) {
    status.job_name = None;
    status.spec_hash = None;
    let message = format!(
        "Comprehend already has job {job_id} named {job_name:?}, which is not this resource's ({why}); its results are not reported here. Choose another spec.jobName, or leave it out for a name unique to this resource"
    );
    set_outcome(
        status,
        ConditionStatus::False,
        ConditionStatus::False,
        Reason::JobNameInUse,
        &message,
        at,
    );
}

/// The job waits for its DocumentClassifier.
pub fn apply_waiting(status: &mut ClassificationJobStatus, message: &str, at: Observed) {
    set_outcome(
        status,
        ConditionStatus::Unknown,
        ConditionStatus::True,
        Reason::WaitingForClassifier,
        message,
        at,
    );
}

/// The job's DocumentClassifier failed: the job cannot run.
pub fn apply_classifier_failed(status: &mut ClassificationJobStatus, message: &str, at: Observed) {
    set_outcome(
        status,
        ConditionStatus::False,
        ConditionStatus::False,
        Reason::ClassifierFailed,
        message,
        at,
    );
}

/// Records a spec that cannot start a job.
pub fn apply_rejected(status: &mut ClassificationJobStatus, message: &str, at: Observed) {
    set_outcome(
        status,
        ConditionStatus::False,
        ConditionStatus::False,
        Reason::InvalidSpec,
        message,
        at,
    );
}

/// After a job started, a spec that differs from the one it started with is
/// ignored: `Ready` says so. A spec back to the original clears it.
pub fn apply_spec_drift(
    status: &mut ClassificationJobStatus,
    spec: &ClassificationJobSpec,
    at: Observed,
) {
    let Some(started_hash) = status.spec_hash.clone() else {
        return;
    };
    if status.job_id.is_none() {
        return;
    }
    status.observed_generation = at.generation;
    let id = status.job_id.clone().unwrap_or_default();
    let current = spec_hash(spec);
    let unchanged = started_hash == current || started_hash == legacy_spec_hash(spec);
    if unchanged && started_hash != current {
        // Recorded by an earlier version over the whole spec: same spec.
        status.spec_hash = Some(current);
    }
    if !unchanged {
        let message = format!(
            "The spec changed after job {id} started; the change was ignored because a Comprehend job cannot be changed or restarted. Create a new ClassificationJob to run with the new spec"
        );
        set_condition(
            status,
            READY,
            ConditionStatus::False,
            Reason::SpecChangeIgnored,
            &message,
            at,
        );
    } else if condition(status, READY).is_some_and(|c| Reason::SpecChangeIgnored.is_on(c)) {
        // Restore Ready from the outcome.
        let succeeded = condition(status, SUCCEEDED).cloned();
        if let Some(s) = succeeded {
            let ready = if ConditionStatus::of(&s) == Some(ConditionStatus::False) {
                ConditionStatus::False
            } else {
                ConditionStatus::True
            };
            put_condition(
                &mut status.conditions,
                READY,
                ready,
                &s.reason,
                &s.message,
                at,
            );
        }
    }
}

/// The event a change of `ResultsSummarized` deserves: one when the
/// summary is written, a warning when it is given up or refused (not for
/// each retry).
fn results_notice(old: &ClassificationJobStatus, new: &ClassificationJobStatus) -> Option<Notice> {
    use crate::job::summary::RESULTS_SUMMARIZED;
    let new_c = condition(new, RESULTS_SUMMARIZED)?;
    let value = ConditionStatus::of(new_c)?;
    if value == ConditionStatus::Unknown {
        return None;
    }
    let old_c = condition(old, RESULTS_SUMMARIZED);
    if old_c.is_some_and(|c| c.status == new_c.status && c.reason == new_c.reason) {
        return None;
    }
    let reason = Reason::parse(&new_c.reason)?;
    Some(Notice {
        warning: value == ConditionStatus::False,
        reason: reason.as_str(),
        note: new_c.message.clone(),
    })
}

impl Noticed for ClassificationJobStatus {
    fn notice_since(&self, old: &Self) -> Option<Notice> {
        notice(old, self)
    }
}

/// The event a status change deserves, if any: one per change of the
/// `Succeeded` reason to an outcome or a warning (or of `Ready` to
/// SpecChangeIgnored).
pub fn notice(old: &ClassificationJobStatus, new: &ClassificationJobStatus) -> Option<Notice> {
    let reason_of =
        |s: &ClassificationJobStatus, t: &str| condition(s, t).map(|c| c.reason.clone());
    let new_ready = condition(new, READY);
    if new_ready.is_some_and(|c| Reason::SpecChangeIgnored.is_on(c))
        && reason_of(old, READY).as_deref() != Some("SpecChangeIgnored")
    {
        return Some(Notice {
            warning: true,
            reason: "SpecChangeIgnored",
            note: new_ready.map(|c| c.message.clone()).unwrap_or_default(),
        });
    }
    let new_succeeded = condition(new, SUCCEEDED)?;
    if reason_of(old, SUCCEEDED).as_deref() == Some(new_succeeded.reason.as_str()) {
        return results_notice(old, new);
    }
    // A reason that is none of ours is an AWS error code (see apply_error).
    let Some(reason) = Reason::parse(&new_succeeded.reason) else {
        return Some(Notice {
            warning: true,
            reason: "AwsCallFailed",
            note: new_succeeded.message.clone(),
        });
    };
    // Events for outcomes and warnings only: the steps in between
    // (queued, started, running, waiting) are in the status, and an event
    // for each would double the writes a job costs the API server.
    let (warning, word) = match reason {
        Reason::Queued
        | Reason::Submitted
        | Reason::InProgress
        | Reason::StopRequested
        | Reason::WaitingForClassifier
        | Reason::ClassifierNotReady
        | Reason::Starting
        | Reason::SpecChangeIgnored => return None,
        Reason::Completed => (false, "Completed"),
        Reason::Failed => (true, "Failed"),
        Reason::Stopped => (true, "Stopped"),
        Reason::Throttled => (true, "Throttled"),
        Reason::AwsUnavailable => (true, "AwsUnavailable"),
        Reason::InvalidSpec => (true, "InvalidSpec"),
        Reason::JobNotFound => (true, "JobNotFound"),
        Reason::ClassifierFailed => (true, "ClassifierFailed"),
        Reason::JobNameInUse => (true, "JobNameInUse"),
        Reason::CredentialsUnavailable => (true, "CredentialsUnavailable"),
        Reason::NoAccountMapping => (true, "NoAccountMapping"),
        Reason::AccountMappingChanged => (true, "AccountMappingChanged"),
        // Reasons of ResultsSummarized, never of Succeeded.
        Reason::Summarized
        | Reason::ResultsUnavailable
        | Reason::MalformedOutput
        | Reason::SummaryDisabled => return None,
    };
    Some(Notice {
        warning,
        reason: word,
        note: new_succeeded.message.clone(),
    })
}

#[cfg(test)]
mod tests;
