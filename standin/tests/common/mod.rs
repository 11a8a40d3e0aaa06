//! Helpers shared by the integration tests: an in-process stand-in with
//! fast timings, the real SDK clients pointed at it, training data, and a
//! raw HTTP call for protocol-level checks.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::io::Read;
use std::time::{Duration, Instant};

use aws_sdk_comprehend::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_comprehend::operation::start_document_classification_job::builders::StartDocumentClassificationJobFluentBuilder;
use aws_sdk_comprehend::types::{
    DocumentClassifierInputDataConfig, DocumentClassifierMode, InputDataConfig, InputFormat,
    JobStatus, LanguageCode, ModelStatus, OutputDataConfig,
};
use aws_sdk_comprehend::Client;
use aws_smithy_types::retry::RetryConfig;
use comprehend_standin::{Config, Limits, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The role every test uses.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/comprehend-data-access";

/// Training data: three labels, clearly separated vocabularies.
pub const TRAINING_CSV: &str = "\
SPORTS,the team won the football match with a late goal
SPORTS,the striker scored twice and the crowd cheered the goal
SPORTS,a tennis player won the final set of the match
SPORTS,the coach praised the team after the league game
POLITICS,the parliament passed the budget after a long vote
POLITICS,the minister announced a new election campaign
POLITICS,voters elected a new senator in the election
POLITICS,the government debated the tax law in parliament
COOKING,bake the bread in a hot oven with butter and flour
COOKING,stir the soup and add salt pepper and garlic
COOKING,the recipe needs sugar eggs and flour for the cake
COOKING,roast the chicken with garlic butter in the oven
";

/// Multi-label training data, `|` between labels.
pub const MULTI_LABEL_CSV: &str = "\
SPORTS|POLITICS,the minister attended the football match and the team won
SPORTS,the striker scored a goal and the team won the match
SPORTS,the tennis player won the final match
POLITICS,the parliament passed the budget after a vote
POLITICS,voters elected a new senator in the election
COOKING,bake the bread in a hot oven with butter and flour
COOKING,stir the soup and add salt pepper and garlic
COOKING|POLITICS,the minister baked a cake with flour and sugar for the election party
";

/// Timings short enough for tests, and quotas that do not get in the way
/// unless a test sets them.
pub fn fast_limits() -> Limits {
    Limits {
        start_tps: 100.0,
        describe_tps: 1000.0,
        list_tps: 1000.0,
        classifier_write_tps: 100.0,
        classifier_read_tps: 1000.0,
        tag_tps: 100.0,
        list_tags_tps: 1000.0,
        max_active_jobs: 10,
        job_queued_secs: 0.2,
        job_running_secs: 0.2,
        training_secs: 0.2,
        deleting_secs: 0.1,
    }
}

/// A config with [`fast_limits`].
pub fn fast_config() -> Config {
    Config {
        limits: fast_limits(),
        seed: Some(7),
        ..Config::default()
    }
}

/// A stand-in with clients for it.
pub struct Harness {
    /// The running stand-in.
    pub running: Running,
    /// The Comprehend client (retries off, so errors show as they are).
    pub comprehend: Client,
    /// An S3 client for the stand-in's S3 server.
    pub s3: aws_sdk_s3::Client,
}

/// A Comprehend client for `endpoint`, with retries off.
pub fn comprehend_client(endpoint: &str) -> Client {
    let config = aws_sdk_comprehend::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

impl Harness {
    /// Starts a stand-in with `config`.
    pub async fn start(config: Config) -> Harness {
        let running = comprehend_standin::start(config)
            .await
            .expect("stand-in starts");
        let comprehend = comprehend_client(running.endpoint());
        let s3 = comprehend_standin::s3::client(running.s3_endpoint(), running.region());
        Harness {
            running,
            comprehend,
            s3,
        }
    }

    /// Starts a stand-in with [`fast_config`].
    pub async fn fast() -> Harness {
        Harness::start(fast_config()).await
    }

    /// Creates a bucket.
    pub async fn bucket(&self, name: &str) {
        self.s3
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("bucket created");
    }

    /// Writes an object.
    pub async fn put(&self, bucket: &str, key: &str, body: &str) {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .expect("object written");
    }

    /// Reads an object.
    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("object read")
            .body
            .collect()
            .await
            .expect("body read")
            .into_bytes()
            .to_vec()
    }

    /// Uploads `csv` to `s3://train/<name>.csv` and creates a classifier
    /// from it, returning its ARN.
    pub async fn create_classifier(
        &self,
        name: &str,
        csv: &str,
        mode: DocumentClassifierMode,
    ) -> String {
        let _ = self.s3.create_bucket().bucket("train").send().await;
        self.put("train", &format!("{name}.csv"), csv).await;
        let mut input =
            DocumentClassifierInputDataConfig::builder().s3_uri(format!("s3://train/{name}.csv"));
        if mode == DocumentClassifierMode::MultiLabel {
            input = input.label_delimiter("|");
        }
        self.comprehend
            .create_document_classifier()
            .document_classifier_name(name)
            .data_access_role_arn(ROLE)
            .language_code(LanguageCode::En)
            .mode(mode)
            .input_data_config(input.build())
            .send()
            .await
            .expect("classifier created")
            .document_classifier_arn()
            .expect("classifier ARN")
            .to_string()
    }

    /// Waits until the classifier leaves SUBMITTED/TRAINING; returns its status.
    pub async fn wait_classifier(&self, arn: &str) -> ModelStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = self
                .comprehend
                .describe_document_classifier()
                .document_classifier_arn(arn)
                .send()
                .await
                .expect("describe classifier")
                .document_classifier_properties()
                .and_then(|p| p.status().cloned())
                .expect("status");
            if !matches!(
                status,
                ModelStatus::Submitted | ModelStatus::Training | ModelStatus::StopRequested
            ) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "classifier {arn} still {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A trained multi-class classifier.
    pub async fn trained_classifier(&self, name: &str) -> String {
        let arn = self
            .create_classifier(name, TRAINING_CSV, DocumentClassifierMode::MultiClass)
            .await;
        assert_eq!(self.wait_classifier(&arn).await, ModelStatus::Trained);
        arn
    }

    /// Starts a job with the usual shape.
    pub async fn start_job(
        &self,
        name: &str,
        classifier_arn: &str,
        input_uri: &str,
        format: InputFormat,
        output_uri: &str,
    ) -> Result<String, aws_sdk_comprehend::error::SdkError<aws_sdk_comprehend::operation::start_document_classification_job::StartDocumentClassificationJobError>>
    {
        self.comprehend
            .start_document_classification_job()
            .job_name(name)
            .document_classifier_arn(classifier_arn)
            .data_access_role_arn(ROLE)
            .input_data_config(
                InputDataConfig::builder()
                    .s3_uri(input_uri)
                    .input_format(format)
                    .build()
                    .expect("input config"),
            )
            .output_data_config(
                OutputDataConfig::builder()
                    .s3_uri(output_uri)
                    .build()
                    .expect("output config"),
            )
            .send()
            .await
            .map(|out| out.job_id().expect("job id").to_string())
    }

    /// Waits until the job is COMPLETED, FAILED or STOPPED; returns its
    /// properties.
    pub async fn wait_job(
        &self,
        job_id: &str,
    ) -> aws_sdk_comprehend::types::DocumentClassificationJobProperties {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let properties = self
                .comprehend
                .describe_document_classification_job()
                .job_id(job_id)
                .send()
                .await
                .expect("describe job")
                .document_classification_job_properties()
                .cloned()
                .expect("properties");
            let status = properties.job_status().cloned().expect("status");
            if matches!(
                status,
                JobStatus::Completed | JobStatus::Failed | JobStatus::Stopped
            ) {
                return properties;
            }
            assert!(Instant::now() < deadline, "job {job_id} still {status:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A raw HTTP/1.1 response.
#[derive(Debug)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl RawResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// Sends one HTTP/1.1 request over a fresh connection.
pub async fn raw_request(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    let address = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read response");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Calls a Comprehend operation with a raw JSON body.
pub async fn raw_call(endpoint: &str, target: Option<&str>, body: &str) -> RawResponse {
    let mut headers = vec![("Content-Type", "application/x-amz-json-1.1")];
    if let Some(target) = target {
        headers.push(("X-Amz-Target", target));
    }
    raw_request(endpoint, "POST", "/", &headers, body).await
}

/// A classifier ARN that passes validation (no such classifier exists).
pub const CLASSIFIER: &str = "arn:aws:comprehend:us-east-1:123456789012:document-classifier/demo";

/// A ONE_DOC_PER_LINE job input at `uri`.
pub fn input(uri: &str) -> InputDataConfig {
    InputDataConfig::builder()
        .s3_uri(uri)
        .input_format(InputFormat::OneDocPerLine)
        .build()
        .unwrap()
}

/// A job output at `uri`.
pub fn output(uri: &str) -> OutputDataConfig {
    OutputDataConfig::builder().s3_uri(uri).build().unwrap()
}

/// A start request that passes validation (the classifier does not exist,
/// so it ends in ResourceNotFoundException).
pub fn good_start(h: &Harness) -> StartDocumentClassificationJobFluentBuilder {
    h.comprehend
        .start_document_classification_job()
        .job_name("good-job")
        .document_classifier_arn(CLASSIFIER)
        .data_access_role_arn(ROLE)
        .input_data_config(input("s3://in-bucket/docs/"))
        .output_data_config(output("s3://out-bucket/results/"))
}

/// Downloads an `output.tar.gz` and returns its members' names and the
/// parsed lines of `predictions.jsonl`.
pub async fn read_output(h: &Harness, uri: &str) -> (Vec<String>, Vec<serde_json::Value>) {
    let rest = uri.strip_prefix("s3://").unwrap();
    let (bucket, key) = rest.split_once('/').unwrap();
    let bytes = h.get(bucket, key).await;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut names = Vec::new();
    let mut lines = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        names.push(entry.path().unwrap().display().to_string());
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        for line in text.lines() {
            lines.push(serde_json::from_str(line).unwrap());
        }
    }
    (names, lines)
}
