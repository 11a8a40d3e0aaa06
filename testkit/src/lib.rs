//! What the operator's integration tests (`tests/*.rs`), `make demo`
//! (`examples/demo.rs`) and `make bench` (`examples/bench/`) share: the real
//! API server (from the test environment) and the CRDs, namespaces, a
//! stand-in per test, the operator binary as a process, manifests, waits,
//! kubectl, the stand-in's admin API, and the training and classification
//! fixtures. [`install`] holds what the install tests add.
//!
//! A dev-dependency of the operator's package only; it is not published.

pub mod install;
mod setup;

pub use setup::{setup, Setup};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_comprehend::config::{Credentials, Region};
use comprehend_operator::all_crds;
use comprehend_operator::classifier::crd::DocumentClassifier;
use comprehend_operator::job::ClassificationJob;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::json;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/comprehend-data-access";

/// The kubeconfig of the test API server, or a failure saying how to get one.
pub fn kubeconfig() -> PathBuf {
    match std::env::var_os("KUBECONFIG") {
        Some(p) if Path::new(&p).exists() => PathBuf::from(p),
        _ => panic!(
            "KUBECONFIG is not set: integration tests need the test API server. \
             Run `make test` (or `tests/env/with-env.sh cargo test --tests`)."
        ),
    }
}

pub async fn client() -> Client {
    let _ = kubeconfig();
    Client::try_default()
        .await
        .expect("kube client from KUBECONFIG")
}

/// Installs (or updates) the operator's CRDs and waits until they are
/// established.
pub async fn install_crd(client: &Client) {
    for (_, crd) in all_crds() {
        install_one_crd(client, crd).await;
    }
}

async fn install_one_crd(client: &Client, crd: CustomResourceDefinition) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.metadata.name.clone().unwrap();
    // Create or replace, not server-side apply: a 1.20 API server refuses
    // the CRD's CEL rules in an apply patch but drops them on create.
    match crds.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let current = crds.get(&name).await.expect("get CRD");
            let mut desired = crd.clone();
            desired.metadata.resource_version = current.metadata.resource_version;
            if let Err(e) = crds.replace(&name, &PostParams::default(), &desired).await {
                // Another test replaced it at the same moment: same content.
                assert!(
                    matches!(&e, kube::Error::Api(a) if a.code == 409),
                    "replace CRD: {e}"
                );
            }
        }
        Err(e) => panic!("create CRD: {e}"),
    }
    let est = kube::runtime::conditions::is_crd_established();
    tokio::time::timeout(
        Duration::from_secs(30),
        kube::runtime::wait::await_condition(crds, &name, est),
    )
    .await
    .expect("CRD established in time")
    .expect("watch CRD");
}

/// Creates a fresh namespace for one test.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}", &uuid_like()[..8]);
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    name
}

pub fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let c = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Fastest-changing digits first, so a short prefix is unique enough.
    format!("{:08x}{:04x}{:016x}", std::process::id(), c, n)
        .chars()
        .rev()
        .collect()
}

