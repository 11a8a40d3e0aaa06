//! The status never says what is not so: a job that may still run is never
//! reported failed, and another job's results are never reported as this
//! resource's. Against the real API server and the Comprehend stand-in.

use std::time::Duration;

use comprehend_testkit::*;
use kube::api::{Patch, PatchParams};
use serde_json::json;

/// Stand-in timings with a job that runs long enough to act on mid-job:
/// its ID reaches the status only when the operator's hold on progress
/// writes (5 s) is over.
const SLOW_JOB: &[&str] = &[
    "--job-queued-secs",
    "0.2",
    "--job-running-secs",
    "12",
    "--training-secs",
    "0.2",
];

/// The stand-in's status of the job with this ID.
async fn standin_status(standin: &Standin, job_id: &str) -> String {
    let stats = standin.stats().await;
    stats["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|j| j["jobId"] == job_id))
        .and_then(|j| j["status"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_permission_lost_mid_job_never_fails_the_job() {
    let s = setup("denied", SLOW_JOB).await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(&s.api, job_manifest("denied", &s.classifier, "docs")).await;
    let job = wait_for(&s.api, "denied", Duration::from_secs(30), "a job id", |j| {
        j.status.as_ref().and_then(|s| s.job_id.clone()).is_some()
    })
    .await;
    let job_id = job.status.unwrap().job_id.unwrap();

    // The operator's role loses comprehend:DescribeDocumentClassificationJob.
    s.standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({"denyOperations": ["DescribeDocumentClassificationJob"]})),
        )
        .await;
    let job = wait_for(
        &s.api,
        "denied",
        Duration::from_secs(30),
        "Ready=False with the AWS code",
        |j| cond(j, "Ready").is_some_and(|c| c.0 == "False" && c.1 == "AccessDeniedException"),
    )
    .await;
    let (status, reason, message) = cond(&job, "Succeeded").unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("Unknown", "AccessDeniedException")
    );
    assert!(
        message.contains(&job_id) && message.contains("not authorized"),
        "{message}"
    );

    // The job ends in Comprehend while the operator cannot see it: the
    // resource still claims nothing about the outcome.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while standin_status(&s.standin, &job_id).await != "COMPLETED" {
        assert!(std::time::Instant::now() < deadline, "the job never ended");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let job = s.api.get("denied").await.unwrap();
    assert_eq!(
        succeeded(&job).as_deref(),
        Some("Unknown"),
        "{:?}",
        job.status
    );
    let denied = s.standin.stats().await["operations"]["DescribeDocumentClassificationJob"]
        ["errors"]
        .as_u64()
        .unwrap_or(0);
    assert!(denied >= 2, "Describe was not retried ({denied} refusals)");

    // The permission is restored: the resource learns the real outcome.
    s.standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({"denyOperations": []})),
        )
        .await;
    let job = wait_for(
        &s.api,
        "denied",
        Duration::from_secs(30),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    assert_eq!(cond(&job, "Ready").unwrap().0, "True");
    assert_eq!(job.status.unwrap().job_id.as_deref(), Some(job_id.as_str()));
    assert_eq!(s.standin.stats().await["jobs"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn start_waits_for_a_classifier_still_training() {
    let s = setup("training", FAST).await;
    // A second classifier that trains for a while, named by ARN.
    s.standin
        .admin(
            "PUT",
            "/_standin/limits",
            Some(json!({"trainingSecs": 4.0})),
        )
        .await;
    let slow = s.standin.create_classifier("slow").await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(&s.api, job_manifest("early", &slow, "docs")).await;
    let job = wait_for(
        &s.api,
        "early",
        Duration::from_secs(30),
        "ClassifierNotReady",
        |j| cond(j, "Succeeded").is_some_and(|c| c.1 == "ClassifierNotReady"),
    )
    .await;
    let (status, _, message) = cond(&job, "Succeeded").unwrap();
    assert_eq!(status, "Unknown");
    assert!(
        message.contains("ResourceUnavailableException"),
        "{message}"
    );
    let job = wait_for(
        &s.api,
        "early",
        Duration::from_secs(60),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    assert_eq!(
        job.status.unwrap().document_classifier_arn.as_deref(),
        Some(slow.as_str())
    );
    assert_eq!(s.standin.stats().await["jobs"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_job_name_taken_by_another_job_is_never_adopted() {
    let s = setup("name-taken", FAST).await;
    // Someone ran the very same job by hand earlier, under the name the
    // manifest fixes.
    let manifest = {
        let mut m = job_manifest("report", &s.classifier, "docs");
        m["spec"]["jobName"] = json!("daily-report");
        m
    };
    let foreign = s
        .standin
        .start_job_directly_to("daily-report", &s.classifier, "s3://output/report/")
        .await;

    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(&s.api, manifest).await;
    let job = wait_for(
        &s.api,
        "report",
        Duration::from_secs(30),
        "Succeeded=False",
        |j| succeeded(j).as_deref() == Some("False"),
    )
    .await;
    let (_, reason, message) = cond(&job, "Succeeded").unwrap();
    assert_eq!(reason, "JobNameInUse");
    assert!(message.contains(&foreign), "{message} must name {foreign}");
    let status = job.status.unwrap();
    assert_eq!(status.job_id, None, "another job's ID reported");
    assert_eq!(status.output_s3_uri, None, "another job's output reported");
    assert_eq!(
        s.standin.stats().await["operations"]["StartDocumentClassificationJob"]["calls"].as_u64(),
        Some(1),
        "the operator started a job under a name that is taken"
    );

    // A new name starts a job of its own.
    s.api
        .patch(
            "report",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"jobName": "daily-report-2"}})),
        )
        .await
        .unwrap();
    let job = wait_for(
        &s.api,
        "report",
        Duration::from_secs(60),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    let status = job.status.unwrap();
    assert_ne!(status.job_id.as_deref(), Some(foreign.as_str()));
    assert_eq!(status.job_name.as_deref(), Some("daily-report-2"));
    assert_eq!(s.standin.jobs_named("daily-report-2").await, 1);
}

#[tokio::test]
async fn the_ttl_may_change_after_the_job_started() {
    let s = setup("ttl-edit", SLOW_JOB).await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(&s.api, job_manifest("kept", &s.classifier, "docs")).await;
    wait_for(&s.api, "kept", Duration::from_secs(30), "a job id", |j| {
        j.status.as_ref().and_then(|s| s.job_id.clone()).is_some()
    })
    .await;
    s.api
        .patch(
            "kept",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"ttlSecondsAfterFinished": 1}})),
        )
        .await
        .unwrap();
    let job = wait_for(
        &s.api,
        "kept",
        Duration::from_secs(30),
        "generation 2 observed",
        |j| j.status.as_ref().and_then(|s| s.observed_generation) == Some(2),
    )
    .await;
    assert_ne!(cond(&job, "Ready").unwrap().1, "SpecChangeIgnored");
    // The new TTL applies: the resource goes once the job has ended.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while let Some(job) = s.api.get_opt("kept").await.unwrap() {
        assert_ne!(
            cond(&job, "Ready").map(|c| c.1).as_deref(),
            Some("SpecChangeIgnored")
        );
        assert!(
            std::time::Instant::now() < deadline,
            "not deleted after the new TTL: {:?}",
            job.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(s.standin.stats().await["jobs"].as_array().unwrap().len(), 1);
}
