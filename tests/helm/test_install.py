"""The chart installed by the Helm engine into the test API server, and its
RBAC checked with `kubectl auth can-i` as the chart's ServiceAccount: enough
for the operator, and nothing more.

That the operator really runs as that ServiceAccount is proven by the Rust
test tests/helm_rbac.rs: it installs the chart with tests/helm/helmctl.py and
runs the operator binary impersonating the ServiceAccount until a
DocumentClassifier is trained and deleted and ClassificationJobs succeed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

import helmctl
from conftest import kubectl

JOBS = "classificationjobs.comprehend.operators.dev"
CLASSIFIERS = "documentclassifiers.comprehend.operators.dev"
MAPPINGS = "accountmappings.comprehend.operators.dev"
# The chart's three CRDs (its crds/ folder), and their scopes.
CRDS = {JOBS: "Namespaced", CLASSIFIERS: "Namespaced", MAPPINGS: "Cluster"}

# A cluster-wide release with the default values...
NS = "comprehend-system"
RELEASE = "cop"
SA = f"system:serviceaccount:{NS}:{RELEASE}-comprehend-operator"

# ...and one watching two namespaces, with leader election.
NS2 = "comprehend-ns-system"
RELEASE2 = "cop-ns"
SA2 = f"system:serviceaccount:{NS2}:{RELEASE2}-comprehend-operator"
LEASE2 = f"{RELEASE2}-comprehend-operator"
WATCHED = ["team-a", "team-b"]

# The AccountMappings the first release creates (cluster-scoped, each named
# after the namespace it maps).
MAPPED = [
    {
        "namespace": "team-a",
        "roleArn": "arn:aws:iam::111122223333:role/comprehend-team-a",
        "externalId": "team-a-7f3c",
        "region": "eu-west-1",
    },
    {"namespace": "team-b", "roleArn": "arn:aws:iam::444455556666:role/comprehend-team-b", "sessionName": "team-b"},
]

# What every authenticated user may do (system:basic-user).
BASIC = {
    ("selfsubjectaccessreviews.authorization.k8s.io", "", "create"),
    ("selfsubjectrulesreviews.authorization.k8s.io", "", "create"),
}
OPERATOR = {
    (JOBS, "", "get"),
    (JOBS, "", "list"),
    (JOBS, "", "watch"),
    (JOBS, "", "delete"),
    (f"{JOBS}/status", "", "get"),
    (f"{JOBS}/status", "", "patch"),
    (f"{JOBS}/status", "", "update"),
    (CLASSIFIERS, "", "get"),
    (CLASSIFIERS, "", "list"),
    (CLASSIFIERS, "", "watch"),
    (CLASSIFIERS, "", "patch"),  # the finalizer only
    (f"{CLASSIFIERS}/status", "", "get"),
    (f"{CLASSIFIERS}/status", "", "patch"),
    (f"{CLASSIFIERS}/status", "", "update"),
    ("events.events.k8s.io", "", "create"),
    ("events.events.k8s.io", "", "patch"),
}
# AccountMappings (cluster-scoped): read only, through a ClusterRole, so
# granted in every namespace's rules review.
MAPPINGS_READ = {
    (MAPPINGS, "", "get"),
    (MAPPINGS, "", "list"),
    (MAPPINGS, "", "watch"),
}


def ensure_namespace(name: str) -> None:
    if kubectl("get", "namespace", name, check=False).returncode != 0:
        kubectl("create", "namespace", name)


def can_i(sa: str, verb: str, resource: str, *extra: str) -> bool:
    proc = kubectl("auth", "can-i", verb, resource, f"--as={sa}", *extra, check=False)
    answer = proc.stdout.strip()
    assert answer in ("yes", "no"), f"can-i {verb} {resource}: {proc.stdout} {proc.stderr}"
    return answer == "yes"


def granted(sa: str, namespace: str) -> set[tuple[str, str, str]]:
    """(resource, resource name, verb) triples the API server's rules review
    grants `sa` in `namespace` (non-resource URLs left out)."""
    out = kubectl("auth", "can-i", "--list", f"--as={sa}", "-n", namespace).stdout
    rows = set()
    for line in out.splitlines()[1:]:
        m = re.match(r"^(\S+)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*$", line)
        if not m:
            continue  # a non-resource URL row starts with spaces
        resource, _urls, names, verbs = m.groups()
        for verb in verbs.split():
            for name in names.split() or [""]:
                rows.add((resource, name, verb))
    return rows


@pytest.fixture(scope="module")
def releases(cluster: str) -> Iterator[dict[str, Any]]:
    for ns in (NS, NS2, *WATCHED, "elsewhere"):
        ensure_namespace(ns)
    # The first install creates the CRDs from the chart's crds/ folder (or
    # finds them already there, created by other tests from the same files).
    first = helmctl.install(RELEASE, NS, {"accounts": {"mappings": MAPPED}})
    second = helmctl.install(
        RELEASE2,
        NS2,
        {
            "watchNamespaces": WATCHED,
            "replicaCount": 2,
            "accounts": {"requireMapping": True},
            "stsEndpointUrl": "https://sts.internal.example",
            "results": {"summarize": True},
            "s3EndpointUrl": "https://s3.internal.example",
        },
    )
    yield {RELEASE: first, RELEASE2: second}
    helmctl.uninstall(RELEASE2, NS2)


def test_install_creates_the_crd_and_the_objects(releases: dict[str, Any]) -> None:
    rel = releases[RELEASE]
    assert rel["status"] == "deployed", rel
    assert rel["namespace"] == NS
    assert rel["chart_version"] == "0.1.0"
    assert helmctl.status(RELEASE, NS)["status"] == "deployed"

    for name, scope in CRDS.items():
        crd = json.loads(kubectl("get", "crd", name, "-o", "json").stdout)
        assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha1"], name
        assert crd["spec"]["scope"] == scope, name
        kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=30s")

    name = f"{RELEASE}-comprehend-operator"
    deployment = json.loads(kubectl("-n", NS, "get", "deployment", name, "-o", "json").stdout)
    assert deployment["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert deployment["metadata"]["annotations"]["meta.helm.sh/release-name"] == RELEASE
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == name
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    kubectl("-n", NS, "get", "serviceaccount", name)
    kubectl("-n", NS, "get", "service", f"{name}-metrics")
    role = json.loads(kubectl("get", "clusterrole", name, "-o", "json").stdout)
    assert {r["resources"][0] for r in role["rules"]} == {
        "classificationjobs",
        "classificationjobs/status",
        "documentclassifiers",
        "documentclassifiers/status",
        "events",
        "accountmappings",
    }
    binding = json.loads(kubectl("get", "clusterrolebinding", name, "-o", "json").stdout)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": NS}]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not any(a.startswith(("--require-account-mapping", "--sts-endpoint-url")) for a in args), args
    assert not any(a.startswith(("--summarize-results", "--s3-endpoint-url")) for a in args), args


def test_install_creates_the_account_mappings(releases: dict[str, Any]) -> None:
    """accounts.mappings become AccountMappings the API server accepts (the
    CRD's schema), cluster-scoped and named after their namespaces."""
    for m in MAPPED:
        stored = json.loads(kubectl("get", MAPPINGS, m["namespace"], "-o", "json").stdout)
        assert "namespace" not in stored["metadata"], stored["metadata"]
        assert stored["metadata"]["annotations"]["meta.helm.sh/release-name"] == RELEASE
        assert stored["spec"] == {k: v for k, v in m.items() if k != "namespace"}
    # The printer columns of the CRD.
    table = kubectl("get", MAPPINGS, "team-a").stdout
    assert "arn:aws:iam::111122223333:role/comprehend-team-a" in table and "eu-west-1" in table, table


def test_namespaced_install_creates_roles_in_the_watched_namespaces(releases: dict[str, Any]) -> None:
    assert releases[RELEASE2]["status"] == "deployed"
    name = f"{RELEASE2}-comprehend-operator"
    for ns in WATCHED:
        kubectl("-n", ns, "get", "role", name)
        kubectl("-n", ns, "get", "rolebinding", name)
    kubectl("-n", NS2, "get", "role", f"{name}-leader-election")
    kubectl("-n", NS2, "get", "rolebinding", f"{name}-leader-election")
    assert kubectl("get", "clusterrole", name, check=False).returncode != 0
    assert kubectl("-n", NS, "get", "role", f"{RELEASE}-comprehend-operator-leader-election", check=False).returncode != 0
    # AccountMappings are cluster-scoped: the one cluster-wide grant.
    role = json.loads(kubectl("get", "clusterrole", f"{name}-accountmappings", "-o", "json").stdout)
    assert role["rules"] == [
        {
            "apiGroups": ["comprehend.operators.dev"],
            "resources": ["accountmappings"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    binding = json.loads(kubectl("get", "clusterrolebinding", f"{name}-accountmappings", "-o", "json").stdout)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": NS2}]
    deployment = json.loads(kubectl("-n", NS2, "get", "deployment", name, "-o", "json").stdout)
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--require-account-mapping" in args, args
    assert "--sts-endpoint-url=https://sts.internal.example" in args, args
    assert "--summarize-results" in args, args
    assert "--s3-endpoint-url=https://s3.internal.example" in args, args


@pytest.mark.parametrize(
    "verb, resource, extra",
    [
        ("list", JOBS, ["--all-namespaces"]),
        ("watch", JOBS, ["--all-namespaces"]),
        ("get", JOBS, ["-n", "team-a"]),
        ("delete", JOBS, ["-n", "team-a"]),
        ("patch", JOBS, ["-n", "team-a", "--subresource=status"]),
        ("update", JOBS, ["-n", "team-a", "--subresource=status"]),
        ("list", CLASSIFIERS, ["--all-namespaces"]),
        ("watch", CLASSIFIERS, ["--all-namespaces"]),
        ("get", CLASSIFIERS, ["-n", "team-a"]),
        ("patch", CLASSIFIERS, ["-n", "team-a"]),  # the finalizer
        ("get", CLASSIFIERS, ["-n", "team-a", "--subresource=status"]),
        ("patch", CLASSIFIERS, ["-n", "team-a", "--subresource=status"]),
        ("update", CLASSIFIERS, ["-n", "team-a", "--subresource=status"]),
        ("create", "events.events.k8s.io", ["-n", "team-a"]),
        ("patch", "events.events.k8s.io", ["-n", "team-a"]),
        ("list", MAPPINGS, ["--all-namespaces"]),
        ("watch", MAPPINGS, ["--all-namespaces"]),
        ("get", MAPPINGS, ["--all-namespaces"]),
        ("get", f"{MAPPINGS}/team-a", ["--all-namespaces"]),
    ],
)
def test_cluster_wide_service_account_can(releases: dict[str, Any], verb: str, resource: str, extra: list[str]) -> None:
    assert can_i(SA, verb, resource, *extra), f"{SA} must be allowed to {verb} {resource} {extra}"


@pytest.mark.parametrize(
    "verb, resource, extra",
    [
        ("get", "secrets", ["-n", NS]),
        ("list", "secrets", ["--all-namespaces"]),
        ("create", "deployments.apps", ["-n", NS]),
        ("patch", JOBS, ["-n", "team-a"]),  # the spec is the user's: only the status is written
        ("update", JOBS, ["-n", "team-a"]),
        ("create", JOBS, ["-n", "team-a"]),
        ("create", CLASSIFIERS, ["-n", "team-a"]),  # the user's to create
        ("update", CLASSIFIERS, ["-n", "team-a"]),  # only patched, for the finalizer
        ("delete", CLASSIFIERS, ["-n", "team-a"]),  # the user's to delete
        ("deletecollection", CLASSIFIERS, ["-n", "team-a"]),
        ("*", CLASSIFIERS, ["-n", "team-a"]),
        ("create", "events", ["-n", "team-a"]),  # core/v1 events: not used
        ("create", "leases.coordination.k8s.io", ["-n", NS]),  # no leader election
        ("get", "configmaps", ["-n", NS]),
        ("create", "pods", ["-n", NS]),
        ("*", "*", ["--all-namespaces"]),
        ("*", JOBS, ["-n", "team-a"]),
        ("escalate", "clusterroles.rbac.authorization.k8s.io", []),
        ("impersonate", "serviceaccounts", ["-n", NS]),
        # AccountMappings are cluster admins' to write: the operator only
        # reads them (or a namespace could be pointed at another's role).
        ("create", MAPPINGS, ["--all-namespaces"]),
        ("update", MAPPINGS, ["--all-namespaces"]),
        ("patch", MAPPINGS, ["--all-namespaces"]),
        ("delete", MAPPINGS, ["--all-namespaces"]),
        ("deletecollection", MAPPINGS, ["--all-namespaces"]),
        ("update", f"{MAPPINGS}/team-a", ["--all-namespaces"]),
        ("*", MAPPINGS, ["--all-namespaces"]),
    ],
)
def test_cluster_wide_service_account_cannot(
    releases: dict[str, Any], verb: str, resource: str, extra: list[str]
) -> None:
    assert not can_i(SA, verb, resource, *extra), f"{SA} must NOT be allowed to {verb} {resource} {extra}"


def test_cluster_wide_service_account_has_exactly_the_operator_rules(releases: dict[str, Any]) -> None:
    for ns in ("team-a", NS, "elsewhere"):
        assert granted(SA, ns) == OPERATOR | MAPPINGS_READ | BASIC, ns


def test_namespaced_service_account_is_confined_to_its_namespaces(releases: dict[str, Any]) -> None:
    for ns in WATCHED:
        assert granted(SA2, ns) == OPERATOR | MAPPINGS_READ | BASIC, ns
        assert can_i(SA2, "watch", JOBS, "-n", ns)
        assert can_i(SA2, "patch", JOBS, "-n", ns, "--subresource=status")
        assert not can_i(SA2, "patch", JOBS, "-n", ns)
        assert can_i(SA2, "watch", CLASSIFIERS, "-n", ns)
        assert can_i(SA2, "patch", CLASSIFIERS, "-n", ns)
        assert can_i(SA2, "patch", CLASSIFIERS, "-n", ns, "--subresource=status")
        assert not can_i(SA2, "delete", CLASSIFIERS, "-n", ns)
        assert not can_i(SA2, "create", "leases.coordination.k8s.io", "-n", ns)
    # AccountMappings are read cluster-wide (they are cluster-scoped), and
    # nothing else is.
    assert granted(SA2, "elsewhere") == MAPPINGS_READ | BASIC
    assert can_i(SA2, "list", MAPPINGS, "--all-namespaces")
    assert can_i(SA2, "watch", MAPPINGS, "--all-namespaces")
    for verb in ("create", "update", "patch", "delete"):
        assert not can_i(SA2, verb, MAPPINGS, "--all-namespaces"), verb
    assert not can_i(SA2, "list", JOBS, "--all-namespaces")
    assert not can_i(SA2, "list", JOBS, "-n", "elsewhere")
    assert not can_i(SA2, "list", CLASSIFIERS, "--all-namespaces")
    assert not can_i(SA2, "patch", CLASSIFIERS, "-n", "elsewhere")
    assert not can_i(SA2, "create", "events.events.k8s.io", "-n", "elsewhere")


def test_leader_election_grants_only_its_lease_in_the_release_namespace(releases: dict[str, Any]) -> None:
    assert granted(SA2, NS2) == BASIC | MAPPINGS_READ | {
        ("leases.coordination.k8s.io", "", "create"),
        ("leases.coordination.k8s.io", LEASE2, "get"),
        ("leases.coordination.k8s.io", LEASE2, "update"),
    }
    lease = f"leases.coordination.k8s.io/{LEASE2}"
    assert can_i(SA2, "create", "leases.coordination.k8s.io", "-n", NS2)
    assert can_i(SA2, "get", lease, "-n", NS2)
    assert can_i(SA2, "update", lease, "-n", NS2)
    assert not can_i(SA2, "get", "leases.coordination.k8s.io/someone-else", "-n", NS2)
    assert not can_i(SA2, "delete", lease, "-n", NS2)
    assert not can_i(SA2, "list", "leases.coordination.k8s.io", "-n", NS2)
    assert not can_i(SA2, "get", "secrets", "-n", NS2)


def test_uninstall_removes_the_objects_and_keeps_the_crd(releases: dict[str, Any]) -> None:
    name = f"{RELEASE}-comprehend-operator"
    helmctl.uninstall(RELEASE, NS)
    assert kubectl("-n", NS, "get", "deployment", name, check=False).returncode != 0
    assert kubectl("get", "clusterrole", name, check=False).returncode != 0
    assert not can_i(SA, "list", JOBS, "--all-namespaces")
    assert not can_i(SA, "patch", CLASSIFIERS, "-n", "team-a")
    assert not can_i(SA, "list", MAPPINGS, "--all-namespaces")
    # The release's AccountMappings go with it.
    for m in MAPPED:
        assert kubectl("get", MAPPINGS, m["namespace"], check=False).returncode != 0, m["namespace"]
    # Helm never deletes a CRD (that would delete every ClassificationJob,
    # DocumentClassifier and AccountMapping).
    for name in CRDS:
        kubectl("get", "crd", name)


def test_install_with_a_wrong_value_fails_with_a_schema_error(cluster: str) -> None:
    import helm_python

    ensure_namespace(NS)
    with pytest.raises(helm_python.HelmError) as err:
        helmctl.install("cop-bad", NS, {"logFormat": "xml"}, skip_crds=True)
    assert "schema" in str(err.value) and "/logFormat" in str(err.value), err.value
    # A mapping to something that is no IAM role ARN.
    bad_mapping = {"accounts": {"mappings": [{"namespace": "team-a", "roleArn": "arn:aws:iam::1:user/x"}]}}
    with pytest.raises(helm_python.HelmError) as err:
        helmctl.install("cop-bad", NS, bad_mapping, skip_crds=True)
    assert "schema" in str(err.value) and "/accounts/mappings/0/roleArn" in str(err.value), err.value
    with helm_python.Config(kubeconfig_path=cluster, namespace=NS) as cfg:
        assert [r["name"] for r in cfg.list(all_states=True) if r["name"] == "cop-bad"] == []
    assert kubectl("get", MAPPINGS, "team-a", check=False).returncode != 0
