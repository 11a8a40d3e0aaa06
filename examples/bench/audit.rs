//! What the API server's audit log (`TEST_ENV_DIR/audit.log`) says about a
//! namespace: status writes per resource, events, and request times.

use std::collections::HashMap;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::PathBuf;

use crate::watch::parse_time;

/// Writes per resource name from the audit log, from byte `offset` on:
/// (status patches per name, event writes in the namespace).
pub fn audit_writes(ns: &str, offset: u64) -> (HashMap<String, u32>, u64, u64) {
    let mut per_name = HashMap::new();
    let (mut events, mut other) = (0, 0);
    for v in audit_entries(ns, offset) {
        let r = &v["objectRef"];
        if v["stage"] != "ResponseComplete" {
            continue;
        }
        let verb = v["verb"].as_str().unwrap_or("");
        match (r["resource"].as_str(), r["subresource"].as_str()) {
            (Some("classificationjobs"), Some("status")) => {
                if verb == "patch" || verb == "update" {
                    *per_name
                        .entry(r["name"].as_str().unwrap_or("").to_string())
                        .or_insert(0) += 1;
                }
            }
            (Some("events"), _) => events += 1,
            (Some("classificationjobs"), None) if verb == "create" => {}
            _ => other += 1,
        }
    }
    (per_name, events, other)
}

/// The API server's audit entries about namespace `ns`, from byte `offset`
/// of its audit log on (none without a log).
pub fn audit_entries(ns: &str, offset: u64) -> impl Iterator<Item = serde_json::Value> + '_ {
    let file = std::env::var_os("TEST_ENV_DIR")
        .and_then(|dir| std::fs::File::open(PathBuf::from(dir).join("audit.log")).ok())
        .map(|mut f| {
            let _ = f.seek(SeekFrom::Start(offset));
            f
        });
    file.into_iter()
        .flat_map(|f| std::io::BufReader::new(f).lines().map_while(Result::ok))
        .filter(move |line| line.contains(ns))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
        .filter(move |v| v["objectRef"]["namespace"] == ns)
}

/// When the API server received and finished a request (epoch seconds).
#[derive(Clone, Copy, Default)]
pub struct Span {
    pub received: f64,
    pub done: f64,
}

/// Per resource of `ns`, from the audit log after `offset`: its create and
/// its first status write.
pub fn audit_first_writes(ns: &str, offset: u64) -> HashMap<String, (Option<Span>, Option<Span>)> {
    let mut out: HashMap<String, (Option<Span>, Option<Span>)> = HashMap::new();
    for v in audit_entries(ns, offset) {
        let r = &v["objectRef"];
        if r["resource"] != "classificationjobs" {
            continue;
        }
        let (Some(received), Some(done)) = (
            v["requestReceivedTimestamp"].as_str().and_then(parse_time),
            v["stageTimestamp"].as_str().and_then(parse_time),
        ) else {
            continue;
        };
        let span = Some(Span { received, done });
        let entry = out
            .entry(r["name"].as_str().unwrap_or("").to_string())
            .or_default();
        match (v["verb"].as_str(), r["subresource"].as_str()) {
            (Some("create"), None) => entry.0 = span,
            (Some("patch" | "update"), Some("status")) if entry.1.is_none() => entry.1 = span,
            _ => {}
        }
    }
    out
}

pub fn audit_len() -> u64 {
    std::env::var_os("TEST_ENV_DIR")
        .and_then(|d| std::fs::metadata(PathBuf::from(d).join("audit.log")).ok())
        .map_or(0, |m| m.len())
}
