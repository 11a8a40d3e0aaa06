"""The stand-in's copy of the Comprehend service model (conformance).

What it checks: standin/model/comprehend.json, the extract of the service
model the stand-in validates requests with, is byte for byte what
service_model.py makes of the pinned botocore's model.

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


def test_standin_extract_matches_the_service_model():
    path = ROOT / EXTRACT
    assert path.is_file(), (
        f"{EXTRACT} is missing: generate it with "
        f"`python tests/conformance/service_model.py > {EXTRACT}`"
    )
    want = service_model.extract_json(service_model.load()).encode()
    got = path.read_bytes()
    if got != want:
        first = next(
            (i for i, (a, b) in enumerate(zip(got, want)) if a != b),
            min(len(got), len(want)),
        )
        line = got[:first].count(b"\n") + 1
        pytest.fail(
            f"{EXTRACT} differs from the extract of botocore {botocore.__version__}'s "
            f"Comprehend model (first difference at byte {first}, line {line}; "
            f"{len(got)} bytes in the tree, {len(want)} expected): regenerate it with "
            f"`python tests/conformance/service_model.py > {EXTRACT}` "
            f"(in the venv of tests/conformance/requirements.txt)",
            pytrace=False,
        )
