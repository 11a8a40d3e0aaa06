//! The decisions of a ClassificationJob reconcile.

use crate::comprehend::{ModelRef, Place, StartedJob};
use crate::crds::{DocumentReadAction, DocumentReaderConfig as SpecReader, FeatureType, Tag};
use crate::job::crd::{ClassificationJobStatus, ClassifierRef};
use crate::job::fixtures::*;
use crate::job::plan::*;
use crate::job::status::*;
use crate::kernel::conditions::Observed;

#[test]
fn spec_maps_to_every_start_field() {
    let req = start_request(&job(spec()), None).unwrap();
    assert_eq!(
        req.job_name,
        "team-a.daily-0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10"
    );
    assert_eq!(req.model, ModelRef::DocumentClassifier(CLASSIFIER.into()));
    assert_eq!(req.input_s3_uri, "s3://in-bucket/docs/");
    assert_eq!(req.input_format.as_deref(), Some("ONE_DOC_PER_LINE"));
    assert_eq!(req.output_s3_uri, "s3://out-bucket/results/");
    assert_eq!(req.output_kms_key_id.as_deref(), Some("alias/out"));
    assert_eq!(req.data_access_role_arn, ROLE);
    assert_eq!(
        req.volume_kms_key_id.as_deref(),
        Some("1234abcd-12ab-34cd-56ef-1234567890ab")
    );
    let vpc = req.vpc_config.unwrap();
    assert_eq!(vpc.subnets, ["subnet-1"]);
    assert_eq!(vpc.security_group_ids, ["sg-1", "sg-2"]);
    assert_eq!(req.tags.get("team").map(String::as_str), Some("search"));
    assert_eq!(
        req.client_request_token,
        format!(
            "0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10-{}",
            &spec_hash(&spec())[..16]
        )
    );
}

#[test]
fn only_settled_quiet_jobs_skip_the_reconcile() {
    let mut j = job(spec());
    assert!(needs_reconcile(&j));
    let mut status = ClassificationJobStatus::default();
    apply_description(
        &mut status,
        &desc("IN_PROGRESS"),
        Observed::new(Some(1), now()),
    );
    j.status = Some(status.clone());
    assert!(needs_reconcile(&j));
    apply_description(
        &mut status,
        &desc("COMPLETED"),
        Observed::new(Some(1), now()),
    );
    j.status = Some(status.clone());
    assert!(!needs_reconcile(&j));
    // A newer generation (a spec edit) is looked at.
    j.metadata.generation = Some(2);
    assert!(needs_reconcile(&j));
    j.metadata.generation = Some(1);
    // So is a TTL to apply.
    j.spec.ttl_seconds_after_finished = Some(60);
    assert!(needs_reconcile(&j));
    j.spec.ttl_seconds_after_finished = None;
    // And a job failed by its classifier, which may be replaced.
    let mut failed = ClassificationJobStatus::default();
    apply_classifier_failed(&mut failed, "m", Observed::new(Some(1), now()));
    j.status = Some(failed);
    assert!(needs_reconcile(&j));
}

