//! The text classifier behind the stand-in's custom document classification.
//!
//! Training data is a `COMPREHEND_CSV` file (RFC 4180 CSV, no header, the
//! label in column 1 and the document text in column 2; see `csv.rs`), or
//! labelled documents read from elsewhere (SageMaker Ground Truth augmented
//! manifests, `crate::manifest`) given to [`train_documents`]. The model is a
//! multinomial naive Bayes with Laplace smoothing over lowercase word tokens
//! (runs of Unicode alphanumeric characters):
//!
//! - `MULTI_CLASS`: one naive Bayes over all labels; scores are the softmax
//!   of the per-label log-likelihoods, so they sum to 1.
//! - `MULTI_LABEL`: one binary (one-vs-rest) naive Bayes per label; each
//!   score is that label's independent probability.
//!
//! The model keeps integer counts only, so it serializes to JSON and back
//! exactly, and predicts the same after a round trip. Everything is
//! deterministic: the same input gives the same model, scores and metrics.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

mod csv;

use csv::{parse_documents, Source};

/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 5000;

/// The label delimiter of `MULTI_LABEL` training data when none is given.
const DEFAULT_LABEL_DELIMITER: &str = "|";

/// One document in this many is held out for testing (when no test file
/// is given).
const HOLD_OUT_EVERY: usize = 10;

/// Lowest probability at which a `MULTI_LABEL` model decides a label
/// applies, when evaluating.
const LABEL_THRESHOLD: f64 = 0.5;

/// Whether a document has one class or any number of labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// One class per document (`MULTI_CLASS`).
    MultiClass,
    /// Any number of labels per document (`MULTI_LABEL`).
    MultiLabel,
}

/// Metrics of a trained model on its test documents, as in Comprehend's
/// `ClassifierEvaluationMetrics`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvaluationMetrics {
    /// Multi-class: correct / total. Multi-label: exact-match ratio.
    pub accuracy: f64,
    /// Macro-averaged precision over the labels present in the test set.
    pub precision: f64,
    /// Macro-averaged recall over the labels present in the test set.
    pub recall: f64,
    /// Macro-averaged F1 (mean of the per-label F1 scores) over the labels
    /// present in the test set.
    pub f1_score: f64,
    /// Precision over all (document, label) decisions.
    pub micro_precision: f64,
    /// Recall over all (document, label) decisions.
    pub micro_recall: f64,
    /// Harmonic mean of the micro precision and recall.
    pub micro_f1_score: f64,
    /// Wrong (document, label) decisions / (documents x labels).
    pub hamming_loss: f64,
}

/// How often one token occurs in the training documents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct TokenCounts {
    /// Occurrences in all training documents.
    total: u64,
    /// Occurrences in the documents of each label, as (label index, count),
    /// by label index; labels whose documents lack the token are left out.
    labels: Vec<(usize, u64)>,
}

/// A trained naive Bayes model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    mode: Mode,
    /// The labels, sorted.
    labels: Vec<String>,
    /// Number of training documents.
    documents: u64,
    /// Number of training documents of each label.
    label_documents: Vec<u64>,
    /// Number of tokens in all training documents.
    tokens: u64,
    /// Number of tokens in the training documents of each label.
    label_tokens: Vec<u64>,
    /// Every token seen in training.
    vocabulary: BTreeMap<String, TokenCounts>,
}

/// What training produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingReport {
    /// The model, trained on the training documents.
    pub model: TrainedModel,
    /// Its metrics on the test documents (on the training documents when
    /// there are none, that is with fewer than 10 documents and no test
    /// file).
    pub metrics: EvaluationMetrics,
    /// Number of distinct labels in the training file.
    pub number_of_labels: usize,
    /// Number of documents the model was trained on.
    pub number_of_trained_documents: usize,
    /// Number of documents the model was tested on.
    pub number_of_test_documents: usize,
    /// The confusion matrix on the same documents as the metrics, as the
    /// service writes it in `confusion_matrix.json`.
    pub confusion_matrix: Value,
}

