//! Fault injection: throttle or fail a fraction of calls, add latency, make
//! named jobs fail, hold named jobs IN_PROGRESS, deny named operations
//! (AccessDeniedException, as when the caller's role loses a permission),
//! spoil the output of named jobs, and make named jobs write large outputs.
//! Random draws come from a seedable generator so a test can replay the same
//! sequence.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::protocol::Operation;

/// The faults to inject, as the admin API reads and writes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Fraction (0..=1) of API calls answered `TooManyRequestsException`.
    pub throttle_fraction: f64,
    /// Fraction (0..=1) of API calls answered `InternalServerException` (500).
    pub error_fraction: f64,
    /// Milliseconds added before every API call is answered.
    pub latency_ms: u64,
    /// Jobs with one of these names end FAILED.
    pub fail_job_names: BTreeSet<String>,
    /// Jobs with one of these names stay IN_PROGRESS (SUBMITTED first, as
    /// usual) until the set no longer holds their name; then they proceed
    /// as any job does (at once, if their running time is over).
    pub hold_job_names: BTreeSet<String>,
    /// Operations (by name, e.g. `DescribeDocumentClassificationJob`)
    /// answered `AccessDeniedException` until the set is changed.
    pub deny_operations: BTreeSet<String>,
    /// By job name: what is wrong with the output of a job of that name
    /// (the job still ends COMPLETED).
    pub output_faults: BTreeMap<String, OutputFault>,
    /// By job name: a job of that name writes a `predictions.jsonl` of
    /// about this many bytes (uncompressed) of generated predictions
    /// instead of those of its input, streamed to S3 through a temporary
    /// file.
    pub large_outputs: BTreeMap<String, u64>,
}

/// What is wrong with a job's output (`outputFaults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutputFault {
    /// Nothing is written at the output URI (GetObject: NoSuchKey).
    Missing,
    /// The object at the output URI is not a gzip'd tar: it is the plain
    /// text [`MALFORMED_ARCHIVE`].
    MalformedArchive,
    /// A valid archive, but the lines of `predictions.jsonl` with a
    /// zero-based index `i % 3 == 1` (lines 2, 5, 8, ...) are not JSON.
    MalformedLines,
    /// The documents of the lines with a zero-based index `i % 2 == 1`
    /// (lines 2, 4, 6, ...) carry `Errors` instead of `Classes`/`Labels`.
    Errors,
}

impl OutputFault {
    /// `NAME=KIND` (as `--output-fault` gives it): a job name and an output
    /// fault, `missing`, `malformedArchive`, `malformedLines` or `errors`.
    /// The last `=` separates them (job names may hold `=`).
    pub fn parse_spec(spec: &str) -> Result<(String, OutputFault), String> {
        let (name, kind) = spec
            .rsplit_once('=')
            .ok_or_else(|| format!("'{spec}' is not JOB_NAME=KIND"))?;
        let fault = serde_json::from_value(serde_json::Value::String(kind.trim().to_string()))
            .map_err(|_| {
                format!(
                    "unknown output fault '{kind}' (expected missing, malformedArchive, \
                     malformedLines or errors)"
                )
            })?;
        Ok((name.to_string(), fault))
    }
}

/// `NAME=BYTES` (as `--large-output` gives it): a job name and the size of
/// its generated `predictions.jsonl`, at least 1. The last `=` separates
/// them.
pub fn parse_large_output(spec: &str) -> Result<(String, u64), String> {
    let (name, bytes) = spec
        .rsplit_once('=')
        .ok_or_else(|| format!("'{spec}' is not JOB_NAME=BYTES"))?;
    match bytes.trim().parse::<u64>() {
        Ok(bytes) if bytes > 0 => Ok((name.to_string(), bytes)),
        _ => Err(format!("'{bytes}' is not a size in bytes (1 or more)")),
    }
}

/// The body written at the output URI of a job with the `malformedArchive`
/// output fault.
pub const MALFORMED_ARCHIVE: &[u8] = b"this is not a gzip'd tar archive\n";

impl Faults {
    /// Applies the members present in a camelCase JSON object, leaving the
    /// rest unchanged.
    pub fn merge(&mut self, patch: &serde_json::Value) -> Result<(), String> {
        let mut current = serde_json::to_value(&*self).map_err(|e| e.to_string())?;
        let (Some(current_map), Some(patch_map)) = (current.as_object_mut(), patch.as_object())
        else {
            return Err("faults must be a JSON object".to_string());
        };
        for (key, value) in patch_map {
            if !current_map.contains_key(key) {
                return Err(format!("unknown fault '{key}'"));
            }
            current_map.insert(key.clone(), value.clone());
        }
        let merged: Faults = serde_json::from_value(current).map_err(|e| e.to_string())?;
        merged.check()?;
        *self = merged;
        Ok(())
    }

