//! The kustomize tree under `config/` applied to the test API server
//! (`tests/env/with-env.sh`, run by `make test`): the default build applies
//! and its RBAC works as the API server decides, every sample applies, and
//! the operator runs with its ServiceAccount's rights only.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use comprehend_testkit::install::{
    documents, kubectl_in_root, kustomize, root, CLASSIFIERS_CRD, GROUP, JOBS_CRD, MAPPINGS_CRD,
    NAMESPACE, PREFIX,
};
use comprehend_testkit::*;
use serde_json::{json, Value};

/// Applies config/crd once per test binary (tests run in parallel).
fn apply_crd() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let (ok, _, err) = kubectl(&["apply", "--validate=false", "-k", "config/crd"], None);
    assert!(ok, "applying config/crd: {err}");
    for name in [JOBS_CRD, CLASSIFIERS_CRD, MAPPINGS_CRD] {
        let (ok, _, err) = kubectl(
            &[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                &format!("crd/{name}"),
            ],
            None,
        );
        assert!(ok, "CRD {name} not established: {err}");
    }
    *done = true;
}

/// Applies the config/default build. Two tests apply it; kubectl's
/// client-side apply is get-then-create, so they take turns.
/// --validate=false: a 1.20 API server's OpenAPI does not know the CRD's
/// x-kubernetes-validations (CEL), so kubectl would refuse it client-side.
fn apply_default(yaml: &str) -> (bool, String, String) {
    static APPLY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = APPLY.lock().unwrap_or_else(|e| e.into_inner());
    kubectl_in_root(&["apply", "--validate=false", "-f", "-"], Some(yaml))
}

