//! The ClassificationJob controller against the real API server and the
//! Comprehend stand-in. Run by `make test`, which starts the environment.

use std::time::Duration;

use comprehend_testkit::*;
use kube::api::{Patch, PatchParams};
use serde_json::json;

#[tokio::test]
async fn job_completes_and_its_output_holds_predictions() {
    let s = setup("complete", FAST).await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(&s.api, job_manifest("news", &s.classifier, "docs")).await;
    let job = wait_for(
        &s.api,
        "news",
        Duration::from_secs(60),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    let status = job.status.clone().unwrap();
    let job_id = status.job_id.clone().unwrap();
    assert_eq!(status.job_status.as_deref(), Some("COMPLETED"));
    let uri = status.output_s3_uri.clone().unwrap();
    assert_eq!(
        uri,
        format!("s3://output/news/{ACCOUNT}-CLN-{job_id}/output/output.tar.gz")
    );
    assert_eq!(
        status.document_classifier_arn.as_deref(),
        Some(s.classifier.as_str())
    );
    assert!(status.submit_time.is_some() && status.end_time.is_some());
    assert_eq!(status.observed_generation, job.metadata.generation);
    let ready = cond(&job, "Ready").unwrap();
    assert_eq!((ready.0.as_str(), ready.1.as_str()), ("True", "Completed"));
    for c in &status.conditions {
        assert!(
            !c.message.is_empty(),
            "condition {} has no message",
            c.type_
        );
    }
    let predictions = read_predictions(&s.standin.s3().await, &uri).await;
    assert_eq!(predictions.len(), DOCUMENTS.len());
    let top = |file: &str| {
        predictions
            .iter()
            .find(|p| p["File"] == file)
            .map(|p| p["Classes"][0]["Name"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(top("doc-0.txt"), "SPORTS");
    assert_eq!(top("doc-1.txt"), "FINANCE");
    assert_eq!(top("doc-2.txt"), "WEATHER");
    // Exactly one job, and kubectl sees the columns.
    assert_eq!(
        s.standin
            .jobs_named(status.job_name.as_deref().unwrap())
            .await,
        1
    );
    let (ok, out, err) = kubectl(&["get", "comprehend", "-n", &s.ns, "-o", "wide"], None);
    assert!(ok, "{err}");
    assert!(
        out.contains("COMPLETED") && out.contains(&job_id) && out.contains("output.tar.gz"),
        "{out}"
    );

    // Finished: no more Describe calls, and no status write sets off another.
    let describes = |stats: &serde_json::Value| {
        stats["operations"]["DescribeDocumentClassificationJob"]["calls"].as_u64()
    };
    let before = describes(&s.standin.stats().await);
    let writes_before = status_writes(&s.ns, "news");
    tokio::time::sleep(Duration::from_secs(3)).await; // ten poll intervals
    assert_eq!(
        describes(&s.standin.stats().await),
        before,
        "a finished job was polled"
    );
    let writes = status_writes(&s.ns, "news");
    assert_eq!(
        writes, writes_before,
        "status written after the job finished"
    );
    // The record before Start and the outcome; the job's progress between
    // them (Submitted, InProgress) is held a few seconds before it is
    // written, so it costs at most one write, none for a job this short.
    assert!((2..=3).contains(&writes), "{writes} status writes");
}

#[tokio::test]
async fn failed_job_reports_comprehends_message() {
    let s = setup("failed", FAST).await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    // No documents under this prefix: the job fails like the service's would.
    create_job(&s.api, job_manifest("empty", &s.classifier, "nothing-here")).await;
    let job = wait_for(
        &s.api,
        "empty",
        Duration::from_secs(60),
        "Succeeded=False",
        |j| succeeded(j).as_deref() == Some("False"),
    )
    .await;
    let status = job.status.clone().unwrap();
    assert_eq!(status.job_status.as_deref(), Some("FAILED"));
    let message = status.message.clone().expect("Comprehend's message");
    assert!(!message.is_empty());
    let (_, reason, cond_message) = cond(&job, "Succeeded").unwrap();
    assert_eq!(reason, "Failed");
    assert!(
        cond_message.contains(&message),
        "{cond_message} should quote {message}"
    );
}

#[tokio::test]
async fn unknown_classifier_is_terminal_until_the_spec_is_fixed() {
    let s = setup("unknown-classifier", FAST).await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    let missing = format!("arn:aws:comprehend:{REGION}:{ACCOUNT}:document-classifier/missing");
    create_job(&s.api, job_manifest("ghost", &missing, "docs")).await;
    let job = wait_for(
        &s.api,
        "ghost",
        Duration::from_secs(30),
        "Succeeded=False",
        |j| succeeded(j).as_deref() == Some("False"),
    )
    .await;
    let (_, reason, message) = cond(&job, "Succeeded").unwrap();
    assert_eq!(reason, "InvalidSpec");
    assert!(message.contains("ResourceNotFoundException"), "{message}");
    // No retry loop: the Start count stays put.
    let starts =
        s.standin.stats().await["operations"]["StartDocumentClassificationJob"]["calls"].as_u64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later =
        s.standin.stats().await["operations"]["StartDocumentClassificationJob"]["calls"].as_u64();
    assert_eq!(starts, later);

    // No job ever started, so the spec may still be fixed: the fixed spec
    // starts (with a new ClientRequestToken) and succeeds.
    s.api
        .patch(
            "ghost",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"documentClassifierArn": s.classifier}})),
        )
        .await
        .unwrap();
    let job = wait_for(
        &s.api,
        "ghost",
        Duration::from_secs(60),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    assert_eq!(job.status.unwrap().observed_generation, Some(2));
    assert_eq!(s.standin.stats().await["jobs"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn spec_edit_after_start_is_ignored_and_said_so() {
    let s = setup(
        "edit",
        &[
            "--job-queued-secs",
            "0.2",
            "--job-running-secs",
            "4",
            "--training-secs",
            "0.2",
        ],
    )
    .await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(&s.api, job_manifest("edited", &s.classifier, "docs")).await;
    let job = wait_for(&s.api, "edited", Duration::from_secs(30), "a job id", |j| {
        j.status.as_ref().and_then(|s| s.job_id.clone()).is_some()
    })
    .await;
    let job_name = job.status.unwrap().job_name.unwrap();
    // The 1.20 API server does not run the CEL rule: the controller must hold.
    s.api
        .patch(
            "edited",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"inputDataConfig": {"s3Uri": "s3://input/other/"}}})),
        )
        .await
        .expect("spec edit accepted by a server without CEL");
    let job = wait_for(
        &s.api,
        "edited",
        Duration::from_secs(30),
        "SpecChangeIgnored",
        |j| cond(j, "Ready").is_some_and(|c| c.1 == "SpecChangeIgnored"),
    )
    .await;
    assert_eq!(job.status.as_ref().unwrap().observed_generation, Some(2));
    let job = wait_for(
        &s.api,
        "edited",
        Duration::from_secs(60),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    assert_eq!(cond(&job, "Ready").unwrap().1, "SpecChangeIgnored");
    let stats = s.standin.stats().await;
    assert_eq!(
        stats["jobs"].as_array().unwrap().len(),
        1,
        "a second job was started: {stats}"
    );
    assert_eq!(s.standin.jobs_named(&job_name).await, 1);
}

#[tokio::test]
async fn ttl_deletes_a_finished_resource() {
    let s = setup("ttl", FAST).await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    let mut manifest = job_manifest("short-lived", &s.classifier, "docs");
    manifest["spec"]["ttlSecondsAfterFinished"] = json!(2);
    create_job(&s.api, manifest).await;
    wait_for(
        &s.api,
        "short-lived",
        Duration::from_secs(60),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s.api.get_opt("short-lived").await.unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "not deleted after its TTL"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn throttling_storm_ends_in_success_with_one_job_each() {
    let s = setup("storm", FAST).await;
    // From now on half of all calls are throttled and a tenth fail with 5xx.
    s.standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({"throttleFraction": 0.5, "errorFraction": 0.1, "latencyMs": 0, "failJobNames": []})),
        )
        .await;
    let _op = Operator::start(&s.ns, &s.standin, &["--start-rate", "5"]);
    let names: Vec<String> = (0..5).map(|i| format!("storm-{i}")).collect();
    for n in &names {
        create_job(&s.api, job_manifest(n, &s.classifier, "docs")).await;
    }
    let mut job_names = Vec::new();
    for n in &names {
        let job = wait_for(&s.api, n, Duration::from_secs(120), "Succeeded=True", |j| {
            succeeded(j).as_deref() == Some("True")
        })
        .await;
        job_names.push(job.status.unwrap().job_name.unwrap());
    }
    let stats = s.standin.stats().await;
    assert!(
        stats["operations"]["StartDocumentClassificationJob"]["throttled"]
            .as_u64()
            .unwrap_or(0)
            + stats["operations"]["DescribeDocumentClassificationJob"]["throttled"]
                .as_u64()
                .unwrap_or(0)
            > 0,
        "the storm never throttled anything: {stats}"
    );
    assert_eq!(
        stats["jobs"].as_array().unwrap().len(),
        names.len(),
        "{stats}"
    );
    for jn in &job_names {
        assert_eq!(s.standin.jobs_named(jn).await, 1, "{jn}");
    }
}

/// Starts an operator that aborts right after Start returns, before the
/// job id reaches the status (the worst moment to die), then a healthy one:
/// the job must be adopted, never started twice.
async fn crash_right_after_start(s: &Setup, manifest: serde_json::Value) {
    let name = manifest["metadata"]["name"].as_str().unwrap().to_string();
    let mut op = Operator::start_with_env(
        &s.ns,
        &s.standin,
        &[],
        &[("COMPREHEND_OPERATOR_FAILPOINT", "after-start")],
    );
    create_job(&s.api, manifest).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = op.proc.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "operator did not hit the failpoint"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success());
    let job = s.api.get(&name).await.unwrap();
    let status = job.status.unwrap_or_default();
    assert!(
        status.job_id.is_none(),
        "the job id must not have been written"
    );
    let job_name = status.job_name.expect("the start attempt was recorded");
    assert_eq!(s.standin.jobs_named(&job_name).await, 1);

    let _op = Operator::start(&s.ns, &s.standin, &[]);
    let job = wait_for(
        &s.api,
        &name,
        Duration::from_secs(60),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    let stats = s.standin.stats().await;
    let named: Vec<&serde_json::Value> = stats["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["jobName"] == job_name.as_str())
        .collect();
    assert_eq!(named.len(), 1, "{stats}");
    assert_eq!(
        named[0]["jobId"].as_str(),
        job.status.unwrap().job_id.as_deref()
    );
}

#[tokio::test]
async fn crash_right_after_start_leaves_exactly_one_job() {
    let s = setup("crash", FAST).await;
    crash_right_after_start(&s, job_manifest("crashy", &s.classifier, "docs")).await;
    // A fixed spec.jobName too: this resource recorded its start attempt
    // under that name, so the job found there is its own.
    let mut fixed = job_manifest("fixed", &s.classifier, "docs");
    fixed["spec"]["jobName"] = json!("fixed-name");
    crash_right_after_start(&s, fixed).await;
    assert_eq!(s.standin.stats().await["jobs"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn sigkill_while_starting_and_restart_leaves_one_job_each() {
    let s = setup("sigkill", FAST).await;
    let names: Vec<String> = (0..4).map(|i| format!("kill-{i}")).collect();
    let mut op = Operator::start(&s.ns, &s.standin, &["--start-rate", "1"]);
    for n in &names {
        create_job(&s.api, job_manifest(n, &s.classifier, "docs")).await;
    }
    // Kill it as soon as the first Start went through, while others wait.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let started = s.standin.stats().await["jobs"]
            .as_array()
            .map_or(0, |j| j.len());
        if started >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no job started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    op.proc.kill();
    let _op = Operator::start(&s.ns, &s.standin, &["--start-rate", "1"]);
    for n in &names {
        wait_for(&s.api, n, Duration::from_secs(90), "Succeeded=True", |j| {
            succeeded(j).as_deref() == Some("True")
        })
        .await;
    }
    let stats = s.standin.stats().await;
    assert_eq!(
        stats["jobs"].as_array().unwrap().len(),
        names.len(),
        "{stats}"
    );
}

#[tokio::test]
async fn thirty_jobs_never_exceed_ten_active() {
    // The stand-in would allow more: the cap under test is the operator's.
    let s = setup(
        "cap",
        &[
            "--job-queued-secs",
            "0.2",
            "--job-running-secs",
            "1",
            "--training-secs",
            "0.2",
            "--max-active-jobs",
            "100",
            "--start-tps",
            "20",
        ],
    )
    .await;
    let _op = Operator::start(
        &s.ns,
        &s.standin,
        &["--max-active-jobs", "10", "--start-rate", "20"],
    );
    let names: Vec<String> = (0..30).map(|i| format!("cap-{i:02}")).collect();
    for n in &names {
        create_job(&s.api, job_manifest(n, &s.classifier, "docs")).await;
    }
    // Someone must have waited for a slot.
    wait_for(
        &s.api,
        "cap-29",
        Duration::from_secs(30),
        "a Queued or started state",
        |j| cond(j, "Succeeded").is_some(),
    )
    .await;
    for n in &names {
        wait_for(&s.api, n, Duration::from_secs(180), "Succeeded=True", |j| {
            succeeded(j).as_deref() == Some("True")
        })
        .await;
    }
    let stats = s.standin.stats().await;
    assert_eq!(stats["jobs"].as_array().unwrap().len(), 30, "{stats}");
    let max = stats["maxActiveJobsSeen"]
        .as_u64()
        .expect("stand-in reports maxActiveJobsSeen");
    assert!(max <= 10, "{max} jobs ran at once");
    assert!(
        max >= 5,
        "the cap was never approached ({max}); the test proves nothing"
    );
    // Events are for outcomes: one Completed per job, none for the steps
    // (queued, started, running) the status already shows.
    let (ok, out, _) = kubectl(&["get", "events", "-n", &s.ns, "-o", "json"], None);
    assert!(ok);
    let events: serde_json::Value = serde_json::from_str(&out).unwrap();
    let reasons: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    let completed = reasons.iter().filter(|r| **r == "Completed").count();
    assert_eq!(completed, 30, "{reasons:?}");
    for step in ["Queued", "Started", "Running"] {
        assert!(!reasons.contains(&step), "{step} event: {reasons:?}");
    }
}
