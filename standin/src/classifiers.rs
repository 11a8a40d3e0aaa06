//! Custom document classifiers: CreateDocumentClassifier (COMPREHEND_CSV or
//! AUGMENTED_MANIFEST training data read from S3),
//! DescribeDocumentClassifier, ListDocumentClassifiers,
//! StopTrainingDocumentClassifier and DeleteDocumentClassifier. The
//! training run (SUBMITTED -> TRAINING -> TRAINED or IN_ERROR, or STOPPED)
//! is in `training.rs`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::jobs::request_tags;
use crate::model::Mode;
use crate::protocol::{
    epoch_json, epoch_millis, fingerprint, new_id, now_epoch, paginate, single_filter, str_member,
    ApiError,
};
use crate::state::{token_key, Classifier, ModelStatus, Store};
use crate::training::{output_uri, spawn_training, DEFAULT_LABEL_DELIMITER};

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::MultiClass => "MULTI_CLASS",
        Mode::MultiLabel => "MULTI_LABEL",
    }
}

fn not_found(arn: &str) -> ApiError {
    ApiError::resource_not_found(format!("The specified resource ARN was not found: {arn}"))
}

/// `DocumentClassifierProperties` of a classifier.
pub fn properties(classifier: &Classifier) -> Value {
    let mut out = Map::new();
    out.insert("DocumentClassifierArn".into(), json!(classifier.arn));
    out.insert("LanguageCode".into(), json!(classifier.language_code));
    out.insert("Status".into(), json!(classifier.status.as_str()));
    if let Some(message) = &classifier.message {
        out.insert("Message".into(), json!(message));
    }
    out.insert("SubmitTime".into(), epoch_json(classifier.submit_time));
    for (name, time) in [
        ("EndTime", classifier.end_time),
        ("TrainingStartTime", classifier.training_start_time),
        ("TrainingEndTime", classifier.training_end_time),
    ] {
        if let Some(time) = time {
            out.insert(name.into(), epoch_json(time));
        }
    }
    out.insert(
        "InputDataConfig".into(),
        classifier.input_data_config.clone(),
    );
    if let Some(output) = &classifier.output_data_config {
        out.insert("OutputDataConfig".into(), output.clone());
    }
    if let Some(metadata) = &classifier.metadata {
        let m = &metadata.evaluation_metrics;
        out.insert(
            "ClassifierMetadata".into(),
            json!({
                "NumberOfLabels": metadata.number_of_labels,
                "NumberOfTrainedDocuments": metadata.number_of_trained_documents,
                "NumberOfTestDocuments": metadata.number_of_test_documents,
                "EvaluationMetrics": {
                    "Accuracy": m.accuracy,
                    "Precision": m.precision,
                    "Recall": m.recall,
                    "F1Score": m.f1_score,
                    "MicroPrecision": m.micro_precision,
                    "MicroRecall": m.micro_recall,
                    "MicroF1Score": m.micro_f1_score,
                    "HammingLoss": m.hamming_loss,
                },
            }),
        );
    }
    out.insert(
        "DataAccessRoleArn".into(),
        json!(classifier.data_access_role_arn),
    );
    if let Some(key) = &classifier.volume_kms_key_id {
        out.insert("VolumeKmsKeyId".into(), json!(key));
    }
    if let Some(vpc) = &classifier.vpc_config {
        out.insert("VpcConfig".into(), vpc.clone());
    }
    out.insert("Mode".into(), json!(mode_name(classifier.mode)));
    if let Some(key) = &classifier.model_kms_key_id {
        out.insert("ModelKmsKeyId".into(), json!(key));
    }
    if let Some(version) = &classifier.version_name {
        out.insert("VersionName".into(), json!(version));
    }
    Value::Object(out)
}

