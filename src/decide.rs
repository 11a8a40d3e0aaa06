//! The decisions of the reconcile, as pure functions: no client, no clock,
//! no network. The controller reads the object, asks [`plan`] what to do,
//! acts against Comprehend, and folds what it saw into the status with the
//! `apply_*` functions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::classifier_decide::ClassifierState;
use crate::comprehend::{
    AwsError, DocumentReaderConfig, ErrorKind, JobDescription, ModelRef, StartJobRequest,
    StartedJob, VpcConfig,
};
use crate::crd::{
    ClassificationJob, ClassificationJobSpec, ClassificationJobStatus, DocumentReadAction,
    DocumentReaderConfig as SpecReader, Tag, MAX_TAGS,
};
use crate::jobname;

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
}

impl Reason {
    /// The reason as written in a condition.
    pub fn as_str(self) -> &'static str {
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
        }
    }

    /// Every reason, to read one back from a condition.
    const ALL: [Reason; 17] = [
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
    ];

    /// The reason a condition carries, if it is one of these (a condition
    /// may also carry an AWS error code, see [`apply_error`]).
    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What the reconcile must do next for one resource.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// The outcome is known (or the spec is known bad): no AWS call. Delete
    /// the resource once `ttlSecondsAfterFinished` has passed.
    Finished,
    /// The spec cannot start a job; say so, no AWS call.
    Reject { message: String },
    /// Find a job started under `request.job_name`, else start one.
    Start { request: Box<StartJobRequest> },
    /// Follow the job.
    Describe { job_id: String },
    /// The referenced DocumentClassifier is not Ready: wait, no AWS call.
    Wait { message: String },
    /// The referenced DocumentClassifier failed: the job cannot run.
    ClassifierFailed { message: String },
}

/// The `JobName` of a resource: the one recorded in status once a start was
/// attempted (so a later spec change cannot hide the job), else the spec's,
/// else one derived from namespace, name and UID.
pub fn job_name(job: &ClassificationJob) -> String {
    if let Some(name) = job.status.as_ref().and_then(|s| s.job_name.clone()) {
        return name;
    }
    if let Some(name) = job.spec.job_name.clone() {
        return name;
    }
    jobname::default_job_name(
        job.metadata.namespace.as_deref().unwrap_or_default(),
        job.metadata.name.as_deref().unwrap_or_default(),
        job.metadata.uid.as_deref().unwrap_or_default(),
    )
}

/// The Region a job runs in.
pub fn region(spec: &ClassificationJobSpec, default_region: &str) -> String {
    spec.region
        .clone()
        .unwrap_or_else(|| default_region.to_string())
}

/// A digest of the spec, recorded when the job starts, to notice later
/// edits. `ttlSecondsAfterFinished` is left out: it may change at any time.
pub fn spec_hash(spec: &ClassificationJobSpec) -> String {
    let mut frozen = spec.clone();
    frozen.ttl_seconds_after_finished = None;
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

/// Checks what the schema cannot (or what an API server without the schema
/// rules lets through).
pub fn validate(spec: &ClassificationJobSpec) -> Result<(), String> {
    let models = [
        spec.document_classifier_arn.is_some(),
        spec.flywheel_arn.is_some(),
        spec.classifier_ref.is_some(),
    ];
    match models.iter().filter(|set| **set).count() {
        1 => {}
        0 => return Err("one of spec.documentClassifierArn, spec.flywheelArn and spec.classifierRef is required".into()),
        _ => return Err("set exactly one of spec.documentClassifierArn, spec.flywheelArn and spec.classifierRef".into()),
    }
    if let Some(name) = &spec.job_name {
        if !jobname::is_valid_job_name(name) {
            return Err(format!(
                "spec.jobName {name:?} must be 1-256 letters, spaces, digits or _.:/=+-%@"
            ));
        }
    }
    if let Some(reader) = &spec.input_data_config.document_reader_config {
        validate_reader(reader, "spec.inputDataConfig.documentReaderConfig")?;
    }
    validate_tags(&spec.tags)?;
    if spec.ttl_seconds_after_finished.is_some_and(|t| t < 0) {
        return Err("spec.ttlSecondsAfterFinished must not be negative".into());
    }
    Ok(())
}

/// A document reader the service would refuse: AnalyzeDocument needs the
/// features to extract.
pub fn validate_reader(reader: &SpecReader, path: &str) -> Result<(), String> {
    let analyze = reader.document_read_action == DocumentReadAction::TextractAnalyzeDocument;
    if analyze && reader.feature_types.is_empty() {
        return Err(format!(
            "{path}.featureTypes (TABLES and/or FORMS) is required with documentReadAction TEXTRACT_ANALYZE_DOCUMENT"
        ));
    }
    if !analyze && !reader.feature_types.is_empty() {
        return Err(format!(
            "{path}.featureTypes is allowed only with documentReadAction TEXTRACT_ANALYZE_DOCUMENT"
        ));
    }
    Ok(())
}

/// Tags the service would refuse: more than [`MAX_TAGS`], or a key with the
/// prefix AWS reserves.
pub fn validate_tags(tags: &[Tag]) -> Result<(), String> {
    if tags.len() > MAX_TAGS {
        return Err(format!(
            "spec.tags has {} tags; a Comprehend resource takes at most {MAX_TAGS}",
            tags.len()
        ));
    }
    if let Some(tag) = tags.iter().find(|t| {
        t.key
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
    }) {
        return Err(format!(
            "spec.tags key {:?} begins with aws:, which AWS reserves",
            tag.key
        ));
    }
    Ok(())
}

/// The StartDocumentClassificationJob request for a resource; `resolved` is
/// the ARN its `classifierRef` resolved to.
pub fn start_request(
    job: &ClassificationJob,
    resolved: Option<&str>,
) -> Result<StartJobRequest, String> {
    let spec = &job.spec;
    validate(spec)?;
    let model = match (&spec.document_classifier_arn, &spec.flywheel_arn, resolved) {
        (Some(arn), None, _) => ModelRef::DocumentClassifier(arn.clone()),
        (None, Some(arn), _) => ModelRef::Flywheel(arn.clone()),
        (None, None, Some(arn)) => ModelRef::DocumentClassifier(arn.to_string()),
        _ => return Err("spec.classifierRef has not been resolved to a classifier ARN".into()),
    };
    let input = &spec.input_data_config;
    Ok(StartJobRequest {
        job_name: job_name(job),
        model,
        input_s3_uri: input.s3_uri.clone(),
        input_format: input.input_format.map(|f| f.as_str().to_string()),
        document_reader_config: input.document_reader_config.as_ref().map(|r| {
            DocumentReaderConfig {
                document_read_action: enum_str(&r.document_read_action),
                document_read_mode: r.document_read_mode.as_ref().map(enum_str),
                feature_types: r.feature_types.iter().map(enum_str).collect(),
            }
        }),
        output_s3_uri: spec.output_data_config.s3_uri.clone(),
        output_kms_key_id: spec.output_data_config.kms_key_id.clone(),
        data_access_role_arn: spec.data_access_role_arn.clone(),
        volume_kms_key_id: spec.volume_kms_key_id.clone(),
        vpc_config: spec.vpc_config.as_ref().map(|v| VpcConfig {
            security_group_ids: v.security_group_ids.clone(),
            subnets: v.subnets.clone(),
        }),
        tags: spec
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
            .collect(),
        client_request_token: jobname::client_request_token(
            job.metadata.uid.as_deref().unwrap_or_default(),
            &spec_hash(spec),
        ),
    })
}

/// How far Comprehend's clock may run behind the API server's when a job's
/// submit time is compared with the resource's creation.
pub const CLOCK_SKEW_ALLOWANCE_SECS: i64 = 60;

/// What a List under the job's name found.
#[derive(Clone, Debug, PartialEq)]
pub enum Found {
    /// No job has the name: start one.
    Nothing,
    /// This resource's own job (started before a crash or a lost write).
    Ours(Box<JobDescription>),
    /// The name belongs to a job this resource cannot prove it started.
    NameInUse { job_id: String, why: String },
}

/// Which of the jobs found under the resource's job name (newest first) is
/// its own. A name derived from the resource's UID is its own by
/// construction. A fixed `spec.jobName` is adopted only when this resource
/// recorded a start attempt under it (nothing else can have been started by
/// it) and the job was submitted after the resource was created and names
/// the same model, input and output; any other job there is another's, and
/// its results are never reported as this resource's.
pub fn identify(
    job: &ClassificationJob,
    request: &StartJobRequest,
    found: &[JobDescription],
) -> Found {
    let Some(newest) = found.first() else {
        return Found::Nothing;
    };
    if job.spec.job_name.is_none() {
        return Found::Ours(Box::new(newest.clone()));
    }
    let attempted = job
        .status
        .as_ref()
        .and_then(|s| s.job_name.as_deref())
        .is_some_and(|n| n == request.job_name);
    if attempted {
        if let Some(ours) = found
            .iter()
            .find(|d| same_request(d, request) && submitted_after(d, job))
        {
            return Found::Ours(Box::new(ours.clone()));
        }
    }
    let why = if !attempted {
        "this resource never started a job under that name".to_string()
    } else if !same_request(newest, request) {
        "it was started with another model, input or output".to_string()
    } else {
        "it was submitted before this resource was created".to_string()
    };
    Found::NameInUse {
        job_id: newest.job_id.clone(),
        why,
    }
}

/// Whether `desc` runs the model, input and output `request` asks for.
fn same_request(desc: &JobDescription, request: &StartJobRequest) -> bool {
    let model = match &request.model {
        ModelRef::DocumentClassifier(arn) => desc.document_classifier_arn.as_deref() == Some(arn),
        ModelRef::Flywheel(arn) => desc.flywheel_arn.as_deref() == Some(arn),
    };
    let input = desc.input_s3_uri.as_deref() == Some(request.input_s3_uri.as_str());
    // Comprehend reports the output as `<prefix>/<account>-CLN-<id>/...`.
    let prefix = request.output_s3_uri.trim_end_matches('/');
    let output = desc.output_s3_uri.as_deref().is_some_and(|o| {
        o == request.output_s3_uri
            || o.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    });
    model && input && output
}

/// Whether `desc` was submitted after `job` was created (with
/// [`CLOCK_SKEW_ALLOWANCE_SECS`] of slack). Unknown times prove nothing.
fn submitted_after(desc: &JobDescription, job: &ClassificationJob) -> bool {
    let submitted = desc
        .submit_time
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok());
    let created = job.metadata.creation_timestamp.as_ref().map(|t| t.0);
    match (submitted, created) {
        (Some(submitted), Some(created)) => {
            submitted.as_second() >= created.as_second() - CLOCK_SKEW_ALLOWANCE_SECS
        }
        _ => false,
    }
}

