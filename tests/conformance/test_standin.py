"""The stand-in's copies of the Comprehend and STS service models
(conformance).

What it checks: standin/model/comprehend.json and standin/model/sts.json, the
extracts of the service models the stand-in validates requests with, are
byte for byte what service_model.py makes of the pinned botocore's models.

Why: the stand-in plays Comprehend in the integration tests; if its extract
drifted from the model (edited by hand, or made from another botocore), the
tests would check the operator against a service that does not exist.
"""

from pathlib import Path

import botocore
import pytest

import service_model

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = "standin/model/comprehend.json"
STS_EXTRACT = "standin/model/sts.json"


def test_standin_extract_matches_the_service_model():
    want = service_model.extract_json(service_model.load())
    check_extract(EXTRACT, "Comprehend", want, "")


def test_standin_sts_extract_matches_the_sts_service_model():
    want = service_model.sts_extract_json(service_model.load_sts())
    check_extract(STS_EXTRACT, "STS", want, " sts")


def check_extract(extract, service, want, args):
    """Fails unless the file `extract` holds `want`, byte for byte."""
    path = ROOT / extract
    assert path.is_file(), (
        f"{extract} is missing: generate it with "
        f"`python tests/conformance/service_model.py{args} > {extract}`"
    )
    want = want.encode()
    got = path.read_bytes()
    if got != want:
        first = next(
            (i for i, (a, b) in enumerate(zip(got, want)) if a != b),
            min(len(got), len(want)),
        )
        line = got[:first].count(b"\n") + 1
        pytest.fail(
            f"{extract} differs from the extract of botocore {botocore.__version__}'s "
            f"{service} model (first difference at byte {first}, line {line}; "
            f"{len(got)} bytes in the tree, {len(want)} expected): regenerate it with "
            f"`python tests/conformance/service_model.py{args} > {extract}` "
            f"(in the venv of tests/conformance/requirements.txt)",
            pytrace=False,
        )
