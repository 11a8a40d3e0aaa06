//! What a completed classification job found: its `output.tar.gz` read as
//! a stream and reduced to a [`Summary`] (documents per class or label).
//!
//! A COMPLETED job writes `<output prefix>/<account>-CLN-<job id>/output/
//! output.tar.gz` (its `OutputDataConfig.S3Uri`), a gzip'd tar whose
//! `predictions.jsonl` holds one JSON object a document:
//!
//! - multi-class: `{"File": "f.txt", "Line": "0", "Classes": [{"Name": "A",
//!   "Score": 0.93}, ...]}`: the document counts under its highest-scoring
//!   class;
//! - multi-label: `{"File": "f.txt", "Labels": [{"Name": "A", "Score":
//!   0.8}, ...]}`: the document counts under every listed label;
//! - a document that could not be classified carries `"Errors": [...]` and
//!   no classes or labels: it counts as failed.
//!
//! The pieces: [`SummaryBuilder`] counts one line at a time, without I/O;
//! [`summarize`] streams any reader through gunzip, tar and lines into it;
//! [`Outputs`] is the narrow boundary that opens an S3 object (the SDK's in
//! `s3`, an in-memory one in `fake`), and [`summarize_output`] joins them.
//! Memory stays bounded whatever the archive holds: nothing is read whole,
//! a line is cut at [`MAX_LINE_BYTES`] and at most [`MAX_CLASSES`] names are
//! counted.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use async_trait::async_trait;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::comprehend::{AwsError, ErrorKind, Place};

mod archive;
#[cfg(test)]
pub mod fake;
pub mod s3;
#[cfg(test)]
mod tests;

pub use archive::{summarize, READ_ERROR};

/// The archive member holding the predictions (matched by file name, in
/// any directory).
pub const PREDICTIONS_MEMBER: &str = "predictions.jsonl";

/// Longest line of `predictions.jsonl` read; a longer one is malformed and
/// skipped without being buffered. A prediction is a file name and at most
/// a few thousand scored names, far below this.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Distinct class or label names counted. Comprehend allows far fewer
/// classes per model; names past this are only counted in
/// [`Summary::other_classes`].
pub const MAX_CLASSES: usize = 10_000;

/// Longest reason kept in [`Summary::first_malformed`]: a parser message
/// may quote the line.
const MAX_REASON_CHARS: usize = 200;

/// Which kind of classifier the predictions come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// One class a document (`Classes`).
    MultiClass,
    /// Any number of labels a document (`Labels`).
    MultiLabel,
}

impl Mode {
    /// The API's spelling: `MULTI_CLASS`, `MULTI_LABEL`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::MultiClass => "MULTI_CLASS",
            Mode::MultiLabel => "MULTI_LABEL",
        }
    }
}

/// Documents counted under one class or label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassCount {
    pub name: String,
    pub documents: u64,
}

/// What a job's predictions say, in a size fit for a status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// The mode of the first classified document; `None` when none was.
    pub mode: Option<Mode>,
    /// Documents classified (with classes or labels).
    pub documents: u64,
    /// The classes (or labels) with the most documents, most first, ties by
    /// name; at most the `top` asked for.
    pub classes: Vec<ClassCount>,
    /// Distinct classes (or labels) seen but left out of `classes`. Names
    /// past [`MAX_CLASSES`] are remembered only by a 64-bit hash, and only
    /// for another [`MAX_CLASSES`] of them: beyond that this is a lower
    /// bound.
    pub other_classes: u64,
    /// Documents the job could not classify (`Errors`).
    pub failed_documents: u64,
    /// Lines that are not a prediction (not JSON, not the expected shape,
    /// too long), skipped.
    pub malformed_lines: u64,
    /// Where the first malformed line is and what is wrong with it:
    /// `line 17: expected value at column 1`.
    pub first_malformed: Option<String>,
    /// The mean, over classified documents that have a score, of their
    /// highest score.
    pub mean_top_score: Option<f64>,
}

/// One scored class or label.
#[derive(Deserialize)]
struct Scored {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Score")]
    score: f64,
}

/// The members of a prediction the summary uses; `File`, `Line` and
/// anything else are ignored.
#[derive(Deserialize)]
struct Prediction {
    #[serde(rename = "Classes")]
    classes: Option<Vec<Scored>>,
    #[serde(rename = "Labels")]
    labels: Option<Vec<Scored>>,
    #[serde(rename = "Errors")]
    errors: Option<Vec<IgnoredAny>>,
}

/// Counts predictions one line at a time; [`SummaryBuilder::finish`] makes
/// the [`Summary`]. Pure: no I/O, memory bounded by [`MAX_CLASSES`].
#[derive(Debug, Default)]
pub struct SummaryBuilder {
    mode: Option<Mode>,
    documents: u64,
    failed: u64,
    malformed: u64,
    first_malformed: Option<String>,
    /// Lines seen so far (blank ones included), for line numbers.
    lines: u64,
    top_score_sum: f64,
    scored_documents: u64,
    counts: HashMap<String, u64>,
    /// Hashes of the names past [`MAX_CLASSES`], at most [`MAX_CLASSES`].
    untracked: HashSet<u64>,
}