/// The API spelling of a spec enum (its serde name, `ONE_DOC_PER_LINE`, ...).
pub(crate) fn enum_str<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The condition of `type_`, if any.
pub fn condition<'a>(status: &'a ClassificationJobStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the outcome is settled: `Succeeded` is True or False. Nothing more
/// is asked of AWS for such a resource.
pub fn is_finished(status: &ClassificationJobStatus) -> bool {
    condition(status, SUCCEEDED).is_some_and(|c| c.status != "Unknown")
}

/// What to do for `job`. `classifier` is the state of the DocumentClassifier
/// its `classifierRef` names (None when it names none); `default_region` is
/// the operator's Region.
pub fn plan(
    job: &ClassificationJob,
    default_region: &str,
    classifier: Option<&ClassifierState>,
) -> Plan {
    let status = job.status.clone().unwrap_or_default();
    if is_finished(&status) && status.job_id.is_none() {
        // A spec rejected before any job started may be fixed by the user:
        // look again when the generation moves on. A failed classifier may
        // be replaced: look again when it changes (no AWS call either way).
        let spec_changed = status.observed_generation != job.metadata.generation;
        let classifier_failed =
            condition(&status, SUCCEEDED).is_some_and(|c| c.reason == "ClassifierFailed");
        if !spec_changed && !classifier_failed {
            return Plan::Finished;
        }
    } else if is_finished(&status) {
        return Plan::Finished;
    }
    if let Some(job_id) = status.job_id.clone() {
        return Plan::Describe { job_id };
    }
    if let Err(message) = validate(&job.spec) {
        return Plan::Reject { message };
    }
    let resolved = match &job.spec.classifier_ref {
        None => None,
        // A start already attempted keeps the ARN it recorded, whatever
        // the classifier does since: the job may exist under that ARN.
        Some(_) if status.job_name.is_some() && status.document_classifier_arn.is_some() => {
            status.document_classifier_arn.clone()
        }
        Some(r) => {
            let name = &r.name;
            match classifier.unwrap_or(&ClassifierState::Missing) {
                ClassifierState::Ready { arn, region: at } => {
                    let job_region = region(&job.spec, default_region);
                    if *at != job_region {
                        return Plan::Reject {
                            message: format!("DocumentClassifier {name} is in Region {at} but the job runs in {job_region}; set spec.region to {at}"),
                        };
                    }
                    Some(arn.clone())
                }
                ClassifierState::Missing => {
                    return Plan::Wait {
                        message: format!("Waiting for DocumentClassifier {name}: it does not exist in this namespace yet"),
                    }
                }
                ClassifierState::NotReady { detail } => {
                    return Plan::Wait {
                        message: format!("Waiting for DocumentClassifier {name} to be trained ({detail})"),
                    }
                }
                ClassifierState::Failed { detail } => {
                    return Plan::ClassifierFailed {
                        message: format!("DocumentClassifier {name} cannot classify: {detail}"),
                    }
                }
            }
        }
    };
    match start_request(job, resolved.as_deref()) {
        Ok(request) => Plan::Start {
            request: Box::new(request),
        },
        Err(message) => Plan::Reject { message },
    }
}

/// Whether an object seen on the watch can need anything from a reconcile.
/// A job whose outcome is settled for the current generation, with no TTL
/// and no failed classifier to look at again, needs nothing: skipping it
/// keeps a restart over thousands of finished jobs from queueing a reconcile
/// for each.
pub fn needs_reconcile(job: &ClassificationJob) -> bool {
    let Some(status) = job.status.as_ref() else {
        return true;
    };
    let quiet = is_finished(status)
        && status.observed_generation == job.metadata.generation
        && job.spec.ttl_seconds_after_finished.is_none()
        && job.metadata.deletion_timestamp.is_none()
        && condition(status, SUCCEEDED).is_none_or(|c| c.reason != "ClassifierFailed");
    !quiet
}