    /// Rejects fractions outside 0..=1 and operation names the stand-in
    /// does not serve.
    pub fn check(&self) -> Result<(), String> {
        if let Some((name, _)) = self.large_outputs.iter().find(|(_, bytes)| **bytes == 0) {
            return Err(format!(
                "largeOutputs: the size for job '{name}' must be at least 1 byte"
            ));
        }
        if let Some(unknown) = self
            .deny_operations
            .iter()
            .find(|name| !Operation::ALL.iter().any(|op| op.name() == name.as_str()))
        {
            return Err(format!(
                "denyOperations: unknown operation '{unknown}' (expected one of {})",
                Operation::ALL.map(Operation::name).join(", ")
            ));
        }
        for (name, value) in [
            ("throttleFraction", self.throttle_fraction),
            ("errorFraction", self.error_fraction),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("{name} must be between 0 and 1, got {value}"));
            }
        }
        Ok(())
    }
}

/// What to do to one API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Serve,
    /// Answer `TooManyRequestsException`.
    Throttle,
    /// Answer `InternalServerException`.
    Fail,
}

/// The fault settings with their random source.
#[derive(Debug)]
pub struct FaultInjector {
    /// The current settings.
    pub faults: Faults,
    rng: StdRng,
}

impl FaultInjector {
    /// A new injector; the same seed gives the same verdicts.
    pub fn new(faults: Faults, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        FaultInjector { faults, rng }
    }