/// CreateDocumentClassifier, in `account`.
pub fn create(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let input = &request["InputDataConfig"];
    let data_format = str_member(input, "DataFormat").unwrap_or("COMPREHEND_CSV");
    if str_member(input, "DocumentType") == Some("SEMI_STRUCTURED_DOCUMENT")
        || input.get("Documents").is_some()
    {
        return Err(ApiError::invalid_request(
            "Native document (SEMI_STRUCTURED_DOCUMENT) training is not supported by this \
             stand-in; train a plain-text model.",
        ));
    }
    if data_format == "AUGMENTED_MANIFEST" {
        let manifests = input
            .get("AugmentedManifests")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if manifests.is_empty() {
            return Err(ApiError::invalid_request(
                "AugmentedManifests must be specified when DataFormat is AUGMENTED_MANIFEST.",
            ));
        }
        if manifests
            .iter()
            .any(|m| str_member(m, "DocumentType") == Some("SEMI_STRUCTURED_DOCUMENT"))
        {
            return Err(ApiError::invalid_request(
                "Augmented manifests of SEMI_STRUCTURED_DOCUMENT documents are not supported \
                 by this stand-in; use PLAIN_TEXT_DOCUMENT manifests.",
            ));
        }
    } else if str_member(input, "S3Uri").is_none() {
        return Err(ApiError::invalid_request(
            "S3Uri must be specified when DataFormat is COMPREHEND_CSV.",
        ));
    }
    let mode = match str_member(request, "Mode") {
        Some("MULTI_LABEL") => Mode::MultiLabel,
        _ => Mode::MultiClass,
    };
    let name = str_member(request, "DocumentClassifierName").unwrap_or_default();
    let version = str_member(request, "VersionName");
    let mut arn = format!(
        "arn:aws:comprehend:{}:{account}:document-classifier/{name}",
        app.account.region
    );
    if let Some(version) = version {
        arn.push_str(&format!("/version/{version}"));
    }
    let token = str_member(request, "ClientRequestToken").map(str::to_string);
    let print = fingerprint(request);
    let tags = request_tags(request);

    let mut reported_input = input.clone();
    reported_input["DataFormat"] = json!(data_format);
    if mode == Mode::MultiLabel
        && data_format == "COMPREHEND_CSV"
        && reported_input.get("LabelDelimiter").is_none()
    {
        reported_input["LabelDelimiter"] = json!(DEFAULT_LABEL_DELIMITER);
    }

    // The training output's full location is reported from the start, as
    // for jobs.
    let classifier_id = new_id();
    let mut reported_output = request.get("OutputDataConfig").cloned();
    if let Some(output) = reported_output.as_mut() {
        if let Some(prefix) = str_member(output, "S3Uri").map(str::to_string) {
            output["S3Uri"] = json!(output_uri(&prefix, account, &classifier_id));
        }
    }

    let created = app.write(|store: &mut Store| {
        if let Some(token) = &token {
            if let Some(existing) = store
                .classifier_tokens
                .get(&token_key(account, token))
                .and_then(|arn| store.classifiers.get(arn))
            {
                if existing.request_fingerprint == print {
                    return Ok(false);
                }
                return Err(ApiError::invalid_request(format!(
                    "ClientRequestToken {token} was already used with different parameters \
                     (idempotency mismatch)."
                )));
            }
        }
        if store.classifiers.contains_key(&arn) {
            return Err(ApiError::resource_in_use(format!(
                "A classifier with the name {name}{} already exists.",
                version
                    .map(|v| format!(" and version {v}"))
                    .unwrap_or_default()
            )));
        }
        let classifier = Classifier {
            account: account.to_string(),
            arn: arn.clone(),
            classifier_id: classifier_id.clone(),
            name: name.to_string(),
            version_name: version.map(str::to_string),
            status: ModelStatus::Submitted,
            message: None,
            submit_time: now_epoch(),
            end_time: None,
            training_start_time: None,
            training_end_time: None,
            training_done_at: None,
            deleted_at: None,
            language_code: str_member(request, "LanguageCode")
                .unwrap_or("en")
                .to_string(),
            mode,
            input_data_config: reported_input.clone(),
            output_data_config: reported_output.clone(),
            data_access_role_arn: str_member(request, "DataAccessRoleArn")
                .unwrap_or_default()
                .to_string(),
            volume_kms_key_id: str_member(request, "VolumeKmsKeyId").map(str::to_string),
            model_kms_key_id: str_member(request, "ModelKmsKeyId").map(str::to_string),
            vpc_config: request.get("VpcConfig").cloned(),
            metadata: None,
            model: None,
            client_request_token: token.clone(),
            request_fingerprint: print.clone(),
        };
        if let Some(token) = &token {
            store
                .classifier_tokens
                .insert(token_key(account, token), arn.clone());
        }
        if !tags.is_empty() {
            store.tags.insert(arn.clone(), tags.clone());
        }
        store.classifiers.insert(arn.clone(), classifier);
        Ok(true)
    })?;
    if created {
        spawn_training(app, arn.clone());
    }
    Ok(json!({ "DocumentClassifierArn": arn }))
}

/// DescribeDocumentClassifier: a classifier of another account is not
/// found.
pub fn describe(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let arn = str_member(request, "DocumentClassifierArn").unwrap_or_default();
    app.read(|store| {
        store
            .classifiers
            .get(arn)
            .filter(|c| c.account == account)
            .map(|c| json!({ "DocumentClassifierProperties": properties(c) }))
            .ok_or_else(|| not_found(arn))
    })
}