/// When the resource should be deleted, if `ttlSecondsAfterFinished` is set
/// and the outcome is known: the job's end time (or the time `Succeeded`
/// settled) plus the TTL.
pub fn expiry(job: &ClassificationJob) -> Option<Timestamp> {
    let ttl = job.spec.ttl_seconds_after_finished?;
    let status = job.status.as_ref()?;
    if !is_finished(status) {
        return None;
    }
    let finished = status
        .end_time
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .or_else(|| condition(status, SUCCEEDED).map(|c| c.last_transition_time.0))?;
    finished
        .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(ttl))
        .ok()
}

/// Sets a condition, keeping its `lastTransitionTime` when its status does
/// not change, so an unchanged situation writes nothing.
pub fn set_condition(
    status: &mut ClassificationJobStatus,
    type_: &str,
    value: &str,
    reason: Reason,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    put_condition(
        &mut status.conditions,
        type_,
        value,
        reason.as_str(),
        message,
        generation,
        now,
    );
}

/// Sets the condition `type_` in `conditions` (any resource's), keeping its
/// `lastTransitionTime` when its status does not change. An empty message
/// becomes the reason: the API server rejects an empty one in server-side
/// apply.
pub fn put_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    let message = if message.trim().is_empty() {
        reason.to_string()
    } else {
        message.to_string()
    };
    let last_transition_time = match conditions.iter().find(|c| c.type_ == type_) {
        Some(old) if old.status == value => old.last_transition_time.clone(),
        _ => Time(now),
    };
    let new = Condition {
        type_: type_.to_string(),
        status: value.to_string(),
        reason: reason.to_string(),
        message,
        observed_generation: generation,
        last_transition_time,
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => *c = new,
        None => conditions.push(new),
    }
}

/// Sets `Succeeded` and a matching `Ready`: Ready is True while things go
/// as they should, False when the user must act, Unknown while retrying.
fn set_outcome(
    status: &mut ClassificationJobStatus,
    succeeded: &str,
    ready: &str,
    reason: Reason,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    set_condition(
        status, SUCCEEDED, succeeded, reason, message, generation, now,
    );
    set_condition(status, READY, ready, reason, message, generation, now);
    status.observed_generation = generation;
}

/// The resource waits for one of `max_active` slots in `region`.
pub fn apply_queued(
    status: &mut ClassificationJobStatus,
    region: &str,
    max_active: usize,
    generation: Option<i64>,
    now: Timestamp,
) {
    let message =
        format!("Waiting for one of the {max_active} active classification job slots in {region}");
    set_outcome(
        status,
        "Unknown",
        "True",
        Reason::Queued,
        &message,
        generation,
        now,
    );
}

/// Records the name and spec a start is about to use, before Start is
/// called: after a crash the job is found again under this name.
pub fn apply_starting(
    status: &mut ClassificationJobStatus,
    request: &StartJobRequest,
    spec_hash: &str,
    generation: Option<i64>,
    now: Timestamp,
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
        "Unknown",
        "True",
        Reason::Starting,
        &message,
        generation,
        now,
    );
}

/// Records what Start answered.
pub fn apply_started(
    status: &mut ClassificationJobStatus,
    started: &StartedJob,
    generation: Option<i64>,
    now: Timestamp,
) {
    status.job_id = Some(started.job_id.clone());
    status.job_arn = started.job_arn.clone().or(status.job_arn.take());
    status.document_classifier_arn = started
        .document_classifier_arn
        .clone()
        .or(status.document_classifier_arn.take());
    let job_status = started
        .job_status
        .clone()
        .unwrap_or_else(|| "SUBMITTED".into());
    apply_job_status(status, &job_status, None, generation, now);
}

/// Records a job Describe (or List) reported.
pub fn apply_description(
    status: &mut ClassificationJobStatus,
    desc: &JobDescription,
    generation: Option<i64>,
    now: Timestamp,
) {
    status.job_id = Some(desc.job_id.clone());
    if desc.job_arn.is_some() {
        status.job_arn = desc.job_arn.clone();
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
    apply_job_status(
        status,
        &desc.job_status,
        desc.message.as_deref(),
        generation,
        now,
    );
}

fn apply_job_status(
    status: &mut ClassificationJobStatus,
    job_status: &str,
    aws_message: Option<&str>,
    generation: Option<i64>,
    now: Timestamp,
) {
    status.job_status = Some(job_status.to_string());
    let id = status.job_id.clone().unwrap_or_default();
    let (succeeded, ready, reason, message) = match job_status {
        "COMPLETED" => (
            "True",
            "True",
            Reason::Completed,
            format!(
                "Job {id} completed; output at {}",
                status.output_s3_uri.as_deref().unwrap_or("(not reported)")
            ),
        ),
        "FAILED" => (
            "False",
            "False",
            Reason::Failed,
            format!(
                "Job {id} failed: {}",
                aws_message.unwrap_or("no message from Comprehend")
            ),
        ),
        "STOPPED" => (
            "False",
            "False",
            Reason::Stopped,
            format!("Job {id} was stopped"),
        ),
        "STOP_REQUESTED" => (
            "Unknown",
            "True",
            Reason::StopRequested,
            format!("A stop was requested for job {id}"),
        ),
        "IN_PROGRESS" => (
            "Unknown",
            "True",
            Reason::InProgress,
            format!("Job {id} is running"),
        ),
        _ => (
            "Unknown",
            "True",
            Reason::Submitted,
            format!("Job {id} was submitted to Comprehend"),
        ),
    };
    set_outcome(status, succeeded, ready, reason, &message, generation, now);
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
    generation: Option<i64>,
    now: Timestamp,
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
                "Unknown",
                "Unknown",
                Reason::Throttled,
                &message,
                generation,
                now,
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
                "Unknown",
                "Unknown",
                Reason::AwsUnavailable,
                &message,
                generation,
                now,
            );
            AfterError::Retry {
                release_slot: false,
            }
        }
        ErrorKind::JobNotFound if call == Call::Describe => {
            let message = format!("Comprehend does not know job {id}: {}", err.message);
            set_outcome(
                status,
                "False",
                "False",
                Reason::JobNotFound,
                &message,
                generation,
                now,
            );
            AfterError::Settle
        }
        _ if call == Call::Describe => {
            let message = format!(
                "{operation} of job {id} failed ({}: {}); the job may still be running in Comprehend; retrying until Describe answers",
                err.code, err.message
            );
            set_unconfirmed(status, &code_reason(&err.code), &message, generation, now);
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
                "Unknown",
                "Unknown",
                Reason::ClassifierNotReady,
                &message,
                generation,
                now,
            );
            AfterError::Retry { release_slot: true }
        }
        _ if call == Call::List || code_reason(&err.code) == "AccessDeniedException" => {
            let message = format!(
                "{operation} failed ({}: {}); retrying",
                err.code, err.message
            );
            set_unconfirmed(status, &code_reason(&err.code), &message, generation, now);
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
                "False",
                "False",
                Reason::InvalidSpec,
                &message,
                generation,
                now,
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
    generation: Option<i64>,
    now: Timestamp,
) {
    put_condition(
        &mut status.conditions,
        SUCCEEDED,
        "Unknown",
        reason,
        message,
        generation,
        now,
    );
    put_condition(
        &mut status.conditions,
        READY,
        "False",
        reason,
        message,
        generation,
        now,
    );
    status.observed_generation = generation;
}

