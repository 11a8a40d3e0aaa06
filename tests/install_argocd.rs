//! The Argo CD health checks (ClassificationJob and DocumentClassifier): the
//! Lua scripts run by Lua 5.1 against every state the operator writes (no
//! API server needed; tests/install/lua-health.sh installs lua5.1), their
//! copies in config/argocd/argocd-cm.yaml, and that snippet patched into an
//! argocd-cm on the test API server (`tests/env/with-env.sh`, run by `make
//! test`).

use std::collections::BTreeSet;

use comprehend_testkit::install::{documents, kubectl_in_root, read, root, run};
use comprehend_testkit::*;
use serde_json::{json, Value};

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
    // The results summary is a warning at most: the job succeeded, whatever
    // ResultsSummarized says (False: unreadable or malformed output, or the
    // operator runs without --summarize-results; Unknown: retrying).
    for (summarized, reason, message) in [
        (
            "False",
            "ResultsUnavailable",
            "AccessDenied: s3:GetObject; attempt 5 of 5",
        ),
        (
            "False",
            "MalformedOutput",
            "output.tar.gz holds no predictions.jsonl",
        ),
        (
            "False",
            "SummaryDisabled",
            "the operator runs without --summarize-results",
        ),
        (
            "Unknown",
            "ResultsUnavailable",
            "SlowDown; attempt 1 of 5, retrying",
        ),
        ("True", "Summarized", "1000 documents, 3 failed"),
    ] {
        let mut st = status(
            1,
            ("True", "Completed", "Job COMPLETED"),
            ("True", "Completed", "Job COMPLETED"),
        );
        st["conditions"].as_array_mut().unwrap().push(condition(
            "ResultsSummarized",
            summarized,
            reason,
            message,
        ));
        cases.push((
            reason,
            job(1, Some(st)),
            "Healthy",
            "Completed: Job COMPLETED".into(),
        ));
    }
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
    // Blocked until an admin acts (AccountMappings, IAM): nothing is decided
    // about the job (Succeeded=Unknown), Ready=False.
    for (reason, message) in [
        (
            "NoAccountMapping",
            "namespace default has no AccountMapping; retrying",
        ),
        (
            "AccountMappingChanged",
            "Job 1234 was recorded under role arn:aws:iam::111122223333:role/a",
        ),
        (
            "CredentialsUnavailable",
            "No AWS credentials for StartDocumentClassificationJob; retrying",
        ),
    ] {
        cases.push((
            reason,
            job(
                1,
                Some(status(
                    1,
                    ("Unknown", reason, message),
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
        // An admin must act: map the namespace, restore its mapping, or
        // let the operator assume the mapped role.
        (
            "NoAccountMapping",
            "",
            "namespace default has no AccountMapping; retrying",
        ),
        (
            "AccountMappingChanged",
            "TRAINED",
            "The model is in account 111122223333, the namespace maps to 444455556666",
        ),
        (
            "CredentialsUnavailable",
            "",
            "No AWS credentials for CreateDocumentClassifier; retrying",
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