/// ListDocumentClassifiers: the classifiers of `account`.
pub fn list(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let filter = single_filter(
        request,
        &[
            "Status",
            "DocumentClassifierName",
            "SubmitTimeBefore",
            "SubmitTimeAfter",
        ],
    )?;
    // Filtered, sorted and paged by reference under the lock, as for jobs.
    let (page, next) = app.read(|store| {
        let millis = epoch_millis(filter.and_then(|(_, v)| v.as_f64()).unwrap_or_default());
        let text = filter.and_then(|(_, v)| v.as_str()).unwrap_or_default();
        let mut classifiers: Vec<&Classifier> = store
            .classifiers
            .values()
            .filter(|c| c.account == account)
            .filter(|c| match filter.map(|(member, _)| member) {
                None => true,
                Some("Status") => c.status.as_str() == text,
                Some("DocumentClassifierName") => c.name == text,
                Some("SubmitTimeBefore") => epoch_millis(c.submit_time) < millis,
                Some(_) => epoch_millis(c.submit_time) > millis,
            })
            .collect();
        classifiers.sort_by(|a, b| {
            a.submit_time
                .total_cmp(&b.submit_time)
                .then_with(|| a.arn.cmp(&b.arn))
        });
        // Newest first with SubmitTimeAfter, as for jobs.
        let newest_first = filter.is_some_and(|(member, _)| member == "SubmitTimeAfter");
        if newest_first {
            classifiers.reverse();
        }
        paginate(
            classifiers,
            |c| (c.submit_time, c.arn.as_str()),
            newest_first,
            request,
        )
        .map(|(page, next)| (page.into_iter().map(properties).collect::<Vec<_>>(), next))
    })?;
    let mut out = json!({ "DocumentClassifierPropertiesList": page });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

/// StopTrainingDocumentClassifier: a classifier still training goes to
/// STOP_REQUESTED and then STOPPED; any other is left as it is.
pub fn stop_training(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let arn = str_member(request, "DocumentClassifierArn").unwrap_or_default();
    app.write(|store| {
        let classifier = store
            .classifiers
            .get_mut(arn)
            .filter(|c| c.account == account)
            .ok_or_else(|| not_found(arn))?;
        if matches!(
            classifier.status,
            ModelStatus::Submitted | ModelStatus::Training
        ) {
            classifier.status = ModelStatus::StopRequested;
        }
        Ok(json!({}))
    })
}

/// DeleteDocumentClassifier: DELETING, then gone.
pub fn delete(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let arn = str_member(request, "DocumentClassifierArn").unwrap_or_default();
    let limits = app.limits();
    let started = app.write(|store| {
        let in_use = store
            .jobs
            .values()
            .any(|j| j.status.is_active() && j.document_classifier_arn.as_deref() == Some(arn));
        let classifier = store
            .classifiers
            .get_mut(arn)
            .filter(|c| c.account == account)
            .ok_or_else(|| not_found(arn))?;
        if classifier.status.is_training() {
            return Err(ApiError::resource_in_use(format!(
                "The classifier {arn} cannot be deleted while it is {}.",
                classifier.status.as_str()
            )));
        }
        if in_use {
            return Err(ApiError::resource_in_use(format!(
                "The classifier {arn} is in use by an active classification job."
            )));
        }
        if classifier.status == ModelStatus::Deleting {
            return Ok(false);
        }
        classifier.status = ModelStatus::Deleting;
        classifier.deleted_at = Some(now_epoch() + limits.deleting_secs);
        Ok(true)
    })?;
    if started {
        spawn_deletion(app, arn.to_string());
    }
    Ok(json!({}))
}

/// Starts the background removal of a DELETING classifier.
pub fn spawn_deletion(app: &Arc<App>, arn: String) {
    let task_app = Arc::clone(app);
    app.spawn(async move {
        let deadline =
            task_app.read(|store| store.classifiers.get(&arn).and_then(|c| c.deleted_at));
        let Some(deadline) = deadline else { return };
        let wait = deadline - now_epoch();
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        task_app.write(|store| {
            if store
                .classifiers
                .get(&arn)
                .is_some_and(|c| c.status == ModelStatus::Deleting)
            {
                store.classifiers.remove(&arn);
                store.tags.remove(&arn);
                store.classifier_tokens.retain(|_, a| a != &arn);
            }
        });
    });
}
