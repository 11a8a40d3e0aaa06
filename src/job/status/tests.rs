//! How what the reconcile saw changes a ClassificationJob's status.

use crate::comprehend::ErrorKind;
use crate::job::crd::ClassificationJobStatus;
use crate::job::fixtures::*;
use crate::job::plan::*;
use crate::job::status::*;
use crate::kernel::conditions::{ConditionStatus, Observed};

#[test]
fn description_maps_to_status_and_conditions() {
    let mut status = ClassificationJobStatus::default();
    apply_description(
        &mut status,
        &desc("IN_PROGRESS"),
        Observed::new(Some(3), now()),
    );
    assert_eq!(status.job_id.as_deref(), Some("abc123"));
    assert_eq!(status.job_status.as_deref(), Some("IN_PROGRESS"));
    assert_eq!(status.observed_generation, Some(3));
    let s = condition(&status, SUCCEEDED).unwrap();
    assert_eq!(
        (s.status.as_str(), s.reason.as_str()),
        ("Unknown", "InProgress")
    );
    assert_eq!(s.observed_generation, Some(3));
    assert_eq!(condition(&status, READY).unwrap().status, "True");

    let mut done = desc("COMPLETED");
    done.end_time = Some("2026-01-02T03:10:00Z".into());
    apply_description(&mut status, &done, Observed::new(Some(3), later()));
    let s = condition(&status, SUCCEEDED).unwrap();
    assert_eq!(
        (s.status.as_str(), s.reason.as_str()),
        ("True", "Completed")
    );
    assert!(s
        .message
        .contains("123456789012-CLN-abc123/output/output.tar.gz"));
    assert_eq!(s.last_transition_time.0, later());
    assert_eq!(status.end_time.as_deref(), Some("2026-01-02T03:10:00Z"));
    assert!(is_finished(&status));
}

#[test]
fn failed_and_stopped_are_not_success() {
    for (js, reason) in [("FAILED", "Failed"), ("STOPPED", "Stopped")] {
        let mut status = ClassificationJobStatus::default();
        let mut d = desc(js);
        d.message = Some("NO_READ_ACCESS_TO_INPUT: cannot read s3://in-bucket".into());
        apply_description(&mut status, &d, Observed::new(Some(1), now()));
        let s = condition(&status, SUCCEEDED).unwrap();
        assert_eq!((s.status.as_str(), s.reason.as_str()), ("False", reason));
        assert_eq!(status.message.as_deref(), d.message.as_deref());
        if js == "FAILED" {
            assert!(s.message.contains("NO_READ_ACCESS_TO_INPUT"));
        }
    }
}

#[test]
fn unchanged_observation_changes_nothing() {
    let mut a = ClassificationJobStatus::default();
    apply_description(&mut a, &desc("IN_PROGRESS"), Observed::new(Some(1), now()));
    let mut b = a.clone();
    apply_description(
        &mut b,
        &desc("IN_PROGRESS"),
        Observed::new(Some(1), later()),
    );
    assert_eq!(
        a, b,
        "a poll that sees nothing new must not change the status"
    );
}

#[test]
fn every_condition_has_a_message() {
    let mut status = ClassificationJobStatus::default();
    set_condition(
        &mut status,
        READY,
        ConditionStatus::True,
        Reason::Queued,
        "  ",
        Observed::new(None, now()),
    );
    assert_eq!(condition(&status, READY).unwrap().message, "Queued");
}

#[test]
fn errors_map_to_conditions() {
    let mut status = ClassificationJobStatus::default();
    let next = apply_error(
        &mut status,
        Call::Start,
        &err(ErrorKind::Throttled, "TooManyRequestsException"),
        Observed::new(Some(1), now()),
    );
    assert_eq!(
        next,
        AfterError::Retry {
            release_slot: false
        }
    );
    let s = condition(&status, SUCCEEDED).unwrap();
    assert_eq!(
        (s.status.as_str(), s.reason.as_str()),
        ("Unknown", "Throttled")
    );
    assert!(!is_finished(&status));
    apply_error(
        &mut status,
        Call::Start,
        &err(ErrorKind::Transient, "InternalServerException"),
        Observed::new(Some(1), now()),
    );
    assert_eq!(
        condition(&status, SUCCEEDED).unwrap().reason,
        "AwsUnavailable"
    );
    assert!(!is_finished(&status));
    let next = apply_error(
        &mut status,
        Call::Start,
        &err(ErrorKind::InvalidSpec, "ResourceNotFoundException"),
        Observed::new(Some(1), now()),
    );
    assert_eq!(next, AfterError::Settle);
    let s = condition(&status, SUCCEEDED).unwrap();
    assert_eq!(
        (s.status.as_str(), s.reason.as_str()),
        ("False", "InvalidSpec")
    );
    assert!(s.message.contains("ResourceNotFoundException: msg"));
    assert!(is_finished(&status));
    let next = apply_error(
        &mut status,
        Call::Describe,
        &err(ErrorKind::JobNotFound, "JobNotFoundException"),
        Observed::new(Some(1), now()),
    );
    assert_eq!(next, AfterError::Settle);
    assert_eq!(condition(&status, SUCCEEDED).unwrap().reason, "JobNotFound");
}

