"""The chart offline: lint, rendered objects, schema, CRD copy."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

import helmctl
from conftest import kinds, one

ROOT = helmctl.ROOT
CHART = helmctl.CHART

RULES = [
    {
        "apiGroups": ["comprehend.operators.dev"],
        "resources": ["classificationjobs"],
        "verbs": ["get", "list", "watch", "delete"],
    },
    {
        "apiGroups": ["comprehend.operators.dev"],
        "resources": ["classificationjobs/status"],
        "verbs": ["get", "patch", "update"],
    },
    # patch: only the operator's finalizer (a JSON patch of metadata.finalizers).
    {
        "apiGroups": ["comprehend.operators.dev"],
        "resources": ["documentclassifiers"],
        "verbs": ["get", "list", "watch", "patch"],
    },
    {
        "apiGroups": ["comprehend.operators.dev"],
        "resources": ["documentclassifiers/status"],
        "verbs": ["get", "patch", "update"],
    },
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
]

# AccountMappings are cluster-scoped and cluster admins' to write: the
# operator only reads them, always through a ClusterRole.
ACCOUNT_MAPPING_RULES = [
    {
        "apiGroups": ["comprehend.operators.dev"],
        "resources": ["accountmappings"],
        "verbs": ["get", "list", "watch"],
    },
]
# The ClusterRole of a cluster-wide install: every rule.
CLUSTER_RULES = RULES + ACCOUNT_MAPPING_RULES

# The generated CRDs (crds/ at the top, written by `make crds`), which the
# chart's crds/ folder holds byte for byte.
CRD_FILES = ["accountmapping.yaml", "classificationjob.yaml", "documentclassifier.yaml"]
CRD_NAMES = {
    "accountmapping.yaml": "accountmappings.comprehend.operators.dev",
    "classificationjob.yaml": "classificationjobs.comprehend.operators.dev",
    "documentclassifier.yaml": "documentclassifiers.comprehend.operators.dev",
}

LEASE_RULES = [
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "resourceNames": ["cop-comprehend-operator"],
        "verbs": ["get", "update"],
    },
]


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = one(objects, "Deployment")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def assert_no_wildcards_no_secrets(role: dict[str, Any]) -> None:
    for rule in role["rules"]:
        for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            assert "*" not in rule.get(key, []), f"wildcard in {key} of {role['metadata']['name']}: {rule}"
        assert "secrets" not in rule.get("resources", []), rule
        assert "nonResourceURLs" not in rule, rule


def test_strict_lint_passes() -> None:
    report = helm_python.lint(str(CHART), strict=True)
    assert report["errors"] == [], report
    assert report["total_charts_linted"] == 1
    # Strict: nothing worse than "info" (e.g. "icon is recommended").
    assert [m for m in report["messages"] if m["severity"] >= 2] == [], report


def test_chart_versions_follow_the_crate() -> None:
    cargo = (ROOT / "Cargo.toml").read_text()
    package = cargo[cargo.index("[package]") :]
    crate_version = next(
        line.split("=", 1)[1].strip().strip('"')
        for line in package.splitlines()
        if line.startswith("version")
    )
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["version"] == crate_version
    assert chart["appVersion"] == crate_version


def test_chart_crds_are_the_generated_crds_byte_for_byte() -> None:
    # `make crds` regenerates crds/ from the Rust types and copies every file
    # into the chart.
    assert sorted(p.name for p in (ROOT / "crds").iterdir()) == CRD_FILES, "crds/ holds other CRDs"
    assert sorted(p.name for p in (CHART / "crds").iterdir()) == CRD_FILES
    top = {name: (ROOT / "crds" / name).read_bytes() for name in CRD_FILES}
    for name in CRD_FILES:
        chart = (CHART / "crds" / name).read_bytes()
        assert chart == top[name], (
            f"charts/comprehend-operator/crds/{name} differs from crds/{name}: run `make crds` (or copy it over)"
        )
        crd = yaml.safe_load(top[name])
        assert crd["kind"] == "CustomResourceDefinition"
        assert crd["metadata"]["name"] == CRD_NAMES[name]
    with helmctl.load_chart() as c:
        # What the Helm engine itself loads from crds/.
        crds = c.crds
    assert sorted(x["filename"] for x in crds) == [f"comprehend-operator/crds/{n}" for n in CRD_FILES]
    for x in crds:
        assert x["data"] == top[x["filename"].rsplit("/", 1)[1]].decode()


def test_chart_annotations_list_every_crd() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    listed = yaml.safe_load(chart["annotations"]["artifacthub.io/crds"])
    assert {c["name"] for c in listed} == set(CRD_NAMES.values())
    assert {c["kind"] for c in listed} == {"ClassificationJob", "DocumentClassifier", "AccountMapping"}
    for c in listed:
        crd = yaml.safe_load((ROOT / "crds" / f"{c['kind'].lower()}.yaml").read_text())
        assert c["name"] == crd["metadata"]["name"], c
        assert c["version"] == crd["spec"]["versions"][0]["name"], c


def test_every_value_is_documented() -> None:
    """Every key of values.yaml has a comment on the line(s) before it."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("- "):
            continue
        if ":" not in stripped:
            continue
        indent = len(line) - len(line.lstrip())
        parent_block = stripped.endswith(":")  # a map of documented values
        prev = lines[i - 1].strip() if i else ""
        deeper_list_item = indent > 0 and not prev.startswith("#") and _inside_default(lines, i)
        if not prev.startswith("#") and not parent_block and not deeper_list_item:
            undocumented.append(line)
    assert undocumented == [], undocumented