/// Parses a `COMPREHEND_CSV` training file, holds out a deterministic ~10%
/// of it as the test set (every 10th document, and at least one when there
/// are at least 10, never the last training document of a label; with
/// fewer than 10 documents nothing is held out and the metrics are those on
/// the training documents), trains on the rest and evaluates on the test
/// set. With a separate test file, trains on all of the training file and
/// tests on the test file, whose labels must all be in the training file.
///
/// In `MULTI_LABEL` mode the label column is split on `label_delimiter`
/// (`"|"` when empty); pieces are trimmed and empty pieces ignored. In
/// `MULTI_CLASS` mode the whole (trimmed) label column is the label.
///
/// Errors are messages for users, in the manner of Comprehend's.
pub fn train(
    training_csv: &str,
    test_csv: Option<&str>,
    mode: Mode,
    label_delimiter: &str,
) -> Result<TrainingReport, String> {
    let documents = parse_documents(training_csv, mode, label_delimiter, Source::Training)?;
    let test = test_csv
        .map(|csv| parse_documents(csv, mode, label_delimiter, Source::Test))
        .transpose()?;
    train_documents(documents, test, mode)
}

/// Trains on labelled documents as [`train`] does on a parsed CSV: with
/// `test` documents, trains on all of `documents` and tests on `test`
/// (whose labels must all be in `documents`); without, holds out ~10% of
/// `documents` for testing. In `MULTI_CLASS` mode every document has
/// exactly one label.
pub fn train_documents(
    documents: Vec<Document>,
    test: Option<Vec<Document>>,
    mode: Mode,
) -> Result<TrainingReport, String> {
    if documents.len() < 2 {
        return Err(format!(
            "Amazon Comprehend requires at least 2 documents in the training data, found {}. \
             Consider adding more training data.",
            documents.len()
        ));
    }
    let labels: BTreeSet<&str> = documents
        .iter()
        .flat_map(|d| d.labels.iter().map(String::as_str))
        .collect();
    if labels.len() < 2 {
        let found = labels
            .iter()
            .map(|l| format!("{l:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(format!(
            "Amazon Comprehend requires at least 2 labels in the training data, found {} ({found}). \
             Consider adding documents of other labels.",
            labels.len()
        ));
    }
    let labels: Vec<String> = labels.into_iter().map(str::to_string).collect();

    let (train_docs, test_docs): (Vec<&Document>, Vec<Document>) = match test {
        Some(test) => {
            for doc in &test {
                if let Some(unknown) = doc.labels.iter().find(|l| labels.binary_search(l).is_err())
                {
                    return Err(format!(
                        "{}: the label {unknown:?} is not in the training data. \
                         The labels of the test data must all be in the training data.",
                        doc.at
                    ));
                }
            }
            (documents.iter().collect(), test)
        }
        None => {
            let held_out = hold_out(&documents);
            let train = documents
                .iter()
                .enumerate()
                .filter(|(i, _)| !held_out.contains(i))
                .map(|(_, d)| d)
                .collect();
            let test = held_out.iter().map(|&i| documents[i].clone()).collect();
            (train, test)
        }
    };

    let model = fit(mode, labels, &train_docs);
    let (metrics, confusion_matrix) = if test_docs.is_empty() {
        model.evaluate(&train_docs)
    } else {
        model.evaluate(&test_docs.iter().collect::<Vec<_>>())
    };
    Ok(TrainingReport {
        number_of_labels: model.labels.len(),
        number_of_trained_documents: train_docs.len(),
        number_of_test_documents: test_docs.len(),
        model,
        metrics,
        confusion_matrix,
    })
}