impl SummaryBuilder {
    /// An empty summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one line of `predictions.jsonl` (without its newline; a
    /// trailing `\r` is ignored). Blank lines count for line numbers only.
    pub fn line(&mut self, line: &[u8]) {
        self.lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let prediction: Prediction = match serde_json::from_slice(line) {
            Ok(p) => p,
            Err(e) => return self.malformed_line(&json_reason(&e)),
        };
        let has_errors = prediction.errors.is_some_and(|e| !e.is_empty());
        let (mode, scored) = match (prediction.classes, prediction.labels) {
            (Some(classes), _) => (Mode::MultiClass, classes),
            (None, Some(labels)) => (Mode::MultiLabel, labels),
            (None, None) if has_errors => (Mode::MultiClass, Vec::new()),
            (None, None) => return self.malformed_line("no Classes, Labels or Errors"),
        };
        if scored.is_empty() {
            if has_errors {
                self.failed += 1;
                return;
            }
            // A multi-label document may have no label above the threshold
            // (`"Labels": []`); a multi-class one always has a class.
            if mode == Mode::MultiClass {
                return self.malformed_line("Classes is empty");
            }
        }
        self.documents += 1;
        self.mode.get_or_insert(mode);
        // The first of the highest scores, as listed.
        let top = scored
            .iter()
            .reduce(|best, s| if s.score > best.score { s } else { best });
        if let Some(top) = top {
            self.top_score_sum += top.score;
            self.scored_documents += 1;
        }
        match mode {
            Mode::MultiClass => {
                if let Some(top) = top {
                    self.count(&top.name);
                }
            }
            Mode::MultiLabel => {
                // A label listed twice counts once for the document.
                let mut seen = HashSet::new();
                for s in &scored {
                    if seen.insert(s.name.as_str()) {
                        self.count(&s.name);
                    }
                }
            }
        }
    }

    /// Counts a line longer than [`MAX_LINE_BYTES`], which the reader
    /// skipped without reading it whole.
    pub fn overlong_line(&mut self) {
        self.lines += 1;
        self.malformed_line(&format!("longer than {MAX_LINE_BYTES} bytes"));
    }

    /// The summary with at most `top` classes.
    pub fn finish(self, top: usize) -> Summary {
        let mut counts: Vec<ClassCount> = self
            .counts
            .into_iter()
            .map(|(name, documents)| ClassCount { name, documents })
            .collect();
        counts.sort_by(|a, b| b.documents.cmp(&a.documents).then(a.name.cmp(&b.name)));
        let left_out = counts.len().saturating_sub(top);
        counts.truncate(top);
        Summary {
            mode: self.mode,
            documents: self.documents,
            classes: counts,
            other_classes: (left_out + self.untracked.len()) as u64,
            failed_documents: self.failed,
            malformed_lines: self.malformed,
            first_malformed: self.first_malformed,
            mean_top_score: (self.scored_documents > 0)
                .then(|| self.top_score_sum / self.scored_documents as f64),
        }
    }

    fn count(&mut self, name: &str) {
        if let Some(n) = self.counts.get_mut(name) {
            *n += 1;
        } else if self.counts.len() < MAX_CLASSES {
            self.counts.insert(name.to_owned(), 1);
        } else if self.untracked.len() < MAX_CLASSES {
            let mut h = DefaultHasher::new();
            name.hash(&mut h);
            self.untracked.insert(h.finish());
        }
    }

    fn malformed_line(&mut self, reason: &str) {
        self.malformed += 1;
        if self.first_malformed.is_none() {
            let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
            self.first_malformed = Some(format!("line {}: {reason}", self.lines));
        }
    }
}

/// A parser error without its position on the (single) line but its
/// column: `expected value at column 1`.
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) => format!("{message} at column {}", e.column()),
        None => text,
    }
}

/// Why a job's output could not be summarized.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResultsError {
    /// The output could not be read: S3 refused it, or the stream broke.
    #[error("cannot read the output: {0}")]
    Unreadable(AwsError),
    /// The output is not what Comprehend writes: not gzip, not tar, no
    /// `predictions.jsonl`, cut short.
    #[error("malformed output: {0}")]
    Malformed(String),
}

/// An output object's content, as it arrives.
pub type OutputStream = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

/// The operations the operator needs to read a job's output.
#[async_trait]
pub trait Outputs: Send + Sync {
    /// GetObject of `s3_uri` (`s3://bucket/key`) with the identity and in
    /// the Region of `at`: the object's content as a stream. A URI that
    /// names no object is an [`ErrorKind::InvalidSpec`] error.
    async fn open(&self, at: &Place, s3_uri: &str) -> Result<OutputStream, AwsError>;
}

/// Opens the output at `s3_uri` and summarizes it with at most `top`
/// classes.
pub async fn summarize_output(
    outputs: &dyn Outputs,
    at: &Place,
    s3_uri: &str,
    top: usize,
) -> Result<Summary, ResultsError> {
    let stream = outputs
        .open(at, s3_uri)
        .await
        .map_err(ResultsError::Unreadable)?;
    summarize(stream, top).await
}

/// An S3 object's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
}

/// The bucket and key of `s3://bucket/key`. The key is taken as written
/// (S3 URIs are not percent-encoded); a URI without a bucket or a key, or
/// whose key ends in `/` (a prefix, not an object), is an
/// [`ErrorKind::InvalidSpec`] error with code `InvalidS3Uri`.
pub fn parse_s3_uri(uri: &str) -> Result<S3Object, AwsError> {
    let invalid = |why: &str| AwsError {
        kind: ErrorKind::InvalidSpec,
        code: "InvalidS3Uri".to_owned(),
        message: format!("{uri:?} is not an S3 object URI (s3://bucket/key): {why}"),
    };
    let rest = uri
        .strip_prefix("s3://")
        .ok_or_else(|| invalid("it does not start with s3://"))?;
    let (bucket, key) = rest
        .split_once('/')
        .ok_or_else(|| invalid("it has no key"))?;
    if bucket.is_empty() {
        return Err(invalid("it has no bucket"));
    }
    if bucket.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("the bucket name has spaces"));
    }
    if key.is_empty() {
        return Err(invalid("it has no key"));
    }
    if key.ends_with('/') {
        return Err(invalid("it names a prefix, not an object"));
    }
    Ok(S3Object {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    })
}
