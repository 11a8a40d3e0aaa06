//! The kustomize tree under `config/`, built with `kubectl kustomize` (no
//! API server needed): the CRDs, what the default build holds, the hardened
//! Deployment, least-privilege RBAC, the Prometheus parts and the samples.
//! `install_kustomize_apply.rs` applies the same tree to the test API server.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use comprehend_testkit::install::{
    documents, kustomize, read, root, CLASSIFIERS_CRD, GROUP, JOBS_CRD, MAPPINGS_CRD, NAMESPACE,
    PREFIX,
};
use serde_json::{json, Value};

/// Every CRD of the operator: its name, the generated file under crds/ and
/// its copy under config/crd/bases/ (both written by `make crds`).
const CRDS: [(&str, &str, &str); 3] = [
    (
        JOBS_CRD,
        "crds/classificationjob.yaml",
        "config/crd/bases/comprehend.operators.dev_classificationjobs.yaml",
    ),
    (
        CLASSIFIERS_CRD,
        "crds/documentclassifier.yaml",
        "config/crd/bases/comprehend.operators.dev_documentclassifiers.yaml",
    ),
    (
        MAPPINGS_CRD,
        "crds/accountmapping.yaml",
        "config/crd/bases/comprehend.operators.dev_accountmappings.yaml",
    ),
];

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let have: Vec<String> = docs
                .iter()
                .map(|d| format!("{}/{}", d["kind"], d["metadata"]["name"]))
                .collect();
            panic!("no {kind} {name} in the build; it holds {have:?}")
        })
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The rules of a (Cluster)Role as (apiGroup, resource) -> verbs, after
/// checking that nothing in them is a wildcard.
fn rules(role: &Value) -> Vec<(String, String, BTreeSet<String>)> {
    let mut out = Vec::new();
    for rule in role["rules"].as_array().expect("rules") {
        for field in ["apiGroups", "resources", "verbs", "resourceNames"] {
            assert!(
                !strings(&rule[field]).contains("*"),
                "{}: wildcard in {field}: {rule}",
                role["metadata"]["name"]
            );
        }
        assert!(
            rule.get("nonResourceURLs").is_none(),
            "{}: non-resource URLs: {rule}",
            role["metadata"]["name"]
        );
        for g in strings(&rule["apiGroups"]) {
            for r in strings(&rule["resources"]) {
                out.push((g.clone(), r, strings(&rule["verbs"])));
            }
        }
    }
    out.sort();
    out
}