impl TrainedModel {
    /// Whether the model is multi-class or multi-label.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The labels the model knows, sorted.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Every label with its score, highest first (ties by label).
    ///
    /// Multi-class: the probability of each class (softmax over the naive
    /// Bayes log-likelihoods); the scores sum to 1. Multi-label: the
    /// independent probability of each label. Tokens not seen in training
    /// are ignored, so a text without known tokens gets the label priors.
    pub fn predict(&self, text: &str) -> Vec<(String, f64)> {
        let mut scored: Vec<(String, f64)> =
            self.labels.iter().cloned().zip(self.scores(text)).collect();
        // Stable, and the labels are sorted: ties come out by label.
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored
    }

    /// The score of each label, by label index.
    fn scores(&self, text: &str) -> Vec<f64> {
        let k = self.labels.len();
        let n = self.documents as f64;
        let v = self.vocabulary.len() as f64;
        let label_documents = |i: usize| self.label_documents.get(i).copied().unwrap_or(0) as f64;
        let label_tokens = |i: usize| self.label_tokens.get(i).copied().unwrap_or(0) as f64;

        // Sum over known tokens of count * ln(count in label + 1), per
        // label; a label without the token adds count * ln(1) = 0.
        let mut in_label = vec![0.0; k];
        // Multi-label only: sum over known tokens of count * ln(count
        // outside label + 1), as a common part (as if no label had the
        // token) plus a correction per label that has it.
        let mut outside_common = 0.0;
        let mut outside_correction = vec![0.0; k];
        let mut known = 0u64;
        for (token, count) in token_counts(text) {
            let Some(counts) = self.vocabulary.get(&token) else {
                continue;
            };
            known += count;
            let c = count as f64;
            let all = ((counts.total + 1) as f64).ln();
            outside_common += c * all;
            for &(i, in_i) in &counts.labels {
                if i >= k {
                    continue;
                }
                in_label[i] += c * ((in_i + 1) as f64).ln();
                let outside = counts.total.saturating_sub(in_i);
                outside_correction[i] += c * (((outside + 1) as f64).ln() - all);
            }
        }
        let known = known as f64;
        // Laplace-smoothed token likelihood denominators, times the number
        // of known tokens (nothing when there are none, also avoiding
        // 0 * ln(0) for an empty vocabulary).
        let denominator = |tokens: f64| {
            if known > 0.0 {
                known * (tokens + v).ln()
            } else {
                0.0
            }
        };

        match self.mode {
            Mode::MultiClass => {
                let log: Vec<f64> = (0..k)
                    .map(|i| {
                        let prior = ((label_documents(i) + 1.0) / (n + k as f64)).ln();
                        prior + in_label[i] - denominator(label_tokens(i))
                    })
                    .collect();
                softmax(&log)
            }
            Mode::MultiLabel => (0..k)
                .map(|i| {
                    let d = label_documents(i);
                    let t = label_tokens(i);
                    let positive = ((d + 1.0) / (n + 2.0)).ln() + in_label[i] - denominator(t);
                    let negative =
                        ((n - d + 1.0) / (n + 2.0)).ln() + outside_common + outside_correction[i]
                            - denominator(self.tokens as f64 - t);
                    sigmoid(positive - negative)
                })
                .collect(),
        }
    }

