//! What the benchmark's watch sees of each ClassificationJob: the distinct
//! (jobStatus, Succeeded reason, Ready reason) tuples it went through, its
//! job ID and when it ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use comprehend_operator::job::ClassificationJob;
use comprehend_testkit::cond;
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};

/// What the watch saw of one resource.
#[derive(Default, Clone)]
pub struct Track {
    pub tuples: Vec<(String, String, String)>,
    pub job_id: Option<String>,
    /// Epoch seconds when the watch first saw Succeeded True or False.
    pub terminal_at: Option<f64>,
    pub outcome: Option<String>,
}

pub type Tracks = Arc<Mutex<HashMap<String, Track>>>;

pub fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

pub fn parse_time(s: &str) -> Option<f64> {
    s.parse::<Timestamp>()
        .ok()
        .map(|t| t.as_millisecond() as f64 / 1000.0)
}

pub fn watch(api: Api<ClassificationJob>, tracks: Tracks) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        while let Some(ev) = stream.next().await {
            let obj = match ev {
                Ok(watcher::Event::Apply(o)) | Ok(watcher::Event::InitApply(o)) => o,
                _ => continue,
            };
            let job_status = obj
                .status
                .as_ref()
                .and_then(|s| s.job_status.clone())
                .unwrap_or_default();
            let sc = cond(&obj, "Succeeded");
            let ready = cond(&obj, "Ready").map(|c| c.1).unwrap_or_default();
            let tuple = (
                job_status,
                sc.as_ref().map(|c| c.1.clone()).unwrap_or_default(),
                ready,
            );
            let mut tracks = tracks.lock().unwrap();
            let t = tracks.entry(obj.name_any()).or_default();
            if obj.status.is_some() && !t.tuples.contains(&tuple) {
                t.tuples.push(tuple);
            }
            if let Some(id) = obj.status.as_ref().and_then(|s| s.job_id.clone()) {
                t.job_id = Some(id);
            }
            if let Some((status, reason, _)) = sc {
                if (status == "True" || status == "False") && t.terminal_at.is_none() {
                    t.terminal_at = Some(now_epoch());
                    t.outcome = Some(reason);
                }
            }
        }
    })
}

pub async fn wait_terminal(tracks: &Tracks, names: &[String], deadline: Instant) -> bool {
    loop {
        let done = {
            let t = tracks.lock().unwrap();
            names
                .iter()
                .filter(|n| t.get(*n).is_some_and(|x| x.terminal_at.is_some()))
                .count()
        };
        if done == names.len() {
            return true;
        }
        if Instant::now() > deadline {
            eprintln!("    timed out: {done}/{} finished", names.len());
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