/// kustomize writes `minimum: 0` back as `0.0`: compare numbers as numbers.
fn numbers_as_floats(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_floats).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), numbers_as_floats(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn default_build() -> Vec<Value> {
    documents(&kustomize(&root().join("config/default")))
}

/// The names of the files in a folder of the repository.
fn file_names(rel: &str) -> BTreeSet<String> {
    std::fs::read_dir(root().join(rel))
        .unwrap_or_else(|e| panic!("reading {rel}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

#[test]
fn config_crds_are_the_generated_crds() {
    // Nothing generated is missing from config/, nothing stale is left.
    assert_eq!(
        file_names("crds"),
        CRDS.iter()
            .map(|(_, generated, _)| generated.trim_start_matches("crds/").to_string())
            .collect::<BTreeSet<_>>(),
        "crds/ holds other files than the CRDs this test knows"
    );
    assert_eq!(
        file_names("config/crd/bases"),
        CRDS.iter()
            .map(|(_, _, copy)| copy.trim_start_matches("config/crd/bases/").to_string())
            .collect::<BTreeSet<_>>(),
        "config/crd/bases/ holds other files than copies of crds/"
    );
    let docs = documents(&kustomize(&root().join("config/crd")));
    assert_eq!(
        docs.iter()
            .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>(),
        set(&[JOBS_CRD, CLASSIFIERS_CRD, MAPPINGS_CRD]),
        "config/crd does not build exactly the operator's CRDs"
    );
    assert_eq!(docs.len(), CRDS.len());
    for (name, generated_path, copy_path) in CRDS {
        let copy = read(copy_path);
        let generated = read(generated_path);
        assert!(
            copy == generated,
            "{copy_path} differs from {generated_path}: run `make crds` (it refreshes the \
             copy) or `cp {generated_path} {copy_path}`"
        );
        let generated = documents(&generated);
        assert_eq!(generated.len(), 1, "{generated_path}");
        assert_eq!(generated[0]["metadata"]["name"], name, "{generated_path}");
        // And kustomize passes it through unchanged (apart from the labels).
        let built = docs.iter().find(|d| d["metadata"]["name"] == name).unwrap();
        assert_eq!(built["kind"], "CustomResourceDefinition");
        assert_eq!(
            numbers_as_floats(&generated[0]["spec"]),
            numbers_as_floats(&built["spec"]),
            "kustomize changed the spec of {name}"
        );
    }
}

#[test]
fn default_build_holds_everything_in_its_namespace() {
    let docs = default_build();
    let kinds: BTreeSet<String> = docs
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    let want: BTreeSet<String> = [
        "Namespace/comprehend-system".to_string(),
        format!("CustomResourceDefinition/{JOBS_CRD}"),
        format!("CustomResourceDefinition/{CLASSIFIERS_CRD}"),
        format!("CustomResourceDefinition/{MAPPINGS_CRD}"),
        format!("ServiceAccount/{PREFIX}controller-manager"),
        format!("ClusterRole/{PREFIX}manager-role"),
        format!("ClusterRoleBinding/{PREFIX}manager-rolebinding"),
        format!("Role/{PREFIX}leader-election-role"),
        format!("RoleBinding/{PREFIX}leader-election-rolebinding"),
        format!("ClusterRole/{PREFIX}classificationjob-editor-role"),
        format!("ClusterRole/{PREFIX}classificationjob-viewer-role"),
        format!("ClusterRole/{PREFIX}documentclassifier-editor-role"),
        format!("ClusterRole/{PREFIX}documentclassifier-viewer-role"),
        format!("ClusterRole/{PREFIX}accountmapping-viewer-role"),
        format!("Deployment/{PREFIX}controller-manager"),
    ]
    .into_iter()
    .collect();
    assert_eq!(kinds, want);
    for d in &docs {
        let namespaced = !matches!(
            d["kind"].as_str().unwrap(),
            "Namespace" | "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding"
        );
        let ns = d["metadata"]["namespace"].as_str();
        if namespaced {
            assert_eq!(ns, Some(NAMESPACE), "{}", d["metadata"]["name"]);
        } else {
            assert_eq!(ns, None, "{}", d["metadata"]["name"]);
        }
        assert_eq!(
            d["metadata"]["labels"]["app.kubernetes.io/part-of"], "comprehend-operator",
            "{}",
            d["metadata"]["name"]
        );
    }
}

#[test]
fn manager_deployment_is_hardened() {
    let docs = default_build();
    let deploy = find(&docs, "Deployment", &format!("{PREFIX}controller-manager"));
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(
        pod["serviceAccountName"],
        format!("{PREFIX}controller-manager")
    );
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true);
    assert_eq!(psc["runAsUser"], 65532);
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault");
    // The selector matches the pod, also after the prefix and labels.
    let selector = deploy["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    for (k, v) in selector {
        assert_eq!(&pod_labels(deploy)[k], v, "selector label {k}");
    }

    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["image"], "comprehend-operator:0.1.0");
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true, "{sc}");
    assert_eq!(sc["runAsUser"], 65532, "{sc}");
    assert_eq!(sc["readOnlyRootFilesystem"], true, "{sc}");
    assert_eq!(sc["allowPrivilegeEscalation"], false, "{sc}");
    assert_eq!(sc["privileged"], false, "{sc}");
    assert_eq!(strings(&sc["capabilities"]["drop"]), set(&["ALL"]), "{sc}");
    assert!(sc["capabilities"].get("add").is_none(), "{sc}");
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{sc}");

    // Probes on the operator's HTTP port.
    let port = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["containerPort"] == 8080)
        .expect("container port 8080");
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert!(
            get["port"] == port["name"] || get["port"] == 8080,
            "{probe} port {}",
            get["port"]
        );
    }
    for kind in ["requests", "limits"] {
        for res in ["cpu", "memory"] {
            assert!(
                c["resources"][kind][res].is_string(),
                "resources.{kind}.{res} is not set"
            );
        }
    }
    let env: Vec<&Value> = c["env"].as_array().unwrap().iter().collect();
    let var = |name: &str| env.iter().find(|e| e["name"] == name).copied();
    assert!(
        var("COMPREHEND_REGION").is_some_and(|e| e["value"].is_string()),
        "COMPREHEND_REGION not set"
    );
    assert_eq!(
        var("POD_NAMESPACE").unwrap()["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    // No credentials in the manifest: the SDK's chain (IRSA, Pod Identity).
    for e in &env {
        let name = e["name"].as_str().unwrap();
        assert!(
            !name.starts_with("AWS_SECRET") && !name.starts_with("AWS_ACCESS"),
            "credentials in the Deployment: {name}"
        );
    }
    // The args are flags the binary takes (the image's entrypoint is `run`).
    let args: Vec<&str> = c["args"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap()).collect())
        .unwrap_or_default();
    let help = Command::new(env!("CARGO_BIN_EXE_comprehend-operator"))
        .args(["run", "--help"])
        .output()
        .expect("run comprehend-operator --help");
    let help = String::from_utf8_lossy(&help.stdout);
    for arg in args {
        let flag = arg.split('=').next().unwrap();
        assert!(help.contains(flag), "`run` takes no {flag}:\n{help}");
    }
}

