//! What the install tests (`tests/install_*.rs`) add: the repository's
//! files, programs run in its root (kubectl, kustomize, the scripts in
//! `tests/install/`) and the names the manifests use.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{kubeconfig, kubectl, run_with_input};

pub const NAMESPACE: &str = "comprehend-system";
pub const PREFIX: &str = "comprehend-operator-";
pub const JOBS_CRD: &str = "classificationjobs.comprehend.operators.dev";
pub const CLASSIFIERS_CRD: &str = "documentclassifiers.comprehend.operators.dev";
/// Cluster-scoped: cluster admins map a namespace to an IAM role with it.
pub const MAPPINGS_CRD: &str = "accountmappings.comprehend.operators.dev";
pub const GROUP: &str = "comprehend.operators.dev";

/// The repository root: the operator's package, one folder above this
/// crate's.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testkit crate lives in the repository")
        .to_path_buf()
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// Runs a program in the repository root, feeding `stdin`; returns
/// (success, stdout, stderr).
pub fn run(program: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(root());
    run_with_input(cmd, stdin)
}

/// `kubectl kustomize DIR` (no API server needed).
pub fn kustomize(dir: &Path) -> String {
    let (ok, out, err) = run(
        Path::new("kubectl"),
        &["kustomize", dir.to_str().unwrap()],
        None,
    );
    assert!(ok, "kubectl kustomize {} failed: {err}", dir.display());
    out
}

/// Every document of a multi-document YAML stream, as JSON values.
pub fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| {
            let v: serde_yaml::Value = serde::Deserialize::deserialize(d).expect("valid YAML");
            serde_json::to_value(v).expect("YAML as JSON")
        })
        .filter(|v| !v.is_null())
        .collect()
}

pub fn kubectl_in_root(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let _ = kubeconfig();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        cwd.canonicalize().unwrap(),
        root().canonicalize().unwrap(),
        "cargo runs integration tests in the package root"
    );
    kubectl(args, stdin)
}