def _inside_default(lines: list[str], i: int) -> bool:
    """Whether line i is part of a documented value's default (a nested map)."""
    indent = len(lines[i]) - len(lines[i].lstrip())
    for j in range(i - 1, -1, -1):
        line = lines[j]
        if not line.strip() or line.strip().startswith("#"):
            continue
        j_indent = len(line) - len(line.lstrip())
        if j_indent < indent:
            k = j - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            return lines[k].strip().startswith("#") or _inside_default(lines, j)
    return False


def test_schema_is_draft07_and_closed() -> None:
    with helmctl.load_chart() as c:
        schema = c.schema
        values = c.values
    assert schema is not None
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False
    # Every default value is described by the schema.
    assert set(values) <= set(schema["properties"]), set(values) - set(schema["properties"])


def test_default_render() -> None:
    objects = helmctl.render()
    assert sorted(o["kind"] for o in objects) == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "ServiceAccount",
    ]
    for o in objects:
        labels = o["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "comprehend-operator"
        assert labels["app.kubernetes.io/instance"] == "cop"
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "comprehend-operator-0.1.0"

    deployment = one(objects, "Deployment")
    assert deployment["metadata"]["namespace"] == "comprehend-system"
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "cop-comprehend-operator"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}

    c = container(objects)
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["runAsUser"] == 65532
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert c["image"] == "comprehend-operator:0.1.0"
    assert c["args"] == [
        "--poll-interval=30",
        "--start-rate=1",
        "--describe-rate=8",
        "--list-rate=8",
        "--max-active-jobs=10",
        "--classifier-poll-interval=60",
        "--classifier-rate=1",
        "--classifier-delete-attempts=8",
        "--max-backoff=300",
        "--log-format=text",
        "--http-addr=0.0.0.0:8080",
    ]
    assert not any(a.startswith("--leader-election") for a in c["args"])
    assert not any(a.startswith(("--sts-endpoint-url", "--require-account-mapping")) for a in c["args"])
    # No results summaries and no S3 endpoint unless asked for.
    assert not any(a.startswith(("--summarize-results", "--s3-endpoint-url")) for a in c["args"])
    env = {e["name"]: e for e in c["env"]}
    assert "SUMMARIZE_RESULTS" not in env and "S3_ENDPOINT_URL" not in env
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"

    role = one(objects, "ClusterRole")
    assert role["rules"] == CLUSTER_RULES
    assert_no_wildcards_no_secrets(role)
    binding = one(objects, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "cop-comprehend-operator",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "cop-comprehend-operator", "namespace": "comprehend-system"}
    ]
    assert kinds(objects, "Role") == [], "no Lease Role without leader election"
    assert kinds(objects, "AccountMapping") == [], "no mappings by default"
    for o in objects:
        for rule in o.get("rules", []):
            assert "leases" not in rule["resources"]

    sa = one(objects, "ServiceAccount")
    assert sa["metadata"]["name"] == "cop-comprehend-operator"
    assert "annotations" not in sa["metadata"]

    svc = one(objects, "Service")
    assert svc["spec"]["ports"] == [
        {"name": "http-metrics", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert svc["spec"]["selector"] == {
        "app.kubernetes.io/name": "comprehend-operator",
        "app.kubernetes.io/instance": "cop",
    }


def test_operator_settings_become_args() -> None:
    objects = helmctl.render(
        {
            "region": "eu-west-1",
            "endpointUrl": "https://comprehend.internal.example:8443",
            "pollIntervalSeconds": 2.5,
            "startRate": 0.5,
            "describeRate": 4,
            "listRate": 3,
            "maxActiveJobs": 4,
            "classifierPollIntervalSeconds": 12.5,
            "classifierRate": 0.25,
            "classifierDeleteAttempts": 3,
            "maxBackoffSeconds": 60,
            "stsEndpointUrl": "https://sts.internal.example:8443",
            "accounts": {"requireMapping": True},
            "logFormat": "json",
            "logLevel": "info,comprehend_operator=debug",
            "image": {"repository": "images.invalid/team/comprehend-operator", "tag": "9.9.9"},
            "extraEnv": [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}],
        }
    )
    c = container(objects)
    assert c["args"] == [
        "--region=eu-west-1",
        "--endpoint-url=https://comprehend.internal.example:8443",
        "--sts-endpoint-url=https://sts.internal.example:8443",
        "--poll-interval=2.5",
        "--start-rate=0.5",
        "--describe-rate=4",
        "--list-rate=3",
        "--max-active-jobs=4",
        "--classifier-poll-interval=12.5",
        "--classifier-rate=0.25",
        "--classifier-delete-attempts=3",
        "--max-backoff=60",
        "--require-account-mapping",
        "--log-format=json",
        "--http-addr=0.0.0.0:8080",
    ]
    assert c["image"] == "images.invalid/team/comprehend-operator:9.9.9"
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["RUST_LOG"] == "info,comprehend_operator=debug"
    assert env["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"


def test_results_summaries_and_the_s3_endpoint_become_args() -> None:
    c = container(
        helmctl.render({"results": {"summarize": True}, "s3EndpointUrl": "https://s3.internal.example:8443"})
    )
    assert c["args"][:2] == ["--s3-endpoint-url=https://s3.internal.example:8443", "--poll-interval=30"]
    assert c["args"].count("--summarize-results") == 1
    assert c["args"].index("--summarize-results") < c["args"].index("--log-format=text")
    # Each on its own: summaries through the SDK's S3 endpoint, or only the endpoint.
    alone = container(helmctl.render({"results": {"summarize": True}}))["args"]
    assert "--summarize-results" in alone
    assert not any(a.startswith("--s3-endpoint-url") for a in alone)
    alone = container(helmctl.render({"s3EndpointUrl": "http://s3-local.internal.example:9000"}))["args"]
    assert "--s3-endpoint-url=http://s3-local.internal.example:9000" in alone
    assert "--summarize-results" not in alone
    # false renders nothing, like the default.
    assert "--summarize-results" not in container(helmctl.render({"results": {"summarize": False}}))["args"]
    # Flags, not environment variables, like every other setting.
    env = {e["name"] for e in c["env"]}
    assert "SUMMARIZE_RESULTS" not in env and "S3_ENDPOINT_URL" not in env


def test_watch_namespaces_get_a_role_each_and_a_cluster_role_for_account_mappings_only() -> None:
    objects = helmctl.render({"watchNamespaces": ["a", "b"]})
    # AccountMappings are cluster-scoped: read through the one ClusterRole,
    # which holds nothing else.
    cluster_role = one(objects, "ClusterRole")
    assert cluster_role["metadata"]["name"] == "cop-comprehend-operator-accountmappings"
    assert cluster_role["rules"] == ACCOUNT_MAPPING_RULES
    assert_no_wildcards_no_secrets(cluster_role)
    cluster_binding = one(objects, "ClusterRoleBinding")
    assert cluster_binding["metadata"]["name"] == "cop-comprehend-operator-accountmappings"
    assert cluster_binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "cop-comprehend-operator-accountmappings",
    }
    assert cluster_binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "cop-comprehend-operator", "namespace": "comprehend-system"}
    ]
    roles = kinds(objects, "Role")
    bindings = kinds(objects, "RoleBinding")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["a", "b"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["a", "b"]
    for role in roles:
        assert role["metadata"]["name"] == "cop-comprehend-operator"
        assert role["rules"] == RULES
        assert_no_wildcards_no_secrets(role)
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["roleRef"]["name"] == "cop-comprehend-operator"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "cop-comprehend-operator", "namespace": "comprehend-system"}
        ]
    assert "--namespace=a,b" in container(objects)["args"]


