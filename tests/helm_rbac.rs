//! The Helm chart's RBAC is enough for the operator: the chart is installed
//! by the real Helm engine (tests/helm/helmctl.py, helm-python-sdk), and the
//! operator binary runs *as the chart's ServiceAccount* (a kubeconfig whose
//! user impersonates it) until a DocumentClassifier is trained (finalizer
//! patched on, status written), a ClassificationJob that names it by
//! classifierRef and one that names a model by ARN succeed, events are
//! recorded, the jobs are deleted after ttlSecondsAfterFinished and the
//! classifier's deletion (deletionPolicy Delete) releases the finalizer.
//! The operator also lists and watches AccountMappings cluster-wide (it
//! acts on nothing before), as the chart grants in a ClusterRole also when
//! it watches one namespace; that it may not write them is checked here and,
//! with the rest of what the ServiceAccount must not do, by
//! tests/helm/test_install.py (`kubectl auth can-i`).
//! Run by `make test`, which starts the environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use comprehend_operator::accounts::{AccountMapping, AccountMappingSpec};
use comprehend_operator::classifier::crd::DocumentClassifier;
use comprehend_operator::job::ClassificationJob;
use comprehend_testkit::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::Api;
use serde_json::json;

/// The finalizer the DocumentClassifier controller patches on and off.
const FINALIZER: &str = "comprehend.operators.dev/classifier";
/// Cluster-scoped; the operator only reads them.
const MAPPINGS: &str = "accountmappings.comprehend.operators.dev";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `helm install` of the chart, through the venv of the Helm tests (created
/// on first use by tests/helm/venv.sh). The CRD is installed beforehand by
/// `install_crd`, so the release skips crds/.
fn helm_install(release: &str, namespace: &str, values: serde_json::Value) {
    let venv = Command::new(root().join("tests/helm/venv.sh"))
        .output()
        .expect("run tests/helm/venv.sh");
    assert!(
        venv.status.success(),
        "tests/helm/venv.sh failed: {}",
        String::from_utf8_lossy(&venv.stderr)
    );
    let venv = PathBuf::from(String::from_utf8(venv.stdout).unwrap().trim());
    let out = Command::new(venv.join("bin/python"))
        .arg(root().join("tests/helm/helmctl.py"))
        .args(["install", "--release", release, "--namespace", namespace])
        .args(["--values", &values.to_string(), "--skip-crds"])
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("run tests/helm/helmctl.py");
    assert!(
        out.status.success(),
        "helm install {release} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A copy of the test kubeconfig whose users impersonate `user` (the admin
/// token may impersonate anyone; the API server then authorizes every
/// request as `user` and the groups of a ServiceAccount).
fn impersonating_kubeconfig(dir: &Path, user: &str) -> PathBuf {
    let text = std::fs::read_to_string(kubeconfig()).expect("read KUBECONFIG");
    let mut config: serde_yaml::Value = serde_yaml::from_str(&text).expect("parse KUBECONFIG");
    let users = config["users"].as_sequence_mut().expect("kubeconfig users");
    assert!(!users.is_empty(), "kubeconfig without users");
    for entry in users {
        entry["user"]["as"] = serde_yaml::Value::String(user.to_string());
    }
    let path = dir.join("kubeconfig-as-sa");
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
    path
}

/// `kubectl auth can-i` through `kubeconfig` (as whom it impersonates).
fn can_i(kubeconfig: &Path, args: &[&str]) -> bool {
    let mut all = vec![
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "auth",
        "can-i",
    ];
    all.extend_from_slice(args);
    let (_, out, err) = kubectl(&all, None);
    let answer = out.trim();
    assert!(
        answer == "yes" || answer == "no",
        "kubectl auth can-i {args:?}: {out}{err}"
    );
    answer == "yes"
}

struct Case {
    /// Values given to the chart.
    values: serde_json::Value,
    /// Run the operator with leader election (as the chart would).
    leader_election: bool,
}

async fn operator_as_chart_service_account_completes_a_job(case: Case) {
    let client = client().await;
    install_crd(&client).await;
    let release_ns = namespace(&client, "helm-op").await;
    let jobs_ns = namespace(&client, "helm-jobs").await;
    let release = format!("r{}", &uuid_like()[..8]);
    let mut values = case.values;
    if values.get("watchNamespaces").is_some() {
        values["watchNamespaces"] = json!([jobs_ns]);
    }
    helm_install(&release, &release_ns, values);
    let fullname = format!("{release}-comprehend-operator");
    let sa = format!("system:serviceaccount:{release_ns}:{fullname}");

    let dir = tempfile::tempdir().unwrap();
    let as_sa = impersonating_kubeconfig(dir.path(), &sa);
    // The impersonation holds: the ServiceAccount may not read secrets.
    let (ok, _, err) = kubectl(
        &[
            "--kubeconfig",
            as_sa.to_str().unwrap(),
            "-n",
            &release_ns,
            "get",
            "secrets",
        ],
        None,
    );
    assert!(!ok && err.contains("forbidden"), "{sa} read secrets: {err}");
    // What the DocumentClassifier controller writes, as the API server
    // decides for this identity: the resource (its finalizer, by JSON patch)
    // and its status, but not secrets.
    for args in [
        &["patch", "documentclassifiers.comprehend.operators.dev"][..],
        &[
            "patch",
            "documentclassifiers.comprehend.operators.dev",
            "--subresource=status",
        ][..],
        &["list", "documentclassifiers.comprehend.operators.dev"][..],
        &["watch", "documentclassifiers.comprehend.operators.dev"][..],
    ] {
        let mut args = args.to_vec();
        args.extend_from_slice(&["-n", &jobs_ns]);
        assert!(can_i(&as_sa, &args), "{sa} may not {args:?}");
    }
    for args in [
        &["get", "secrets"][..],
        &["list", "secrets"][..],
        &["create", "documentclassifiers.comprehend.operators.dev"][..],
        &["delete", "documentclassifiers.comprehend.operators.dev"][..],
    ] {
        let mut args = args.to_vec();
        args.extend_from_slice(&["-n", &jobs_ns]);
        assert!(!can_i(&as_sa, &args), "{sa} may {args:?}");
    }
    // AccountMappings (cluster-scoped): read cluster-wide, also by a
    // namespaced release, since both controllers wait for their first list
    // before acting (so the job below succeeding proves list and watch as
    // well); written only by cluster admins, never by the operator.
    for verb in ["get", "list", "watch"] {
        let args = [verb, MAPPINGS, "--all-namespaces"];
        assert!(can_i(&as_sa, &args), "{sa} may not {args:?}");
    }
    for verb in ["create", "update", "patch", "delete", "deletecollection"] {
        let args = [verb, MAPPINGS, "--all-namespaces"];
        assert!(!can_i(&as_sa, &args), "{sa} may {args:?}");
    }

    let standin = Standin::start(FAST);
    let classifier = standin.trained_classifier("news").await;
    standin.upload_documents("docs").await;

    let mut extra = vec![];
    let lease_name_arg = format!("--lease-name={fullname}");
    if case.leader_election {
        extra.push("--leader-election");
        extra.push(&lease_name_arg);
    }
    // The DocumentClassifier controller polls training often here.
    extra.push("--classifier-poll-interval=0.3");
    let identity = format!("{fullname}-pod-0");
    let _op = Operator::start_with_env(
        &jobs_ns,
        &standin,
        &extra,
        &[
            ("KUBECONFIG", as_sa.to_str().unwrap()),
            ("POD_NAMESPACE", &release_ns),
            ("POD_NAME", &identity),
        ],
    );

    // A DocumentClassifier trained by the operator: the finalizer is
    // patched onto the resource and the status written, as the chart's
    // ServiceAccount.
    let classifiers: Api<DocumentClassifier> = Api::namespaced(client.clone(), &jobs_ns);
    // trained_classifier() above uploaded this training set.
    let mut manifest = classifier_manifest("model", "v1", "s3://training/news/train.csv", "Delete");
    manifest["spec"]["documentClassifierName"] = json!(format!("helm-rbac-{}", &uuid_like()[..8]));
    let model: DocumentClassifier = serde_json::from_value(manifest).unwrap();
    classifiers
        .create(&PostParams::default(), &model)
        .await
        .expect("create DocumentClassifier");
    let trained = wait_classifier(
        &classifiers,
        "model",
        "Ready=True as the chart's ServiceAccount",
        is_ready,
    )
    .await
    .unwrap();
    assert!(
        trained
            .metadata
            .finalizers
            .unwrap_or_default()
            .iter()
            .any(|f| f == FINALIZER),
        "the operator trained the classifier without its finalizer"
    );
    let model_arn = trained
        .status
        .and_then(|s| s.document_classifier_arn)
        .expect("status.documentClassifierArn");

    let api: Api<ClassificationJob> = Api::namespaced(client.clone(), &jobs_ns);
    let mut manifest = job_manifest("news", &classifier, "docs");
    manifest["spec"]["ttlSecondsAfterFinished"] = json!(3);
    create_job(&api, manifest).await;
    // A job that names the classifier by classifierRef: the job controller
    // reads DocumentClassifiers (list/watch) as the ServiceAccount.
    let mut by_ref = job_manifest("by-ref", "unused", "docs");
    let spec = by_ref["spec"].as_object_mut().unwrap();
    spec.remove("documentClassifierArn");
    spec.insert("classifierRef".into(), json!({"name": "model"}));
    spec.insert("ttlSecondsAfterFinished".into(), json!(3));
    create_job(&api, by_ref).await;
    // Both jobs are deleted 3 s after they finish, so both are waited for
    // at once: waiting for one first could miss the other's whole life.
    let (by_ref, news) = tokio::join!(
        wait_for(
            &api,
            "by-ref",
            Duration::from_secs(60),
            "Succeeded=True with classifierRef as the chart's ServiceAccount",
            |j| succeeded(j).as_deref() == Some("True"),
        ),
        wait_for(
            &api,
            "news",
            Duration::from_secs(60),
            "Succeeded=True as the chart's ServiceAccount",
            |j| succeeded(j).as_deref() == Some("True"),
        ),
    );
    // classifierRef resolved by the job controller.
    assert_eq!(
        by_ref
            .status
            .as_ref()
            .unwrap()
            .document_classifier_arn
            .as_deref(),
        Some(model_arn.as_str())
    );
    // The status is written (classificationjobs/status patch).
    assert_eq!(
        news.status.as_ref().unwrap().job_status.as_deref(),
        Some("COMPLETED")
    );

    // Events were recorded (events.k8s.io create): a failed publish is only
    // logged by the operator, so look for them.
    let events: Api<Event> = Api::namespaced(client.clone(), &jobs_ns);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = events.list(&ListParams::default()).await.expect("events");
        let reasons: Vec<String> = list
            .items
            .iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("news"))
            .filter_map(|e| e.reason.clone())
            .collect();
        if reasons.iter().any(|r| r == "Completed") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the operator recorded no events as {sa}: {reasons:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Deleted after ttlSecondsAfterFinished (classificationjobs delete).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for name in ["news", "by-ref"] {
        while api.get_opt(name).await.expect("get job").is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "{name} not deleted after ttlSecondsAfterFinished as {sa}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // Deleting the classifier (deletionPolicy Delete): the operator deletes
    // the model, writes the status on the way, and patches its finalizer
    // off, so the resource goes.
    classifiers
        .delete("model", &DeleteParams::default())
        .await
        .expect("delete DocumentClassifier");
    wait_classifier(
        &classifiers,
        "model",
        "the finalizer released as the chart's ServiceAccount",
        |dc| dc.is_none(),
    )
    .await;
    let gone = standin
        .comprehend()
        .await
        .describe_document_classifier()
        .document_classifier_arn(&model_arn)
        .send()
        .await;
    assert!(
        gone.is_err(),
        "the model is still in Comprehend after its DocumentClassifier was deleted: {gone:?}"
    );

    if case.leader_election {
        // The Lease is held in the release namespace (leases get/create/update).
        let leases: Api<Lease> = Api::namespaced(client.clone(), &release_ns);
        let lease = leases.get(&fullname).await.expect("the operator's Lease");
        assert_eq!(
            lease.spec.and_then(|s| s.holder_identity).as_deref(),
            Some(identity.as_str())
        );
    }
}

/// Default values: a ClusterRole, no leader election.
#[tokio::test(flavor = "multi_thread")]
async fn cluster_wide_chart_rbac_is_enough() {
    operator_as_chart_service_account_completes_a_job(Case {
        values: json!({}),
        leader_election: false,
    })
    .await;
}

/// The narrowest configuration: a Role in the one watched namespace, and the
/// Lease Role of leader election (two replicas).
#[tokio::test(flavor = "multi_thread")]
async fn namespaced_leader_elected_chart_rbac_is_enough() {
    operator_as_chart_service_account_completes_a_job(Case {
        values: json!({"watchNamespaces": ["set below"], "replicaCount": 2}),
        leader_election: true,
    })
    .await;
}

/// `accounts.requireMapping` as the chart's ServiceAccount, in the
/// narrowest configuration (a Role in the one watched namespace, and the
/// ClusterRole on AccountMappings): a job of an unmapped namespace is
/// refused (Ready=False, NoAccountMapping); once a cluster admin maps the
/// namespace, the operator sees the mapping (its watch) and acts with the
/// mapped role, whose AssumeRole fails here (the STS endpoint of
/// `stsEndpointUrl` is a closed port), so the job waits for credentials.
#[tokio::test(flavor = "multi_thread")]
async fn namespaced_chart_rbac_reads_account_mappings() {
    // Nothing listens there: AssumeRole is refused at once.
    const STS: &str = "http://127.0.0.1:9";
    let client = client().await;
    install_crd(&client).await;
    let release_ns = namespace(&client, "helm-op").await;
    let jobs_ns = namespace(&client, "helm-jobs").await;
    let release = format!("r{}", &uuid_like()[..8]);
    helm_install(
        &release,
        &release_ns,
        json!({
            "watchNamespaces": [jobs_ns],
            "accounts": {"requireMapping": true},
            "stsEndpointUrl": STS,
        }),
    );
    let fullname = format!("{release}-comprehend-operator");
    let sa = format!("system:serviceaccount:{release_ns}:{fullname}");
    let dir = tempfile::tempdir().unwrap();
    let as_sa = impersonating_kubeconfig(dir.path(), &sa);
    assert!(can_i(&as_sa, &["watch", MAPPINGS, "--all-namespaces"]));
    assert!(!can_i(&as_sa, &["create", MAPPINGS, "--all-namespaces"]));

    let standin = Standin::start(FAST);
    // The flags the chart passes for these values.
    let _op = Operator::start_with_env(
        &jobs_ns,
        &standin,
        &[
            "--require-account-mapping",
            &format!("--sts-endpoint-url={STS}"),
        ],
        &[
            ("KUBECONFIG", as_sa.to_str().unwrap()),
            ("POD_NAMESPACE", &release_ns),
        ],
    );
    let api: Api<ClassificationJob> = Api::namespaced(client.clone(), &jobs_ns);
    let arn = format!("arn:aws:comprehend:{REGION}:{ACCOUNT}:document-classifier/news");
    create_job(&api, job_manifest("news", &arn, "docs")).await;
    let reason = |j: &ClassificationJob| cond(j, "Ready").map(|c| (c.0, c.1));
    wait_for(
        &api,
        "news",
        Duration::from_secs(60),
        "Ready=False NoAccountMapping as the chart's ServiceAccount",
        |j| reason(j) == Some(("False".into(), "NoAccountMapping".into())),
    )
    .await;

    // A cluster admin maps the namespace.
    let mappings: Api<AccountMapping> = Api::all(client.clone());
    let mapping = AccountMapping::new(
        &jobs_ns,
        AccountMappingSpec {
            role_arn: format!("arn:aws:iam::{ACCOUNT}:role/comprehend-{jobs_ns}"),
            external_id: None,
            session_name: None,
            region: None,
        },
    );
    mappings
        .create(&PostParams::default(), &mapping)
        .await
        .expect("create AccountMapping");
    let job = wait_for(
        &api,
        "news",
        Duration::from_secs(60),
        "the mapping seen by the chart's ServiceAccount (CredentialsUnavailable: no STS)",
        |j| reason(j) == Some(("False".into(), "CredentialsUnavailable".into())),
    )
    .await;
    assert_eq!(succeeded(&job).as_deref(), Some("Unknown"));
    let stats = standin.stats().await;
    assert_eq!(
        stats["jobs"].as_array().map_or(0, Vec::len),
        0,
        "a job reached Comprehend without credentials: {stats}"
    );
    mappings
        .delete(&jobs_ns, &DeleteParams::default())
        .await
        .expect("delete AccountMapping");
}
