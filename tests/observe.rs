//! A ClassificationJob that names an existing job by `spec.jobId` follows
//! it and never starts anything; deleting it never affects the job.
//! Against the real API server and the Comprehend stand-in.

use std::time::Duration;

use comprehend_testkit::*;
use kube::api::DeleteParams;
use serde_json::json;

/// Waits until the stand-in says the job has `status`.
async fn standin_reaches(standin: &Standin, job_id: &str, status: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while standin.job(job_id).await["status"] != status {
        assert!(
            std::time::Instant::now() < deadline,
            "job {job_id} never reached {status}: {}",
            standin.job(job_id).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_running_job_started_elsewhere_is_followed_to_its_end() {
    let s = setup("observe-running", FAST).await;
    s.standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({"holdJobNames": ["by-hand"]})),
        )
        .await;
    let job_id = s.standin.start_job_directly("by-hand", &s.classifier).await;
    standin_reaches(&s.standin, &job_id, "IN_PROGRESS").await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(&s.api, observe_manifest("adopted", &job_id)).await;

    let job = wait_for(
        &s.api,
        "adopted",
        Duration::from_secs(30),
        "the job followed while it runs",
        |j| status_of(j).job_status.as_deref() == Some("IN_PROGRESS"),
    )
    .await;
    let status = status_of(&job);
    assert_eq!(status.job_id.as_deref(), Some(job_id.as_str()));
    assert_eq!(status.job_name.as_deref(), Some("by-hand"));
    assert_eq!(succeeded(&job).as_deref(), Some("Unknown"));

    s.standin
        .admin("PUT", "/_standin/faults", Some(json!({"holdJobNames": []})))
        .await;
    let job = wait_for(
        &s.api,
        "adopted",
        Duration::from_secs(30),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    let status = status_of(&job);
    let output = status.output_s3_uri.unwrap_or_default();
    assert!(
        output.starts_with("s3://output/by-hand/")
            && output.ends_with(&format!("-CLN-{job_id}/output/output.tar.gz")),
        "{output}"
    );
    // Nothing was started: the stand-in holds the one job, run once.
    let stats = s.standin.stats().await;
    assert_eq!(stats["jobs"].as_array().unwrap().len(), 1, "{stats:#}");
    assert_eq!(
        stats["operations"]["StartDocumentClassificationJob"]["calls"], 1,
        "only the start made by hand"
    );
}

#[tokio::test]
async fn a_finished_job_is_reported_at_once() {
    let s = setup("observe-finished", FAST).await;
    let job_id = s
        .standin
        .start_job_directly("done-by-hand", &s.classifier)
        .await;
    standin_reaches(&s.standin, &job_id, "COMPLETED").await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(&s.api, observe_manifest("adopted-done", &job_id)).await;
    let job = wait_for(
        &s.api,
        "adopted-done",
        Duration::from_secs(30),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    let status = status_of(&job);
    assert_eq!(status.job_id.as_deref(), Some(job_id.as_str()));
    assert_eq!(status.job_status.as_deref(), Some("COMPLETED"));
    assert!(status.end_time.is_some());
    assert_eq!(
        s.standin.stats().await["operations"]["StartDocumentClassificationJob"]["calls"],
        1
    );
}

#[tokio::test]
async fn an_unknown_job_id_gets_a_terminal_condition_and_starts_nothing() {
    let s = setup("observe-unknown", FAST).await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(
        &s.api,
        observe_manifest("ghost", "0123456789abcdef0123456789abcdef"),
    )
    .await;
    let job = wait_for(
        &s.api,
        "ghost",
        Duration::from_secs(30),
        "Succeeded=False",
        |j| succeeded(j).as_deref() == Some("False"),
    )
    .await;
    let (_, reason, message) = cond(&job, "Succeeded").unwrap();
    assert_eq!(reason, "JobNotFound");
    assert!(
        message.contains("0123456789abcdef0123456789abcdef") && message.contains(REGION),
        "{message}"
    );
    assert_eq!(cond(&job, "Ready").unwrap().0, "False");
    assert_eq!(status_of(&job).job_id, None, "no job is claimed");
    let stats = s.standin.stats().await;
    assert!(stats["jobs"].as_array().unwrap().is_empty(), "{stats:#}");
}

#[tokio::test]
async fn deleting_the_resource_never_affects_the_job() {
    let s = setup("observe-delete", FAST).await;
    s.standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({"holdJobNames": ["keep-running"]})),
        )
        .await;
    let job_id = s
        .standin
        .start_job_directly("keep-running", &s.classifier)
        .await;
    let _op = Operator::start(&s.ns, &s.standin, &[]);
    create_job(&s.api, observe_manifest("watcher", &job_id)).await;
    wait_for(
        &s.api,
        "watcher",
        Duration::from_secs(30),
        "the job followed",
        |j| status_of(j).job_id.is_some(),
    )
    .await;
    s.api
        .delete("watcher", &DeleteParams::default())
        .await
        .expect("delete");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s.api.get_opt("watcher").await.unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "never deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The job runs on, and ends as it would have.
    assert_eq!(s.standin.job(&job_id).await["status"], "IN_PROGRESS");
    s.standin
        .admin("PUT", "/_standin/faults", Some(json!({"holdJobNames": []})))
        .await;
    standin_reaches(&s.standin, &job_id, "COMPLETED").await;
    assert_eq!(
        s.standin.stats().await["operations"]["StartDocumentClassificationJob"]["calls"],
        1
    );
}