/// The job name is taken by a job this resource cannot prove is its own:
/// settled, naming that job. The recorded name is dropped, so a fixed
/// `spec.jobName` can be chosen anew.
pub fn apply_name_in_use(
    status: &mut ClassificationJobStatus,
    job_name: &str,
    job_id: &str,
    why: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    status.job_name = None;
    status.spec_hash = None;
    let message = format!(
        "Comprehend already has job {job_id} named {job_name:?}, which is not this resource's ({why}); its results are not reported here. Choose another spec.jobName, or leave it out for a name unique to this resource"
    );
    set_outcome(
        status,
        "False",
        "False",
        Reason::JobNameInUse,
        &message,
        generation,
        now,
    );
}

/// The job waits for its DocumentClassifier.
pub fn apply_waiting(
    status: &mut ClassificationJobStatus,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    set_outcome(
        status,
        "Unknown",
        "True",
        Reason::WaitingForClassifier,
        message,
        generation,
        now,
    );
}

/// The job's DocumentClassifier failed: the job cannot run.
pub fn apply_classifier_failed(
    status: &mut ClassificationJobStatus,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    set_outcome(
        status,
        "False",
        "False",
        Reason::ClassifierFailed,
        message,
        generation,
        now,
    );
}

/// Records a spec that cannot start a job.
pub fn apply_rejected(
    status: &mut ClassificationJobStatus,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    set_outcome(
        status,
        "False",
        "False",
        Reason::InvalidSpec,
        message,
        generation,
        now,
    );
}

/// After a job started, a spec that differs from the one it started with is
/// ignored: `Ready` says so. A spec back to the original clears it.
pub fn apply_spec_drift(
    status: &mut ClassificationJobStatus,
    spec: &ClassificationJobSpec,
    generation: Option<i64>,
    now: Timestamp,
) {
    let Some(started_hash) = status.spec_hash.clone() else {
        return;
    };
    if status.job_id.is_none() {
        return;
    }
    status.observed_generation = generation;
    let id = status.job_id.clone().unwrap_or_default();
    if started_hash != spec_hash(spec) && started_hash == legacy_spec_hash(spec) {
        // Recorded by an earlier version over the whole spec: same spec.
        status.spec_hash = Some(spec_hash(spec));
    }
    if status.spec_hash.as_deref() != Some(spec_hash(spec).as_str()) {
        let message = format!(
            "The spec changed after job {id} started; the change was ignored because a Comprehend job cannot be changed or restarted. Create a new ClassificationJob to run with the new spec"
        );
        set_condition(
            status,
            READY,
            "False",
            Reason::SpecChangeIgnored,
            &message,
            generation,
            now,
        );
    } else if condition(status, READY).is_some_and(|c| c.reason == "SpecChangeIgnored") {
        // Restore Ready from the outcome.
        let succeeded = condition(status, SUCCEEDED).cloned();
        if let Some(s) = succeeded {
            let ready = if s.status == "False" { "False" } else { "True" };
            put_condition(
                &mut status.conditions,
                READY,
                ready,
                &s.reason,
                &s.message,
                generation,
                now,
            );
        }
    }
}

/// An event worth telling the user about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Whether it is a warning.
    pub warning: bool,
    /// The CamelCase reason.
    pub reason: &'static str,
    /// Human-readable note.
    pub note: String,
}

/// A status whose changes may deserve an event.
pub trait Noticed {
    /// The event the change from `old` to `self` deserves, if any.
    fn notice_since(&self, old: &Self) -> Option<Notice>;
}

impl Noticed for ClassificationJobStatus {
    fn notice_since(&self, old: &Self) -> Option<Notice> {
        notice(old, self)
    }
}

