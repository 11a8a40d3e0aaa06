"""The CRDs against the Comprehend service model (conformance).

What it checks: the spec schema of each CRD in crds/ against the request shape
it is sent as, in the service model the AWS SDKs are generated from (botocore's
comprehend/2017-11-27/service-2.json.gz, pinned in requirements.txt):

  ClassificationJob.spec  <-> StartDocumentClassificationJobRequest
  DocumentClassifier.spec <-> CreateDocumentClassifierRequest

Every member reachable from the request (through structures and lists) is a
field of the CRD (the member name in lowerCamelCase; list members under
`items`) and every CRD field is a member, except the short lists below. Paired
fields have the same type, length and item limits, enum sets, required members
and patterns. Limits the model states only in its documentation are checked
too (tags per resource, featureTypes with TEXTRACT_ANALYZE_DOCUMENT), and tag
keys refuse the reserved `aws:` prefix.

Why: the API server should refuse what Comprehend would refuse, when the
resource is applied, instead of the operator finding out from a failed call
minutes later; and it must not refuse what Comprehend accepts. The Rust types
the CRDs are generated from are written by hand, so they are compared with an
independent source of truth here.

Each test collects every divergence of one kind in one CRD before failing:
the message names the CRD path, the model member and both values.
"""

import functools
import html
import re
from pathlib import Path

import botocore
import pytest
import yaml

import service_model

ROOT = Path(__file__).resolve().parents[2]

# CRD kind -> (CRD file, model request shape its spec is sent as).
CRDS = {
    "ClassificationJob": ("crds/classificationjob.yaml", "StartDocumentClassificationJobRequest"),
    "DocumentClassifier": ("crds/documentclassifier.yaml", "CreateDocumentClassifierRequest"),
}

# Model members with no CRD field (paths relative to the request shape).
EXCLUDED_MEMBERS = {
    # The operator derives the idempotency token from the resource's UID, so
    # that a retried call after a restart is the same request.
    "ClassificationJob": {"ClientRequestToken"},
    "DocumentClassifier": {"ClientRequestToken"},
}

# CRD spec fields with no model member: the operator's own settings, never
# sent to Comprehend (their subfields are not checked either).
OPERATOR_FIELDS = {
    "ClassificationJob": {
        # A DocumentClassifier resource whose ARN the operator fills in.
        "classifierRef",
        # Selects the endpoint (the Region is not a request member).
        "region",
        # Deletes the resource after the job ends, as batch/v1 Job does.
        "ttlSecondsAfterFinished",
        # Names a job started elsewhere, followed with Describe only: the
        # resource then sends no Start request (see OBSERVE_ONLY).
        "jobId",
        # Whether and how the operator summarizes the job's output.
        "results",
    },
    "DocumentClassifier": {
        # Selects the endpoint.
        "region",
        # Whether deleting the resource deletes the model in Comprehend.
        "deletionPolicy",
    },
}

# Operator fields that turn a resource into an observer of an existing job:
# no Start request is sent, so the model's required members bind only the
# spec's other oneOf branches (those that start a job), and the branch that
# requires the field must forbid every model member.
OBSERVE_ONLY = {"ClassificationJob": {"jobId"}, "DocumentClassifier": set()}

# Where the CRD is deliberately stricter than the model:
# (kind, CRD path, keyword) -> the CRD's value.
NARROWINGS = {
    # The model's LanguageCode enum is shared by every Comprehend operation;
    # custom classification supports only German, English, Spanish, French,
    # Italian and Portuguese ("Languages supported in Amazon Comprehend",
    # Comprehend Developer Guide), and CreateDocumentClassifier refuses the
    # others with UnsupportedLanguageException. Must be a subset of the
    # model's enum.
    ("DocumentClassifier", "spec.languageCode", "enum"): {"de", "en", "es", "fr", "it", "pt"},
}

