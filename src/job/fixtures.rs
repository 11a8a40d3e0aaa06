//! What the job's unit tests share: a full spec, a resource, a description.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::ObjectMeta;

use crate::comprehend::{AwsError, ErrorKind, JobDescription};
use crate::crds::{Tag, VpcConfig as SpecVpc};
use crate::job::crd::{
    ClassificationJob, ClassificationJobSpec, InputDataConfig, InputFormat, OutputDataConfig,
};

pub(crate) const ROLE: &str = "arn:aws:iam::123456789012:role/comprehend";

pub(crate) const CLASSIFIER: &str =
    "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news";

pub(crate) fn now() -> Timestamp {
    "2026-01-02T03:04:05Z".parse().unwrap()
}

pub(crate) fn later() -> Timestamp {
    "2026-01-02T04:00:00Z".parse().unwrap()
}

pub(crate) fn spec() -> ClassificationJobSpec {
    ClassificationJobSpec {
        job_id: None,
        job_name: None,
        document_classifier_arn: Some(CLASSIFIER.into()),
        flywheel_arn: None,
        classifier_ref: None,
        input_data_config: Some(InputDataConfig {
            s3_uri: "s3://in-bucket/docs/".into(),
            input_format: Some(InputFormat::OneDocPerLine),
            document_reader_config: None,
        }),
        output_data_config: Some(OutputDataConfig {
            s3_uri: "s3://out-bucket/results/".into(),
            kms_key_id: Some("alias/out".into()),
        }),
        data_access_role_arn: Some(ROLE.into()),
        volume_kms_key_id: Some("1234abcd-12ab-34cd-56ef-1234567890ab".into()),
        vpc_config: Some(SpecVpc {
            subnets: vec!["subnet-1".into()],
            security_group_ids: vec!["sg-1".into(), "sg-2".into()],
        }),
        tags: vec![Tag {
            key: "team".into(),
            value: Some("search".into()),
        }],
        region: None,
        ttl_seconds_after_finished: None,
        results: None,
    }
}

pub(crate) fn job(spec: ClassificationJobSpec) -> ClassificationJob {
    let mut job = ClassificationJob::new("daily", spec);
    job.metadata = ObjectMeta {
        name: Some("daily".into()),
        namespace: Some("team-a".into()),
        uid: Some("0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10".into()),
        generation: Some(1),
        ..Default::default()
    };
    job
}

pub(crate) fn desc(job_status: &str) -> JobDescription {
    JobDescription {
        job_id: "abc123".into(),
        job_arn: Some(
            "arn:aws:comprehend:us-east-1:123456789012:document-classification-job/abc123".into(),
        ),
        job_name: Some("team-a.daily-0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10".into()),
        job_status: job_status.into(),
        message: None,
        submit_time: Some("2026-01-02T03:04:05Z".into()),
        end_time: None,
        document_classifier_arn: Some(CLASSIFIER.into()),
        flywheel_arn: None,
        input_s3_uri: Some("s3://in-bucket/docs/".into()),
        output_s3_uri: Some(
            "s3://out-bucket/results/123456789012-CLN-abc123/output/output.tar.gz".into(),
        ),
    }
}

pub(crate) fn err(kind: ErrorKind, code: &str) -> AwsError {
    AwsError {
        kind,
        code: code.into(),
        message: "msg".into(),
    }
}

pub(crate) fn created_at(mut j: ClassificationJob, at: &str) -> ClassificationJob {
    j.metadata.creation_timestamp = Some(Time(at.parse().unwrap()));
    j
}
