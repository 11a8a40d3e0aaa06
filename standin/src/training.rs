//! The training run of a classifier: read the training data from S3
//! (`COMPREHEND_CSV`, or `AUGMENTED_MANIFEST` files split TRAIN/TEST),
//! SUBMITTED -> TRAINING for the configured time, train, write the training
//! output (`output.tar.gz` with `confusion_matrix.json`) when an output
//! location was given, then TRAINED, or IN_ERROR with a message, or STOPPED
//! when a stop was asked for.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::app::App;
use crate::archive;
use crate::manifest;
use crate::model::{self, Document, Mode, TrainingReport};
use crate::protocol::{now_epoch, str_member};
use crate::s3::{self, S3Error, S3Location, S3Object};
use crate::state::{Classifier, ClassifierMetadata, ModelStatus};

/// The label delimiter when none is given.
pub const DEFAULT_LABEL_DELIMITER: &str = "|";

/// The member of a classifier's `output.tar.gz` holding the confusion matrix.
pub const CONFUSION_MATRIX_MEMBER: &str = "confusion_matrix.json";

/// How often a waiting training run looks for a stop request.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The full URI of a classifier's training output.
pub fn output_uri(output_prefix: &str, account: &str, classifier_id: &str) -> String {
    format!(
        "{}/{account}-CLR-{classifier_id}/output/output.tar.gz",
        output_prefix.trim_end_matches('/')
    )
}

/// Starts the background training of a classifier (also used to resume).
pub fn spawn_training(app: &Arc<App>, arn: String) {
    let task_app = Arc::clone(app);
    app.spawn(async move { train(task_app, arn).await });
}

/// Moves a classifier to a final status, unless it has gone meanwhile.
fn finish(app: &App, arn: &str, update: impl FnOnce(&mut Classifier)) {
    app.write(|store| {
        if let Some(classifier) = store.classifiers.get_mut(arn) {
            update(classifier);
            classifier.end_time.get_or_insert_with(now_epoch);
        }
    });
}

fn stopped(classifier: &mut Classifier) {
    classifier.status = ModelStatus::Stopped;
    classifier.message = Some("Training was stopped by StopTrainingDocumentClassifier.".into());
}

fn in_error(message: String) -> impl FnOnce(&mut Classifier) {
    move |classifier| {
        classifier.status = ModelStatus::InError;
        classifier.message = Some(message);
    }
}

fn status_of(app: &App, arn: &str) -> Option<ModelStatus> {
    app.read(|store| store.classifiers.get(arn).map(|c| c.status))
}

/// Every object under a training data URI, with the error messages of the
/// service when there is none or it cannot be read.
async fn read_objects(app: &App, uri: &str) -> Result<(S3Location, Vec<S3Object>), String> {
    let location =
        S3Location::parse(uri).ok_or_else(|| format!("INVALID_INPUT: {uri} is not an S3 URI."))?;
    let objects = s3::read_prefix(&app.s3, &location)
        .await
        .map_err(|e| match e {
            S3Error::NoSuchBucket(bucket) => format!(
                "NO_READ_ACCESS_TO_INPUT: The provided data access role does not have proper \
                 access to the training data at {uri}: the bucket {bucket} does not exist."
            ),
            S3Error::Other(detail) => {
                format!(
                    "NO_READ_ACCESS_TO_INPUT: Unable to read the training data at {uri}: {detail}"
                )
            }
        })?;
    if objects.is_empty() {
        return Err(format!(
            "INPUT_FILES_NOT_FOUND: No training data found at {uri}."
        ));
    }
    Ok((location, objects))
}

fn utf8(location: &S3Location, object: S3Object) -> Result<String, String> {
    String::from_utf8(object.body).map_err(|_| {
        format!(
            "INVALID_INPUT: The training file s3://{}/{} is not UTF-8 text.",
            location.bucket, object.key
        )
    })
}