#[test]
fn classifier_ref_waits_then_starts_with_the_resolved_arn() {
    let mut s = spec();
    s.document_classifier_arn = None;
    s.classifier_ref = Some(ClassifierRef {
        name: "news".into(),
    });
    let j = job(s);
    match plan(&j, &Place::own("us-east-1"), None) {
        Plan::Wait { message } => {
            assert!(message.contains("news") && message.contains("does not exist"))
        }
        p => panic!("{p:?}"),
    }
    let training = ClassifierState::NotReady {
        detail: "Training: classifier is training".into(),
    };
    match plan(&j, &Place::own("us-east-1"), Some(&training)) {
        Plan::Wait { message } => assert!(message.contains("Training"), "{message}"),
        p => panic!("{p:?}"),
    }
    let failed = ClassifierState::Failed {
        detail: "InError: bad data".into(),
    };
    match plan(&j, &Place::own("us-east-1"), Some(&failed)) {
        Plan::ClassifierFailed { message } => {
            assert!(message.contains("news") && message.contains("bad data"))
        }
        p => panic!("{p:?}"),
    }
    let ready = ClassifierState::Ready {
        arn: CLASSIFIER.into(),
        region: "us-east-1".into(),
    };
    match plan(&j, &Place::own("us-east-1"), Some(&ready)) {
        Plan::Start { request } => {
            assert_eq!(
                request.model,
                ModelRef::DocumentClassifier(CLASSIFIER.into())
            )
        }
        p => panic!("{p:?}"),
    }
    match plan(&j, &Place::own("eu-west-1"), Some(&ready)) {
        Plan::Reject { message } => assert!(message.contains("Region us-east-1"), "{message}"),
        p => panic!("{p:?}"),
    }
    // A classifier trained in another account than the namespace's is
    // refused; the same account is fine.
    let in_account = |account: &str| Place {
        role: Some(crate::comprehend::Role {
            arn: format!("arn:aws:iam::{account}:role/team"),
            external_id: None,
            session_name: "s".into(),
        }),
        region: "us-east-1".into(),
    };
    let classifier_account = crate::comprehend::account_of_arn(CLASSIFIER).unwrap();
    match plan(&j, &in_account("999988887777"), Some(&ready)) {
        Plan::Reject { message } => assert!(
            message.contains(&format!("trained in account {classifier_account}"))
                && message.contains("run in account 999988887777"),
            "{message}"
        ),
        p => panic!("{p:?}"),
    }
    assert!(matches!(
        plan(&j, &in_account(classifier_account), Some(&ready)),
        Plan::Start { .. }
    ));

    // A start already attempted keeps the ARN it recorded, even if the
    // classifier has gone since.
    let mut status = ClassificationJobStatus::default();
    let request = start_request(&j, Some(CLASSIFIER)).unwrap();
    apply_starting(
        &mut status,
        &request,
        "digest",
        Observed::new(Some(1), now()),
    );
    assert_eq!(status.document_classifier_arn.as_deref(), Some(CLASSIFIER));
    let mut attempted = j.clone();
    attempted.status = Some(status);
    match plan(&attempted, &Place::own("us-east-1"), None) {
        Plan::Start { request: again } => assert_eq!(again.model, request.model),
        p => panic!("{p:?}"),
    }

    // A job failed by its classifier is looked at again (a replaced
    // classifier lets it run); without a change it stays failed.
    let mut status = ClassificationJobStatus::default();
    apply_classifier_failed(
        &mut status,
        "DocumentClassifier news cannot classify",
        Observed::new(Some(1), now()),
    );
    assert!(is_finished(&status));
    let mut failed_job = j.clone();
    failed_job.status = Some(status);
    assert!(matches!(
        plan(&failed_job, &Place::own("us-east-1"), Some(&ready)),
        Plan::Start { .. }
    ));
    assert!(matches!(
        plan(&failed_job, &Place::own("us-east-1"), Some(&failed)),
        Plan::ClassifierFailed { .. }
    ));

    let mut two = spec();
    two.classifier_ref = Some(ClassifierRef {
        name: "news".into(),
    });
    assert!(validate(&two).unwrap_err().contains("exactly one"));
}

#[test]
fn reader_config_and_flywheel_map() {
    let mut s = spec();
    s.document_classifier_arn = None;
    s.flywheel_arn = Some("arn:aws:comprehend:us-east-1:123456789012:flywheel/fw".into());
    s.input_data_config.as_mut().unwrap().document_reader_config = Some(SpecReader {
        document_read_action: DocumentReadAction::TextractAnalyzeDocument,
        document_read_mode: Some(crate::crds::DocumentReadMode::ForceDocumentReadAction),
        feature_types: vec![FeatureType::Tables, FeatureType::Forms],
    });
    let req = start_request(&job(s), None).unwrap();
    assert!(matches!(req.model, ModelRef::Flywheel(_)));
    let r = req.document_reader_config.unwrap();
    assert_eq!(r.document_read_action, "TEXTRACT_ANALYZE_DOCUMENT");
    assert_eq!(
        r.document_read_mode.as_deref(),
        Some("FORCE_DOCUMENT_READ_ACTION")
    );
    assert_eq!(r.feature_types, ["TABLES", "FORMS"]);
}

