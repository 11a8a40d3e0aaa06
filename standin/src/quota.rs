//! Request-rate quotas: one token bucket per operation, refilled at the
//! operation's transactions-per-second rate and holding at most one second's
//! worth, so a burst above the rate is throttled as the service throttles it.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::protocol::Operation;

/// The service quotas and timings this stand-in enforces; every one can be
/// changed at start and at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Limits {
    /// StartDocumentClassificationJob calls per second.
    pub start_tps: f64,
    /// DescribeDocumentClassificationJob calls per second.
    pub describe_tps: f64,
    /// ListDocumentClassificationJobs calls per second.
    pub list_tps: f64,
    /// CreateDocumentClassifier, StopTrainingDocumentClassifier and
    /// DeleteDocumentClassifier calls per second (each its own bucket).
    pub classifier_write_tps: f64,
    /// DescribeDocumentClassifier and ListDocumentClassifiers calls per second.
    pub classifier_read_tps: f64,
    /// TagResource and UntagResource calls per second (each its own bucket).
    pub tag_tps: f64,
    /// ListTagsForResource calls per second.
    pub list_tags_tps: f64,
    /// Classification jobs that may be SUBMITTED or IN_PROGRESS at once.
    pub max_active_jobs: usize,
    /// Seconds a job stays SUBMITTED.
    pub job_queued_secs: f64,
    /// Seconds a job stays IN_PROGRESS before its output is written.
    pub job_running_secs: f64,
    /// Seconds a classifier stays TRAINING.
    pub training_secs: f64,
    /// Seconds a classifier stays DELETING before it is gone.
    pub deleting_secs: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            start_tps: 1.0,
            describe_tps: 10.0,
            list_tps: 10.0,
            classifier_write_tps: 1.0,
            classifier_read_tps: 10.0,
            tag_tps: 1.0,
            list_tags_tps: 10.0,
            max_active_jobs: 10,
            job_queued_secs: 2.0,
            job_running_secs: 5.0,
            training_secs: 3.0,
            deleting_secs: 1.0,
        }
    }
}

impl Limits {
    /// The rate (calls per second) of an operation.
    pub fn tps(&self, op: Operation) -> f64 {
        match op {
            Operation::StartDocumentClassificationJob => self.start_tps,
            Operation::DescribeDocumentClassificationJob => self.describe_tps,
            Operation::ListDocumentClassificationJobs => self.list_tps,
            Operation::CreateDocumentClassifier
            | Operation::StopTrainingDocumentClassifier
            | Operation::DeleteDocumentClassifier => self.classifier_write_tps,
            Operation::DescribeDocumentClassifier | Operation::ListDocumentClassifiers => {
                self.classifier_read_tps
            }
            Operation::TagResource | Operation::UntagResource => self.tag_tps,
            Operation::ListTagsForResource => self.list_tags_tps,
        }
    }

    /// Applies the members present in a camelCase JSON object, leaving the
    /// rest unchanged.
    pub fn merge(&mut self, patch: &serde_json::Value) -> Result<(), String> {
        let mut current = serde_json::to_value(&*self).map_err(|e| e.to_string())?;
        let (Some(current_map), Some(patch_map)) = (current.as_object_mut(), patch.as_object())
        else {
            return Err("limits must be a JSON object".to_string());
        };
        for (key, value) in patch_map {
            if !current_map.contains_key(key) {
                return Err(format!("unknown limit '{key}'"));
            }
            current_map.insert(key.clone(), value.clone());
        }
        let merged: Limits = serde_json::from_value(current).map_err(|e| e.to_string())?;
        merged.check()?;
        *self = merged;
        Ok(())
    }