async fn read_csv(app: &App, uri: &str) -> Result<String, String> {
    let (location, objects) = read_objects(app, uri).await?;
    let mut text = String::new();
    for object in objects {
        text.push_str(&utf8(&location, object)?);
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    Ok(text)
}

/// What a classifier trains on, once read from S3.
enum TrainingData {
    /// `COMPREHEND_CSV`: the training and test files' text.
    Csv {
        training: String,
        test: Option<String>,
        delimiter: String,
    },
    /// `AUGMENTED_MANIFEST`: the documents of the TRAIN and TEST manifests.
    Documents {
        training: Vec<Document>,
        test: Option<Vec<Document>>,
    },
}

/// Reads the documents of the `AugmentedManifests` of an input config.
async fn read_manifests(app: &App, input: &Value, mode: Mode) -> Result<TrainingData, String> {
    let manifests = input
        .get("AugmentedManifests")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut training = Vec::new();
    let mut test = Vec::new();
    for manifest in manifests {
        let uri = str_member(manifest, "S3Uri").unwrap_or_default();
        let attributes: Vec<String> = manifest
            .get("AttributeNames")
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let (location, objects) = read_objects(app, uri).await?;
        let into = if str_member(manifest, "Split") == Some("TEST") {
            &mut test
        } else {
            &mut training
        };
        for object in objects {
            let object_uri = format!("s3://{}/{}", location.bucket, object.key);
            let text = utf8(&location, object)?;
            let documents = manifest::parse(&text, &object_uri, &attributes, mode)
                .map_err(|e| format!("INVALID_INPUT: {e}"))?;
            into.extend(documents);
        }
    }
    if training.is_empty() {
        return Err(
            "INVALID_INPUT: The augmented manifests hold no training documents: at least one \
             manifest with Split TRAIN (the default) must have documents."
                .to_string(),
        );
    }
    Ok(TrainingData::Documents {
        training,
        test: (!test.is_empty()).then_some(test),
    })
}

async fn read_training_data(app: &App, classifier: &Classifier) -> Result<TrainingData, String> {
    let input = &classifier.input_data_config;
    if str_member(input, "DataFormat") == Some("AUGMENTED_MANIFEST") {
        return read_manifests(app, input, classifier.mode).await;
    }
    let training = read_csv(app, str_member(input, "S3Uri").unwrap_or_default()).await?;
    let test = match str_member(input, "TestS3Uri") {
        Some(uri) => Some(read_csv(app, uri).await?),
        None => None,
    };
    Ok(TrainingData::Csv {
        training,
        test,
        delimiter: str_member(input, "LabelDelimiter")
            .unwrap_or(DEFAULT_LABEL_DELIMITER)
            .to_string(),
    })
}

/// Writes `output.tar.gz` with `confusion_matrix.json` to `uri`.
async fn write_output(app: &App, uri: &str, report: &TrainingReport) -> Result<(), String> {
    let location =
        S3Location::parse(uri).ok_or_else(|| format!("INVALID_OUTPUT: {uri} is not an S3 URI."))?;
    let json = serde_json::to_vec_pretty(&report.confusion_matrix)
        .map_err(|e| format!("INTERNAL_ERROR: cannot write the confusion matrix: {e}"))?;
    let archive =
        archive::single_member_archive(CONFUSION_MATRIX_MEMBER, &json, now_epoch() as u64)
            .map_err(|e| format!("INTERNAL_ERROR: cannot build the output archive: {e}"))?;
    s3::put(&app.s3, &location, archive)
        .await
        .map_err(|e| match e {
            S3Error::NoSuchBucket(bucket) => format!(
                "NO_WRITE_ACCESS_TO_OUTPUT: The provided data access role does not have write \
                 access to the output S3 URI {uri}: the bucket {bucket} does not exist."
            ),
            S3Error::Other(detail) => format!(
                "NO_WRITE_ACCESS_TO_OUTPUT: Unable to write the training output to {uri}: \
                 {detail}"
            ),
        })
}

async fn train(app: Arc<App>, arn: String) {
    let Some(classifier) = app.read(|store| store.classifiers.get(&arn).cloned()) else {
        return;
    };
    match classifier.status {
        ModelStatus::StopRequested => return finish(&app, &arn, stopped),
        ModelStatus::Submitted | ModelStatus::Training => {}
        _ => return,
    }
    let data = match read_training_data(&app, &classifier).await {
        Ok(data) => data,
        Err(message) => return finish(&app, &arn, in_error(message)),
    };

    let training_secs = app.limits().training_secs;
    let done_at = app.write(|store| {
        let classifier = store.classifiers.get_mut(&arn)?;
        if classifier.status == ModelStatus::Submitted {
            classifier.status = ModelStatus::Training;
        }
        let now = now_epoch();
        classifier.training_start_time.get_or_insert(now);
        Some(
            *classifier
                .training_done_at
                .get_or_insert(now + training_secs),
        )
    });
    let Some(done_at) = done_at else { return };

    loop {
        match status_of(&app, &arn) {
            Some(ModelStatus::StopRequested) => return finish(&app, &arn, stopped),
            Some(ModelStatus::Training) => {}
            _ => return,
        }
        let wait = done_at - now_epoch();
        if wait <= 0.0 {
            break;
        }
        tokio::time::sleep(STOP_POLL.min(Duration::from_secs_f64(wait))).await;
    }

    let mode = classifier.mode;
    let report = tokio::task::spawn_blocking(move || match data {
        TrainingData::Csv {
            training,
            test,
            delimiter,
        } => model::train(&training, test.as_deref(), mode, &delimiter),
        TrainingData::Documents { training, test } => model::train_documents(training, test, mode),
    })
    .await
    .unwrap_or_else(|e| Err(format!("training crashed: {e}")))
    .map_err(|message| format!("INVALID_INPUT: {message}"));
    let output = classifier
        .output_data_config
        .as_ref()
        .and_then(|o| str_member(o, "S3Uri"));
    let report = match (report, output) {
        (Ok(report), Some(uri)) => write_output(&app, uri, &report).await.map(|()| report),
        (report, _) => report,
    };

    finish(&app, &arn, move |classifier| {
        if classifier.status == ModelStatus::StopRequested {
            return stopped(classifier);
        }
        if classifier.status != ModelStatus::Training {
            return;
        }
        let now = now_epoch();
        classifier.training_end_time = Some(now);
        match report {
            Ok(report) => {
                classifier.status = ModelStatus::Trained;
                classifier.metadata = Some(ClassifierMetadata {
                    number_of_labels: report.number_of_labels,
                    number_of_trained_documents: report.number_of_trained_documents,
                    number_of_test_documents: report.number_of_test_documents,
                    evaluation_metrics: report.metrics,
                });
                classifier.model = Some(report.model);
            }
            Err(message) => in_error(message)(classifier),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_uri_has_the_service_layout() {
        assert_eq!(
            output_uri("s3://out/training/", "123456789012", "abc"),
            "s3://out/training/123456789012-CLR-abc/output/output.tar.gz"
        );
        assert_eq!(
            output_uri("s3://out", "123456789012", "abc"),
            "s3://out/123456789012-CLR-abc/output/output.tar.gz"
        );
    }
}