#[test]
fn custom_and_recorded_job_names_win() {
    let mut s = spec();
    s.job_name = Some("my job".into());
    let mut j = job(s);
    assert_eq!(job_name(&j), "my job");
    j.status = Some(ClassificationJobStatus {
        job_name: Some("recorded".into()),
        ..Default::default()
    });
    assert_eq!(job_name(&j), "recorded");
}

#[test]
fn invalid_specs_are_rejected_with_the_field_named() {
    let mut both = spec();
    both.flywheel_arn = Some("arn:aws:comprehend:us-east-1:123456789012:flywheel/fw".into());
    assert!(validate(&both).unwrap_err().contains("flywheelArn"));
    let mut neither = spec();
    neither.document_classifier_arn = None;
    assert!(validate(&neither)
        .unwrap_err()
        .contains("documentClassifierArn"));
    let mut features = spec();
    features
        .input_data_config
        .as_mut()
        .unwrap()
        .document_reader_config = Some(SpecReader {
        document_read_action: DocumentReadAction::TextractDetectDocumentText,
        document_read_mode: None,
        feature_types: vec![FeatureType::Tables],
    });
    assert!(validate(&features).unwrap_err().contains("featureTypes"));
    let mut name = spec();
    name.job_name = Some("bad;name".into());
    assert!(validate(&name).unwrap_err().contains("jobName"));
    assert!(matches!(
        plan(&job(name), &Place::own("us-east-1"), None),
        Plan::Reject { .. }
    ));
}

#[test]
fn plan_follows_the_life_cycle() {
    let mut j = job(spec());
    assert!(matches!(
        plan(&j, &Place::own("us-east-1"), None),
        Plan::Start { .. }
    ));
    let mut status = ClassificationJobStatus::default();
    apply_started(
        &mut status,
        &StartedJob {
            job_id: "abc123".into(),
            job_arn: None,
            job_status: Some("SUBMITTED".into()),
            document_classifier_arn: None,
        },
        Observed::new(Some(1), now()),
    );
    j.status = Some(status.clone());
    assert_eq!(
        plan(&j, &Place::own("us-east-1"), None),
        Plan::Describe {
            job_id: "abc123".into()
        }
    );
    apply_description(
        &mut status,
        &desc("COMPLETED"),
        Observed::new(Some(1), now()),
    );
    j.status = Some(status);
    assert_eq!(plan(&j, &Place::own("us-east-1"), None), Plan::Finished);
}

#[test]
fn rejected_spec_is_looked_at_again_only_after_an_edit() {
    let mut s = spec();
    s.flywheel_arn = Some("arn:aws:comprehend:us-east-1:123456789012:flywheel/fw".into());
    let mut j = job(s);
    let mut status = ClassificationJobStatus::default();
    apply_rejected(&mut status, "both set", Observed::new(Some(1), now()));
    j.status = Some(status);
    assert_eq!(plan(&j, &Place::own("us-east-1"), None), Plan::Finished);
    j.metadata.generation = Some(2);
    j.spec.flywheel_arn = None;
    assert!(matches!(
        plan(&j, &Place::own("us-east-1"), None),
        Plan::Start { .. }
    ));
}

#[test]
fn a_derived_name_is_always_ours() {
    let j = created_at(job(spec()), "2026-01-02T03:00:00Z");
    let req = start_request(&j, None).unwrap();
    let mut d = desc("IN_PROGRESS");
    d.input_s3_uri = None;
    match identify(&j, &req, &[d]) {
        Found::Ours(found) => assert_eq!(found.job_id, "abc123"),
        other => panic!("{other:?}"),
    }
    assert_eq!(identify(&j, &req, &[]), Found::Nothing);
}