@pytest.mark.parametrize(
    "values",
    [{"replicaCount": 2}, {"leaderElection": {"enabled": True}}],
    ids=["replicaCount-2", "leaderElection-enabled"],
)
def test_leader_election_gets_a_lease_role_in_the_release_namespace(values: dict[str, Any]) -> None:
    objects = helmctl.render(values)
    c = container(objects)
    assert "--leader-election" in c["args"]
    assert "--lease-name=cop-comprehend-operator" in c["args"]
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    role = one(objects, "Role")
    assert role["metadata"]["name"] == "cop-comprehend-operator-leader-election"
    assert role["metadata"]["namespace"] == "comprehend-system"
    assert role["rules"] == LEASE_RULES
    assert_no_wildcards_no_secrets(role)
    binding = one(objects, "RoleBinding")
    assert binding["metadata"]["namespace"] == "comprehend-system"
    assert binding["roleRef"]["name"] == "cop-comprehend-operator-leader-election"
    # The ClusterRole holds no lease rule: leases stay in the release namespace.
    assert one(objects, "ClusterRole")["rules"] == CLUSTER_RULES


def test_operator_flags_the_chart_passes_exist() -> None:
    """Every flag the Deployment passes is one `comprehend-operator run` takes."""
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    binary = target / "debug" / "comprehend-operator"
    assert binary.exists(), f"{binary} is missing: run `cargo build --workspace --bins` (make test does)"
    help_text = subprocess.run(
        [str(binary), "run", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    values = {
        "region": "eu-west-1",
        "endpointUrl": "https://comprehend.internal.example",
        "stsEndpointUrl": "https://sts.internal.example",
        "s3EndpointUrl": "https://s3.internal.example",
        "results": {"summarize": True},
        "accounts": {"requireMapping": True},
        "watchNamespaces": ["a"],
        "replicaCount": 2,
    }
    for arg in container(helmctl.render(values))["args"]:
        flag = arg.split("=", 1)[0]
        assert re.search(rf"(^|\s){re.escape(flag)}([\s=,]|$)", help_text, re.M), (
            f"`comprehend-operator run` takes no {flag}:\n{help_text}"
        )


def test_notes_name_every_crd() -> None:
    notes = helmctl.notes()
    assert "ClassificationJobs and DocumentClassifiers" in notes
    assert "crds/classificationjob.yaml" in notes
    assert "crds/documentclassifier.yaml" in notes
    assert "crds/accountmapping.yaml" in notes
    assert "kubectl get accountmappings" in notes
    assert "act with the operator's own identity" in notes
    assert "Results summaries: off" in notes
    assert "SummaryDisabled" in notes


def test_notes_name_the_summary_permissions() -> None:
    notes = helmctl.notes({"results": {"summarize": True}, "s3EndpointUrl": "https://s3.internal.example"})
    assert "Results summaries: on" in notes
    assert "s3:GetObject on the output prefix" in notes
    assert "kms:Decrypt" in notes
    assert "through https://s3.internal.example" in notes
    assert "SummaryDisabled" not in notes


def test_notes_name_the_mappings_and_the_policy() -> None:
    notes = helmctl.notes(
        {
            "accounts": {
                "requireMapping": True,
                "mappings": [{"namespace": "team-a", "roleArn": "arn:aws:iam::111122223333:role/team-a"}],
            }
        }
    )
    assert "namespace team-a to arn:aws:iam::111122223333:role/team-a" in notes
    assert "sts:AssumeRole" in notes
    assert "NoAccountMapping" in notes
    assert "act with the operator's own identity" not in notes


MAPPINGS = [
    {
        "namespace": "team-a",
        "roleArn": "arn:aws:iam::111122223333:role/comprehend-team-a",
        "externalId": "team-a:7f3c/x=1",
        "sessionName": "team-a@cluster-1",
        "region": "eu-west-1",
    },
    # Only the role: the rest is the operator's default.
    {"namespace": "team-b", "roleArn": "arn:aws-us-gov:iam::444455556666:role/path/comprehend"},
]


def test_account_mappings_are_rendered_one_per_namespace() -> None:
    objects = helmctl.render({"accounts": {"mappings": MAPPINGS}})
    mappings = kinds(objects, "AccountMapping")
    assert [m["apiVersion"] for m in mappings] == ["comprehend.operators.dev/v1alpha1"] * 2
    # Cluster-scoped, named after the namespace it maps.
    assert [m["metadata"]["name"] for m in mappings] == ["team-a", "team-b"]
    assert all("namespace" not in m["metadata"] for m in mappings)
    assert mappings[0]["spec"] == {
        "roleArn": "arn:aws:iam::111122223333:role/comprehend-team-a",
        "externalId": "team-a:7f3c/x=1",
        "sessionName": "team-a@cluster-1",
        "region": "eu-west-1",
    }
    assert mappings[1]["spec"] == {"roleArn": "arn:aws-us-gov:iam::444455556666:role/path/comprehend"}
    for m in mappings:
        assert m["metadata"]["labels"]["app.kubernetes.io/instance"] == "cop"
    # Mappings change nothing about the operator's own rights: it reads them.
    assert one(objects, "ClusterRole")["rules"] == CLUSTER_RULES
    # Nor its args: unmapped namespaces still use its own identity.
    assert not any(a.startswith("--require-account-mapping") for a in container(objects)["args"])


def test_account_mappings_match_the_crd_schema() -> None:
    """What the chart renders is what the CRD takes: its spec fields, and
    values the schema accepts are values the CRD's patterns accept."""
    crd = yaml.safe_load((ROOT / "crds" / "accountmapping.yaml").read_text())
    assert crd["spec"]["scope"] == "Cluster"
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    with helmctl.load_chart() as c:
        schema = c.schema
    item = schema["properties"]["accounts"]["properties"]["mappings"]["items"]
    assert item["additionalProperties"] is False
    assert set(item["properties"]) == set(spec["properties"]) | {"namespace"}
    assert set(item["required"]) == set(spec["required"]) | {"namespace"}
    for field, crd_field in spec["properties"].items():
        for key in ("pattern", "minLength", "maxLength"):
            assert item["properties"][field].get(key) == crd_field.get(key), (field, key)
    for m in kinds(helmctl.render({"accounts": {"mappings": MAPPINGS}}), "AccountMapping"):
        assert set(m["spec"]) <= set(spec["properties"])
        for field, value in m["spec"].items():
            assert re.search(spec["properties"][field]["pattern"], value), (field, value)


def test_a_namespace_mapped_twice_fails() -> None:
    twice = [MAPPINGS[0], {"namespace": "team-a", "roleArn": "arn:aws:iam::999999999999:role/other"}]
    with helmctl.load_chart() as chart:
        with pytest.raises(helm_python.HelmError) as err:
            chart.render({"accounts": {"mappings": twice}}, name="cop", namespace="comprehend-system")
    assert 'namespace "team-a" is mapped twice' in str(err.value), err.value


def test_irsa_annotation_on_the_service_account() -> None:
    arn = "arn:aws:iam::123456789012:role/comprehend-operator"
    objects = helmctl.render({"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": arn}}})
    sa = one(objects, "ServiceAccount")
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": arn}
    assert "IRSA" not in helmctl.notes({"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": arn}}})


