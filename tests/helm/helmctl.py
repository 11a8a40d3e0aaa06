"""The Helm engine for the chart's tests, through helm-python-sdk.

Used by the pytest suite (imported) and by the Rust test tests/helm_rbac.rs
(run as a script with the venv's python):

    python tests/helm/helmctl.py install --release R --namespace NS \
        [--values JSON] [--skip-crds]
    python tests/helm/helmctl.py uninstall --release R --namespace NS

Why install does not use `Config.install`: Helm 4 installs with server-side
apply by default, also the CRDs of the chart's crds/ folder, and an API
server older than 1.25 (the test one is 1.20) refuses the CRD's
`x-kubernetes-validations` (CEL) in an apply patch ("field not declared in
schema"). Created the classic way it is accepted (the server drops the CEL
rules). helm-python-sdk 0.2.2's `Config.install` does not expose the
install options `server_side_apply` and `skip_crds` of the library it wraps
(`helm install --server-side=false` / `--skip-crds` on the CLI), so this
module passes them to the same `helm_install` call itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import helm_python
import yaml
from helm_python import _native

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "comprehend-operator"


def kubeconfig() -> str:
    """The test API server's kubeconfig, or a failure saying how to get one."""
    path = os.environ.get("KUBECONFIG", "")
    if not path or not Path(path).exists():
        raise RuntimeError(
            "KUBECONFIG is not set: the Helm install tests need the test API "
            "server. Run `make test` (or `tests/env/with-env.sh tests/helm/run.sh`)."
        )
    return path


def load_chart() -> helm_python.Chart:
    return helm_python.Chart.load(str(CHART))


def render(
    values: dict[str, Any] | None = None,
    *,
    name: str = "cop",
    namespace: str = "comprehend-system",
) -> list[dict[str, Any]]:
    """Renders the chart offline and returns its objects (NOTES left out)."""
    with load_chart() as chart:
        manifests = chart.render(values or {}, name=name, namespace=namespace)
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append(doc)
    return objects


def notes(values: dict[str, Any] | None = None, **kw: Any) -> str:
    with load_chart() as chart:
        manifests = chart.render(
            values or {}, name=kw.get("name", "cop"), namespace=kw.get("namespace", "comprehend-system")
        )
    return next(t for p, t in manifests.items() if p.endswith("NOTES.txt"))


def install(
    release: str,
    namespace: str,
    values: dict[str, Any] | None = None,
    *,
    skip_crds: bool = False,
    timeout: int = 120,
) -> dict[str, Any]:
    """A real `helm install` (Helm 4 SDK) into the API server of KUBECONFIG.

    Objects are created client-side (not server-side applied): see the module
    docs. With `skip_crds`, the CRD must have been installed already.
    """
    opts: dict[str, Any] = {
        "namespace": namespace,
        "timeout_seconds": timeout,
        "server_side_apply": False,
    }
    if skip_crds:
        opts["skip_crds"] = True
    with helm_python.Config(kubeconfig_path=kubeconfig(), namespace=namespace) as cfg, load_chart() as chart:
        payload = _native.call_string(
            "helm_install",
            cfg._raw(),
            _native.HANDLE(0),  # no cancellation context
            chart._raw(),
            None,  # the chart is given by handle, not by reference
            release,
            json.dumps(values or {}),
            json.dumps(opts),
        )
    release_info: dict[str, Any] = json.loads(payload)
    return release_info


def uninstall(release: str, namespace: str) -> None:
    with helm_python.Config(kubeconfig_path=kubeconfig(), namespace=namespace) as cfg:
        cfg.uninstall(release, ignore_not_found=True)


def status(release: str, namespace: str) -> dict[str, Any]:
    with helm_python.Config(kubeconfig_path=kubeconfig(), namespace=namespace) as cfg:
        return cfg.status(release)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_install = sub.add_parser("install", help="helm install the chart")
    p_install.add_argument("--release", required=True)
    p_install.add_argument("--namespace", required=True)
    p_install.add_argument("--values", default="{}", help="values as a JSON object")
    p_install.add_argument("--skip-crds", action="store_true")
    p_uninstall = sub.add_parser("uninstall", help="helm uninstall a release")
    p_uninstall.add_argument("--release", required=True)
    p_uninstall.add_argument("--namespace", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            rel = install(
                args.release, args.namespace, json.loads(args.values), skip_crds=args.skip_crds
            )
            print(json.dumps({k: rel.get(k) for k in ("name", "namespace", "revision", "status")}))
        else:
            uninstall(args.release, args.namespace)
    except (helm_python.HelmError, RuntimeError) as e:
        print(f"helmctl: {args.command} failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