# Model patterns are Java regular expressions; the API server evaluates CRD
# patterns with Go's regexp (RE2), which lacks these two constructs. Applied
# to the model side before comparing.
JAVA_TO_GO = [
    # The POSIX class \p{ASCII} (Java only).
    (re.compile(r"\\p\{ASCII\}"), r"[\\x00-\\x7F]"),
    # Java's \uXXXX escape; Go writes a code point as \x{XXXX}.
    (re.compile(r"\\u([0-9A-Fa-f]{4})"), r"\\x{\1}"),
]
# Java syntax left after the translations means a translation is missing:
# \uXXXX, \p{Name} other than a Unicode category (L, Lu, ...), lookaround.
JAVA_ONLY = re.compile(r"\\u[0-9A-Fa-f]{4}|\\[pP]\{(?![A-Z][a-z]?\})[^}]*\}|\(\?<?[=!]")

# List shapes whose maximum the model states only in prose:
# shape -> the test that checks it.
PROSE_MAX = {"TagList": "test_tags_max_items_from_model_prose"}

# Model types -> the OpenAPI type of the CRD field.
OPENAPI_TYPE = {
    "string": "string",
    "list": "array",
    "structure": "object",
    "map": "object",
    "integer": "integer",
    "long": "integer",
    "boolean": "boolean",
    "float": "number",
    "double": "number",
    "timestamp": "string",
}

KINDS = sorted(CRDS)


@functools.lru_cache(maxsize=None)
def model():
    return service_model.load()


