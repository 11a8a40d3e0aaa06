//! Job names this process recorded, while the resource waited for a slot,
//! for a resource that had no record before, and has not started since.
//!
//! Every Start follows a stored record of its name, so a resource without
//! a record has never started a job. While this process queues it, it
//! writes the record (on the Queued write) and, until it starts the job,
//! nothing else can have used that name either: so that first start needs
//! no List by name, which at thousands of queued resources was one List
//! call per job on the path from a freed slot to the next Start. A new
//! process knows no such record and looks, so a crash between Start and
//! the status write after it is still found again.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use crate::kernel::memory::shrink_if_sparse;

/// Records made here and not used yet, by resource key.
#[derive(Default)]
pub struct FreshRecords {
    /// Key -> (UID, job name, when recorded).
    by_key: Mutex<HashMap<String, (String, String, Instant)>>,
}

impl FreshRecords {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, String, Instant)>> {
        self.by_key.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This process is about to record `job_name` for the resource `key`
    /// (with `uid`), which had no record.
    pub fn insert(&self, key: &str, uid: &str, job_name: &str) {
        self.lock().insert(
            key.to_string(),
            (uid.to_string(), job_name.to_string(), Instant::now()),
        );
    }

    /// Whether `job_name` is a record this process made for this resource
    /// and has not started under; forgets it either way, so only the first
    /// start after the record skips the lookup (a retry after a Start that
    /// may have reached Comprehend looks).
    pub fn take(&self, key: &str, uid: &str, job_name: &str) -> bool {
        self.lock()
            .remove(key)
            .is_some_and(|(u, n, _)| u == uid && n == job_name)
    }

    /// Forgets the records of resources that are gone: not among the
    /// keys (`alive`) read from the cache from `read_began` on, and
    /// recorded before that (a resource queued meanwhile is not in the
    /// read, and is not gone).
    pub fn prune(&self, alive: &HashSet<String>, read_began: Instant) {
        let mut map = self.lock();
        map.retain(|key, (_, _, at)| *at >= read_began || alive.contains(key));
        shrink_if_sparse(&mut map);
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_taken_once_and_only_for_the_same_resource_and_name() {
        let r = FreshRecords::default();
        r.insert("ns/a", "uid-a", "name-a");
        assert!(
            !r.take("ns/a", "uid-other", "name-a"),
            "another object of that name"
        );
        r.insert("ns/a", "uid-a", "name-a");
        assert!(!r.take("ns/a", "uid-a", "other-name"), "another job name");
        assert!(
            !r.take("ns/a", "uid-a", "name-a"),
            "a failed take forgets it"
        );
        r.insert("ns/a", "uid-a", "name-a");
        assert!(r.take("ns/a", "uid-a", "name-a"));
        assert!(!r.take("ns/a", "uid-a", "name-a"), "only the first start");
        assert!(!r.take("ns/never", "uid", "name"));
    }

    #[test]
    fn records_of_gone_resources_are_pruned() {
        let r = FreshRecords::default();
        for i in 0..1_000 {
            r.insert(&format!("ns/{i}"), "u", "n");
        }
        let read_began = Instant::now();
        r.insert("ns/queued-meanwhile", "u", "n");
        let alive: HashSet<String> = ["ns/7".to_string()].into();
        r.prune(&alive, read_began);
        assert_eq!(r.len(), 2);
        assert!(r.take("ns/7", "u", "n"));
        assert!(r.take("ns/queued-meanwhile", "u", "n"));
        assert!(r.is_empty());
    }
}