#[test]
fn describe_errors_never_settle_a_running_job() {
    for code in [
        "AccessDeniedException",
        "ValidationException",
        "InvalidRequestException",
        "KmsKeyValidationException",
    ] {
        let mut status = ClassificationJobStatus::default();
        apply_description(
            &mut status,
            &desc("IN_PROGRESS"),
            Observed::new(Some(1), now()),
        );
        let next = apply_error(
            &mut status,
            Call::Describe,
            &err(ErrorKind::InvalidSpec, code),
            Observed::new(Some(1), later()),
        );
        assert_eq!(
            next,
            AfterError::Retry {
                release_slot: false
            },
            "{code}"
        );
        assert!(!is_finished(&status), "{code}");
        let s = condition(&status, SUCCEEDED).unwrap();
        let r = condition(&status, READY).unwrap();
        assert_eq!((s.status.as_str(), s.reason.as_str()), ("Unknown", code));
        assert_eq!((r.status.as_str(), r.reason.as_str()), ("False", code));
        assert!(r.message.contains("abc123") && r.message.contains("may still be running"));
        assert_eq!(status.job_id.as_deref(), Some("abc123"));
        // A warning event names the failure.
        let mut before = ClassificationJobStatus::default();
        apply_description(
            &mut before,
            &desc("IN_PROGRESS"),
            Observed::new(Some(1), now()),
        );
        let n = notice(&before, &status).unwrap();
        assert!(n.warning);
        // Describe answers again: back to the job's own state.
        apply_description(
            &mut status,
            &desc("COMPLETED"),
            Observed::new(Some(1), later()),
        );
        let s = condition(&status, SUCCEEDED).unwrap();
        assert_eq!(
            (s.status.as_str(), s.reason.as_str()),
            ("True", "Completed")
        );
        assert_eq!(condition(&status, READY).unwrap().status, "True");
    }
    // An odd code still makes a valid reason.
    assert_eq!(
        code_reason("AccessDeniedException:http://internal/"),
        "AccessDeniedException"
    );
    assert_eq!(
        code_reason("aws.protocols#ValidationException"),
        "ValidationException"
    );
    assert_eq!(code_reason("500"), "AwsError");
}

#[test]
fn a_classifier_still_training_is_waited_for_at_start() {
    let mut status = ClassificationJobStatus::default();
    let next = apply_error(
        &mut status,
        Call::Start,
        &err(ErrorKind::InvalidSpec, "ResourceUnavailableException"),
        Observed::new(Some(1), now()),
    );
    assert_eq!(next, AfterError::Retry { release_slot: true });
    let s = condition(&status, SUCCEEDED).unwrap();
    assert_eq!(
        (s.status.as_str(), s.reason.as_str()),
        ("Unknown", "ClassifierNotReady")
    );
    assert!(!is_finished(&status));
}

#[test]
fn permission_errors_before_a_job_exists_are_retried() {
    let mut status = ClassificationJobStatus::default();
    let next = apply_error(
        &mut status,
        Call::Start,
        &err(ErrorKind::InvalidSpec, "AccessDeniedException"),
        Observed::new(Some(1), now()),
    );
    assert_eq!(next, AfterError::Retry { release_slot: true });
    assert_eq!(
        condition(&status, READY).unwrap().reason,
        "AccessDeniedException"
    );
    assert!(!is_finished(&status));
    // List before a start was ever attempted: nothing can run.
    let mut fresh = ClassificationJobStatus::default();
    let next = apply_error(
        &mut fresh,
        Call::List,
        &err(ErrorKind::InvalidSpec, "AccessDeniedException"),
        Observed::new(Some(1), now()),
    );
    assert_eq!(next, AfterError::Retry { release_slot: true });
    // After a start attempt, a job may run: its slot stays taken.
    let mut attempted = ClassificationJobStatus {
        job_name: Some("n".into()),
        ..Default::default()
    };
    let next = apply_error(
        &mut attempted,
        Call::List,
        &err(ErrorKind::InvalidSpec, "ValidationException"),
        Observed::new(Some(1), now()),
    );
    assert_eq!(
        next,
        AfterError::Retry {
            release_slot: false
        }
    );
    assert!(!is_finished(&attempted));
}

