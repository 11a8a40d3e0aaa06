//! How many writes a second the API server completes for the kind of writes
//! the operator makes, measured on the same control plane just before a run:
//! in a scratch namespace that no operator watches, `--calibrate-objects`
//! ClassificationJobs are created, then `--calibrate-writers` writers (the
//! operator's status writes in flight, WRITES_IN_FLIGHT in
//! src/kernel/status.rs) each write, one after the other, a server-side
//! apply status patch of one of them followed by an event about it (as the
//! operator publishes an event after a status write), for
//! `--calibrate-secs`. The rate is the writes completed over the time from
//! the first write to the last answer. The namespace and its objects are
//! deleted afterwards.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use comprehend_operator::job::ClassificationJob;
use comprehend_operator::kernel::conditions::Notice;
use comprehend_operator::kernel::events::Events;
use comprehend_testkit::{create_job, job_manifest, namespace, ACCOUNT, REGION};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;

use crate::Args;

/// Field manager of the calibration's status patches.
const MANAGER: &str = "bench-calibration";

/// What the calibration measured.
#[derive(Default, Clone, Copy)]
pub struct Calibration {
    /// Completed writes (status patches + event creates) a second.
    pub rate: f64,
    pub patches: u64,
    pub events: u64,
    pub errors: u64,
    pub secs: f64,
    pub writers: usize,
}

/// The status of write number `round` of an object: it changes every time
/// (an apply that changes nothing is not written to etcd) and has the shape
/// and size of the operator's.
fn status(name: &str, round: u64) -> serde_json::Value {
    let now = Timestamp::now().to_string();
    let (job_status, succeeded, reason) = match round % 3 {
        0 => ("SUBMITTED", "Unknown", "Submitted"),
        1 => ("IN_PROGRESS", "Unknown", "InProgress"),
        _ => ("COMPLETED", "True", "Completed"),
    };
    let job_id = format!("{:032x}", round.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    json!({
        "apiVersion": ClassificationJob::api_version(&()),
        "kind": ClassificationJob::kind(&()),
        "status": {
            "jobId": job_id,
            "jobArn": format!("arn:aws:comprehend:{REGION}:{ACCOUNT}:document-classification-job/{job_id}"),
            "jobName": format!("{name}-0123456789abcdef"),
            "jobStatus": job_status,
            "submitTime": now,
            "documentClassifierArn": format!("arn:aws:comprehend:{REGION}:{ACCOUNT}:document-classifier/calibration"),
            "outputS3Uri": format!("s3://output/{name}/{ACCOUNT}-CLN-{job_id}/output/output.tar.gz"),
            "specHash": format!("{:064x}", round),
            "observedGeneration": 1,
            "conditions": [
                {"type": "Succeeded", "status": succeeded, "reason": reason,
                 "message": format!("Comprehend job {job_id} is {job_status}"),
                 "lastTransitionTime": now, "observedGeneration": 1},
                // Not empty: a 1.20 API server takes an empty string in an
                // apply patch for null, which the schema refuses.
                {"type": "Ready", "status": "True", "reason": reason, "message": "No action needed",
                 "lastTransitionTime": now, "observedGeneration": 1},
            ],
        }
    })
}

pub async fn calibrate(args: &Args, client: &Client) -> Calibration {
    let ns = namespace(client, "bench-calibration").await;
    let api: Api<ClassificationJob> = Api::namespaced(client.clone(), &ns);
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    // The operator's own event builder, so the events have its shape.
    let builder = Arc::new(Events::new(client.clone(), MANAGER));
    let arn = format!("arn:aws:comprehend:{REGION}:{ACCOUNT}:document-classifier/calibration");
    let objects: Vec<ClassificationJob> =
        futures::stream::iter((0..args.calibrate_objects.max(1)).map(|i| format!("cal-{i:05}")))
            .map(|name| {
                let api = api.clone();
                let arn = arn.clone();
                async move { create_job(&api, job_manifest(&name, &arn, "news")).await }
            })
            .buffer_unordered(args.create_concurrency)
            .collect()
            .await;
    let objects = Arc::new(objects);

    let (patches, written_events, errors) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(args.calibrate_secs);
    let writers = args.calibrate_writers.max(1);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (api, events, objects) = (api.clone(), events.clone(), objects.clone());
            let builder = builder.clone();
            let (patches, written_events, errors) =
                (patches.clone(), written_events.clone(), errors.clone());
            tokio::spawn(async move {
                let mut i = w;
                while Instant::now() < until {
                    let obj = &objects[i % objects.len()];
                    let round = (i / objects.len()) as u64;
                    i += writers;
                    let name = obj.name_any();
                    let patch = status(&name, round);
                    match api
                        .patch_status(
                            &name,
                            &PatchParams::apply(MANAGER).force(),
                            &Patch::Apply(&patch),
                        )
                        .await
                    {
                        Ok(_) => patches.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("    calibration: status patch failed: {e}");
                            }
                            0
                        }
                    };
                    let notice = Notice {
                        warning: false,
                        reason: "Calibration",
                        note: format!("calibration write {round}"),
                    };
                    let event = builder.event(obj.object_ref(&()), &notice);
                    match events.create(&PostParams::default(), &event).await {
                        Ok(_) => written_events.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("    calibration: event create failed: {e}");
                            }
                            0
                        }
                    };
                }
            })
        })
        .collect();
    futures::future::join_all(tasks).await;
    let secs = started.elapsed().as_secs_f64();
    let (patches, written_events, errors) = (
        patches.load(Ordering::Relaxed),
        written_events.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
    );

    // Clean up: the objects (no namespace controller runs here to do it),
    // then the namespace.
    let all = ListParams::default();
    let _ = api.delete_collection(&DeleteParams::default(), &all).await;
    let _ = events
        .delete_collection(&DeleteParams::default(), &all)
        .await;
    let nss: Api<Namespace> = Api::all(client.clone());
    let _ = nss.delete(&ns, &DeleteParams::default()).await;

    let done = patches + written_events;
    Calibration {
        // Failed writes cost less than the real ones: more than 1% of them
        // and the rate means nothing.
        rate: if errors * 100 <= done {
            done as f64 / secs
        } else {
            f64::NAN
        },
        patches,
        events: written_events,
        errors,
        secs,
        writers,
    }
}