    /// Rejects negative or non-finite values.
    pub fn check(&self) -> Result<(), String> {
        let values = [
            ("startTps", self.start_tps),
            ("describeTps", self.describe_tps),
            ("listTps", self.list_tps),
            ("classifierWriteTps", self.classifier_write_tps),
            ("classifierReadTps", self.classifier_read_tps),
            ("tagTps", self.tag_tps),
            ("listTagsTps", self.list_tags_tps),
            ("jobQueuedSecs", self.job_queued_secs),
            ("jobRunningSecs", self.job_running_secs),
            ("trainingSecs", self.training_secs),
            ("deletingSecs", self.deleting_secs),
        ];
        for (name, value) in values {
            if !value.is_finite() || value < 0.0 {
                return Err(format!("{name} must be a finite number >= 0, got {value}"));
            }
        }
        Ok(())
    }
}

/// A token bucket: `rate` tokens a second, at most `max(rate, 1)` held.
#[derive(Debug, Clone)]
struct Bucket {
    rate: f64,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn new(rate: f64, now: Instant) -> Self {
        let mut bucket = Bucket {
            rate,
            tokens: 0.0,
            refilled: now,
        };
        bucket.tokens = bucket.capacity();
        bucket
    }

    fn capacity(&self) -> f64 {
        self.rate.max(1.0)
    }

    fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity());
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The rate limiter: a bucket per operation.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<Operation, Bucket>,
}

impl RateLimiter {
    /// Takes a token for `op` at the rate `limits` give it; false means the
    /// call is throttled.
    pub fn admit(&mut self, op: Operation, limits: &Limits) -> bool {
        self.admit_at(op, limits, Instant::now())
    }

    fn admit_at(&mut self, op: Operation, limits: &Limits, now: Instant) -> bool {
        let rate = limits.tps(op);
        let bucket = self
            .buckets
            .entry(op)
            .or_insert_with(|| Bucket::new(rate, now));
        if bucket.rate != rate {
            // A changed limit takes effect at once, keeping what is saved up
            // within the new capacity.
            bucket.rate = rate;
            bucket.tokens = bucket.tokens.min(bucket.capacity());
        }
        bucket.try_take(now)
    }

    /// Forgets every bucket (all start full again).
    pub fn reset(&mut self) {
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_tps_allows_one_call_a_second() {
        let limits = Limits::default();
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        let op = Operation::StartDocumentClassificationJob;
        assert!(limiter.admit_at(op, &limits, t0));
        assert!(!limiter.admit_at(op, &limits, t0 + Duration::from_millis(500)));
        assert!(limiter.admit_at(op, &limits, t0 + Duration::from_millis(1000)));
        // No saving up beyond one second's worth.
        let later = t0 + Duration::from_secs(60);
        assert!(limiter.admit_at(op, &limits, later));
        assert!(!limiter.admit_at(op, &limits, later));
    }

    #[test]
    fn ten_tps_bursts_ten() {
        let limits = Limits::default();
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        let op = Operation::DescribeDocumentClassificationJob;
        for _ in 0..10 {
            assert!(limiter.admit_at(op, &limits, t0));
        }
        assert!(!limiter.admit_at(op, &limits, t0));
        assert!(limiter.admit_at(op, &limits, t0 + Duration::from_millis(100)));
    }

    #[test]
    fn operations_have_separate_buckets() {
        let limits = Limits::default();
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        assert!(limiter.admit_at(Operation::TagResource, &limits, t0));
        assert!(limiter.admit_at(Operation::UntagResource, &limits, t0));
        assert!(!limiter.admit_at(Operation::TagResource, &limits, t0));
    }

    #[test]
    fn merge_changes_only_given_members() {
        let mut limits = Limits::default();
        limits
            .merge(&serde_json::json!({"startTps": 5, "jobQueuedSecs": 0.2}))
            .unwrap();
        assert_eq!(limits.start_tps, 5.0);
        assert_eq!(limits.job_queued_secs, 0.2);
        assert_eq!(limits.describe_tps, 10.0);
        assert!(limits.merge(&serde_json::json!({"bogus": 1})).is_err());
        assert!(limits.merge(&serde_json::json!({"startTps": -1})).is_err());
    }
}