#[test]
fn name_in_use_settles_and_frees_the_name() {
    let mut status = ClassificationJobStatus {
        job_name: Some("daily-report".into()),
        spec_hash: Some("h".into()),
        ..Default::default()
    };
    apply_name_in_use(
        &mut status,
        "daily-report",
        "abc123",
        "why",
        Observed::new(Some(1), now()),
    );
    let s = condition(&status, SUCCEEDED).unwrap();
    assert_eq!(
        (s.status.as_str(), s.reason.as_str()),
        ("False", "JobNameInUse")
    );
    assert!(s.message.contains("abc123"));
    assert_eq!(status.job_id, None);
    assert_eq!(status.job_name, None);
    assert_eq!(status.output_s3_uri, None);
    assert!(is_finished(&status));
}

#[test]
fn spec_change_after_start_is_flagged_and_cleared() {
    let original = spec();
    let mut status = ClassificationJobStatus::default();
    apply_starting(
        &mut status,
        &start_request(&job(original.clone()), None).unwrap(),
        &spec_hash(&original),
        Observed::new(Some(1), now()),
    );
    apply_description(
        &mut status,
        &desc("IN_PROGRESS"),
        Observed::new(Some(1), now()),
    );
    let mut edited = original.clone();
    edited.input_data_config.as_mut().unwrap().s3_uri = "s3://other-bucket/x".into();
    let mut flagged = status.clone();
    apply_spec_drift(&mut flagged, &edited, Observed::new(Some(2), now()));
    let r = condition(&flagged, READY).unwrap();
    assert_eq!(
        (r.status.as_str(), r.reason.as_str()),
        ("False", "SpecChangeIgnored")
    );
    assert_eq!(flagged.observed_generation, Some(2));
    assert_eq!(
        notice(&status, &flagged).map(|n| n.reason),
        Some("SpecChangeIgnored")
    );
    // Same spec: nothing flagged.
    let mut same = status.clone();
    apply_spec_drift(&mut same, &original, Observed::new(Some(1), now()));
    assert_eq!(same, status);
    // Back to the original: cleared.
    apply_spec_drift(&mut flagged, &original, Observed::new(Some(3), now()));
    assert_eq!(condition(&flagged, READY).unwrap().reason, "InProgress");
}

#[test]
fn notices_follow_reason_changes_only() {
    let empty = ClassificationJobStatus::default();
    let mut queued = empty.clone();
    apply_queued(&mut queued, "us-east-1", 10, Observed::new(Some(1), now()));
    // Steps get no event; outcomes and warnings do.
    assert_eq!(notice(&empty, &queued), None);
    let mut running = queued.clone();
    apply_description(
        &mut running,
        &desc("IN_PROGRESS"),
        Observed::new(Some(1), now()),
    );
    assert_eq!(notice(&queued, &running), None);
    let mut completed = running.clone();
    apply_description(
        &mut completed,
        &desc("COMPLETED"),
        Observed::new(Some(1), now()),
    );
    let n = notice(&running, &completed).unwrap();
    assert!(!n.warning);
    assert_eq!(n.reason, "Completed");
    assert_eq!(notice(&completed, &completed), None);
    let mut failed = queued.clone();
    apply_description(&mut failed, &desc("FAILED"), Observed::new(Some(1), now()));
    let n = notice(&queued, &failed).unwrap();
    assert!(n.warning);
    assert_eq!(n.reason, "Failed");
}

#[test]
fn spec_hash_is_stable_and_sensitive() {
    assert_eq!(spec_hash(&spec()), spec_hash(&spec()));
    let mut other = spec();
    other.tags.clear();
    assert_ne!(spec_hash(&spec()), spec_hash(&other));
    // The TTL may change at any time.
    let mut ttl = spec();
    ttl.ttl_seconds_after_finished = Some(5);
    assert_eq!(spec_hash(&spec()), spec_hash(&ttl));
}

#[test]
fn a_ttl_edit_after_start_is_no_drift_and_old_digests_are_upgraded() {
    let original = spec();
    let mut status = ClassificationJobStatus::default();
    apply_description(
        &mut status,
        &desc("IN_PROGRESS"),
        Observed::new(Some(1), now()),
    );
    // Recorded by an earlier version, over the whole spec.
    status.spec_hash = Some(legacy_spec_hash(&original));
    let mut same = status.clone();
    apply_spec_drift(&mut same, &original, Observed::new(Some(1), now()));
    assert_eq!(same.spec_hash, Some(spec_hash(&original)));
    assert_eq!(condition(&same, READY).unwrap().status, "True");
    let mut ttl = original.clone();
    ttl.ttl_seconds_after_finished = Some(3600);
    let mut after = same.clone();
    apply_spec_drift(&mut after, &ttl, Observed::new(Some(2), now()));
    assert_eq!(condition(&after, READY).unwrap().reason, "InProgress");
    assert_eq!(after.observed_generation, Some(2));
    // Any other field is drift.
    let mut role = original.clone();
    role.data_access_role_arn = Some("arn:aws:iam::123456789012:role/other".into());
    apply_spec_drift(&mut after, &role, Observed::new(Some(3), now()));
    assert_eq!(
        condition(&after, READY).unwrap().reason,
        "SpecChangeIgnored"
    );
}