#[test]
fn a_fixed_name_adopts_only_a_job_this_resource_can_have_started() {
    let mut s = spec();
    s.job_name = Some("daily-report".into());
    let fresh = created_at(job(s), "2026-01-02T03:00:00Z");
    let req = start_request(&fresh, None).unwrap();
    let mut ours = desc("IN_PROGRESS");
    ours.job_name = Some("daily-report".into());
    ours.input_s3_uri = Some("s3://in-bucket/docs/".into());
    ours.submit_time = Some("2026-01-02T03:00:01Z".into());
    // Never attempted a start: whatever is there is another's.
    match identify(&fresh, &req, std::slice::from_ref(&ours)) {
        Found::NameInUse { job_id, why } => {
            assert_eq!(job_id, "abc123");
            assert!(why.contains("never started"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    // A start was attempted under the name (then the process died).
    let mut attempted = fresh.clone();
    let mut status = ClassificationJobStatus::default();
    apply_starting(
        &mut status,
        &req,
        &spec_hash(&fresh.spec),
        Observed::new(Some(1), now()),
    );
    attempted.status = Some(status);
    match identify(&attempted, &req, std::slice::from_ref(&ours)) {
        Found::Ours(found) => assert_eq!(found.job_id, "abc123"),
        other => panic!("{other:?}"),
    }
    // An older run of the same manifest is not ours.
    let mut old = ours.clone();
    old.job_id = "old".into();
    old.submit_time = Some("2026-01-01T03:00:00Z".into());
    assert!(matches!(
        identify(&attempted, &req, std::slice::from_ref(&old)),
        Found::NameInUse { job_id, why } if job_id == "old" && why.contains("before")
    ));
    // Ours is picked even when a stranger's job of the name is newer.
    let mut stranger = ours.clone();
    stranger.job_id = "stranger".into();
    stranger.input_s3_uri = Some("s3://other/".into());
    stranger.submit_time = Some("2026-01-02T03:05:00Z".into());
    match identify(&attempted, &req, &[stranger.clone(), ours.clone(), old]) {
        Found::Ours(found) => assert_eq!(found.job_id, "abc123"),
        other => panic!("{other:?}"),
    }
    // Another input, classifier or output is another's job.
    assert!(matches!(
        identify(&attempted, &req, &[stranger]),
        Found::NameInUse { why, .. } if why.contains("another model, input or output")
    ));
    let mut other_model = ours.clone();
    other_model.document_classifier_arn = Some(format!("{CLASSIFIER}-2"));
    assert!(matches!(
        identify(&attempted, &req, &[other_model]),
        Found::NameInUse { .. }
    ));
    let mut other_output = ours.clone();
    other_output.output_s3_uri =
        Some("s3://out-bucket/results-2/123-CLN-abc123/output/output.tar.gz".into());
    assert!(matches!(
        identify(&attempted, &req, &[other_output]),
        Found::NameInUse { .. }
    ));
}

#[test]
fn ttl_expiry_counts_from_the_end() {
    let mut s = spec();
    s.ttl_seconds_after_finished = Some(60);
    let mut j = job(s);
    assert_eq!(expiry(&j), None);
    let mut status = ClassificationJobStatus::default();
    let mut d = desc("COMPLETED");
    d.end_time = Some("2026-01-02T03:10:00Z".into());
    apply_description(&mut status, &d, Observed::new(Some(1), now()));
    j.status = Some(status);
    assert_eq!(expiry(&j), Some("2026-01-02T03:11:00Z".parse().unwrap()));
}

#[test]
fn reader_and_tag_limits_of_the_service() {
    let mut analyze = spec();
    analyze
        .input_data_config
        .as_mut()
        .unwrap()
        .document_reader_config = Some(SpecReader {
        document_read_action: DocumentReadAction::TextractAnalyzeDocument,
        document_read_mode: None,
        feature_types: vec![],
    });
    let e = validate(&analyze).unwrap_err();
    assert!(e.contains("featureTypes") && e.contains("required"), "{e}");
    let mut many = spec();
    many.tags = (0..51)
        .map(|i| Tag {
            key: format!("k{i}"),
            value: None,
        })
        .collect();
    assert!(validate(&many).unwrap_err().contains("at most 50"));
    many.tags.truncate(50);
    assert_eq!(validate(&many), Ok(()));
    let mut reserved = spec();
    reserved.tags[0].key = "AWS:team".into();
    assert!(validate(&reserved).unwrap_err().contains("aws:"));
    reserved.tags[0].key = "awsteam".into();
    assert_eq!(validate(&reserved), Ok(()));
}

#[test]
fn only_settled_quiet_jobs_are_left_out_with_their_reason() {
    let mut j = job(spec());
    assert_eq!(settled_summary(&j), None);
    let mut status = ClassificationJobStatus::default();
    apply_description(
        &mut status,
        &desc("IN_PROGRESS"),
        Observed::new(Some(1), now()),
    );
    j.status = Some(status.clone());
    assert_eq!(settled_summary(&j), None);
    apply_description(
        &mut status,
        &desc("COMPLETED"),
        Observed::new(Some(1), now()),
    );
    j.status = Some(status);
    assert_eq!(settled_summary(&j).as_deref(), Some("Completed"));
    // A TTL still to apply keeps it cached.
    j.spec.ttl_seconds_after_finished = Some(60);
    assert_eq!(settled_summary(&j), None);
}

/// A spec that follows the existing job `abc123` and describes no new one.
fn observe_only() -> crate::job::crd::ClassificationJobSpec {
    crate::job::crd::ClassificationJobSpec {
        job_id: Some("abc123".into()),
        job_name: None,
        document_classifier_arn: None,
        flywheel_arn: None,
        classifier_ref: None,
        input_data_config: None,
        output_data_config: None,
        data_access_role_arn: None,
        volume_kms_key_id: None,
        vpc_config: None,
        tags: vec![],
        region: None,
        ttl_seconds_after_finished: Some(60),
        results: None,
    }
}

#[test]
fn a_job_id_is_followed_never_started() {
    let plan = plan(&job(observe_only()), &Place::own("us-east-1"), None);
    assert_eq!(
        plan,
        Plan::Adopt {
            job_id: "abc123".into()
        }
    );
    // Once found, it is followed like any started job.
    let mut found = job(observe_only());
    let mut status = ClassificationJobStatus::default();
    apply_description(
        &mut status,
        &desc("IN_PROGRESS"),
        Observed::new(Some(1), now()),
    );
    found.status = Some(status);
    assert_eq!(
        plan_of(&found),
        Plan::Describe {
            job_id: "abc123".into()
        }
    );
}

fn plan_of(j: &crate::job::crd::ClassificationJob) -> Plan {
    plan(j, &Place::own("us-east-1"), None)
}

#[test]
fn a_job_id_with_fields_of_a_new_job_is_refused_naming_them() {
    let mut both = spec();
    both.job_id = Some("abc123".into());
    let Plan::Reject { message } = plan_of(&job(both)) else {
        panic!("a job ID with a new job's fields must be refused");
    };
    for field in [
        "documentClassifierArn",
        "inputDataConfig",
        "outputDataConfig",
        "dataAccessRoleArn",
        "volumeKmsKeyId",
        "vpcConfig",
        "tags",
    ] {
        assert!(message.contains(field), "{field} not named in {message}");
    }
    let mut one = observe_only();
    one.job_name = Some("mine".into());
    let Plan::Reject { message } = plan_of(&job(one)) else {
        panic!("jobName conflicts with jobId");
    };
    assert!(message.contains("jobName"), "{message}");
}

#[test]
fn a_new_job_needs_its_data_and_role() {
    let mut s = spec();
    s.output_data_config = None;
    s.data_access_role_arn = None;
    let Plan::Reject { message } = plan_of(&job(s)) else {
        panic!("no output, no role: nothing can start");
    };
    assert!(
        message.starts_with("outputDataConfig, dataAccessRoleArn required"),
        "{message}"
    );
}

#[test]
fn results_settings_may_change_without_spec_drift() {
    let mut with_results = spec();
    with_results.results = Some(crate::job::crd::ResultsSpec {
        summarize: true,
        top_classes: Some(3),
    });
    assert_eq!(spec_hash(&with_results), spec_hash(&spec()));
    let mut bad = with_results.clone();
    bad.results.as_mut().unwrap().top_classes = Some(0);
    assert!(matches!(plan_of(&job(bad)), Plan::Reject { .. }));
}