    /// The latency to add to a call.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.faults.latency_ms)
    }

    /// Decides one call's fate. Both draws are always made, so a seeded run
    /// stays in step whatever the fractions are.
    pub fn verdict(&mut self) -> Verdict {
        let throttle_draw: f64 = self.rng.random();
        let error_draw: f64 = self.rng.random();
        if throttle_draw < self.faults.throttle_fraction {
            Verdict::Throttle
        } else if error_draw < self.faults.error_fraction {
            Verdict::Fail
        } else {
            Verdict::Serve
        }
    }

    /// Whether calls of this operation are denied.
    pub fn denies(&self, op: Operation) -> bool {
        self.faults.deny_operations.contains(op.name())
    }

    /// Whether a job of this name is to fail.
    pub fn fails_job(&self, job_name: Option<&str>) -> bool {
        job_name.is_some_and(|name| self.faults.fail_job_names.contains(name))
    }

    /// What is wrong with the output of a job of this name, if anything.
    pub fn output_fault(&self, job_name: Option<&str>) -> Option<OutputFault> {
        job_name.and_then(|name| self.faults.output_faults.get(name).copied())
    }

    /// The size of the generated `predictions.jsonl` of a job of this
    /// name, if it is to write a large output.
    pub fn large_output(&self, job_name: Option<&str>) -> Option<u64> {
        job_name.and_then(|name| self.faults.large_outputs.get(name).copied())
    }

    /// Whether a job of this name is to stay IN_PROGRESS for now.
    pub fn holds_job(&self, job_name: Option<&str>) -> bool {
        job_name.is_some_and(|name| self.faults.hold_job_names.contains(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_of_one_and_zero_are_absolute() {
        let mut all = FaultInjector::new(
            Faults {
                throttle_fraction: 1.0,
                ..Faults::default()
            },
            Some(1),
        );
        let mut none = FaultInjector::new(Faults::default(), Some(1));
        for _ in 0..100 {
            assert_eq!(all.verdict(), Verdict::Throttle);
            assert_eq!(none.verdict(), Verdict::Serve);
        }
    }

    #[test]
    fn same_seed_same_verdicts() {
        let faults = Faults {
            throttle_fraction: 0.3,
            error_fraction: 0.3,
            ..Faults::default()
        };
        let mut a = FaultInjector::new(faults.clone(), Some(42));
        let mut b = FaultInjector::new(faults, Some(42));
        let va: Vec<_> = (0..50).map(|_| a.verdict()).collect();
        let vb: Vec<_> = (0..50).map(|_| b.verdict()).collect();
        assert_eq!(va, vb);
        assert!(va.contains(&Verdict::Serve));
        assert!(va.contains(&Verdict::Throttle));
    }

    #[test]
    fn merge_keeps_other_members() {
        let mut faults = Faults::default();
        faults
            .merge(&serde_json::json!({"failJobNames": ["a"], "latencyMs": 5}))
            .unwrap();
        faults
            .merge(&serde_json::json!({"throttleFraction": 0.5}))
            .unwrap();
        assert_eq!(faults.latency_ms, 5);
        assert!(faults.fail_job_names.contains("a"));
        assert!(faults
            .merge(&serde_json::json!({"errorFraction": 2}))
            .is_err());
    }

    #[test]
    fn held_jobs_are_named_exactly_until_released() {
        let mut faults = Faults::default();
        faults
            .merge(&serde_json::json!({"holdJobNames": ["foreign-0", "foreign-1"]}))
            .unwrap();
        let injector = FaultInjector::new(faults.clone(), Some(1));
        assert!(injector.holds_job(Some("foreign-0")));
        assert!(!injector.holds_job(Some("foreign")));
        assert!(!injector.holds_job(None));
        assert!(!injector.fails_job(Some("foreign-0")));
        faults
            .merge(&serde_json::json!({"holdJobNames": ["foreign-1"]}))
            .unwrap();
        let injector = FaultInjector::new(faults, Some(1));
        assert!(!injector.holds_job(Some("foreign-0")));
        assert!(injector.holds_job(Some("foreign-1")));
    }

    #[test]
    fn denied_operations_are_named_exactly() {
        let mut faults = Faults::default();
        faults
            .merge(&serde_json::json!({"denyOperations": ["DescribeDocumentClassificationJob"]}))
            .unwrap();
        let injector = FaultInjector::new(faults.clone(), Some(1));
        assert!(injector.denies(Operation::DescribeDocumentClassificationJob));
        assert!(!injector.denies(Operation::StartDocumentClassificationJob));
        let err = faults
            .merge(&serde_json::json!({"denyOperations": ["DetectSentiment"]}))
            .unwrap_err();
        assert!(err.contains("DetectSentiment"), "{err}");
        // The failed merge left the set as it was; an empty list clears it.
        assert_eq!(faults.deny_operations.len(), 1);
        faults
            .merge(&serde_json::json!({"denyOperations": []}))
            .unwrap();
        assert!(faults.deny_operations.is_empty());
    }

    #[test]
    fn output_faults_and_large_outputs_are_by_job_name() {
        let mut faults = Faults::default();
        faults
            .merge(&serde_json::json!({
                "outputFaults": {"a": "missing", "b": "malformedArchive",
                                 "c": "malformedLines", "d": "errors"},
                "largeOutputs": {"big": 50_000_000u64},
            }))
            .unwrap();
        let injector = FaultInjector::new(faults.clone(), Some(1));
        assert_eq!(injector.output_fault(Some("a")), Some(OutputFault::Missing));
        assert_eq!(
            injector.output_fault(Some("b")),
            Some(OutputFault::MalformedArchive)
        );
        assert_eq!(
            injector.output_fault(Some("c")),
            Some(OutputFault::MalformedLines)
        );
        assert_eq!(injector.output_fault(Some("d")), Some(OutputFault::Errors));
        assert_eq!(injector.output_fault(Some("e")), None);
        assert_eq!(injector.output_fault(None), None);
        assert_eq!(injector.large_output(Some("big")), Some(50_000_000));
        assert_eq!(injector.large_output(Some("a")), None);
        let shown = serde_json::to_value(&faults).unwrap();
        assert_eq!(shown["outputFaults"]["b"], "malformedArchive");
        assert_eq!(shown["largeOutputs"]["big"], 50_000_000);

        // A member given replaces the whole map; others stay.
        faults
            .merge(&serde_json::json!({"outputFaults": {"d": "errors"}}))
            .unwrap();
        assert_eq!(faults.output_faults.len(), 1);
        assert_eq!(faults.large_outputs.len(), 1);

        let err = faults
            .merge(&serde_json::json!({"outputFaults": {"x": "corrupt"}}))
            .unwrap_err();
        assert!(err.contains("corrupt"), "{err}");
        let err = faults
            .merge(&serde_json::json!({"largeOutputs": {"x": 0}}))
            .unwrap_err();
        assert!(err.contains("at least 1 byte"), "{err}");
        assert!(faults
            .merge(&serde_json::json!({"largeOutputs": {"x": -5}}))
            .is_err());
        assert_eq!(faults.output_faults.len(), 1);
        faults
            .merge(&serde_json::json!({"outputFaults": {}, "largeOutputs": {}}))
            .unwrap();
        assert_eq!(faults, Faults::default());
    }

    #[test]
    fn flags_name_a_job_and_a_fault() {
        assert_eq!(
            OutputFault::parse_spec("a=b=malformedLines"),
            Ok(("a=b".to_string(), OutputFault::MalformedLines))
        );
        assert!(OutputFault::parse_spec("a=corrupt").is_err());
        assert!(OutputFault::parse_spec("missing").is_err());
        assert_eq!(
            parse_large_output("big=1000"),
            Ok(("big".to_string(), 1000))
        );
        assert!(parse_large_output("big=0").is_err());
        assert!(parse_large_output("big=1GB").is_err());
    }
}