    /// The label indices the model decides on for a text: the best class
    /// (multi-class), or every label at or above the threshold
    /// (multi-label).
    fn decide(&self, text: &str) -> Vec<usize> {
        let scores = self.scores(text);
        match self.mode {
            Mode::MultiClass => {
                let mut best: Option<(usize, f64)> = None;
                for (i, &s) in scores.iter().enumerate() {
                    if best.is_none_or(|(_, b)| s > b) {
                        best = Some((i, s));
                    }
                }
                best.map(|(i, _)| vec![i]).unwrap_or_default()
            }
            Mode::MultiLabel => scores
                .iter()
                .enumerate()
                .filter(|(_, &s)| s >= LABEL_THRESHOLD)
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// Metrics and confusion matrix of the model on labelled documents.
    fn evaluate(&self, documents: &[&Document]) -> (EvaluationMetrics, Value) {
        let truth: Vec<Vec<usize>> = documents
            .iter()
            .map(|d| {
                d.labels
                    .iter()
                    .filter_map(|l| self.labels.binary_search(l).ok())
                    .collect()
            })
            .collect();
        let predicted: Vec<Vec<usize>> = documents.iter().map(|d| self.decide(&d.text)).collect();
        (
            metrics(self.labels.len(), &truth, &predicted),
            confusion_matrix(self.mode, &self.labels, &truth, &predicted),
        )
    }
}

/// Trains a model on documents whose labels are all in `labels` (sorted,
/// each with at least one document).
fn fit(mode: Mode, labels: Vec<String>, documents: &[&Document]) -> TrainedModel {
    let k = labels.len();
    let mut label_documents = vec![0u64; k];
    let mut label_tokens = vec![0u64; k];
    let mut tokens = 0u64;
    let mut vocabulary: BTreeMap<String, (u64, BTreeMap<usize, u64>)> = BTreeMap::new();
    for doc in documents {
        let ids: Vec<usize> = doc
            .labels
            .iter()
            .filter_map(|l| labels.binary_search(l).ok())
            .collect();
        let counts = token_counts(&doc.text);
        let n: u64 = counts.values().sum();
        tokens += n;
        for &i in &ids {
            label_documents[i] += 1;
            label_tokens[i] += n;
        }
        for (token, count) in counts {
            let entry = vocabulary.entry(token).or_default();
            entry.0 += count;
            for &i in &ids {
                *entry.1.entry(i).or_insert(0) += count;
            }
        }
    }
    TrainedModel {
        mode,
        labels,
        documents: documents.len() as u64,
        label_documents,
        tokens,
        label_tokens,
        vocabulary: vocabulary
            .into_iter()
            .map(|(token, (total, per_label))| {
                (
                    token,
                    TokenCounts {
                        total,
                        labels: per_label.into_iter().collect(),
                    },
                )
            })
            .collect(),
    }
}

/// Evaluation metrics of label decisions against the truth, both as label
/// indices per document, with `k` labels in all.
fn metrics(k: usize, truth: &[Vec<usize>], predicted: &[Vec<usize>]) -> EvaluationMetrics {
    let n = truth.len();
    let mut tp = vec![0u64; k];
    let mut fp = vec![0u64; k];
    let mut fn_ = vec![0u64; k];
    let mut exact = 0u64;
    for (t, p) in truth.iter().zip(predicted) {
        let t: BTreeSet<usize> = t.iter().copied().filter(|&i| i < k).collect();
        let p: BTreeSet<usize> = p.iter().copied().filter(|&i| i < k).collect();
        if t == p {
            exact += 1;
        }
        for &i in t.intersection(&p) {
            tp[i] += 1;
        }
        for &i in p.difference(&t) {
            fp[i] += 1;
        }
        for &i in t.difference(&p) {
            fn_[i] += 1;
        }
    }

    let (mut precision, mut recall, mut f1, mut present) = (0.0, 0.0, 0.0, 0u64);
    for i in 0..k {
        // Macro averages cover the labels present in the test set.
        if tp[i] + fn_[i] == 0 {
            continue;
        }
        present += 1;
        let p = ratio(tp[i], tp[i] + fp[i]);
        let r = ratio(tp[i], tp[i] + fn_[i]);
        precision += p;
        recall += r;
        f1 += harmonic_mean(p, r);
    }
    let present = present as f64;
    let divide = |x: f64| if present > 0.0 { x / present } else { 0.0 };

    let (tp, fp, fn_): (u64, u64, u64) = (tp.iter().sum(), fp.iter().sum(), fn_.iter().sum());
    let micro_precision = ratio(tp, tp + fp);
    let micro_recall = ratio(tp, tp + fn_);
    EvaluationMetrics {
        accuracy: ratio(exact, n as u64),
        precision: divide(precision),
        recall: divide(recall),
        f1_score: divide(f1),
        micro_precision,
        micro_recall,
        micro_f1_score: harmonic_mean(micro_precision, micro_recall),
        hamming_loss: ratio(fp + fn_, (n * k) as u64),
    }
}

/// The confusion matrix of label decisions, as `confusion_matrix.json` of
/// the service's training output holds it. Multi-class: rows are the true
/// classes, columns the predicted ones. Multi-label: for each label,
/// `[[true negatives, false positives], [false negatives, true positives]]`.
fn confusion_matrix(
    mode: Mode,
    labels: &[String],
    truth: &[Vec<usize>],
    predicted: &[Vec<usize>],
) -> Value {
    let k = labels.len();
    match mode {
        Mode::MultiClass => {
            let mut matrix = vec![vec![0u64; k]; k];
            for (t, p) in truth.iter().zip(predicted) {
                if let (Some(&t), Some(&p)) = (t.first(), p.first()) {
                    if t < k && p < k {
                        matrix[t][p] += 1;
                    }
                }
            }
            json!({"type": "multi_class", "confusion_matrix": matrix, "labels": labels, "all_labels": labels})
        }
        Mode::MultiLabel => {
            let mut matrices = vec![[[0u64; 2]; 2]; k];
            for (t, p) in truth.iter().zip(predicted) {
                for (i, matrix) in matrices.iter_mut().enumerate() {
                    let actual = usize::from(t.contains(&i));
                    let decided = usize::from(p.contains(&i));
                    matrix[actual][decided] += 1;
                }
            }
            json!({"type": "multi_label", "confusion_matrix": matrices, "labels": labels, "all_labels": labels})
        }
    }
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

fn harmonic_mean(a: f64, b: f64) -> f64 {
    if a + b == 0.0 {
        0.0
    } else {
        2.0 * a * b / (a + b)
    }
}

fn softmax(log: &[f64]) -> Vec<f64> {
    let max = log.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = log.iter().map(|&l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|&e| e / sum).collect()
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Lowercase word tokens (runs of Unicode alphanumeric characters) of a
/// text, with their counts.
fn token_counts(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for token in text.split(|c: char| !c.is_alphanumeric()) {
        if !token.is_empty() {
            *counts.entry(token.to_lowercase()).or_insert(0) += 1;
        }
    }
    counts
}

/// A labelled training or test document.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Where it is, as error messages about it start (`Line 3`).
    pub at: String,
    /// Its labels, sorted and distinct (exactly one in multi-class mode).
    pub labels: Vec<String>,
    /// Its text.
    pub text: String,
}

/// Indices of the documents held out for testing: about one in ten
/// (rounded, at least one with 10 documents or more, none with fewer),
/// every 10th document first, then others from the end, skipping any whose
/// removal would leave one of its labels without training documents.
fn hold_out(documents: &[Document]) -> BTreeSet<usize> {
    let n = documents.len();
    let mut held_out = BTreeSet::new();
    if n < HOLD_OUT_EVERY {
        return held_out;
    }
    let target = ((n + HOLD_OUT_EVERY / 2) / HOLD_OUT_EVERY).max(1);
    let mut remaining: BTreeMap<&str, usize> = BTreeMap::new();
    for doc in documents {
        for label in &doc.labels {
            *remaining.entry(label).or_insert(0) += 1;
        }
    }
    let is_tenth = |i: &usize| i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1;
    let candidates = (0..n)
        .filter(is_tenth)
        .chain((0..n).rev().filter(|i| !is_tenth(i)));
    for i in candidates {
        if held_out.len() == target {
            break;
        }
        let labels = &documents[i].labels;
        if labels.iter().all(|l| remaining[l.as_str()] >= 2) {
            for label in labels {
                if let Some(count) = remaining.get_mut(label.as_str()) {
                    *count -= 1;
                }
            }
            held_out.insert(i);
        }
    }
    held_out
}

#[cfg(test)]
mod tests;