fn pod_labels(deploy: &Value) -> &serde_json::Map<String, Value> {
    deploy["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .unwrap()
}

#[test]
fn rbac_is_least_privilege() {
    let docs = default_build();
    let sa = format!("{PREFIX}controller-manager");
    let manager = find(&docs, "ClusterRole", &format!("{PREFIX}manager-role"));
    assert_eq!(
        rules(manager),
        vec![
            // Cluster-scoped, cluster admins' to write: read only.
            (
                GROUP.to_string(),
                "accountmappings".to_string(),
                set(&["get", "list", "watch"])
            ),
            (
                GROUP.to_string(),
                "classificationjobs".to_string(),
                set(&["get", "list", "watch", "delete"])
            ),
            (
                GROUP.to_string(),
                "classificationjobs/status".to_string(),
                set(&["get", "patch", "update"])
            ),
            // patch: the finalizer only (a JSON patch of metadata.finalizers).
            (
                GROUP.to_string(),
                "documentclassifiers".to_string(),
                set(&["get", "list", "watch", "patch"])
            ),
            (
                GROUP.to_string(),
                "documentclassifiers/status".to_string(),
                set(&["get", "patch", "update"])
            ),
            (
                "events.k8s.io".to_string(),
                "events".to_string(),
                set(&["create", "patch"])
            ),
        ]
    );
    let leader = find(&docs, "Role", &format!("{PREFIX}leader-election-role"));
    assert_eq!(
        rules(leader),
        vec![(
            "coordination.k8s.io".to_string(),
            "leases".to_string(),
            set(&["get", "create", "update"])
        )]
    );
    for (kind, name, role_kind, role) in [
        (
            "ClusterRoleBinding",
            "manager-rolebinding",
            "ClusterRole",
            "manager-role",
        ),
        (
            "RoleBinding",
            "leader-election-rolebinding",
            "Role",
            "leader-election-role",
        ),
    ] {
        let b = find(&docs, kind, &format!("{PREFIX}{name}"));
        assert_eq!(b["roleRef"]["kind"], role_kind);
        assert_eq!(b["roleRef"]["name"], format!("{PREFIX}{role}"));
        assert_eq!(
            b["subjects"],
            json!([{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}])
        );
    }
    // Roles for people, aggregated into the built-in ones: for each kind an
    // editor (everything but the status) and a viewer (read-only).
    for (singular, plural) in [
        ("classificationjob", "classificationjobs"),
        ("documentclassifier", "documentclassifiers"),
    ] {
        let status = format!("{plural}/status");
        let editor = find(
            &docs,
            "ClusterRole",
            &format!("{PREFIX}{singular}-editor-role"),
        );
        let labels = &editor["metadata"]["labels"];
        assert_eq!(
            labels["rbac.authorization.k8s.io/aggregate-to-edit"], "true",
            "{singular} editor"
        );
        assert_eq!(
            labels["rbac.authorization.k8s.io/aggregate-to-admin"], "true",
            "{singular} editor"
        );
        assert!(
            labels
                .get("rbac.authorization.k8s.io/aggregate-to-view")
                .is_none(),
            "{singular} editor aggregates into view"
        );
        assert_eq!(
            rules(editor),
            vec![
                (
                    GROUP.to_string(),
                    plural.to_string(),
                    set(&["create", "delete", "get", "list", "patch", "update", "watch"])
                ),
                // The status belongs to the operator.
                (GROUP.to_string(), status.clone(), set(&["get"])),
            ],
            "{singular} editor"
        );
        let viewer = find(
            &docs,
            "ClusterRole",
            &format!("{PREFIX}{singular}-viewer-role"),
        );
        let labels = &viewer["metadata"]["labels"];
        assert_eq!(
            labels["rbac.authorization.k8s.io/aggregate-to-view"], "true",
            "{singular} viewer"
        );
        assert!(
            labels
                .get("rbac.authorization.k8s.io/aggregate-to-edit")
                .is_none()
                && labels
                    .get("rbac.authorization.k8s.io/aggregate-to-admin")
                    .is_none(),
            "{singular} viewer: view is aggregated into edit and admin already"
        );
        assert_eq!(
            rules(viewer),
            vec![
                (
                    GROUP.to_string(),
                    plural.to_string(),
                    set(&["get", "list", "watch"])
                ),
                (GROUP.to_string(), status, set(&["get"])),
            ],
            "{singular} viewer"
        );
    }
    // AccountMappings: a viewer role for cluster admins to bind, aggregated
    // into no built-in role (a mapping names a team's IAM role and
    // ExternalId), and no editor role: only cluster admins write mappings.
    let viewer = find(
        &docs,
        "ClusterRole",
        &format!("{PREFIX}accountmapping-viewer-role"),
    );
    assert!(
        viewer["metadata"]["labels"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("rbac.authorization.k8s.io/aggregate-to-")),
        "accountmapping-viewer-role is aggregated: {}",
        viewer["metadata"]["labels"]
    );
    assert_eq!(
        rules(viewer),
        vec![(
            GROUP.to_string(),
            "accountmappings".to_string(),
            set(&["get", "list", "watch"])
        )]
    );
    for role in docs
        .iter()
        .filter(|d| d["kind"] == "ClusterRole" || d["kind"] == "Role")
    {
        let name = role["metadata"]["name"].as_str().unwrap();
        for (_, resource, verbs) in rules(role) {
            if resource.starts_with("accountmappings") {
                assert!(
                    verbs.is_subset(&set(&["get", "list", "watch"])),
                    "{name} may {verbs:?} {resource}: only cluster admins write mappings"
                );
                assert!(
                    name == format!("{PREFIX}manager-role")
                        || name == format!("{PREFIX}accountmapping-viewer-role"),
                    "{name} grants {resource}"
                );
            }
        }
    }
}

/// config/default with the Prometheus parts switched on, built from a
/// temporary overlay (the way a user uncomments `- ../prometheus`).
fn build_with_prometheus() -> Vec<Value> {
    let text = read("config/default/kustomization.yaml");
    assert!(
        text.contains("#- ../prometheus"),
        "config/default/kustomization.yaml no longer offers `#- ../prometheus`"
    );
    // kustomize takes only relative paths: the overlay lives in cargo's
    // scratch folder, and reaches config/ from there.
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&scratch).unwrap();
    let dir = tempfile::tempdir_in(&scratch).unwrap();
    let up = relative(dir.path(), &root().join("config"));
    let text = text
        .replace("#- ../prometheus", "- ../prometheus")
        .replace("- ../", &format!("- {up}/"));
    std::fs::write(dir.path().join("kustomization.yaml"), text).unwrap();
    documents(&kustomize(dir.path()))
}