@functools.lru_cache(maxsize=None)
def crd_spec(kind):
    path = ROOT / CRDS[kind][0]
    crd = yaml.safe_load(path.read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def lower_camel(name):
    """DataAccessRoleArn -> dataAccessRoleArn, S3Uri -> s3Uri (a leading
    acronym is lowered whole: KMSKey -> kmsKey)."""
    lead = re.match(r"[A-Z]+", name)
    if not lead:
        return name
    run = lead.group(0)
    if len(run) > 1 and len(run) < len(name) and name[len(run)].islower():
        run = run[:-1]
    return run.lower() + name[len(run):]


def text(doc):
    """Documentation HTML as plain text."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", doc or "")).split())


def describe(shape_name, shape):
    keys = ("type", "min", "max", "enum", "pattern", "required")
    return f"{shape_name} {{{', '.join(f'{k}: {shape[k]!r}' for k in keys if k in shape)}}}"


class Pair:
    """A model member and the CRD schema it maps to (None when missing)."""

    def __init__(self, crd_path, crd, model_path, shape_name, shape):
        self.crd_path = crd_path
        self.crd = crd
        self.model_path = model_path
        self.shape_name = shape_name
        self.shape = shape

    @property
    def member(self):
        return f"{self.model_path} (shape {self.shape_name})"


def pairs(kind):
    """Every member reachable from the request shape, with its CRD schema,
    parents first."""
    shapes = model()["shapes"]
    request = CRDS[kind][1]
    out = []

    def walk(crd_path, crd, model_path, shape_name, rel, stack):
        shape = shapes[shape_name]
        out.append(Pair(crd_path, crd, model_path, shape_name, shape))
        if shape_name in stack:  # a recursive shape: once is enough
            return
        stack = stack + (shape_name,)
        for name, member in shape.get("members", {}).items():
            member_rel = f"{rel}.{name}" if rel else name
            if member_rel in EXCLUDED_MEMBERS[kind]:
                continue
            field = lower_camel(name)
            sub = None
            if crd is not None:
                sub = (crd.get("properties") or {}).get(field)
            walk(f"{crd_path}.{field}", sub, f"{model_path}.{name}", member["shape"], member_rel, stack)
        if "member" in shape:
            sub = crd.get("items") if crd is not None else None
            walk(f"{crd_path}[]", sub, f"{model_path}[]", shape["member"]["shape"], f"{rel}[]", stack)
        if "value" in shape:
            sub = crd.get("additionalProperties") if crd is not None else None
            if not isinstance(sub, dict):
                sub = None
            walk(f"{crd_path}{{}}", sub, f"{model_path}{{}}", shape["value"]["shape"], f"{rel}{{}}", stack)

    walk("spec", crd_spec(kind), request, request, "", ())
    return out


def present(kind):
    """The pairs whose CRD field exists (missing ones are reported by
    test_model_members_in_crd)."""
    return [p for p in pairs(kind) if p.crd is not None]


def narrowing(kind, crd_path, keyword):
    return NARROWINGS.get((kind, crd_path, keyword))


def fail_if(kind, check, problems):
    if problems:
        pytest.fail(
            f"{kind} CRD ({CRDS[kind][0]}) vs {CRDS[kind][1]} in botocore "
            f"{botocore.__version__}: {len(problems)} divergence(s) in {check}:\n  "
            + "\n  ".join(problems),
            pytrace=False,
        )


# --- members ----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_model_members_in_crd(kind):
    """Every request member (recursively) is a field of the CRD, or excluded."""
    problems = []
    request = model()["shapes"][CRDS[kind][1]]
    for rel in sorted(EXCLUDED_MEMBERS[kind]):
        if rel not in request.get("members", {}):
            problems.append(f"EXCLUDED_MEMBERS lists {CRDS[kind][1]}.{rel}, which the model does not have")
    reported = []
    for p in pairs(kind):
        if p.crd is not None:
            continue
        # Report the topmost missing field only, with the members below it.
        if any(p.crd_path.startswith(r + ".") or p.crd_path.startswith(r + "[") for r in reported):
            continue
        reported.append(p.crd_path)
        n = len(p.model_path)
        below = [
            q.model_path[n:]
            for q in pairs(kind)
            if q.model_path.startswith(p.model_path) and q.model_path[n : n + 1] in (".", "[", "{")
        ]
        extra = f"; members below: {', '.join(below)}" if below else ""
        problems.append(
            f"{p.crd_path}: CRD field missing; model member {p.member}: "
            f"{describe(p.shape_name, p.shape)}{extra}"
        )
    fail_if(kind, "model members missing from the CRD", problems)


@pytest.mark.parametrize("kind", KINDS)
def test_crd_fields_in_model(kind):
    """Every CRD spec field (recursively) is a request member, or one of the
    operator's own fields."""
    problems = []
    spec = crd_spec(kind)
    for field in sorted(OPERATOR_FIELDS[kind]):
        if field not in (spec.get("properties") or {}):
            problems.append(f"OPERATOR_FIELDS lists spec.{field}, which the CRD does not have")
    mapped = {p.crd_path: p for p in pairs(kind)}

    def walk(path, node, top):
        for field, sub in sorted((node.get("properties") or {}).items()):
            sub_path = f"{path}.{field}"
            if top and field in OPERATOR_FIELDS[kind]:
                continue
            if sub_path not in mapped:
                parent = mapped.get(path)
                where = (
                    f"members of {parent.member}: {sorted(parent.shape.get('members', {}))}"
                    if parent
                    else "no model member at the parent either"
                )
                problems.append(f"{sub_path}: CRD field {sub.get('type', '?')} has no model member ({where})")
                continue
            walk(sub_path, sub, False)
        if isinstance(node.get("items"), dict):
            sub_path = f"{path}[]"
            if sub_path not in mapped:
                problems.append(f"{sub_path}: CRD array items have no model list member")
            else:
                walk(sub_path, node["items"], False)
        if isinstance(node.get("additionalProperties"), dict):
            sub_path = f"{path}{{}}"
            if sub_path not in mapped:
                problems.append(f"{sub_path}: CRD map values have no model map member")
            else:
                walk(sub_path, node["additionalProperties"], False)

    walk("spec", spec, True)
    fail_if(kind, "CRD fields with no model member", problems)


# --- constraints --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_types(kind):
    problems = []
    for p in present(kind):
        want = OPENAPI_TYPE.get(p.shape["type"])
        got = p.crd.get("type")
        if got != want:
            problems.append(
                f"{p.crd_path}: type: CRD {got!r}, model {p.member} {p.shape['type']!r} (-> {want!r})"
            )
    fail_if(kind, "types", problems)


@pytest.mark.parametrize("kind", KINDS)
def test_length_and_item_limits(kind):
    """String min/max vs minLength/maxLength, list min/max vs
    minItems/maxItems. A model min that is absent is 0: the CRD then has no
    minimum or 0. A model max that is absent: the CRD has no maximum."""
    problems = []
    for p in present(kind):
        t = p.shape["type"]
        if t == "string":
            keys = ("minLength", "maxLength")
        elif t in ("list", "map"):
            keys = ("minItems", "maxItems") if t == "list" else ("minProperties", "maxProperties")
        else:
            continue
        lo_key, hi_key = keys
        model_lo = p.shape.get("min", 0)
        crd_lo = p.crd.get(lo_key, 0)
        if crd_lo != model_lo:
            problems.append(
                f"{p.crd_path}: {lo_key}: CRD {p.crd.get(lo_key)!r}, "
                f"model {p.member} min {p.shape.get('min')!r}"
                + (" (absent: 0)" if "min" not in p.shape else "")
            )
        if "max" not in p.shape and p.shape_name in PROSE_MAX:
            continue  # checked against the documentation, see PROSE_MAX
        if p.crd.get(hi_key) != p.shape.get("max"):
            problems.append(
                f"{p.crd_path}: {hi_key}: CRD {p.crd.get(hi_key)!r}, "
                f"model {p.member} max {p.shape.get('max')!r}"
            )
    fail_if(kind, "length and item limits", problems)


@pytest.mark.parametrize("kind", KINDS)
def test_enums(kind):
    problems = []
    for p in present(kind):
        model_enum = p.shape.get("enum")
        # null in a CRD enum only lets a nullable field be null.
        crd_enum = [v for v in p.crd.get("enum", []) if v is not None] or None
        if model_enum is None and crd_enum is None:
            continue
        want = set(model_enum or ())
        narrowed = narrowing(kind, p.crd_path, "enum")
        if narrowed is not None:
            if not narrowed <= want:
                problems.append(
                    f"{p.crd_path}: NARROWINGS enum {sorted(narrowed)} is not a subset of "
                    f"model {p.member} enum {model_enum}"
                )
            want = narrowed
        got = set(crd_enum or ())
        if got != want:
            note = f" (narrowed to {sorted(narrowed)}, see NARROWINGS)" if narrowed is not None else ""
            problems.append(
                f"{p.crd_path}: enum: CRD {crd_enum!r}, model {p.member} {model_enum!r}{note}"
                f"; CRD only: {sorted(got - want)}, missing: {sorted(want - got)}"
            )
    fail_if(kind, "enums", problems)


@pytest.mark.parametrize("kind", KINDS)
def test_required(kind):
    """The CRD requires exactly the members the model requires (operator
    fields aside)."""
    problems = []
    for p in present(kind):
        if p.shape["type"] != "structure":
            continue
        top = p.crd_path == "spec"
        want = {lower_camel(m) for m in p.shape.get("required", [])}
        got = {f for f in p.crd.get("required", []) if not (top and f in OPERATOR_FIELDS[kind])}
        if top:
            got |= required_to_start(kind, p, problems)
        if want != got:
            problems.append(
                f"{p.crd_path}: required: CRD {sorted(p.crd.get('required', []))}, model {p.member} "
                f"{p.shape.get('required', [])}; not required in the CRD: {sorted(want - got)}, "
                f"required in the CRD only: {sorted(got - want)}"
            )
    fail_if(kind, "required members", problems)


def required_to_start(kind, p, problems):
    """The fields every oneOf branch that starts a job requires; checks that
    each observe-only branch forbids every model member."""
    starting = []
    for branch in p.crd.get("oneOf", []):
        observe = set(branch.get("required", [])) & OBSERVE_ONLY[kind]
        if not observe:
            starting.append(set(branch.get("required", [])))
            continue
        forbidden = {
            f for alt in (branch.get("not") or {}).get("anyOf", []) for f in alt.get("required", [])
        }
        members = {lower_camel(m) for m in p.shape.get("members", {})} & set(p.crd.get("properties", {}))
        if members - forbidden:
            problems.append(
                f"{p.crd_path}: the oneOf branch requiring {sorted(observe)} does not forbid "
                f"the model members {sorted(members - forbidden)}"
            )
    if not starting:
        return set()
    return set.intersection(*starting) - OPERATOR_FIELDS[kind]


def go_pattern(java):
    """The model's (Java) pattern in the syntax Go's regexp takes."""
    for rx, repl in JAVA_TO_GO:
        java = rx.sub(repl, java)
    return java


def unanchored(pattern):
    """Without one leading ^ and one trailing (unescaped) $."""
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if pattern.endswith("$") and (len(pattern) - len(pattern[:-1].rstrip("\\")) - 1) % 2 == 0:
        pattern = pattern[:-1]
    return pattern


def anchored(pattern):
    return pattern.startswith("^") and unanchored(pattern) != pattern[1:]


def schema_nodes(path, node, in_not=False):
    """Every schema node of a CRD schema, with whether it sits under `not`."""
    yield path, node, in_not
    for field, sub in (node.get("properties") or {}).items():
        yield from schema_nodes(f"{path}.{field}", sub, in_not)
    if isinstance(node.get("items"), dict):
        yield from schema_nodes(f"{path}[]", node["items"], in_not)
    if isinstance(node.get("additionalProperties"), dict):
        yield from schema_nodes(f"{path}{{}}", node["additionalProperties"], in_not)
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(node.get(key) or []):
            yield from schema_nodes(f"{path}({key}[{i}])", sub, in_not)
    if isinstance(node.get("not"), dict):
        yield from schema_nodes(f"{path}(not)", node["not"], True)


@pytest.mark.parametrize("kind", KINDS)
def test_patterns(kind):
    """Patterns equal after one leading ^ and trailing $ are stripped on both
    sides, the model's translated to Go syntax (JAVA_TO_GO). The service
    matches a pattern against the whole value, the API server only searches
    for a match: so every CRD pattern is anchored (^...$), operator fields'
    too. Patterns under `not` are exempt: they refuse what they match, and a
    prefix rule (^aws:) needs only the ^."""
    problems = []
    for path, node, in_not in schema_nodes("spec", crd_spec(kind)):
        if "pattern" in node and not in_not and not anchored(node["pattern"]):
            problems.append(f"{path}: pattern not anchored (^...$): CRD {node['pattern']!r}")
    for p in present(kind):
        model_pattern = p.shape.get("pattern")
        crd_pattern = p.crd.get("pattern")
        if model_pattern is None and crd_pattern is None:
            continue
        go = go_pattern(model_pattern) if model_pattern is not None else None
        if go is not None and JAVA_ONLY.search(go):
            problems.append(
                f"{p.crd_path}: model {p.member} pattern {model_pattern!r} uses Java syntax with no "
                f"translation in JAVA_TO_GO: {JAVA_ONLY.search(go).group(0)!r}"
            )
        if go is None or crd_pattern is None or unanchored(go) != unanchored(crd_pattern):
            shown = f"{model_pattern!r}" + (f" (in Go syntax {go!r})" if go != model_pattern else "")
            problems.append(f"{p.crd_path}: pattern: CRD {crd_pattern!r}, model {p.member} {shown}")
    fail_if(kind, "patterns", problems)


# --- limits stated in the model's prose ----------------------------------------


def tags_per_resource():
    doc = text(model()["shapes"]["TooManyTagsException"].get("documentation"))
    found = re.findall(r"(\d+) tags per resource", doc)
    assert len(found) == 1, (
        f"TooManyTagsException documentation no longer states one 'N tags per resource': {doc!r}"
    )
    return int(found[0])


@pytest.mark.parametrize("kind", KINDS)
def test_tags_max_items_from_model_prose(kind):
    """TagList has no max in the model; TooManyTagsException's documentation
    states the limit ("50 tags per resource")."""
    limit = tags_per_resource()
    tags = (crd_spec(kind).get("properties") or {}).get("tags")
    problems = []
    if tags is None:
        problems.append(
            f"spec.tags: CRD field missing; model {CRDS[kind][1]}.Tags (shape TagList), "
            f"TooManyTagsException documentation: {limit} tags per resource"
        )
    elif tags.get("maxItems") != limit:
        problems.append(
            f"spec.tags: maxItems: CRD {tags.get('maxItems')!r}, model {CRDS[kind][1]}.Tags "
            f"(shape TagList, no max) with TooManyTagsException documentation "
            f"'{limit} tags per resource': {limit}"
        )
    fail_if(kind, "limits stated in the model's documentation", problems)


def feature_types_doc():
    return text(model()["shapes"]["DocumentReaderConfig"]["members"]["FeatureTypes"].get("documentation"))


def test_model_prose_requires_feature_types_with_analyze_document():
    """The rule test_document_reader_config_requires_feature_types checks is
    the model's documentation of DocumentReaderConfig.FeatureTypes."""
    doc = feature_types_doc()
    assert re.search(r"If you chose TEXTRACT_ANALYZE_DOCUMENT as the read action, you must specify", doc), (
        f"DocumentReaderConfig.FeatureTypes documentation no longer says it is required with "
        f"TEXTRACT_ANALYZE_DOCUMENT; check the CRD rule against it: {doc!r}"
    )


def validates(schema, value):
    """Whether `value` passes the structural (OpenAPI) part of `schema`.
    x-kubernetes-validations (CEL) is ignored on purpose: the rule must not
    depend on it alone."""
    if value is None:
        return bool(schema.get("nullable"))
    t = schema.get("type")
    python = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "integer": int,
        "number": (int, float),
    }
    if t and not isinstance(value, python.get(t, object)):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            return False
        if isinstance(schema.get("items"), dict) and not all(validates(schema["items"], v) for v in value):
            return False
    if isinstance(value, dict):
        if any(r not in value for r in schema.get("required", [])):
            return False
        for field, sub in (schema.get("properties") or {}).items():
            if field in value and not validates(sub, value[field]):
                return False
    if "not" in schema and validates(schema["not"], value):
        return False
    if not all(validates(s, value) for s in schema.get("allOf", [])):
        return False
    if "anyOf" in schema and not any(validates(s, value) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(validates(s, value) for s in schema["oneOf"]) != 1:
        return False
    return True


def requires_feature_types_structurally(node):
    """An anyOf/oneOf (possibly inside allOf) with a branch requiring
    featureTypes."""
    for key in ("anyOf", "oneOf"):
        for branch in node.get(key) or []:
            if "featureTypes" in branch.get("required", []):
                return True
    return any(requires_feature_types_structurally(s) for s in node.get("allOf") or [])


@pytest.mark.parametrize("kind", KINDS)
def test_document_reader_config_requires_feature_types(kind):
    """documentReaderConfig refuses TEXTRACT_ANALYZE_DOCUMENT without
    featureTypes with a structural rule (anyOf/oneOf with required:
    [featureTypes]), which `kubectl explain`, client-side validation and
    every OpenAPI tool see, not only with a CEL rule."""
    path = "spec.inputDataConfig.documentReaderConfig"
    member = f"{CRDS[kind][1]}.InputDataConfig.DocumentReaderConfig.FeatureTypes"
    node = crd_spec(kind)
    for field in path.split(".")[1:]:
        node = (node or {}).get("properties", {}).get(field)
    problems = []
    if node is None:
        problems.append(f"{path}: CRD field missing; model {member}: {feature_types_doc()!r}")
    else:
        if not requires_feature_types_structurally(node):
            rules = ("anyOf", "oneOf", "allOf", "x-kubernetes-validations")
            problems.append(
                f"{path}: no anyOf/oneOf with required: [featureTypes]: "
                f"CRD {({k: node[k] for k in rules if k in node})!r}, "
                f"model {member}: required with TEXTRACT_ANALYZE_DOCUMENT"
            )
        analyze, detect = "TEXTRACT_ANALYZE_DOCUMENT", "TEXTRACT_DETECT_DOCUMENT_TEXT"
        cases = [
            ({"documentReadAction": analyze}, False),
            ({"documentReadAction": analyze, "documentReadMode": "FORCE_DOCUMENT_READ_ACTION"}, False),
            ({"documentReadAction": analyze, "featureTypes": ["TABLES"]}, True),
            ({"documentReadAction": analyze, "featureTypes": ["TABLES", "FORMS"]}, True),
            ({"documentReadAction": detect}, True),
            ({"documentReadAction": detect, "documentReadMode": "SERVICE_DEFAULT"}, True),
        ]
        for value, accepted in cases:
            if validates(node, value) != accepted:
                verdict = "valid" if accepted else f"refused (FeatureTypes required with {analyze})"
                problems.append(
                    f"{path}: the schema without CEL {'refuses' if accepted else 'accepts'} {value}; "
                    f"model {member}: {verdict}"
                )
    fail_if(kind, "documentReaderConfig featureTypes rule", problems)


@pytest.mark.parametrize("kind", KINDS)
def test_tag_keys_refuse_aws_prefix(kind):
    """The aws: prefix of tag keys is reserved for AWS ("Tagging your
    resources", Comprehend Developer Guide); the model does not say so, the
    service refuses it. A structural `not: {pattern: ...}` on the key."""
    path = "spec.tags[].key"
    node = (crd_spec(kind).get("properties") or {}).get("tags")
    node = node.get("items") if node else None
    node = (node.get("properties") or {}).get("key") if node else None
    member = f"{CRDS[kind][1]}.Tags[].Key (shape TagKey, no pattern; aws: reserved by the service)"
    problems = []
    refused = ["aws:", "aws:cloudformation:stack-name"]
    allowed = ["Department", "my-aws:key", "aws", "awsx:y", "AWSome"]
    if node is None:
        problems.append(f"{path}: CRD field missing; model {member}")
    elif not isinstance(node.get("not"), dict) or "pattern" not in node["not"]:
        problems.append(
            f"{path}: not: CRD {node.get('not')!r}, expected {{pattern: '^aws:'}}; model {member}"
        )
    else:
        pattern = node["not"]["pattern"]
        try:
            rx = re.compile(pattern)
        except re.error as e:
            problems.append(f"{path}: not.pattern {pattern!r} cannot be evaluated here: {e}")
        else:
            for key in refused:
                if not rx.search(key):
                    problems.append(f"{path}: not.pattern {pattern!r} accepts the reserved key {key!r}")
            for key in allowed:
                if rx.search(key):
                    problems.append(f"{path}: not.pattern {pattern!r} refuses the key {key!r}")
    fail_if(kind, "reserved tag key prefix", problems)


# --- the test's own helpers -----------------------------------------------------


def test_lower_camel():
    assert lower_camel("DataAccessRoleArn") == "dataAccessRoleArn"
    assert lower_camel("S3Uri") == "s3Uri"
    assert lower_camel("TestS3Uri") == "testS3Uri"
    assert lower_camel("FlywheelStatsS3Prefix") == "flywheelStatsS3Prefix"
    assert lower_camel("VpcConfig") == "vpcConfig"
    assert lower_camel("SecurityGroupIds") == "securityGroupIds"
    assert lower_camel("KMSKeyId") == "kmsKeyId"


def test_pattern_helpers():
    assert go_pattern(r"^\p{ASCII}+$") == r"^[\x00-\x7F]+$"
    assert go_pattern(r"[\u0009\u000A\u0020-\u00FF]+") == r"[\x{0009}\x{000A}\x{0020}-\x{00FF}]+"
    assert not JAVA_ONLY.search(go_pattern(r"[\u0009\u000A\u0020-\u00FF]+\p{L}\p{Lu}"))
    assert JAVA_ONLY.search(r"\p{Alpha}") and JAVA_ONLY.search(r"(?=x)")
    assert unanchored("^a$") == "a" and unanchored("a") == "a" and unanchored(r"^a\$") == r"a\$"
    assert unanchored(r"^a\\$") == r"a\\"
    assert anchored("^a$") and not anchored("a$") and not anchored("^a") and not anchored(r"^a\$")


def test_narrowings_are_subsets_of_the_model():
    for (kind, crd_path, keyword), value in NARROWINGS.items():
        matches = [p for p in pairs(kind) if p.crd_path == crd_path]
        assert len(matches) == 1, f"NARROWINGS names {crd_path}, which maps to no model member"
        assert keyword == "enum" and value <= set(matches[0].shape.get("enum", ())), (
            f"NARROWINGS {kind} {crd_path}: {sorted(value)} is not a subset of model "
            f"{matches[0].member} enum {matches[0].shape.get('enum')}"
        )