/// The event a status change deserves, if any: one per change of the
/// `Succeeded` reason (or of `Ready` to SpecChangeIgnored).
pub fn notice(old: &ClassificationJobStatus, new: &ClassificationJobStatus) -> Option<Notice> {
    let reason_of =
        |s: &ClassificationJobStatus, t: &str| condition(s, t).map(|c| c.reason.clone());
    let new_ready = condition(new, READY);
    if new_ready.is_some_and(|c| c.reason == "SpecChangeIgnored")
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
        return None;
    }
    // A reason that is none of ours is an AWS error code (see apply_error).
    let Some(reason) = Reason::parse(&new_succeeded.reason) else {
        return Some(Notice {
            warning: true,
            reason: "AwsCallFailed",
            note: new_succeeded.message.clone(),
        });
    };
    let (warning, word) = match reason {
        Reason::Queued => (false, "Queued"),
        Reason::Submitted => (false, "Started"),
        Reason::InProgress => (false, "Running"),
        Reason::Completed => (false, "Completed"),
        Reason::Failed => (true, "Failed"),
        Reason::Stopped => (true, "Stopped"),
        Reason::Throttled => (true, "Throttled"),
        Reason::AwsUnavailable => (true, "AwsUnavailable"),
        Reason::InvalidSpec => (true, "InvalidSpec"),
        Reason::JobNotFound => (true, "JobNotFound"),
        Reason::StopRequested => (false, "StopRequested"),
        Reason::WaitingForClassifier => (false, "WaitingForClassifier"),
        Reason::ClassifierFailed => (true, "ClassifierFailed"),
        Reason::ClassifierNotReady => (false, "ClassifierNotReady"),
        Reason::JobNameInUse => (true, "JobNameInUse"),
        Reason::Starting | Reason::SpecChangeIgnored => return None,
    };
    Some(Notice {
        warning,
        reason: word,
        note: new_succeeded.message.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{
        ClassifierRef, DocumentReaderConfig as SpecReader, FeatureType, InputDataConfig,
        InputFormat, OutputDataConfig, Tag, VpcConfig as SpecVpc,
    };
    use kube::api::ObjectMeta;

    const ROLE: &str = "arn:aws:iam::123456789012:role/comprehend";
    const CLASSIFIER: &str = "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news";

    fn now() -> Timestamp {
        "2026-01-02T03:04:05Z".parse().unwrap()
    }

    fn later() -> Timestamp {
        "2026-01-02T04:00:00Z".parse().unwrap()
    }

    fn spec() -> ClassificationJobSpec {
        ClassificationJobSpec {
            job_name: None,
            document_classifier_arn: Some(CLASSIFIER.into()),
            flywheel_arn: None,
            classifier_ref: None,
            input_data_config: InputDataConfig {
                s3_uri: "s3://in-bucket/docs/".into(),
                input_format: Some(InputFormat::OneDocPerLine),
                document_reader_config: None,
            },
            output_data_config: OutputDataConfig {
                s3_uri: "s3://out-bucket/results/".into(),
                kms_key_id: Some("alias/out".into()),
            },
            data_access_role_arn: ROLE.into(),
            volume_kms_key_id: Some("1234abcd-12ab-34cd-56ef-1234567890ab".into()),
            vpc_config: Some(SpecVpc {
                subnets: vec!["subnet-1".into()],
                security_group_ids: vec!["sg-1".into(), "sg-2".into()],
            }),
            tags: vec![Tag {
                key: "team".into(),
                value: Some("search".into()),
            }],
            region: None,
            ttl_seconds_after_finished: None,
        }
    }

    fn job(spec: ClassificationJobSpec) -> ClassificationJob {
        let mut job = ClassificationJob::new("daily", spec);
        job.metadata = ObjectMeta {
            name: Some("daily".into()),
            namespace: Some("team-a".into()),
            uid: Some("0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10".into()),
            generation: Some(1),
            ..Default::default()
        };
        job
    }

    fn desc(job_status: &str) -> JobDescription {
        JobDescription {
            job_id: "abc123".into(),
            job_arn: Some(
                "arn:aws:comprehend:us-east-1:123456789012:document-classification-job/abc123"
                    .into(),
            ),
            job_name: Some("team-a.daily-0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10".into()),
            job_status: job_status.into(),
            message: None,
            submit_time: Some("2026-01-02T03:04:05Z".into()),
            end_time: None,
            document_classifier_arn: Some(CLASSIFIER.into()),
            flywheel_arn: None,
            input_s3_uri: Some("s3://in-bucket/docs/".into()),
            output_s3_uri: Some(
                "s3://out-bucket/results/123456789012-CLN-abc123/output/output.tar.gz".into(),
            ),
        }
    }

    #[test]
    fn spec_maps_to_every_start_field() {
        let req = start_request(&job(spec()), None).unwrap();
        assert_eq!(
            req.job_name,
            "team-a.daily-0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10"
        );
        assert_eq!(req.model, ModelRef::DocumentClassifier(CLASSIFIER.into()));
        assert_eq!(req.input_s3_uri, "s3://in-bucket/docs/");
        assert_eq!(req.input_format.as_deref(), Some("ONE_DOC_PER_LINE"));
        assert_eq!(req.output_s3_uri, "s3://out-bucket/results/");
        assert_eq!(req.output_kms_key_id.as_deref(), Some("alias/out"));
        assert_eq!(req.data_access_role_arn, ROLE);
        assert_eq!(
            req.volume_kms_key_id.as_deref(),
            Some("1234abcd-12ab-34cd-56ef-1234567890ab")
        );
        let vpc = req.vpc_config.unwrap();
        assert_eq!(vpc.subnets, ["subnet-1"]);
        assert_eq!(vpc.security_group_ids, ["sg-1", "sg-2"]);
        assert_eq!(req.tags.get("team").map(String::as_str), Some("search"));
        assert_eq!(
            req.client_request_token,
            format!(
                "0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10-{}",
                &spec_hash(&spec())[..16]
            )
        );
    }

    #[test]
    fn only_settled_quiet_jobs_skip_the_reconcile() {
        let mut j = job(spec());
        assert!(needs_reconcile(&j));
        let mut status = ClassificationJobStatus::default();
        apply_description(&mut status, &desc("IN_PROGRESS"), Some(1), now());
        j.status = Some(status.clone());
        assert!(needs_reconcile(&j));
        apply_description(&mut status, &desc("COMPLETED"), Some(1), now());
        j.status = Some(status.clone());
        assert!(!needs_reconcile(&j));
        // A newer generation (a spec edit) is looked at.
        j.metadata.generation = Some(2);
        assert!(needs_reconcile(&j));
        j.metadata.generation = Some(1);
        // So is a TTL to apply.
        j.spec.ttl_seconds_after_finished = Some(60);
        assert!(needs_reconcile(&j));
        j.spec.ttl_seconds_after_finished = None;
        // And a job failed by its classifier, which may be replaced.
        let mut failed = ClassificationJobStatus::default();
        apply_classifier_failed(&mut failed, "m", Some(1), now());
        j.status = Some(failed);
        assert!(needs_reconcile(&j));
    }

    #[test]
    fn classifier_ref_waits_then_starts_with_the_resolved_arn() {
        let mut s = spec();
        s.document_classifier_arn = None;
        s.classifier_ref = Some(ClassifierRef {
            name: "news".into(),
        });
        let j = job(s);
        match plan(&j, "us-east-1", None) {
            Plan::Wait { message } => {
                assert!(message.contains("news") && message.contains("does not exist"))
            }
            p => panic!("{p:?}"),
        }
        let training = ClassifierState::NotReady {
            detail: "Training: classifier is training".into(),
        };
        match plan(&j, "us-east-1", Some(&training)) {
            Plan::Wait { message } => assert!(message.contains("Training"), "{message}"),
            p => panic!("{p:?}"),
        }
        let failed = ClassifierState::Failed {
            detail: "InError: bad data".into(),
        };
        match plan(&j, "us-east-1", Some(&failed)) {
            Plan::ClassifierFailed { message } => {
                assert!(message.contains("news") && message.contains("bad data"))
            }
            p => panic!("{p:?}"),
        }
        let ready = ClassifierState::Ready {
            arn: CLASSIFIER.into(),
            region: "us-east-1".into(),
        };
        match plan(&j, "us-east-1", Some(&ready)) {
            Plan::Start { request } => {
                assert_eq!(
                    request.model,
                    ModelRef::DocumentClassifier(CLASSIFIER.into())
                )
            }
            p => panic!("{p:?}"),
        }
        match plan(&j, "eu-west-1", Some(&ready)) {
            Plan::Reject { message } => assert!(message.contains("Region us-east-1"), "{message}"),
            p => panic!("{p:?}"),
        }

        // A start already attempted keeps the ARN it recorded, even if the
        // classifier has gone since.
        let mut status = ClassificationJobStatus::default();
        let request = start_request(&j, Some(CLASSIFIER)).unwrap();
        apply_starting(&mut status, &request, "digest", Some(1), now());
        assert_eq!(status.document_classifier_arn.as_deref(), Some(CLASSIFIER));
        let mut attempted = j.clone();
        attempted.status = Some(status);
        match plan(&attempted, "us-east-1", None) {
            Plan::Start { request: again } => assert_eq!(again.model, request.model),
            p => panic!("{p:?}"),
        }

        // A job failed by its classifier is looked at again (a replaced
        // classifier lets it run); without a change it stays failed.
        let mut status = ClassificationJobStatus::default();
        apply_classifier_failed(
            &mut status,
            "DocumentClassifier news cannot classify",
            Some(1),
            now(),
        );
        assert!(is_finished(&status));
        let mut failed_job = j.clone();
        failed_job.status = Some(status);
        assert!(matches!(
            plan(&failed_job, "us-east-1", Some(&ready)),
            Plan::Start { .. }
        ));
        assert!(matches!(
            plan(&failed_job, "us-east-1", Some(&failed)),
            Plan::ClassifierFailed { .. }
        ));

        let mut two = spec();
        two.classifier_ref = Some(ClassifierRef {
            name: "news".into(),
        });
        assert!(validate(&two).unwrap_err().contains("exactly one"));
    }

    #[test]
    fn reader_config_and_flywheel_map() {
        let mut s = spec();
        s.document_classifier_arn = None;
        s.flywheel_arn = Some("arn:aws:comprehend:us-east-1:123456789012:flywheel/fw".into());
        s.input_data_config.document_reader_config = Some(SpecReader {
            document_read_action: DocumentReadAction::TextractAnalyzeDocument,
            document_read_mode: Some(crate::crd::DocumentReadMode::ForceDocumentReadAction),
            feature_types: vec![FeatureType::Tables, FeatureType::Forms],
        });
        let req = start_request(&job(s), None).unwrap();
        assert!(matches!(req.model, ModelRef::Flywheel(_)));
        let r = req.document_reader_config.unwrap();
        assert_eq!(r.document_read_action, "TEXTRACT_ANALYZE_DOCUMENT");
        assert_eq!(
            r.document_read_mode.as_deref(),
            Some("FORCE_DOCUMENT_READ_ACTION")
        );
        assert_eq!(r.feature_types, ["TABLES", "FORMS"]);
    }

    #[test]
    fn custom_and_recorded_job_names_win() {
        let mut s = spec();
        s.job_name = Some("my job".into());
        let mut j = job(s);
        assert_eq!(job_name(&j), "my job");
        j.status = Some(ClassificationJobStatus {
            job_name: Some("recorded".into()),
            ..Default::default()
        });
        assert_eq!(job_name(&j), "recorded");
    }

    #[test]
    fn invalid_specs_are_rejected_with_the_field_named() {
        let mut both = spec();
        both.flywheel_arn = Some("arn:aws:comprehend:us-east-1:123456789012:flywheel/fw".into());
        assert!(validate(&both).unwrap_err().contains("flywheelArn"));
        let mut neither = spec();
        neither.document_classifier_arn = None;
        assert!(validate(&neither)
            .unwrap_err()
            .contains("documentClassifierArn"));
        let mut features = spec();
        features.input_data_config.document_reader_config = Some(SpecReader {
            document_read_action: DocumentReadAction::TextractDetectDocumentText,
            document_read_mode: None,
            feature_types: vec![FeatureType::Tables],
        });
        assert!(validate(&features).unwrap_err().contains("featureTypes"));
        let mut name = spec();
        name.job_name = Some("bad;name".into());
        assert!(validate(&name).unwrap_err().contains("jobName"));
        assert!(matches!(
            plan(&job(name), "us-east-1", None),
            Plan::Reject { .. }
        ));
    }

    #[test]
    fn plan_follows_the_life_cycle() {
        let mut j = job(spec());
        assert!(matches!(plan(&j, "us-east-1", None), Plan::Start { .. }));
        let mut status = ClassificationJobStatus::default();
        apply_started(
            &mut status,
            &StartedJob {
                job_id: "abc123".into(),
                job_arn: None,
                job_status: Some("SUBMITTED".into()),
                document_classifier_arn: None,
            },
            Some(1),
            now(),
        );
        j.status = Some(status.clone());
        assert_eq!(
            plan(&j, "us-east-1", None),
            Plan::Describe {
                job_id: "abc123".into()
            }
        );
        apply_description(&mut status, &desc("COMPLETED"), Some(1), now());
        j.status = Some(status);
        assert_eq!(plan(&j, "us-east-1", None), Plan::Finished);
    }

    #[test]
    fn rejected_spec_is_looked_at_again_only_after_an_edit() {
        let mut s = spec();
        s.flywheel_arn = Some("arn:aws:comprehend:us-east-1:123456789012:flywheel/fw".into());
        let mut j = job(s);
        let mut status = ClassificationJobStatus::default();
        apply_rejected(&mut status, "both set", Some(1), now());
        j.status = Some(status);
        assert_eq!(plan(&j, "us-east-1", None), Plan::Finished);
        j.metadata.generation = Some(2);
        j.spec.flywheel_arn = None;
        assert!(matches!(plan(&j, "us-east-1", None), Plan::Start { .. }));
    }

    #[test]
    fn description_maps_to_status_and_conditions() {
        let mut status = ClassificationJobStatus::default();
        apply_description(&mut status, &desc("IN_PROGRESS"), Some(3), now());
        assert_eq!(status.job_id.as_deref(), Some("abc123"));
        assert_eq!(status.job_status.as_deref(), Some("IN_PROGRESS"));
        assert_eq!(status.observed_generation, Some(3));
        let s = condition(&status, SUCCEEDED).unwrap();
        assert_eq!(
            (s.status.as_str(), s.reason.as_str()),
            ("Unknown", "InProgress")
        );
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(condition(&status, READY).unwrap().status, "True");

        let mut done = desc("COMPLETED");
        done.end_time = Some("2026-01-02T03:10:00Z".into());
        apply_description(&mut status, &done, Some(3), later());
        let s = condition(&status, SUCCEEDED).unwrap();
        assert_eq!(
            (s.status.as_str(), s.reason.as_str()),
            ("True", "Completed")
        );
        assert!(s
            .message
            .contains("123456789012-CLN-abc123/output/output.tar.gz"));
        assert_eq!(s.last_transition_time.0, later());
        assert_eq!(status.end_time.as_deref(), Some("2026-01-02T03:10:00Z"));
        assert!(is_finished(&status));
    }

    #[test]
    fn failed_and_stopped_are_not_success() {
        for (js, reason) in [("FAILED", "Failed"), ("STOPPED", "Stopped")] {
            let mut status = ClassificationJobStatus::default();
            let mut d = desc(js);
            d.message = Some("NO_READ_ACCESS_TO_INPUT: cannot read s3://in-bucket".into());
            apply_description(&mut status, &d, Some(1), now());
            let s = condition(&status, SUCCEEDED).unwrap();
            assert_eq!((s.status.as_str(), s.reason.as_str()), ("False", reason));
            assert_eq!(status.message.as_deref(), d.message.as_deref());
            if js == "FAILED" {
                assert!(s.message.contains("NO_READ_ACCESS_TO_INPUT"));
            }
        }
    }

    #[test]
    fn unchanged_observation_changes_nothing() {
        let mut a = ClassificationJobStatus::default();
        apply_description(&mut a, &desc("IN_PROGRESS"), Some(1), now());
        let mut b = a.clone();
        apply_description(&mut b, &desc("IN_PROGRESS"), Some(1), later());
        assert_eq!(
            a, b,
            "a poll that sees nothing new must not change the status"
        );
    }

    #[test]
    fn every_condition_has_a_message() {
        let mut status = ClassificationJobStatus::default();
        set_condition(
            &mut status,
            READY,
            "True",
            Reason::Queued,
            "  ",
            None,
            now(),
        );
        assert_eq!(condition(&status, READY).unwrap().message, "Queued");
    }

    fn err(kind: ErrorKind, code: &str) -> AwsError {
        AwsError {
            kind,
            code: code.into(),
            message: "msg".into(),
        }
    }

    #[test]
    fn errors_map_to_conditions() {
        let mut status = ClassificationJobStatus::default();
        let next = apply_error(
            &mut status,
            Call::Start,
            &err(ErrorKind::Throttled, "TooManyRequestsException"),
            Some(1),
            now(),
        );
        assert_eq!(
            next,
            AfterError::Retry {
                release_slot: false
            }
        );
        let s = condition(&status, SUCCEEDED).unwrap();
        assert_eq!(
            (s.status.as_str(), s.reason.as_str()),
            ("Unknown", "Throttled")
        );
        assert!(!is_finished(&status));
        apply_error(
            &mut status,
            Call::Start,
            &err(ErrorKind::Transient, "InternalServerException"),
            Some(1),
            now(),
        );
        assert_eq!(
            condition(&status, SUCCEEDED).unwrap().reason,
            "AwsUnavailable"
        );
        assert!(!is_finished(&status));
        let next = apply_error(
            &mut status,
            Call::Start,
            &err(ErrorKind::InvalidSpec, "ResourceNotFoundException"),
            Some(1),
            now(),
        );
        assert_eq!(next, AfterError::Settle);
        let s = condition(&status, SUCCEEDED).unwrap();
        assert_eq!(
            (s.status.as_str(), s.reason.as_str()),
            ("False", "InvalidSpec")
        );
        assert!(s.message.contains("ResourceNotFoundException: msg"));
        assert!(is_finished(&status));
        let next = apply_error(
            &mut status,
            Call::Describe,
            &err(ErrorKind::JobNotFound, "JobNotFoundException"),
            Some(1),
            now(),
        );
        assert_eq!(next, AfterError::Settle);
        assert_eq!(condition(&status, SUCCEEDED).unwrap().reason, "JobNotFound");
    }

    #[test]
    fn describe_errors_never_settle_a_running_job() {
        for code in [
            "AccessDeniedException",
            "ValidationException",
            "InvalidRequestException",
            "KmsKeyValidationException",
        ] {
            let mut status = ClassificationJobStatus::default();
            apply_description(&mut status, &desc("IN_PROGRESS"), Some(1), now());
            let next = apply_error(
                &mut status,
                Call::Describe,
                &err(ErrorKind::InvalidSpec, code),
                Some(1),
                later(),
            );
            assert_eq!(
                next,
                AfterError::Retry {
                    release_slot: false
                },
                "{code}"
            );
            assert!(!is_finished(&status), "{code}");
            let s = condition(&status, SUCCEEDED).unwrap();
            let r = condition(&status, READY).unwrap();
            assert_eq!((s.status.as_str(), s.reason.as_str()), ("Unknown", code));
            assert_eq!((r.status.as_str(), r.reason.as_str()), ("False", code));
            assert!(r.message.contains("abc123") && r.message.contains("may still be running"));
            assert_eq!(status.job_id.as_deref(), Some("abc123"));
            // A warning event names the failure.
            let mut before = ClassificationJobStatus::default();
            apply_description(&mut before, &desc("IN_PROGRESS"), Some(1), now());
            let n = notice(&before, &status).unwrap();
            assert!(n.warning);
            // Describe answers again: back to the job's own state.
            apply_description(&mut status, &desc("COMPLETED"), Some(1), later());
            let s = condition(&status, SUCCEEDED).unwrap();
            assert_eq!(
                (s.status.as_str(), s.reason.as_str()),
                ("True", "Completed")
            );
            assert_eq!(condition(&status, READY).unwrap().status, "True");
        }
        // An odd code still makes a valid reason.
        assert_eq!(
            code_reason("AccessDeniedException:http://internal/"),
            "AccessDeniedException"
        );
        assert_eq!(
            code_reason("aws.protocols#ValidationException"),
            "ValidationException"
        );
        assert_eq!(code_reason("500"), "AwsError");
    }

    #[test]
    fn a_classifier_still_training_is_waited_for_at_start() {
        let mut status = ClassificationJobStatus::default();
        let next = apply_error(
            &mut status,
            Call::Start,
            &err(ErrorKind::InvalidSpec, "ResourceUnavailableException"),
            Some(1),
            now(),
        );
        assert_eq!(next, AfterError::Retry { release_slot: true });
        let s = condition(&status, SUCCEEDED).unwrap();
        assert_eq!(
            (s.status.as_str(), s.reason.as_str()),
            ("Unknown", "ClassifierNotReady")
        );
        assert!(!is_finished(&status));
    }

    #[test]
    fn permission_errors_before_a_job_exists_are_retried() {
        let mut status = ClassificationJobStatus::default();
        let next = apply_error(
            &mut status,
            Call::Start,
            &err(ErrorKind::InvalidSpec, "AccessDeniedException"),
            Some(1),
            now(),
        );
        assert_eq!(next, AfterError::Retry { release_slot: true });
        assert_eq!(
            condition(&status, READY).unwrap().reason,
            "AccessDeniedException"
        );
        assert!(!is_finished(&status));
        // List before a start was ever attempted: nothing can run.
        let mut fresh = ClassificationJobStatus::default();
        let next = apply_error(
            &mut fresh,
            Call::List,
            &err(ErrorKind::InvalidSpec, "AccessDeniedException"),
            Some(1),
            now(),
        );
        assert_eq!(next, AfterError::Retry { release_slot: true });
        // After a start attempt, a job may run: its slot stays taken.
        let mut attempted = ClassificationJobStatus {
            job_name: Some("n".into()),
            ..Default::default()
        };
        let next = apply_error(
            &mut attempted,
            Call::List,
            &err(ErrorKind::InvalidSpec, "ValidationException"),
            Some(1),
            now(),
        );
        assert_eq!(
            next,
            AfterError::Retry {
                release_slot: false
            }
        );
        assert!(!is_finished(&attempted));
    }

    fn created_at(mut j: ClassificationJob, at: &str) -> ClassificationJob {
        j.metadata.creation_timestamp = Some(Time(at.parse().unwrap()));
        j
    }

    #[test]
    fn a_derived_name_is_always_ours() {
        let j = created_at(job(spec()), "2026-01-02T03:00:00Z");
        let req = start_request(&j, None).unwrap();
        let mut d = desc("IN_PROGRESS");
        d.input_s3_uri = None;
        match identify(&j, &req, &[d]) {
            Found::Ours(found) => assert_eq!(found.job_id, "abc123"),
            other => panic!("{other:?}"),
        }
        assert_eq!(identify(&j, &req, &[]), Found::Nothing);
    }

    #[test]
    fn a_fixed_name_adopts_only_a_job_this_resource_can_have_started() {
        let mut s = spec();
        s.job_name = Some("daily-report".into());
        let fresh = created_at(job(s), "2026-01-02T03:00:00Z");
        let req = start_request(&fresh, None).unwrap();
        let mut ours = desc("IN_PROGRESS");
        ours.job_name = Some("daily-report".into());
        ours.input_s3_uri = Some("s3://in-bucket/docs/".into());
        ours.submit_time = Some("2026-01-02T03:00:01Z".into());
        // Never attempted a start: whatever is there is another's.
        match identify(&fresh, &req, std::slice::from_ref(&ours)) {
            Found::NameInUse { job_id, why } => {
                assert_eq!(job_id, "abc123");
                assert!(why.contains("never started"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // A start was attempted under the name (then the process died).
        let mut attempted = fresh.clone();
        let mut status = ClassificationJobStatus::default();
        apply_starting(&mut status, &req, &spec_hash(&fresh.spec), Some(1), now());
        attempted.status = Some(status);
        match identify(&attempted, &req, std::slice::from_ref(&ours)) {
            Found::Ours(found) => assert_eq!(found.job_id, "abc123"),
            other => panic!("{other:?}"),
        }
        // An older run of the same manifest is not ours.
        let mut old = ours.clone();
        old.job_id = "old".into();
        old.submit_time = Some("2026-01-01T03:00:00Z".into());
        assert!(matches!(
            identify(&attempted, &req, std::slice::from_ref(&old)),
            Found::NameInUse { job_id, why } if job_id == "old" && why.contains("before")
        ));
        // Ours is picked even when a stranger's job of the name is newer.
        let mut stranger = ours.clone();
        stranger.job_id = "stranger".into();
        stranger.input_s3_uri = Some("s3://other/".into());
        stranger.submit_time = Some("2026-01-02T03:05:00Z".into());
        match identify(&attempted, &req, &[stranger.clone(), ours.clone(), old]) {
            Found::Ours(found) => assert_eq!(found.job_id, "abc123"),
            other => panic!("{other:?}"),
        }
        // Another input, classifier or output is another's job.
        assert!(matches!(
            identify(&attempted, &req, &[stranger]),
            Found::NameInUse { why, .. } if why.contains("another model, input or output")
        ));
        let mut other_model = ours.clone();
        other_model.document_classifier_arn = Some(format!("{CLASSIFIER}-2"));
        assert!(matches!(
            identify(&attempted, &req, &[other_model]),
            Found::NameInUse { .. }
        ));
        let mut other_output = ours.clone();
        other_output.output_s3_uri =
            Some("s3://out-bucket/results-2/123-CLN-abc123/output/output.tar.gz".into());
        assert!(matches!(
            identify(&attempted, &req, &[other_output]),
            Found::NameInUse { .. }
        ));
    }

    #[test]
    fn name_in_use_settles_and_frees_the_name() {
        let mut status = ClassificationJobStatus {
            job_name: Some("daily-report".into()),
            spec_hash: Some("h".into()),
            ..Default::default()
        };
        apply_name_in_use(&mut status, "daily-report", "abc123", "why", Some(1), now());
        let s = condition(&status, SUCCEEDED).unwrap();
        assert_eq!(
            (s.status.as_str(), s.reason.as_str()),
            ("False", "JobNameInUse")
        );
        assert!(s.message.contains("abc123"));
        assert_eq!(status.job_id, None);
        assert_eq!(status.job_name, None);
        assert_eq!(status.output_s3_uri, None);
        assert!(is_finished(&status));
    }

    #[test]
    fn spec_change_after_start_is_flagged_and_cleared() {
        let original = spec();
        let mut status = ClassificationJobStatus::default();
        apply_starting(
            &mut status,
            &start_request(&job(original.clone()), None).unwrap(),
            &spec_hash(&original),
            Some(1),
            now(),
        );
        apply_description(&mut status, &desc("IN_PROGRESS"), Some(1), now());
        let mut edited = original.clone();
        edited.input_data_config.s3_uri = "s3://other-bucket/x".into();
        let mut flagged = status.clone();
        apply_spec_drift(&mut flagged, &edited, Some(2), now());
        let r = condition(&flagged, READY).unwrap();
        assert_eq!(
            (r.status.as_str(), r.reason.as_str()),
            ("False", "SpecChangeIgnored")
        );
        assert_eq!(flagged.observed_generation, Some(2));
        assert_eq!(
            notice(&status, &flagged).map(|n| n.reason),
            Some("SpecChangeIgnored")
        );
        // Same spec: nothing flagged.
        let mut same = status.clone();
        apply_spec_drift(&mut same, &original, Some(1), now());
        assert_eq!(same, status);
        // Back to the original: cleared.
        apply_spec_drift(&mut flagged, &original, Some(3), now());
        assert_eq!(condition(&flagged, READY).unwrap().reason, "InProgress");
    }

    #[test]
    fn ttl_expiry_counts_from_the_end() {
        let mut s = spec();
        s.ttl_seconds_after_finished = Some(60);
        let mut j = job(s);
        assert_eq!(expiry(&j), None);
        let mut status = ClassificationJobStatus::default();
        let mut d = desc("COMPLETED");
        d.end_time = Some("2026-01-02T03:10:00Z".into());
        apply_description(&mut status, &d, Some(1), now());
        j.status = Some(status);
        assert_eq!(expiry(&j), Some("2026-01-02T03:11:00Z".parse().unwrap()));
    }

    #[test]
    fn notices_follow_reason_changes_only() {
        let empty = ClassificationJobStatus::default();
        let mut queued = empty.clone();
        apply_queued(&mut queued, "us-east-1", 10, Some(1), now());
        assert_eq!(notice(&empty, &queued).unwrap().reason, "Queued");
        assert_eq!(notice(&queued, &queued), None);
        let mut failed = queued.clone();
        apply_description(&mut failed, &desc("FAILED"), Some(1), now());
        let n = notice(&queued, &failed).unwrap();
        assert!(n.warning);
        assert_eq!(n.reason, "Failed");
    }

    #[test]
    fn spec_hash_is_stable_and_sensitive() {
        assert_eq!(spec_hash(&spec()), spec_hash(&spec()));
        let mut other = spec();
        other.tags.clear();
        assert_ne!(spec_hash(&spec()), spec_hash(&other));
        // The TTL may change at any time.
        let mut ttl = spec();
        ttl.ttl_seconds_after_finished = Some(5);
        assert_eq!(spec_hash(&spec()), spec_hash(&ttl));
    }

    #[test]
    fn a_ttl_edit_after_start_is_no_drift_and_old_digests_are_upgraded() {
        let original = spec();
        let mut status = ClassificationJobStatus::default();
        apply_description(&mut status, &desc("IN_PROGRESS"), Some(1), now());
        // Recorded by an earlier version, over the whole spec.
        status.spec_hash = Some(legacy_spec_hash(&original));
        let mut same = status.clone();
        apply_spec_drift(&mut same, &original, Some(1), now());
        assert_eq!(same.spec_hash, Some(spec_hash(&original)));
        assert_eq!(condition(&same, READY).unwrap().status, "True");
        let mut ttl = original.clone();
        ttl.ttl_seconds_after_finished = Some(3600);
        let mut after = same.clone();
        apply_spec_drift(&mut after, &ttl, Some(2), now());
        assert_eq!(condition(&after, READY).unwrap().reason, "InProgress");
        assert_eq!(after.observed_generation, Some(2));
        // Any other field is drift.
        let mut role = original.clone();
        role.data_access_role_arn = "arn:aws:iam::123456789012:role/other".into();
        apply_spec_drift(&mut after, &role, Some(3), now());
        assert_eq!(
            condition(&after, READY).unwrap().reason,
            "SpecChangeIgnored"
        );
    }

    #[test]
    fn reader_and_tag_limits_of_the_service() {
        let mut analyze = spec();
        analyze.input_data_config.document_reader_config = Some(SpecReader {
            document_read_action: DocumentReadAction::TextractAnalyzeDocument,
            document_read_mode: None,
            feature_types: vec![],
        });
        let e = validate(&analyze).unwrap_err();
        assert!(e.contains("featureTypes") && e.contains("required"), "{e}");
        let mut many = spec();
        many.tags = (0..51)
            .map(|i| Tag {
                key: format!("k{i}"),
                value: None,
            })
            .collect();
        assert!(validate(&many).unwrap_err().contains("at most 50"));
        many.tags.truncate(50);
        assert_eq!(validate(&many), Ok(()));
        let mut reserved = spec();
        reserved.tags[0].key = "AWS:team".into();
        assert!(validate(&reserved).unwrap_err().contains("aws:"));
        reserved.tags[0].key = "awsteam".into();
        assert_eq!(validate(&reserved), Ok(()));
    }
}
