//! Document classification jobs: StartDocumentClassificationJob,
//! DescribeDocumentClassificationJob, ListDocumentClassificationJobs, and
//! the run of a job (SUBMITTED -> IN_PROGRESS -> read input, classify, write
//! `output.tar.gz` -> COMPLETED or FAILED).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::archive::{self, LargePredictions, LineFault, Prediction, Score};
use crate::faults::{OutputFault, MALFORMED_ARCHIVE};
use crate::model::Mode;
use crate::protocol::{
    epoch_json, epoch_millis, fingerprint, new_id, now_epoch, paginate, single_filter, str_member,
    ApiError,
};
use crate::s3::{self, S3Error, S3Location};
use crate::state::{token_key, Job, JobStatus, Store, Tag};

/// How many classes a multi-class prediction lists.
pub const TOP_CLASSES: usize = 3;

/// Lowest score of a label a multi-label prediction lists.
pub const LABEL_THRESHOLD: f64 = 0.5;

/// `Tags` of a request.
pub fn request_tags(request: &Value) -> Vec<Tag> {
    request
        .get("Tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .map(|t| Tag {
                    key: str_member(t, "Key").unwrap_or_default().to_string(),
                    value: str_member(t, "Value").unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The full URI of a job's `output.tar.gz`.
pub fn output_uri(output_prefix: &str, account: &str, job_id: &str) -> String {
    format!(
        "{}/{account}-CLN-{job_id}/output/output.tar.gz",
        output_prefix.trim_end_matches('/')
    )
}

fn start_response(job: &Job) -> Value {
    let mut out = json!({
        "JobId": job.job_id,
        "JobArn": job.job_arn,
        "JobStatus": job.status.as_str(),
    });
    if let Some(arn) = &job.document_classifier_arn {
        out["DocumentClassifierArn"] = json!(arn);
    }
    out
}

/// `DocumentClassificationJobProperties` of a job.
pub fn properties(job: &Job) -> Value {
    let mut out = Map::new();
    out.insert("JobId".into(), json!(job.job_id));
    out.insert("JobArn".into(), json!(job.job_arn));
    if let Some(name) = &job.job_name {
        out.insert("JobName".into(), json!(name));
    }
    out.insert("JobStatus".into(), json!(job.status.as_str()));
    if let Some(message) = &job.message {
        out.insert("Message".into(), json!(message));
    }
    out.insert("SubmitTime".into(), epoch_json(job.submit_time));
    if let Some(end) = job.end_time {
        out.insert("EndTime".into(), epoch_json(end));
    }
    if let Some(arn) = &job.document_classifier_arn {
        out.insert("DocumentClassifierArn".into(), json!(arn));
    }
    out.insert("InputDataConfig".into(), job.input_data_config.clone());
    out.insert("OutputDataConfig".into(), job.output_data_config.clone());
    out.insert("DataAccessRoleArn".into(), json!(job.data_access_role_arn));
    if let Some(key) = &job.volume_kms_key_id {
        out.insert("VolumeKmsKeyId".into(), json!(key));
    }
    if let Some(vpc) = &job.vpc_config {
        out.insert("VpcConfig".into(), vpc.clone());
    }
    if let Some(arn) = &job.flywheel_arn {
        out.insert("FlywheelArn".into(), json!(arn));
    }
    Value::Object(out)
}

/// StartDocumentClassificationJob, in `account`: the classifier must be
/// one of that account's, and the active-jobs quota counts that account's
/// jobs.
pub fn start(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let classifier_arn = str_member(request, "DocumentClassifierArn");
    let flywheel_arn = str_member(request, "FlywheelArn");
    match (classifier_arn, flywheel_arn) {
        (None, None) => {
            return Err(ApiError::invalid_request(
                "Either DocumentClassifierArn or FlywheelArn must be specified.",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_request(
                "Specify either DocumentClassifierArn or FlywheelArn, not both.",
            ))
        }
        _ => {}
    }

    let limits = app.limits();
    let token = str_member(request, "ClientRequestToken").map(str::to_string);
    let print = fingerprint(request);
    let tags = request_tags(request);

    let (response, new_job) = app.write(|store: &mut Store| {
        if let Some(token) = &token {
            if let Some(job) = store
                .job_tokens
                .get(&token_key(account, token))
                .and_then(|id| store.jobs.get(id))
            {
                if job.request_fingerprint == print {
                    return Ok((start_response(job), None));
                }
                return Err(ApiError::invalid_request(format!(
                    "ClientRequestToken {token} was already used with different parameters \
                     (idempotency mismatch)."
                )));
            }
        }
        if let Some(arn) = flywheel_arn {
            return Err(ApiError::resource_not_found(format!(
                "Flywheel {arn} not found."
            )));
        }
        let classifier_arn = classifier_arn.unwrap_or_default();
        let classifier = store
            .classifiers
            .get(classifier_arn)
            .filter(|c| c.account == account)
            .ok_or_else(|| {
                ApiError::resource_not_found(format!(
                    "The specified resource ARN was not found: {classifier_arn}"
                ))
            })?;
        if !classifier.status.is_usable() {
            return Err(ApiError::resource_unavailable(format!(
                "The classifier {classifier_arn} is not ready to use: its status is {}.",
                classifier.status.as_str()
            )));
        }
        if store.active_jobs_in(account) >= limits.max_active_jobs {
            return Err(ApiError::too_many_requests(format!(
                "Concurrent job limit exceeded: at most {} document classification jobs can be \
                 active at once.",
                limits.max_active_jobs
            )));
        }

        let job_id = new_id();
        let now = now_epoch();
        let mut input = request["InputDataConfig"].clone();
        if input.get("InputFormat").is_none() {
            input["InputFormat"] = json!("ONE_DOC_PER_FILE");
        }
        let mut output = request["OutputDataConfig"].clone();
        let prefix = str_member(&output, "S3Uri").unwrap_or_default().to_string();
        output["S3Uri"] = json!(output_uri(&prefix, account, &job_id));
        let job = Job {
            account: account.to_string(),
            job_arn: format!(
                "arn:aws:comprehend:{}:{account}:document-classification-job/{job_id}",
                app.account.region
            ),
            job_id: job_id.clone(),
            job_name: str_member(request, "JobName").map(str::to_string),
            status: JobStatus::Submitted,
            message: None,
            submit_time: now,
            end_time: None,
            document_classifier_arn: Some(classifier_arn.to_string()),
            flywheel_arn: None,
            input_data_config: input,
            output_data_config: output,
            data_access_role_arn: str_member(request, "DataAccessRoleArn")
                .unwrap_or_default()
                .to_string(),
            volume_kms_key_id: str_member(request, "VolumeKmsKeyId").map(str::to_string),
            vpc_config: request.get("VpcConfig").cloned(),
            client_request_token: token.clone(),
            request_fingerprint: print.clone(),
            in_progress_at: now + limits.job_queued_secs,
            finish_at: now + limits.job_queued_secs + limits.job_running_secs,
        };
        let response = start_response(&job);
        if let Some(token) = &token {
            store
                .job_tokens
                .insert(token_key(account, token), job_id.clone());
        }
        if !tags.is_empty() {
            store.tags.insert(job.job_arn.clone(), tags.clone());
        }
        store.jobs.insert(job_id.clone(), job);
        Ok((response, Some(job_id)))
    })?;
    if let Some(job_id) = new_job {
        spawn_run(app, job_id);
    }
    Ok(response)
}

/// DescribeDocumentClassificationJob: a job of another account is not
/// found, as an unknown id.
pub fn describe(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let job_id = str_member(request, "JobId").unwrap_or_default();
    app.read(|store| {
        store
            .jobs
            .get(job_id)
            .filter(|job| job.account == account)
            .map(|job| json!({ "DocumentClassificationJobProperties": properties(job) }))
            .ok_or_else(|| {
                ApiError::job_not_found(format!("The specified job was not found: {job_id}"))
            })
    })
}

/// ListDocumentClassificationJobs: the jobs of `account`.
pub fn list(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let filter = single_filter(
        request,
        &[
            "JobName",
            "JobStatus",
            "SubmitTimeBefore",
            "SubmitTimeAfter",
        ],
    )?;
    // Filtered, sorted and paged by reference under the lock; only the page
    // is turned into JSON. (Copying every job first made each List cost
    // milliseconds, with the lock held, once thousands of jobs existed.)
    let (page, next) = app.read(|store| {
        let millis = epoch_millis(filter.and_then(|(_, v)| v.as_f64()).unwrap_or_default());
        let text = filter.and_then(|(_, v)| v.as_str()).unwrap_or_default();
        let mut jobs: Vec<&Job> = store
            .jobs
            .values()
            .filter(|job| job.account == account)
            .filter(|job| match filter.map(|(member, _)| member) {
                None => true,
                Some("JobName") => job.job_name.as_deref() == Some(text),
                Some("JobStatus") => job.status.as_str() == text,
                Some("SubmitTimeBefore") => epoch_millis(job.submit_time) < millis,
                Some(_) => epoch_millis(job.submit_time) > millis,
            })
            .collect();
        jobs.sort_by(|a, b| {
            a.submit_time
                .total_cmp(&b.submit_time)
                .then_with(|| a.job_id.cmp(&b.job_id))
        });
        // Newest first, as the API reference says for this filter.
        let newest_first = filter.is_some_and(|(member, _)| member == "SubmitTimeAfter");
        if newest_first {
            jobs.reverse();
        }
        paginate(
            jobs,
            |job| (job.submit_time, job.job_id.as_str()),
            newest_first,
            request,
        )
        .map(|(page, next)| (page.into_iter().map(properties).collect::<Vec<_>>(), next))
    })?;
    let mut out = json!({ "DocumentClassificationJobPropertiesList": page });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

/// Starts the background run of a job (also used to resume after restart).
pub fn spawn_run(app: &Arc<App>, job_id: String) {
    let task_app = Arc::clone(app);
    app.spawn(async move { run(task_app, job_id).await });
}

async fn sleep_until_epoch(deadline: f64) {
    let wait = deadline - now_epoch();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}

async fn run(app: Arc<App>, job_id: String) {
    loop {
        let Some(job) = app.read(|store| store.jobs.get(&job_id).cloned()) else {
            return;
        };
        match job.status {
            JobStatus::Submitted => {
                sleep_until_epoch(job.in_progress_at).await;
                app.write(|store| {
                    if let Some(job) = store.jobs.get_mut(&job_id) {
                        if job.status == JobStatus::Submitted {
                            job.status = JobStatus::InProgress;
                        }
                    }
                });
            }
            JobStatus::InProgress => {
                sleep_until_epoch(job.finish_at).await;
                app.wait_while_held(job.job_name.as_deref()).await;
                let outcome = process(&app, &job).await;
                app.write(|store| {
                    if let Some(job) = store.jobs.get_mut(&job_id) {
                        if job.status == JobStatus::InProgress {
                            match outcome {
                                Ok(()) => job.status = JobStatus::Completed,
                                Err(message) => {
                                    job.status = JobStatus::Failed;
                                    job.message = Some(message);
                                }
                            }
                            job.end_time = Some(now_epoch());
                        }
                    }
                });
                return;
            }
            _ => return,
        }
    }
}

/// Reads the job's input, classifies each document and writes the archive;
/// the error is the job's FAILED message.
async fn process(app: &Arc<App>, job: &Job) -> Result<(), String> {
    if app.fails_job(job.job_name.as_deref()) {
        return Err(format!(
            "Injected failure for job {}",
            job.job_name.as_deref().unwrap_or_default()
        ));
    }
    let classifier_arn = job.document_classifier_arn.clone().unwrap_or_default();
    let model = app
        .read(|store| {
            store
                .classifiers
                .get(&classifier_arn)
                .and_then(|c| c.model.clone())
        })
        .ok_or_else(|| {
            format!("INTERNAL_ERROR: The classifier {classifier_arn} is no longer available.")
        })?;

    let input_uri = str_member(&job.input_data_config, "S3Uri").unwrap_or_default();
    let input = S3Location::parse(input_uri)
        .ok_or_else(|| format!("INVALID_INPUT: {input_uri} is not an S3 URI."))?;
    let objects = s3::read_prefix(&app.s3, &input)
        .await
        .map_err(|e| match e {
            S3Error::NoSuchBucket(bucket) => format!(
            "NO_READ_ACCESS_TO_INPUT: The provided data access role does not have proper access \
             to the input data at {input_uri}: the bucket {bucket} does not exist."
        ),
            S3Error::Other(detail) => format!(
                "NO_READ_ACCESS_TO_INPUT: Unable to read the input data at {input_uri}: {detail}"
            ),
        })?;
    if objects.is_empty() {
        return Err(format!(
            "INPUT_FILES_NOT_FOUND: No input files found at {input_uri}."
        ));
    }

    let one_doc_per_line =
        str_member(&job.input_data_config, "InputFormat") == Some("ONE_DOC_PER_LINE");
    let file_name = |key: &str| key.rsplit('/').next().unwrap_or(key).to_string();

    let output_uri = str_member(&job.output_data_config, "S3Uri").unwrap_or_default();
    let output = S3Location::parse(output_uri)
        .ok_or_else(|| format!("INVALID_OUTPUT: {output_uri} is not an S3 URI."))?;
    let write_error = |e: S3Error| match e {
        S3Error::NoSuchBucket(bucket) => format!(
            "NO_WRITE_ACCESS_TO_OUTPUT: The provided data access role does not have write \
             access to the output S3 URI {output_uri}: the bucket {bucket} does not exist."
        ),
        S3Error::Other(detail) => format!(
            "NO_WRITE_ACCESS_TO_OUTPUT: Unable to write the output to {output_uri}: {detail}"
        ),
    };
    let mtime = now_epoch() as u64;
    let fault = app.output_fault(job.job_name.as_deref());
    let line_fault = match fault {
        Some(OutputFault::Missing) => {
            // The job completes and reports its output URI; nothing is there.
            return s3::check_bucket(&app.s3, &output)
                .await
                .map_err(write_error);
        }
        Some(OutputFault::MalformedArchive) => {
            return s3::put(&app.s3, &output, MALFORMED_ARCHIVE.to_vec())
                .await
                .map_err(write_error);
        }
        Some(OutputFault::MalformedLines) => Some(LineFault::Malformed),
        Some(OutputFault::Errors) => Some(LineFault::Errors),
        None => None,
    };

    if let Some(bytes) = app.large_output(job.job_name.as_deref()) {
        let large = LargePredictions {
            file: file_name(&objects[0].key),
            labels: model.labels().to_vec(),
            multi_label: model.mode() == Mode::MultiLabel,
            fault: line_fault,
        };
        return write_large_output(app, &output, large, bytes, mtime)
            .await
            .map_err(|e| match e {
                LargeOutputError::Io(e) => {
                    format!("INTERNAL_ERROR: cannot build the output archive: {e}")
                }
                LargeOutputError::S3(e) => write_error(e),
            });
    }

    let mut predictions = Vec::new();
    for object in &objects {
        let file = file_name(&object.key);
        let text = String::from_utf8_lossy(&object.body);
        if one_doc_per_line {
            // One prediction a line, blank lines included, as the service
            // writes them.
            for (index, line) in text.lines().enumerate() {
                predictions.push(predict(&model, file.clone(), Some(index), line));
            }
        } else {
            predictions.push(predict(&model, file, None, &text));
        }
    }

    let archive = archive::spoiled_predictions_archive(&predictions, line_fault, mtime)
        .map_err(|e| format!("INTERNAL_ERROR: cannot build the output archive: {e}"))?;
    s3::put(&app.s3, &output, archive)
        .await
        .map_err(write_error)
}

/// Why a large output could not be written.
enum LargeOutputError {
    Io(std::io::Error),
    S3(S3Error),
}

/// Writes the `output.tar.gz` of a large output: `predictions.jsonl` of
/// about `bytes` bytes streamed through tar and gzip into a temporary file
/// (on a blocking thread), then uploaded from the file.
async fn write_large_output(
    app: &Arc<App>,
    output: &S3Location,
    large: LargePredictions,
    bytes: u64,
    mtime: u64,
) -> Result<(), LargeOutputError> {
    s3::check_bucket(&app.s3, output)
        .await
        .map_err(LargeOutputError::S3)?;
    let started = std::time::Instant::now();
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let (lines, size) = large.measure(bytes);
        let file = tempfile::Builder::new()
            .prefix("comprehend-standin-output-")
            .suffix(".tar.gz")
            .tempfile()?;
        let writer = large.write_archive(std::io::BufWriter::new(file), lines, size, mtime)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.as_file().sync_data()?;
        Ok((file, lines, size))
    })
    .await
    .map_err(|e| LargeOutputError::Io(std::io::Error::other(e)))?
    .map_err(LargeOutputError::Io)?;
    let (file, lines, size) = file;
    let built = started.elapsed();
    s3::put_file(&app.s3, output, file.path())
        .await
        .map_err(LargeOutputError::S3)?;
    let compressed = file.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    tracing::info!(
        uri = %output.uri(),
        lines,
        uncompressed = size,
        compressed,
        build_secs = built.as_secs_f64(),
        total_secs = started.elapsed().as_secs_f64(),
        "large output written"
    );
    Ok(())
}

fn predict(
    model: &crate::model::TrainedModel,
    file: String,
    line: Option<usize>,
    text: &str,
) -> Prediction {
    let scores = model.predict(text);
    let to_score = |(name, score): &(String, f64)| Score {
        name: name.clone(),
        score: archive::round_score(*score),
    };
    let (classes, labels) = match model.mode() {
        Mode::MultiClass => (
            Some(scores.iter().take(TOP_CLASSES).map(to_score).collect()),
            None,
        ),
        Mode::MultiLabel => (
            None,
            Some(
                scores
                    .iter()
                    .filter(|(_, score)| *score >= LABEL_THRESHOLD)
                    .map(to_score)
                    .collect(),
            ),
        ),
    };
    Prediction {
        file,
        line: line.map(|n| n.to_string()),
        classes,
        labels,
        errors: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_uri_has_the_service_layout() {
        assert_eq!(
            output_uri("s3://out/results/", "123456789012", "abc"),
            "s3://out/results/123456789012-CLN-abc/output/output.tar.gz"
        );
        assert_eq!(
            output_uri("s3://out", "123456789012", "abc"),
            "s3://out/123456789012-CLN-abc/output/output.tar.gz"
        );
    }
}