/// Where cargo put the workspace's binaries (`cargo build --workspace
/// --bins`), e.g. `bin("comprehend-standin")`.
///
/// `cargo test` tells an integration test where the operator binary is in
/// `CARGO_BIN_EXE_comprehend-operator` (when compiling it and, since cargo
/// 1.94, the workspace's minimum, also when running it); the other binaries
/// are beside it. Elsewhere (the examples, a test binary run by hand) the
/// binaries are one folder above the running executable's: tests live in
/// `<profile>/deps/`, examples in `<profile>/examples/`.
pub fn bin(name: &str) -> PathBuf {
    let dir = match std::env::var_os("CARGO_BIN_EXE_comprehend-operator") {
        Some(operator) => PathBuf::from(operator).parent().unwrap().to_path_buf(),
        None => std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf(),
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --workspace --bins` (make test does)",
        path.display()
    );
    path
}

/// A child process killed when dropped.
pub struct Proc {
    pub child: Child,
    pub name: &'static str,
}

impl Proc {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Comprehend stand-in (with its S3 server) of this test's own.
pub struct Standin {
    pub proc: Proc,
    pub endpoint: String,
    pub s3_endpoint: String,
    _dir: tempfile::TempDir,
}

impl Standin {
    pub fn start(args: &[&str]) -> Standin {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready.json");
        let child = Command::new(bin("comprehend-standin"))
            .args(["--listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0"])
            .arg("--s3-root")
            .arg(dir.path().join("s3"))
            .arg("--ready-file")
            .arg(&ready)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file(dir.path(), "standin")))
            .spawn()
            .expect("start comprehend-standin");
        let proc = Proc {
            child,
            name: "standin",
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let info: serde_json::Value = loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                if let Ok(v) = serde_json::from_str(&text) {
                    break v;
                }
            }
            assert!(Instant::now() < deadline, "stand-in did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        };
        Standin {
            proc,
            endpoint: info["endpoint"].as_str().unwrap().to_string(),
            s3_endpoint: info["s3Endpoint"].as_str().unwrap().to_string(),
            _dir: dir,
        }
    }

    pub async fn comprehend(&self) -> aws_sdk_comprehend::Client {
        // The stand-in enforces Comprehend's quotas (CreateDocumentClassifier
        // 1/s): two calls of a test within a second are throttled, as any
        // client's would be. The SDK's standard retry, with attempts enough
        // for a 1/s bucket to refill, as a client facing the quota would.
        let retry = aws_sdk_comprehend::config::retry::RetryConfig::standard().with_max_attempts(8);
        let conf = aws_sdk_comprehend::Config::builder()
            .behavior_version(aws_sdk_comprehend::config::BehaviorVersion::latest())
            .retry_config(retry)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .endpoint_url(&self.endpoint)
            .build();
        aws_sdk_comprehend::Client::from_conf(conf)
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(REGION))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .endpoint_url(&self.s3_endpoint)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        http_json(&self.endpoint, method, path, body).await
    }

    pub async fn stats(&self) -> serde_json::Value {
        self.admin("GET", "/_standin/stats", None).await
    }

    /// Jobs the stand-in holds whose name is `name`.
    pub async fn jobs_named(&self, name: &str) -> usize {
        let stats = self.stats().await;
        stats["jobs"]
            .as_array()
            .map(|jobs| jobs.iter().filter(|j| j["jobName"] == name).count())
            .unwrap_or(0)
    }

    /// Starts a classification job straight in the stand-in, as a script or
    /// the console would (no operator involved); returns its job ID.
    pub async fn start_job_directly(&self, job_name: &str, classifier_arn: &str) -> String {
        let output = format!("s3://output/{job_name}/");
        self.start_job_directly_to(job_name, classifier_arn, &output)
            .await
    }

    /// As [`Self::start_job_directly`], with its output at `output_uri`.
    pub async fn start_job_directly_to(
        &self,
        job_name: &str,
        classifier_arn: &str,
        output_uri: &str,
    ) -> String {
        self.comprehend()
            .await
            .start_document_classification_job()
            .job_name(job_name)
            .document_classifier_arn(classifier_arn)
            .input_data_config(
                aws_sdk_comprehend::types::InputDataConfig::builder()
                    .s3_uri("s3://input/docs/")
                    .input_format(aws_sdk_comprehend::types::InputFormat::OneDocPerFile)
                    .build()
                    .unwrap(),
            )
            .output_data_config(
                aws_sdk_comprehend::types::OutputDataConfig::builder()
                    .s3_uri(output_uri)
                    .build()
                    .unwrap(),
            )
            .data_access_role_arn(ROLE)
            .send()
            .await
            .expect("StartDocumentClassificationJob")
            .job_id()
            .expect("a job ID")
            .to_string()
    }

    /// The stand-in's record of the job with this ID (null if none).
    pub async fn job(&self, job_id: &str) -> serde_json::Value {
        let stats = self.stats().await;
        stats["jobs"]
            .as_array()
            .and_then(|jobs| jobs.iter().find(|j| j["jobId"] == job_id).cloned())
            .unwrap_or_default()
    }

    /// Uploads training data and creates a classifier of `name` straight in
    /// the stand-in; returns its ARN at once, while it trains.
    pub async fn create_classifier(&self, name: &str) -> String {
        let s3 = self.s3().await;
        ensure_bucket(&s3, "training").await;
        put(&s3, "training", "news/train.csv", TRAINING_CSV).await;
        let out = self
            .comprehend()
            .await
            .create_document_classifier()
            .document_classifier_name(name)
            .language_code(aws_sdk_comprehend::types::LanguageCode::En)
            .data_access_role_arn(ROLE)
            .input_data_config(
                aws_sdk_comprehend::types::DocumentClassifierInputDataConfig::builder()
                    .s3_uri("s3://training/news/train.csv")
                    .build(),
            )
            .send()
            .await
            .expect("CreateDocumentClassifier");
        out.document_classifier_arn().unwrap().to_string()
    }

    /// Uploads training data, trains a classifier, and returns its ARN once
    /// TRAINED.
    pub async fn trained_classifier(&self, name: &str) -> String {
        let arn = self.create_classifier(name).await;
        self.wait_trained(&arn).await;
        arn
    }

    /// Waits until the classifier `arn` is TRAINED (or TRAINED_WITH_WARNING).
    pub async fn wait_trained(&self, arn: &str) {
        let c = self.comprehend().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let d = c
                .describe_document_classifier()
                .document_classifier_arn(arn)
                .send()
                .await;
            if let Ok(d) = d {
                let status = d
                    .document_classifier_properties()
                    .and_then(|p| p.status())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                if status == "TRAINED" || status == "TRAINED_WITH_WARNING" {
                    return;
                }
                assert_ne!(status, "IN_ERROR", "training failed: {d:?}");
            }
            assert!(Instant::now() < deadline, "classifier not trained in time");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Uploads documents to classify under `s3://input/<prefix>/`.
    pub async fn upload_documents(&self, prefix: &str) {
        let s3 = self.s3().await;
        ensure_bucket(&s3, "input").await;
        ensure_bucket(&s3, "output").await;
        for (i, doc) in DOCUMENTS.iter().enumerate() {
            put(&s3, "input", &format!("{prefix}/doc-{i}.txt"), doc).await;
        }
    }
}

pub async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    let _ = s3.create_bucket().bucket(bucket).send().await;
}

pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .expect("put_object");
}

/// Reads `predictions.jsonl` out of the `output.tar.gz` at `uri`.
pub async fn read_predictions(s3: &aws_sdk_s3::Client, uri: &str) -> Vec<serde_json::Value> {
    let rest = uri.strip_prefix("s3://").expect("s3 uri");
    let (bucket, key) = rest.split_once('/').unwrap();
    let obj = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{uri} must exist: {e:?}"));
    let bytes = obj.body.collect().await.unwrap().into_bytes();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut found = None;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().to_string();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
        assert_eq!(path, "predictions.jsonl", "unexpected archive member");
        found = Some(text);
    }
    found
        .expect("archive holds predictions.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    let path = std::env::var_os("TEST_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.to_path_buf());
    let _ = std::fs::create_dir_all(&path);
    std::fs::File::create(path.join(format!("{name}-{}.log", uuid_like()))).unwrap()
}

/// The operator binary, run against the test API server and a stand-in.
pub struct Operator {
    pub proc: Proc,
}

impl Operator {
    pub fn start(namespace: &str, standin: &Standin, extra: &[&str]) -> Operator {
        Self::start_with_env(namespace, standin, extra, &[])
    }

    pub fn start_with_env(
        namespace: &str,
        standin: &Standin,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Operator {
        let log = log_file(&std::env::temp_dir(), &format!("operator-{namespace}"));
        let child = Command::new(bin("comprehend-operator"))
            .arg("run")
            .args(["--namespace", namespace])
            .args(["--endpoint-url", &standin.endpoint])
            .args(["--region", REGION])
            .args(["--http-addr", "127.0.0.1:0"])
            .args(["--poll-interval", "0.3"])
            .args(["--max-backoff", "2"])
            .args(extra)
            .env("KUBECONFIG", kubeconfig())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info,comprehend_operator=debug")
            .envs(env.iter().copied())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start comprehend-operator");
        Operator {
            proc: Proc {
                child,
                name: "operator",
            },
        }
    }
}

/// A ClassificationJob manifest with the common fields.
pub fn job_manifest(name: &str, classifier_arn: &str, input_prefix: &str) -> serde_json::Value {
    json!({
        "apiVersion": "comprehend.operators.dev/v1alpha1",
        "kind": "ClassificationJob",
        "metadata": {"name": name},
        "spec": {
            "documentClassifierArn": classifier_arn,
            "inputDataConfig": {"s3Uri": format!("s3://input/{input_prefix}/"), "inputFormat": "ONE_DOC_PER_FILE"},
            "outputDataConfig": {"s3Uri": format!("s3://output/{name}/")},
            "dataAccessRoleArn": ROLE,
        }
    })
}

/// A ClassificationJob manifest that follows the existing job `job_id`
/// (observe only).
pub fn observe_manifest(name: &str, job_id: &str) -> serde_json::Value {
    json!({
        "apiVersion": "comprehend.operators.dev/v1alpha1",
        "kind": "ClassificationJob",
        "metadata": {"name": name},
        "spec": {"jobId": job_id}
    })
}

/// A DocumentClassifier manifest trained from the COMPREHEND_CSV at
/// `csv_uri`.
pub fn classifier_manifest(
    name: &str,
    version: &str,
    csv_uri: &str,
    policy: &str,
) -> serde_json::Value {
    json!({
        "apiVersion": "comprehend.operators.dev/v1alpha1",
        "kind": "DocumentClassifier",
        "metadata": {"name": name},
        "spec": {
            "documentClassifierName": name,
            "versionName": version,
            "languageCode": "en",
            "mode": "MULTI_CLASS",
            "inputDataConfig": {"dataFormat": "COMPREHEND_CSV", "s3Uri": csv_uri},
            "dataAccessRoleArn": ROLE,
            "deletionPolicy": policy,
        }
    })
}

/// Waits until `check` holds for the named classifier (None: it is gone),
/// or fails with its last state.
pub async fn wait_classifier(
    api: &Api<DocumentClassifier>,
    name: &str,
    what: &str,
    check: impl Fn(Option<&DocumentClassifier>) -> bool,
) -> Option<DocumentClassifier> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let last = api.get_opt(name).await.expect("get DocumentClassifier");
        if check(last.as_ref()) {
            return last;
        }
        if Instant::now() > deadline {
            panic!("{name}: timed out waiting for {what}; last seen: {last:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The Ready condition of a DocumentClassifier: (status, reason, message).
pub fn ready(dc: Option<&DocumentClassifier>) -> Option<(String, String, String)> {
    dc?.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Whether the classifier is Ready=True.
pub fn is_ready(dc: Option<&DocumentClassifier>) -> bool {
    ready(dc).is_some_and(|r| r.0 == "True")
}

/// A ClassificationJob manifest that uses the DocumentClassifier
/// `classifier` of its namespace to classify the documents under
/// `input_prefix`.
pub fn job_with_classifier_ref(
    name: &str,
    classifier: &str,
    input_prefix: &str,
) -> serde_json::Value {
    let mut job = job_manifest(name, "unused", input_prefix);
    let spec = job["spec"].as_object_mut().unwrap();
    spec.remove("documentClassifierArn");
    spec.insert("classifierRef".into(), json!({"name": classifier}));
    job
}

pub async fn create_job(
    api: &Api<ClassificationJob>,
    manifest: serde_json::Value,
) -> ClassificationJob {
    let job: ClassificationJob = serde_json::from_value(manifest).unwrap();
    api.create(&PostParams::default(), &job)
        .await
        .expect("create ClassificationJob")
}

/// Waits until `check` holds for the named job, or fails with its last state.
pub async fn wait_for(
    api: &Api<ClassificationJob>,
    name: &str,
    timeout: Duration,
    what: &str,
    check: impl Fn(&ClassificationJob) -> bool,
) -> ClassificationJob {
    let deadline = Instant::now() + timeout;
    loop {
        let last = api.get_opt(name).await.expect("get ClassificationJob");
        if let Some(job) = &last {
            if check(job) {
                return job.clone();
            }
        }
        if Instant::now() > deadline {
            panic!("{name}: timed out waiting for {what}; last seen: {last:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The status and reason of a condition.
pub fn cond(job: &ClassificationJob, type_: &str) -> Option<(String, String, String)> {
    job.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// The status of `job` (empty if none yet).
pub fn status_of(
    job: &ClassificationJob,
) -> comprehend_operator::job::crd::ClassificationJobStatus {
    job.status.clone().unwrap_or_default()
}

pub fn succeeded(job: &ClassificationJob) -> Option<String> {
    cond(job, "Succeeded").map(|c| c.0)
}

/// A minimal HTTP/1.1 JSON client for the stand-in's admin API.
pub async fn http_json(
    base: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(hostport)
        .await
        .expect("connect admin API");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    stream.read_to_end(&mut resp).await.unwrap();
    let text = String::from_utf8_lossy(&resp).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(
        head.starts_with("HTTP/1.1 2"),
        "admin call {method} {path} failed: {head}"
    );
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    if body.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body))
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Runs a command, feeding it `stdin`; returns (success, stdout, stderr).
pub fn run_with_input(mut cmd: Command, stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Runs kubectl against the test API server.
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new("kubectl");
    cmd.args(args).env("KUBECONFIG", kubeconfig());
    run_with_input(cmd, stdin)
}

/// Stand-in timings that keep a job's whole life under a second.
pub const FAST: &[&str] = &[
    "--job-queued-secs",
    "0.2",
    "--job-running-secs",
    "0.5",
    "--training-secs",
    "0.2",
];

/// Three labels with distinct vocabularies, ten documents each.
pub const TRAINING_CSV: &str = "\
SPORTS,The striker scored a late goal and the team won the match
FINANCE,The central bank raised interest rates to fight inflation
WEATHER,Heavy rain and strong winds are forecast for the coast tonight
SPORTS,The coach praised the players after the championship game
FINANCE,Shares fell after the company reported weaker quarterly earnings
WEATHER,A heat wave will bring sunny skies and high temperatures
SPORTS,A record crowd watched the final and the goalkeeper saved a penalty
FINANCE,Investors bought bonds as the stock market dropped
WEATHER,Snow and freezing temperatures are expected in the mountains
SPORTS,The tennis player won the tournament in straight sets
FINANCE,The bank announced a dividend and a share buyback
WEATHER,The storm brought thunder lightning and flooding rain
SPORTS,The league season ends with a playoff match next week
FINANCE,Inflation and interest rates weighed on the currency
WEATHER,Forecasters expect cloudy skies with light showers tomorrow
SPORTS,Fans cheered as the runner broke the world record
FINANCE,The quarterly profit beat analyst forecasts and the stock rose
WEATHER,Fog and cold winds will clear by the afternoon with sunshine
SPORTS,The captain lifted the trophy after the team beat their rivals
FINANCE,The company raised its revenue outlook and investors cheered the shares
WEATHER,A cold front will bring snow showers and icy roads overnight
SPORTS,The referee showed a red card and the home side lost the game
FINANCE,Bond yields climbed as traders expected higher interest rates
WEATHER,Temperatures will rise this weekend under clear sunny skies
SPORTS,The cyclist won the stage and kept the leader's jersey
FINANCE,The merger lifted bank stocks and the market index
WEATHER,Gusty winds and heavy rain will spread inland by evening
SPORTS,The basketball team signed a new coach before the season
FINANCE,Analysts cut their earnings forecasts after weak sales
WEATHER,Frost is likely tonight before a dry and sunny morning
";

/// Documents to classify.
pub const DOCUMENTS: [&str; 6] = [
    "The goalkeeper saved a penalty and the team won the final match",
    "The bank raised interest rates and shares fell on the stock market",
    "Heavy snow and freezing winds are forecast for the mountains tonight",
    "The players celebrated the championship with the fans",
    "Investors sold bonds after the earnings report",
    "Sunny skies and high temperatures are expected tomorrow",
];

/// Status writes the API server audited for one ClassificationJob.
pub fn status_writes(namespace: &str, name: &str) -> usize {
    let dir = std::env::var_os("TEST_ENV_DIR")
        .expect("TEST_ENV_DIR is not set: run `make test` (tests/env/with-env.sh)");
    let log = std::fs::read_to_string(Path::new(&dir).join("audit.log")).unwrap_or_default();
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| {
            let r = &e["objectRef"];
            e["stage"] == "ResponseComplete"
                && e["verb"] == "patch"
                && r["resource"] == "classificationjobs"
                && r["subresource"] == "status"
                && r["namespace"] == namespace
                && r["name"] == name
                && e["responseStatus"]["code"] == 200
        })
        .count()
}
