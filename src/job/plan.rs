//! What the reconcile must do for a ClassificationJob, decided by pure
//! functions: no client, no clock, no network. The reconcile reads the
//! object, asks [`plan`] what to do, acts against Comprehend, and folds what
//! it saw into the status ([`crate::job::status`]).

use k8s_openapi::jiff::Timestamp;

use crate::classifier::ClassifierState;
use crate::comprehend::{
    account_of_arn, DocumentReaderConfig, JobDescription, ModelRef, Place, StartJobRequest,
    VpcConfig,
};
use crate::crds::{validate_reader, validate_tags};
use crate::job::crd::{ClassificationJob, ClassificationJobSpec, NEW_JOB_FIELDS};
use crate::job::naming;
use crate::job::status::{condition, is_finished, spec_hash, Reason, SUCCEEDED};
use crate::kernel::conditions::enum_str;
use crate::kernel::conditions::Reasons;

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
    /// Find the existing job `spec.jobId` names and follow it; never start.
    Adopt { job_id: String },
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
    naming::default_job_name(
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

/// Checks what the schema cannot (or what an API server without the schema
/// rules lets through).
pub fn validate(spec: &ClassificationJobSpec) -> Result<(), String> {
    if spec.job_id.is_some() {
        let value = serde_json::to_value(spec).unwrap_or_default();
        let set: Vec<&str> = NEW_JOB_FIELDS
            .iter()
            .copied()
            .filter(|f| value.get(f).is_some())
            .collect();
        if !set.is_empty() {
            return Err(format!(
                "spec.jobId follows an existing job, so {} must not be set: they describe a new job",
                set.join(", ")
            ));
        }
        return validate_ttl(spec);
    }
    let missing: Vec<&str> = [
        ("inputDataConfig", spec.input_data_config.is_none()),
        ("outputDataConfig", spec.output_data_config.is_none()),
        ("dataAccessRoleArn", spec.data_access_role_arn.is_none()),
    ]
    .into_iter()
    .filter_map(|(f, missing)| missing.then_some(f))
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} required to start a job (or set spec.jobId to follow an existing one)",
            missing.join(", ")
        ));
    }
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
        if !naming::is_valid_job_name(name) {
            return Err(format!(
                "spec.jobName {name:?} must be 1-256 letters, spaces, digits or _.:/=+-%@"
            ));
        }
    }
    if let Some(reader) = spec
        .input_data_config
        .as_ref()
        .and_then(|i| i.document_reader_config.as_ref())
    {
        validate_reader(reader, "spec.inputDataConfig.documentReaderConfig")?;
    }
    validate_tags(&spec.tags)?;
    validate_ttl(spec)
}

fn validate_ttl(spec: &ClassificationJobSpec) -> Result<(), String> {
    if spec.ttl_seconds_after_finished.is_some_and(|t| t < 0) {
        return Err("spec.ttlSecondsAfterFinished must not be negative".into());
    }
    if let Some(top) = spec.results.as_ref().and_then(|r| r.top_classes) {
        if !(1..=100).contains(&top) {
            return Err("spec.results.topClasses must be 1 to 100".into());
        }
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
    let (Some(input), Some(output), Some(role)) = (
        &spec.input_data_config,
        &spec.output_data_config,
        &spec.data_access_role_arn,
    ) else {
        return Err(
            "inputDataConfig, outputDataConfig and dataAccessRoleArn are required to start a job"
                .into(),
        );
    };
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
        output_s3_uri: output.s3_uri.clone(),
        output_kms_key_id: output.kms_key_id.clone(),
        data_access_role_arn: role.clone(),
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
        client_request_token: crate::comprehend::client_request_token(
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

/// What to do for `job`, which acts at `at` (its account and Region).
/// `classifier` is the state of the DocumentClassifier its `classifierRef`
/// names (None when it names none).
pub fn plan(job: &ClassificationJob, at: &Place, classifier: Option<&ClassifierState>) -> Plan {
    let status = job.status.clone().unwrap_or_default();
    if is_finished(&status) && status.job_id.is_none() {
        // A spec rejected before any job started may be fixed by the user:
        // look again when the generation moves on. A failed classifier may
        // be replaced: look again when it changes (no AWS call either way).
        let spec_changed = status.observed_generation != job.metadata.generation;
        let classifier_failed =
            condition(&status, SUCCEEDED).is_some_and(|c| Reason::ClassifierFailed.is_on(c));
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
    if let Some(job_id) = job.spec.job_id.clone() {
        return Plan::Adopt { job_id };
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
                ClassifierState::Ready { arn, region } => {
                    let job_region = &at.region;
                    if region != job_region {
                        return Plan::Reject {
                            message: format!("DocumentClassifier {name} is in Region {region} but the job runs in {job_region}; set spec.region to {region}"),
                        };
                    }
                    // A model of another account cannot be named through a
                    // classifierRef: the reference is within a namespace,
                    // and so within one account.
                    if let (Some(theirs), Some(ours)) = (account_of_arn(arn), at.account()) {
                        if theirs != ours {
                            return Plan::Reject {
                                message: format!("DocumentClassifier {name} was trained in account {theirs} but this namespace's jobs run in account {ours}; a classifierRef cannot cross accounts (name the model by documentClassifierArn if its model policy lets account {ours} use it)"),
                            };
                        }
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
        && condition(status, SUCCEEDED).is_none_or(|c| !Reason::ClassifierFailed.is_on(c))
        && !crate::job::summary::pending(job);
    !quiet
}

/// What is kept of a resource left out of the cache ([`needs_reconcile`]
/// says it needs nothing): its `Succeeded` reason, for the metrics.
pub fn settled_summary(job: &ClassificationJob) -> Option<String> {
    (!needs_reconcile(job)).then(|| phase(job).to_string())
}

/// The resource's phase for the metrics: its `Succeeded` reason, or `New`.
pub fn phase(job: &ClassificationJob) -> &str {
    job.status
        .as_ref()
        .and_then(|s| condition(s, SUCCEEDED))
        .map_or("New", |c| c.reason.as_str())
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

#[cfg(test)]
mod tests;