#[test]
fn default_build_applies_and_its_rbac_works() {
    let _ = kubeconfig();
    apply_crd();
    let yaml = kustomize(&root().join("config/default"));
    let (ok, out, err) = apply_default(&yaml);
    assert!(ok, "applying config/default: {err}\n{out}");
    // Applying again changes nothing (but the CRD: a 1.20 server drops its
    // CEL rules, so kubectl sees them missing each time).
    let (ok, out, err) = kubectl_in_root(&["apply", "--validate=false", "-f", "-"], Some(&yaml));
    assert!(ok, "re-applying config/default: {err}");
    assert!(
        out.lines()
            .filter(|l| !l.starts_with("customresourcedefinition"))
            .all(|l| l.ends_with("unchanged")),
        "a second apply changed things:\n{out}"
    );
    let deploy = format!("{PREFIX}controller-manager");
    let (ok, out, err) = kubectl(
        &["get", "deployment", &deploy, "-n", NAMESPACE, "-o", "json"],
        None,
    );
    assert!(ok, "{err}");
    let stored: Value = serde_json::from_str(&out).unwrap();
    let c = &stored["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["image"], "comprehend-operator:0.1.0");

    // What the operator's ServiceAccount may do, as the API server decides.
    let sa = format!("system:serviceaccount:{NAMESPACE}:{deploy}");
    let can = |args: &[&str]| -> bool {
        let mut all = vec!["auth", "can-i", "--as", sa.as_str()];
        all.extend_from_slice(args);
        let (_, out, _) = kubectl(&all, None);
        out.trim() == "yes"
    };
    let jobs = format!("classificationjobs.{GROUP}");
    for verb in ["get", "list", "watch", "delete"] {
        assert!(
            can(&[verb, &jobs, "--all-namespaces"]),
            "SA cannot {verb} jobs"
        );
    }
    for verb in ["create", "update", "patch"] {
        assert!(!can(&[verb, &jobs, "-n", "default"]), "SA may {verb} jobs");
    }
    assert!(can(&[
        "patch",
        &jobs,
        "--subresource=status",
        "-n",
        "default"
    ]));
    assert!(can(&["create", "events.events.k8s.io", "-n", "default"]));
    assert!(can(&["patch", "events.events.k8s.io", "-n", "default"]));
    assert!(can(&[
        "create",
        "leases.coordination.k8s.io",
        "-n",
        NAMESPACE
    ]));
    assert!(can(&[
        "update",
        "leases.coordination.k8s.io",
        "-n",
        NAMESPACE
    ]));
    assert!(!can(&[
        "create",
        "leases.coordination.k8s.io",
        "-n",
        "default"
    ]));
    // DocumentClassifiers: read, status written, the resource itself only
    // patched (the finalizer); never created, replaced or deleted.
    let classifiers = format!("documentclassifiers.{GROUP}");
    for verb in ["get", "list", "watch"] {
        assert!(
            can(&[verb, &classifiers, "--all-namespaces"]),
            "SA cannot {verb} classifiers"
        );
    }
    assert!(
        can(&["patch", &classifiers, "-n", "default"]),
        "SA cannot patch classifiers (the finalizer)"
    );
    for verb in ["create", "update", "delete", "deletecollection"] {
        assert!(
            !can(&[verb, &classifiers, "-n", "default"]),
            "SA may {verb} classifiers"
        );
    }
    for verb in ["get", "patch", "update"] {
        assert!(
            can(&[verb, &classifiers, "--subresource=status", "-n", "default"]),
            "SA cannot {verb} classifiers/status"
        );
    }
    assert!(!can(&["get", "secrets", "-n", NAMESPACE]));
    assert!(!can(&["list", "secrets", "--all-namespaces"]));
    assert!(!can(&["create", "pods", "-n", NAMESPACE]));
    // AccountMappings (cluster-scoped): read cluster-wide, which the
    // controllers wait for before acting; never written by the operator.
    let mappings = format!("accountmappings.{GROUP}");
    for verb in ["get", "list", "watch"] {
        assert!(
            can(&[verb, &mappings, "--all-namespaces"]),
            "SA cannot {verb} accountmappings"
        );
    }
    for verb in ["create", "update", "patch", "delete", "deletecollection"] {
        assert!(
            !can(&[verb, &mappings, "--all-namespaces"]),
            "SA may {verb} accountmappings"
        );
    }

    // The editor and viewer roles, bound in a namespace to a user.
    let ns = format!("install-users-{}", &uuid_like()[..8]);
    let (ok, _, err) = kubectl(&["create", "namespace", &ns], None);
    assert!(ok, "{err}");
    for (user, role) in [
        ("alice", "classificationjob-editor-role"),
        ("bob", "classificationjob-viewer-role"),
        ("carol", "documentclassifier-editor-role"),
        ("dave", "documentclassifier-viewer-role"),
    ] {
        let (ok, _, err) = kubectl(
            &[
                "create",
                "rolebinding",
                user,
                "-n",
                &ns,
                &format!("--clusterrole={PREFIX}{role}"),
                &format!("--user={user}"),
            ],
            None,
        );
        assert!(ok, "{err}");
    }
    let user_can = |user: &str, verb: &str, resource: &str, extra: &[&str]| -> bool {
        let mut all = vec![
            "auth",
            "can-i",
            "--as",
            user,
            verb,
            resource,
            "-n",
            ns.as_str(),
        ];
        all.extend_from_slice(extra);
        let (_, out, _) = kubectl(&all, None);
        out.trim() == "yes"
    };
    for (editor, viewer, resource, other) in [
        ("alice", "bob", &jobs, &classifiers),
        ("carol", "dave", &classifiers, &jobs),
    ] {
        for verb in ["create", "delete", "patch", "list"] {
            assert!(
                user_can(editor, verb, resource, &[]),
                "{resource} editor cannot {verb}"
            );
        }
        assert!(!user_can(
            editor,
            "patch",
            resource,
            &["--subresource=status"]
        ));
        assert!(user_can(viewer, "list", resource, &[]));
        assert!(!user_can(viewer, "create", resource, &[]));
        // Each role is about its own kind only.
        assert!(!user_can(editor, "list", other, &[]));
        assert!(!user_can(viewer, "list", other, &[]));
    }

    // AccountMappings are cluster-scoped, so only a ClusterRoleBinding
    // grants them. Even bound cluster-wide, the teams' roles grant nothing
    // on them; the viewer role for admins to bind reads them, and writes
    // nothing.
    let suffix = &uuid_like()[..8];
    let cluster_can = |user: &str, verb: &str, resource: &str| -> bool {
        let (_, out, _) = kubectl(
            &[
                "auth",
                "can-i",
                "--as",
                user,
                verb,
                resource,
                "--all-namespaces",
            ],
            None,
        );
        out.trim() == "yes"
    };
    let team = format!("team-{suffix}");
    let auditor = format!("auditor-{suffix}");
    for (user, role) in [
        (&team, "classificationjob-editor-role"),
        (&team, "classificationjob-viewer-role"),
        (&team, "documentclassifier-editor-role"),
        (&team, "documentclassifier-viewer-role"),
        (&auditor, "accountmapping-viewer-role"),
    ] {
        let (ok, _, err) = kubectl(
            &[
                "create",
                "clusterrolebinding",
                &format!("{role}-{suffix}"),
                &format!("--clusterrole={PREFIX}{role}"),
                &format!("--user={user}"),
            ],
            None,
        );
        assert!(ok, "{err}");
    }
    assert!(
        cluster_can(&team, "list", &jobs),
        "the ClusterRoleBinding of the team roles does not hold"
    );
    for verb in [
        "get", "list", "watch", "create", "update", "patch", "delete",
    ] {
        assert!(
            !cluster_can(&team, verb, &mappings),
            "the teams' roles grant {verb} accountmappings"
        );
    }
    for verb in ["get", "list", "watch"] {
        assert!(
            cluster_can(&auditor, verb, &mappings),
            "accountmapping-viewer-role cannot {verb} accountmappings"
        );
    }
    for verb in ["create", "update", "patch", "delete", "deletecollection"] {
        assert!(
            !cluster_can(&auditor, verb, &mappings),
            "accountmapping-viewer-role may {verb} accountmappings"
        );
    }
    assert!(!cluster_can(&auditor, "list", &jobs));
    for role in [
        "classificationjob-editor-role",
        "classificationjob-viewer-role",
        "documentclassifier-editor-role",
        "documentclassifier-viewer-role",
        "accountmapping-viewer-role",
    ] {
        let _ = kubectl(
            &["delete", "clusterrolebinding", &format!("{role}-{suffix}")],
            None,
        );
    }
}

#[test]
fn every_sample_applies() {
    let _ = kubeconfig();
    apply_crd();
    let ns = format!("install-samples-{}", &uuid_like()[..8]);
    let (ok, _, err) = kubectl(&["create", "namespace", &ns], None);
    assert!(ok, "{err}");
    let (ok, out, err) = kubectl_in_root(
        &[
            "apply",
            "-k",
            "config/samples",
            "-n",
            &ns,
            "--dry-run=server",
        ],
        None,
    );
    assert!(ok, "server dry run of config/samples: {err}\n{out}");
    let (ok, out, err) = kubectl_in_root(&["apply", "-k", "config/samples", "-n", &ns], None);
    assert!(ok, "applying config/samples: {err}\n{out}");
    // Every sample is stored, whichever of the two kinds it is.
    let built = documents(&kustomize(&root().join("config/samples")));
    for (kind, resource) in [
        ("ClassificationJob", "classificationjobs"),
        ("DocumentClassifier", "documentclassifiers"),
    ] {
        let want: BTreeSet<String> = built
            .iter()
            .filter(|d| d["kind"] == kind)
            .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        let (ok, out, err) = kubectl(
            &[
                "get",
                resource,
                "-n",
                &ns,
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ],
            None,
        );
        assert!(ok, "{err}");
        let stored: BTreeSet<String> = out.split_whitespace().map(str::to_string).collect();
        assert_eq!(stored, want, "{kind} samples stored");
    }
    assert!(
        built
            .iter()
            .filter(|d| d["kind"] == "ClassificationJob")
            .count()
            >= 5,
        "fewer ClassificationJob samples than console options"
    );
}

/// The operator, run with the ServiceAccount's rights only (impersonated),
/// takes the Lease, runs a job to its end, and trains and deletes a
/// DocumentClassifier (finalizer patched on and off): config/rbac is enough.
/// It also lists and watches AccountMappings cluster-wide: both controllers
/// act on nothing before that list is in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_runs_with_the_service_account_rights() {
    let client = client().await;
    apply_crd();
    let yaml = kustomize(&root().join("config/default"));
    let (ok, _, err) = apply_default(&yaml);
    assert!(ok, "applying config/default: {err}");
    let sa = format!("system:serviceaccount:{NAMESPACE}:{PREFIX}controller-manager");

    // A kubeconfig like the test one, acting as the ServiceAccount.
    let mut config: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(kubeconfig()).unwrap()).unwrap();
    for user in config["users"].as_sequence_mut().expect("users") {
        user["user"]["as"] = serde_yaml::Value::String(sa.clone());
    }
    let dir = tempfile::tempdir().unwrap();
    let as_sa = dir.path().join("kubeconfig");
    std::fs::write(&as_sa, serde_yaml::to_string(&config).unwrap()).unwrap();

    let ns = namespace(&client, "install-rbac").await;
    let standin = Standin::start(FAST);
    let classifier = standin.trained_classifier("news").await;
    standin.upload_documents("docs").await;
    let lease = format!("install-rbac-{}", &uuid_like()[..8]);
    let _op = Operator::start_with_env(
        &ns,
        &standin,
        &[
            "--leader-election",
            "--lease-name",
            &lease,
            "--classifier-poll-interval",
            "0.3",
        ],
        &[
            ("KUBECONFIG", as_sa.to_str().unwrap()),
            ("POD_NAMESPACE", NAMESPACE),
        ],
    );
    let api: kube::Api<comprehend_operator::job::ClassificationJob> =
        kube::Api::namespaced(client.clone(), &ns);
    let mut manifest = job_manifest("news", &classifier, "docs");
    manifest["spec"]["ttlSecondsAfterFinished"] = json!(3);
    create_job(&api, manifest).await;
    // Succeeded=True, then deleted by the TTL: get, list, watch, status
    // patch and delete all worked under the ServiceAccount.
    let mut seen_success = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        match api.get_opt("news").await.expect("get job") {
            Some(j) if succeeded(&j).as_deref() == Some("True") => seen_success = true,
            Some(_) => {}
            None => break,
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the operator, acting as {sa}, did not run the job to its end and delete it \
             (seen Succeeded=True: {seen_success}); see its log under TEST_LOG_DIR"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(seen_success, "the job was deleted without Succeeded=True");
    let (ok, out, err) = kubectl(
        &[
            "get",
            "lease",
            &lease,
            "-n",
            NAMESPACE,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
        None,
    );
    assert!(
        ok && !out.is_empty(),
        "the operator took no Lease in {NAMESPACE}: {err}"
    );
    let (ok, out, err) = kubectl(
        &[
            "get",
            "events.events.k8s.io",
            "-n",
            &ns,
            "-o",
            "jsonpath={.items[*].reason}",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(!out.trim().is_empty(), "the operator recorded no events");

    // A DocumentClassifier: the finalizer is patched on, the status written
    // until Ready=True; on deletion (deletionPolicy Delete) the model is
    // deleted and the finalizer patched off.
    let classifiers: kube::Api<comprehend_operator::classifier::crd::DocumentClassifier> =
        kube::Api::namespaced(client.clone(), &ns);
    let model = serde_json::from_value(json!({
        "apiVersion": "comprehend.operators.dev/v1alpha1",
        "kind": "DocumentClassifier",
        "metadata": {"name": "model"},
        "spec": {
            "documentClassifierName": format!("install-rbac-{}", &uuid_like()[..8]),
            "versionName": "v1",
            "languageCode": "en",
            // trained_classifier() above uploaded this training set.
            "inputDataConfig": {"s3Uri": "s3://training/news/train.csv"},
            "dataAccessRoleArn": ROLE,
            "deletionPolicy": "Delete",
        }
    }))
    .unwrap();
    classifiers
        .create(&Default::default(), &model)
        .await
        .expect("create DocumentClassifier");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let dc = classifiers.get("model").await.expect("get classifier");
        let ready = dc.status.as_ref().and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| c.status.clone())
        });
        let finalized = dc
            .metadata
            .finalizers
            .unwrap_or_default()
            .iter()
            .any(|f| f == "comprehend.operators.dev/classifier");
        if ready.as_deref() == Some("True") && finalized {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the operator, acting as {sa}, did not train the classifier with its finalizer \
             (Ready={ready:?}, finalizer: {finalized}); see its log under TEST_LOG_DIR"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    classifiers
        .delete("model", &Default::default())
        .await
        .expect("delete DocumentClassifier");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while classifiers
        .get_opt("model")
        .await
        .expect("get classifier")
        .is_some()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the operator, acting as {sa}, did not release the classifier's finalizer"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