/// The relative path from folder `from` to `to`.
fn relative(from: &Path, to: &Path) -> String {
    let (from, to) = (from.canonicalize().unwrap(), to.canonicalize().unwrap());
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().to_string()),
    );
    parts.join("/")
}

#[test]
fn prometheus_service_and_monitor_select_the_manager() {
    let docs = build_with_prometheus();
    let deploy = find(&docs, "Deployment", &format!("{PREFIX}controller-manager"));
    let svc = find(&docs, "Service", &format!("{PREFIX}metrics-service"));
    let mon = find(
        &docs,
        "ServiceMonitor",
        &format!("{PREFIX}controller-manager-metrics-monitor"),
    );
    assert_eq!(svc["metadata"]["namespace"], NAMESPACE);
    assert_eq!(mon["metadata"]["namespace"], NAMESPACE);
    let labels = pod_labels(deploy);
    for (k, v) in svc["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&labels[k], v, "Service selector {k} does not match the pod");
    }
    let port = &svc["spec"]["ports"][0];
    let container_ports = &deploy["spec"]["template"]["spec"]["containers"][0]["ports"];
    assert!(
        container_ports
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == port["targetPort"] || p["containerPort"] == port["targetPort"]),
        "Service targetPort {} is no container port",
        port["targetPort"]
    );
    for (k, v) in mon["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            &svc["metadata"]["labels"][k], v,
            "ServiceMonitor selector {k} does not match the Service"
        );
    }
    let endpoint = &mon["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], port["name"]);
    assert_eq!(endpoint["path"], "/metrics");
}

#[test]
fn samples_kustomization_lists_every_sample() {
    let listed: BTreeSet<String> = documents(&read("config/samples/kustomization.yaml"))[0]
        ["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(root().join("config/samples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present);
    let docs = documents(&kustomize(&root().join("config/samples")));
    assert_eq!(docs.len(), present.len());
    assert!(
        docs.iter()
            .all(|d| d["kind"] == "ClassificationJob" || d["kind"] == "DocumentClassifier"),
        "a sample of another kind"
    );
    assert!(docs.iter().any(|d| d["kind"] == "ClassificationJob"));
}