def test_existing_service_account() -> None:
    objects = helmctl.render({"serviceAccount": {"create": False, "name": "mine"}})
    assert kinds(objects, "ServiceAccount") == []
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "mine"
    assert one(objects, "ClusterRoleBinding")["subjects"][0]["name"] == "mine"


def test_rbac_can_be_left_out() -> None:
    objects = helmctl.render({"rbac": {"create": False}, "replicaCount": 2})
    for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
        assert kinds(objects, kind) == []


def test_service_monitor() -> None:
    assert kinds(helmctl.render(), "ServiceMonitor") == []
    objects = helmctl.render(
        {"serviceMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "prometheus"}}}
    )
    sm = one(objects, "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "prometheus"
    assert sm["spec"]["endpoints"] == [{"port": "http-metrics", "path": "/metrics", "interval": "15s"}]
    assert sm["spec"]["selector"]["matchLabels"] == one(objects, "Service")["spec"]["selector"]
    assert sm["spec"]["namespaceSelector"] == {"matchNames": ["comprehend-system"]}


def test_pod_disruption_budget() -> None:
    assert kinds(helmctl.render(), "PodDisruptionBudget") == []
    pdb = one(helmctl.render({"replicaCount": 2, "podDisruptionBudget": {"enabled": True}}), "PodDisruptionBudget")
    assert pdb["apiVersion"] in ("policy/v1", "policy/v1beta1")
    assert pdb["spec"]["minAvailable"] == 1
    assert "maxUnavailable" not in pdb["spec"]
    assert pdb["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "comprehend-operator",
        "app.kubernetes.io/instance": "cop",
    }
    pdb = one(
        helmctl.render({"podDisruptionBudget": {"enabled": True, "maxUnavailable": "50%"}}),
        "PodDisruptionBudget",
    )
    assert pdb["spec"] == {
        "maxUnavailable": "50%",
        "selector": pdb["spec"]["selector"],
    }


def test_network_policy() -> None:
    assert kinds(helmctl.render(), "NetworkPolicy") == []
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    np = one(helmctl.render({"networkPolicy": {"enabled": True, "metricsFrom": [peer]}}), "NetworkPolicy")
    assert np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "cop"
    assert np["spec"]["policyTypes"] == ["Ingress"]
    assert np["spec"]["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}], "from": [peer]}]
    egress = [{"ports": [{"port": 443, "protocol": "TCP"}]}]
    np = one(helmctl.render({"networkPolicy": {"enabled": True, "egress": egress}}), "NetworkPolicy")
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert np["spec"]["egress"] == egress
    assert np["spec"]["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]


def _mapping(**fields: str) -> dict[str, Any]:
    """accounts.mappings with one mapping of namespace a: a role, and `fields`."""
    return {"accounts": {"mappings": [{"namespace": "a", "roleArn": "arn:aws:iam::111122223333:role/x", **fields}]}}


@pytest.mark.parametrize(
    "values, where",
    [
        ({"replicaCount": "two"}, "/replicaCount"),
        ({"replicaCount": 0}, "/replicaCount"),
        ({"logFormat": "xml"}, "/logFormat"),
        ({"watchNamespaces": "a,b"}, "/watchNamespaces"),
        ({"watchNamespaces": ["Not_A_Namespace"]}, "/watchNamespaces/0"),
        ({"pollIntervalSeconds": 0}, "/pollIntervalSeconds"),
        ({"maxActiveJobs": 1.5}, "/maxActiveJobs"),
        ({"classifierPollIntervalSeconds": 0}, "/classifierPollIntervalSeconds"),
        ({"classifierPollIntervalSeconds": "60s"}, "/classifierPollIntervalSeconds"),
        ({"classifierRate": 0}, "/classifierRate"),
        ({"classifierDeleteAttempts": 0}, "/classifierDeleteAttempts"),
        ({"classifierDeleteAttempts": 2.5}, "/classifierDeleteAttempts"),
        ({"region": "Europe"}, "/region"),
        ({"serviceMonitor": {"enabled": "yes"}}, "/serviceMonitor/enabled"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"replicas": 2}, "replicas"),
        ({"stsEndpointUrl": "sts.amazonaws.com"}, "/stsEndpointUrl"),
        ({"accounts": {"requireMapping": "yes"}}, "/accounts/requireMapping"),
        ({"results": {"summarize": "yes"}}, "/results/summarize"),
        ({"results": {"summarize": "true"}}, "/results/summarize"),
        ({"results": {"summarize": 1}}, "/results/summarize"),
        ({"results": True}, "/results"),
        ({"results": {"summary": True}}, "summary"),
        ({"s3EndpointUrl": "s3.amazonaws.com"}, "/s3EndpointUrl"),
        ({"accounts": {"mapping": []}}, "mapping"),
        ({"accounts": {"mappings": {"team-a": "arn:aws:iam::111122223333:role/x"}}}, "/accounts/mappings"),
        ({"accounts": {"mappings": [{"namespace": "team-a"}]}}, "roleArn"),
        (
            {"accounts": {"mappings": [{"roleArn": "arn:aws:iam::111122223333:role/x"}]}},
            "namespace",
        ),
        # An IAM user, a short account ID, no ARN: no role ARN.
        (_mapping(roleArn="arn:aws:iam::111122223333:user/x"), "/accounts/mappings/0/roleArn"),
        (_mapping(roleArn="arn:aws:iam::1111222233:role/x"), "/accounts/mappings/0/roleArn"),
        (_mapping(roleArn="team-a-role"), "/accounts/mappings/0/roleArn"),
        (_mapping(namespace="Team_A"), "/accounts/mappings/0/namespace"),
        (_mapping(externalId="has space"), "/accounts/mappings/0/externalId"),
        (_mapping(externalId="e"), "/accounts/mappings/0/externalId"),
        (_mapping(sessionName="a/b"), "/accounts/mappings/0/sessionName"),
        (_mapping(sessionName="s" * 65), "/accounts/mappings/0/sessionName"),
        (_mapping(region="EU"), "/accounts/mappings/0/region"),
        (_mapping(account="111122223333"), "account"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_wrong_values_fail_with_a_schema_error(values: dict[str, Any], where: str) -> None:
    with helmctl.load_chart() as chart:
        with pytest.raises(helm_python.HelmValuesError) as err:
            chart.render(values, name="cop", namespace="comprehend-system")
    message = str(err.value)
    assert "schema" in message, message
    assert where in message, message


def test_values_yaml_is_valid_against_its_schema() -> None:
    with helmctl.load_chart() as chart:
        chart.validate_schema(yaml.safe_load((CHART / "values.yaml").read_text()))


def test_no_host_names_or_machine_paths_in_the_chart() -> None:
    for path in sorted(Path(CHART).rglob("*")):
        if path.is_dir():
            continue
        text = path.read_text()
        assert "/home/" not in text and "/root/" not in text and "/tmp/" not in text, path
