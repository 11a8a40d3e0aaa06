//! The text classifier behind the stand-in's custom document classification.
//!
//! Training data is a `COMPREHEND_CSV` file (RFC 4180 CSV, no header, the
//! label in column 1 and the document text in column 2). The model is a
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

    let (train_docs, test_docs): (Vec<&Document>, Vec<Document>) = match test_csv {
        Some(test_csv) => {
            let test = parse_documents(test_csv, mode, label_delimiter, Source::Test)?;
            for doc in &test {
                if let Some(unknown) = doc.labels.iter().find(|l| labels.binary_search(l).is_err())
                {
                    return Err(format!(
                        "{}: the label {unknown:?} is not in the training data. \
                         The labels of the test data must all be in the training data.",
                        Source::Test.at(doc.line)
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
    let metrics = if test_docs.is_empty() {
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

    /// Metrics of the model on labelled documents.
    fn evaluate(&self, documents: &[&Document]) -> EvaluationMetrics {
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
        metrics(self.labels.len(), &truth, &predicted)
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

/// Which file a document comes from, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Training,
    Test,
}

impl Source {
    /// Where a line is, as error messages start.
    fn at(self, line: usize) -> String {
        match self {
            Source::Training => format!("Line {line}"),
            Source::Test => format!("Test data, line {line}"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Source::Training => "training",
            Source::Test => "test",
        }
    }
}

/// A labelled document of a `COMPREHEND_CSV` file.
#[derive(Clone, Debug, PartialEq)]
struct Document {
    /// The line the document starts on (1-based).
    line: usize,
    /// Its labels, sorted and distinct (exactly one in multi-class mode).
    labels: Vec<String>,
    text: String,
}

/// Parses and checks the documents of a `COMPREHEND_CSV` file. Columns
/// after the second are taken as part of the text (joined with commas).
fn parse_documents(
    csv: &str,
    mode: Mode,
    label_delimiter: &str,
    source: Source,
) -> Result<Vec<Document>, String> {
    let records = parse_csv(csv).map_err(|e| format!("{}: {}", source.at(e.line), e.message))?;
    if records.is_empty() {
        return Err(format!(
            "The {} data is empty: it has no documents. Each line must be a document as label,text.",
            source.name()
        ));
    }
    let delimiter = if label_delimiter.is_empty() {
        DEFAULT_LABEL_DELIMITER
    } else {
        label_delimiter
    };
    let mut documents = Vec::with_capacity(records.len());
    for record in records {
        let at = source.at(record.line);
        if record.fields.len() < 2 {
            return Err(format!(
                "{at}: expected 2 columns (label,text), found {}",
                record.fields.len()
            ));
        }
        let raw_label = &record.fields[0];
        let pieces: Vec<&str> = match mode {
            Mode::MultiClass => vec![raw_label.trim()],
            Mode::MultiLabel => raw_label.split(delimiter).map(str::trim).collect(),
        };
        let mut labels = BTreeSet::new();
        for label in pieces.into_iter().filter(|l| !l.is_empty()) {
            if label.contains(['\n', '\r']) {
                return Err(format!(
                    "{at}: the label {label:?} contains a line break; labels must not contain \
                     \\n or \\r characters."
                ));
            }
            let chars = label.chars().count();
            if chars > MAX_LABEL_CHARS {
                return Err(format!(
                    "{at}: the label is {chars} characters long; a label can have at most \
                     {MAX_LABEL_CHARS} characters."
                ));
            }
            labels.insert(label.to_string());
        }
        if labels.is_empty() {
            return Err(format!(
                "{at}: the label is empty. Each document needs a label."
            ));
        }
        let text = record.fields[1..].join(",");
        if text.trim().is_empty() {
            return Err(format!("{at}: the document text is empty."));
        }
        documents.push(Document {
            line: record.line,
            labels: labels.into_iter().collect(),
            text,
        });
    }
    Ok(documents)
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

/// One CSV record.
#[derive(Clone, Debug, PartialEq)]
struct Record {
    /// The line it starts on (1-based).
    line: usize,
    fields: Vec<String>,
}

/// A CSV syntax error.
#[derive(Clone, Debug, PartialEq)]
struct CsvError {
    line: usize,
    message: String,
}

/// Parses RFC 4180 CSV: fields separated by commas, records by LF, CRLF or
/// CR; a field starting with `"` is quoted up to the next lone `"`, may hold
/// commas and line breaks, and `""` in it is one `"`. Leniently, characters
/// after a closing quote are kept, and a `"` inside an unquoted field is an
/// ordinary character. A leading byte order mark is ignored, and so are
/// blank (or whitespace-only) lines.
fn parse_csv(input: &str) -> Result<Vec<Record>, CsvError> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut record_line = 1;
    let mut in_quotes = false;
    let mut quote_line = 1;
    let mut at_field_start = true;

    let mut finish_record = |fields: &mut Vec<String>, field: &mut String, record_line: usize| {
        fields.push(std::mem::take(field));
        let fields = std::mem::take(fields);
        let blank = fields.len() == 1 && fields[0].trim().is_empty();
        if !blank {
            records.push(Record {
                line: record_line,
                fields,
            });
        }
    };

    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                '\r' => {
                    if chars.peek() != Some(&'\n') {
                        line += 1;
                    }
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                in_quotes = true;
                quote_line = line;
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\n' | '\r' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                finish_record(&mut fields, &mut field, record_line);
                line += 1;
                record_line = line;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if in_quotes {
        return Err(CsvError {
            line: quote_line,
            message: "a quoted field is never closed (unterminated \" quote)".to_string(),
        });
    }
    if !fields.is_empty() || !field.is_empty() || !at_field_start {
        finish_record(&mut fields, &mut field, record_line);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPORTS: [&str; 12] = [
        "The striker scored a late goal and the team won the match",
        "Our goalkeeper saved a penalty in the football final",
        "The coach praised the players after the tournament victory",
        "The basketball team won the championship game last night",
        "A brilliant goal by the midfielder sealed the league title",
        "The tennis player served an ace to win the match point",
        "Fans cheered as the team lifted the trophy at the stadium",
        "The referee showed a red card to the defender in the second half",
        "The runner broke the record and won the gold medal at the olympics",
        "The coach picked a new striker for the cup match on saturday",
        "The players trained hard at the stadium before the final game",
        "The team scored three goals, and the fans celebrated the win",
    ];
    const FINANCE: [&str; 12] = [
        "The central bank raised interest rates to fight inflation",
        "Shares fell sharply as investors sold stocks on the exchange",
        "The company reported higher quarterly profits and revenue",
        "Bond yields rose after the bank announced the rate decision",
        "Investors bought shares after the earnings beat expectations",
        "The stock market closed higher as bank shares rallied",
        "Inflation data pushed the dollar higher against the euro",
        "The firm raised capital by issuing new shares to investors",
        "Mortgage rates climbed as the bank tightened lending",
        "Quarterly revenue growth lifted the company stock price",
        "The fund manager moved money from stocks into bonds",
        "Analysts expect profits to fall, as interest costs rise",
    ];
    const WEATHER: [&str; 12] = [
        "Heavy rain and strong winds are expected tomorrow morning",
        "The forecast says sunny skies with a high temperature of thirty degrees",
        "Snow will fall in the mountains as temperatures drop below freezing",
        "A thunderstorm warning was issued for the coast tonight",
        "Expect cloudy skies and light showers in the afternoon",
        "The heatwave will continue with temperatures above normal",
        "Fog will clear by noon giving way to a sunny afternoon",
        "Strong winds and heavy rain will batter the coast overnight",
        "Frost and icy roads are likely after a cold clear night",
        "The forecast calls for scattered showers and mild temperatures",
        "A storm will bring heavy snow and freezing winds to the north",
        "Humid weather with thunderstorms is forecast for the weekend",
    ];

    /// A CSV line, quoting the text as a CSV writer would.
    fn row(label: &str, text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) {
            format!("{label},\"{}\"\n", text.replace('"', "\"\""))
        } else {
            format!("{label},{text}\n")
        }
    }

    /// 36 documents, 12 of each label, grouped by label.
    fn three_topics() -> String {
        let mut csv = String::new();
        for (label, texts) in [
            ("sports", SPORTS),
            ("finance", FINANCE),
            ("weather", WEATHER),
        ] {
            for text in texts {
                csv.push_str(&row(label, text));
            }
        }
        csv
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn assert_metrics(actual: &EvaluationMetrics, expected: &EvaluationMetrics) {
        let pairs = [
            ("accuracy", actual.accuracy, expected.accuracy),
            ("precision", actual.precision, expected.precision),
            ("recall", actual.recall, expected.recall),
            ("f1_score", actual.f1_score, expected.f1_score),
            (
                "micro_precision",
                actual.micro_precision,
                expected.micro_precision,
            ),
            ("micro_recall", actual.micro_recall, expected.micro_recall),
            (
                "micro_f1_score",
                actual.micro_f1_score,
                expected.micro_f1_score,
            ),
            ("hamming_loss", actual.hamming_loss, expected.hamming_loss),
        ];
        for (name, a, e) in pairs {
            assert!(close(a, e), "{name}: {a} != {e}\n{actual:?}");
        }
    }

    fn err(training: &str, mode: Mode) -> String {
        train(training, None, mode, "|").unwrap_err()
    }

    fn fields(records: &[Record]) -> Vec<Vec<&str>> {
        records
            .iter()
            .map(|r| r.fields.iter().map(String::as_str).collect())
            .collect()
    }

    // ---- CSV ----

    #[test]
    fn csv_plain_and_trailing_newline() {
        let a = parse_csv("a,b\nc,d").unwrap();
        let b = parse_csv("a,b\nc,d\n").unwrap();
        assert_eq!(a, b);
        assert_eq!(fields(&a), vec![vec!["a", "b"], vec!["c", "d"]]);
        assert_eq!(a[1].line, 2);
    }

    #[test]
    fn csv_quotes_commas_and_newlines() {
        let records =
            parse_csv("x,\"hello, world\"\ny,\"she said \"\"hi\"\"\"\nz,\"two\nlines\"\nw,end\n")
                .unwrap();
        assert_eq!(
            fields(&records),
            vec![
                vec!["x", "hello, world"],
                vec!["y", "she said \"hi\""],
                vec!["z", "two\nlines"],
                vec!["w", "end"],
            ]
        );
        assert_eq!(
            records.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 2, 3, 5]
        );
    }

    #[test]
    fn csv_crlf_cr_bom_and_blank_lines() {
        let records = parse_csv("\u{feff}a,b\r\n\r\nc,\"d\r\ne\"\r\n  \r\nf,g\rh,i\r\n").unwrap();
        assert_eq!(
            fields(&records),
            vec![
                vec!["a", "b"],
                vec!["c", "d\r\ne"],
                vec!["f", "g"],
                vec!["h", "i"]
            ]
        );
        assert_eq!(
            records.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 3, 6, 7]
        );
    }

    #[test]
    fn csv_empty_fields_and_lenient_quotes() {
        let records = parse_csv("a,\nb,\"\"\n,c\nd,say \"x\"\ne,\"q\"r\n").unwrap();
        assert_eq!(
            fields(&records),
            vec![
                vec!["a", ""],
                vec!["b", ""],
                vec!["", "c"],
                vec!["d", "say \"x\""],
                vec!["e", "qr"],
            ]
        );
        assert!(parse_csv("").unwrap().is_empty());
        assert!(parse_csv("\n\r\n  \n").unwrap().is_empty());
    }

    #[test]
    fn csv_unterminated_quote_names_its_line() {
        let e = parse_csv("a,b\nc,\"never\nclosed\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = err("a,b\nc,d\ne,\"oops\nmore text\n", Mode::MultiClass);
        assert!(e.starts_with("Line 3: "), "{e}");
        assert!(e.contains("unterminated"), "{e}");
    }

    #[test]
    fn extra_columns_are_part_of_the_text() {
        let docs = parse_documents(
            "a,one,two\nb,three\n",
            Mode::MultiClass,
            "|",
            Source::Training,
        )
        .unwrap();
        assert_eq!(docs[0].text, "one,two");
        assert_eq!(docs[1].text, "three");
    }

    // ---- errors ----

    #[test]
    fn error_empty_file() {
        for csv in ["", "\n\n", "   \r\n"] {
            let e = err(csv, Mode::MultiClass);
            assert!(e.starts_with("The training data is empty"), "{e}");
        }
        let e = train("a,x\nb,y\n", Some(""), Mode::MultiClass, "|").unwrap_err();
        assert!(e.starts_with("The test data is empty"), "{e}");
    }

    #[test]
    fn error_too_few_columns() {
        let e = err("a,x\nb,y\nlonely\n", Mode::MultiClass);
        assert_eq!(e, "Line 3: expected 2 columns (label,text), found 1");
        let e = train(
            "a,x\nb,y\n",
            Some("a,x\n\nno comma\n"),
            Mode::MultiClass,
            "|",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "Test data, line 3: expected 2 columns (label,text), found 1"
        );
    }

    #[test]
    fn error_empty_label_or_text() {
        let e = err("a,x\n ,y\n", Mode::MultiClass);
        assert_eq!(
            e,
            "Line 2: the label is empty. Each document needs a label."
        );
        let e = err("a,x\n | ,y\n", Mode::MultiLabel);
        assert_eq!(
            e,
            "Line 2: the label is empty. Each document needs a label."
        );
        let e = err("a,x\nb,\"  \"\n", Mode::MultiClass);
        assert_eq!(e, "Line 2: the document text is empty.");
        let e = err("a,x\nb,\n", Mode::MultiClass);
        assert_eq!(e, "Line 2: the document text is empty.");
    }

    #[test]
    fn error_too_few_labels_or_documents() {
        let e = err("sports,one\nsports,two\n", Mode::MultiClass);
        assert!(
            e.starts_with("Amazon Comprehend requires at least 2 labels"),
            "{e}"
        );
        assert!(e.contains("found 1 (\"sports\")"), "{e}");
        let e = err("a,one\n", Mode::MultiClass);
        assert!(
            e.starts_with("Amazon Comprehend requires at least 2 documents"),
            "{e}"
        );
        let e = err("a|b,one\n", Mode::MultiLabel);
        assert!(
            e.starts_with("Amazon Comprehend requires at least 2 documents"),
            "{e}"
        );
        // "a|b" is one label in multi-class mode.
        let e = err("a|b,one\na|b,two\n", Mode::MultiClass);
        assert!(
            e.starts_with("Amazon Comprehend requires at least 2 labels"),
            "{e}"
        );
    }

    #[test]
    fn error_bad_labels() {
        let long = "x".repeat(MAX_LABEL_CHARS + 1);
        let e = err(&format!("a,x\n{long},y\n"), Mode::MultiClass);
        assert_eq!(
            e,
            "Line 2: the label is 5001 characters long; a label can have at most 5000 characters."
        );
        let ok = "é".repeat(MAX_LABEL_CHARS);
        assert!(train(&format!("a,x\n{ok},y\n"), None, Mode::MultiClass, "|").is_ok());
        let e = err("a,x\n\"b\nc\",y\n", Mode::MultiClass);
        assert!(
            e.starts_with("Line 2: the label \"b\\nc\" contains a line break"),
            "{e}"
        );
        let e = err("a,x\n\"b|c\rd\",y\n", Mode::MultiLabel);
        assert!(
            e.starts_with("Line 2: the label \"c\\rd\" contains a line break"),
            "{e}"
        );
    }

    #[test]
    fn error_test_label_not_in_training() {
        let e = train("a,x\nb,y\n", Some("a,x\nc,z\n"), Mode::MultiClass, "|").unwrap_err();
        assert!(
            e.starts_with("Test data, line 2: the label \"c\" is not in the training data"),
            "{e}"
        );
    }

    // ---- multi-class ----

    #[test]
    fn multi_class_learns_three_topics() {
        let report = train(&three_topics(), None, Mode::MultiClass, "|").unwrap();
        assert_eq!(report.number_of_labels, 3);
        assert_eq!(report.number_of_trained_documents, 32);
        assert_eq!(report.number_of_test_documents, 4);
        assert!(
            report.metrics.accuracy >= 0.8,
            "accuracy {}",
            report.metrics.accuracy
        );
        // Single-label: micro precision, recall and F1 equal accuracy.
        let m = &report.metrics;
        assert!(close(m.micro_precision, m.accuracy));
        assert!(close(m.micro_recall, m.accuracy));
        assert!(close(m.micro_f1_score, m.accuracy));
        assert!(close(m.hamming_loss, 2.0 * (1.0 - m.accuracy) / 3.0));

        let model = &report.model;
        assert_eq!(model.mode(), Mode::MultiClass);
        assert_eq!(model.labels(), ["finance", "sports", "weather"]);
        for (text, expected) in [
            (
                "The goalkeeper and the striker won the football match",
                "sports",
            ),
            (
                "Bank shares and stocks rallied as investors cheered profits",
                "finance",
            ),
            (
                "Heavy snow and freezing winds are in the forecast",
                "weather",
            ),
            ("RAIN, rain and more rain!", "weather"),
        ] {
            let scores = model.predict(text);
            assert_eq!(scores.len(), 3);
            assert_eq!(scores[0].0, expected, "{text}: {scores:?}");
            assert!(scores[0].1 > 0.5, "{text}: {scores:?}");
            let sum: f64 = scores.iter().map(|(_, s)| s).sum();
            assert!((sum - 1.0).abs() < 1e-9, "{sum}");
            assert!(scores.windows(2).all(|w| w[0].1 >= w[1].1));
        }
    }

    #[test]
    fn multi_class_unknown_text_gets_priors() {
        let report = train(&three_topics(), None, Mode::MultiClass, "|").unwrap();
        for text in ["", "zzz qqq", "!!!"] {
            let scores = report.model.predict(text);
            let sum: f64 = scores.iter().map(|(_, s)| s).sum();
            assert!((sum - 1.0).abs() < 1e-9);
            assert!(scores.iter().all(|(_, s)| s.is_finite() && *s > 0.0));
        }
    }

    #[test]
    fn multi_class_metrics_with_test_file() {
        let test = "sports,The striker scored a goal in the match\n\
                    finance,Investors bought bank shares and stocks\n\
                    weather,Heavy rain and strong winds on the coast\n\
                    weather,The team won the football match at the stadium\n";
        let report = train(&three_topics(), Some(test), Mode::MultiClass, "|").unwrap();
        assert_eq!(report.number_of_trained_documents, 36);
        assert_eq!(report.number_of_test_documents, 4);
        // truth s f w w, predicted s f w s:
        // finance P1 R1 F1 1; sports P1/2 R1 F1 2/3; weather P1 R1/2 F1 2/3.
        assert_metrics(
            &report.metrics,
            &EvaluationMetrics {
                accuracy: 0.75,
                precision: (0.5 + 1.0 + 1.0) / 3.0,
                recall: (1.0 + 1.0 + 0.5) / 3.0,
                f1_score: (1.0 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0,
                micro_precision: 0.75,
                micro_recall: 0.75,
                micro_f1_score: 0.75,
                hamming_loss: 2.0 / 12.0,
            },
        );
    }

    #[test]
    fn multi_class_label_with_delimiter_is_one_label() {
        let csv = "a|b,apples apples\na|b,apples pears\nc,cars trucks\nc,cars bikes\n";
        let report = train(csv, None, Mode::MultiClass, "|").unwrap();
        assert_eq!(report.model.labels(), ["a|b", "c"]);
        assert_eq!(report.model.predict("apples")[0].0, "a|b");
        // Fewer than 10 documents: nothing held out, metrics on training.
        assert_eq!(report.number_of_test_documents, 0);
        assert_eq!(report.number_of_trained_documents, 4);
        assert!(close(report.metrics.accuracy, 1.0));
    }

    #[test]
    fn metrics_multi_class_by_hand() {
        // k = 3; truth 0 0 1 2, predicted 0 1 1 1.
        // label 0: TP1 FP0 FN1 -> P1 R1/2 F1 2/3
        // label 1: TP1 FP2 FN0 -> P1/3 R1 F1 1/2
        // label 2: TP0 FP0 FN1 -> never predicted: P0 R0 F1 0
        let m = metrics(
            3,
            &[vec![0], vec![0], vec![1], vec![2]],
            &[vec![0], vec![1], vec![1], vec![1]],
        );
        assert_metrics(
            &m,
            &EvaluationMetrics {
                accuracy: 0.5,
                precision: (1.0 + 1.0 / 3.0 + 0.0) / 3.0,
                recall: (0.5 + 1.0 + 0.0) / 3.0,
                f1_score: (2.0 / 3.0 + 0.5 + 0.0) / 3.0,
                micro_precision: 0.5,
                micro_recall: 0.5,
                micro_f1_score: 0.5,
                hamming_loss: 4.0 / 12.0,
            },
        );
        // A label predicted but absent from the test set is left out of the
        // macro averages: truth 0 0 1, predicted 0 2 1.
        let m = metrics(
            3,
            &[vec![0], vec![0], vec![1]],
            &[vec![0], vec![2], vec![1]],
        );
        assert_metrics(
            &m,
            &EvaluationMetrics {
                accuracy: 2.0 / 3.0,
                precision: 1.0,
                recall: 0.75,
                f1_score: (2.0 / 3.0 + 1.0) / 2.0,
                micro_precision: 2.0 / 3.0,
                micro_recall: 2.0 / 3.0,
                micro_f1_score: 2.0 / 3.0,
                hamming_loss: 2.0 / 9.0,
            },
        );
        assert_eq!(metrics(3, &[], &[]), EvaluationMetrics::default());
    }

    // ---- multi-label ----

    /// 48 documents: the 36 single-topic ones, 6 about sports and finance,
    /// 6 about sports and weather.
    fn multi_label_set() -> String {
        let mut csv = String::new();
        for (label, texts) in [
            ("sports", SPORTS),
            ("finance", FINANCE),
            ("weather", WEATHER),
        ] {
            for text in texts {
                csv.push_str(&row(label, text));
            }
        }
        for text in [
            "The club sold shares to investors to pay the striker transfer fee",
            "The football club reported record quarterly revenue and profits",
            "Investors bought shares in the stadium company after the team won",
            "The basketball team signed the player for a salary paid in company stock",
            "The bank sponsored the league and its shares rose after the final game",
            "Club profits fell as the coach spent capital on new players",
        ] {
            csv.push_str(&row("sports | finance", text));
        }
        for text in [
            "Heavy rain forced the referee to stop the football match",
            "The final game was postponed as heavy snow covered the stadium",
            "Strong winds made the tennis match hard for the players",
            "Fog and freezing temperatures delayed the game and fans waited in the cold",
            "The team trained in the rain as a storm hit the stadium",
            "Sunny skies and warm temperatures greeted the runners at the marathon",
        ] {
            csv.push_str(&row("weather|sports|", text));
        }
        csv
    }

    #[test]
    fn multi_label_learns_label_sets() {
        let report = train(&multi_label_set(), None, Mode::MultiLabel, "|").unwrap();
        assert_eq!(report.number_of_labels, 3);
        assert_eq!(
            report.number_of_trained_documents + report.number_of_test_documents,
            48
        );
        assert_eq!(report.number_of_test_documents, 5);
        let model = &report.model;
        assert_eq!(model.mode(), Mode::MultiLabel);
        assert_eq!(model.labels(), ["finance", "sports", "weather"]);

        let above = |text: &str| -> Vec<String> {
            let scores = model.predict(text);
            assert!(scores.windows(2).all(|w| w[0].1 >= w[1].1));
            assert!(scores.iter().all(|(_, s)| (0.0..=1.0).contains(s)));
            let mut labels: Vec<String> = scores
                .into_iter()
                .filter(|(_, s)| *s >= 0.5)
                .map(|(l, _)| l)
                .collect();
            labels.sort();
            labels
        };
        assert_eq!(
            above("The goalkeeper saved a penalty in the match"),
            ["sports"]
        );
        assert_eq!(above("The bank raised interest rates"), ["finance"]);
        assert_eq!(above("Snow and freezing fog tonight"), ["weather"]);
        assert_eq!(
            above("The club sold shares to investors after the team won the league"),
            ["finance", "sports"]
        );
        assert_eq!(
            above("Heavy rain and snow stopped the match at the stadium"),
            ["sports", "weather"]
        );
        let m = &report.metrics;
        assert!(m.accuracy >= 0.6, "{m:?}");
        assert!(m.micro_f1_score >= 0.8, "{m:?}");
    }

    #[test]
    fn multi_label_delimiter_and_duplicates() {
        let docs = parse_documents(
            "a ; b ;; a,x\nb,y\n",
            Mode::MultiLabel,
            ";",
            Source::Training,
        )
        .unwrap();
        assert_eq!(docs[0].labels, ["a", "b"]);
        let docs = parse_documents("a|b,x\n", Mode::MultiLabel, "", Source::Training).unwrap();
        assert_eq!(docs[0].labels, ["a", "b"]);
    }

    #[test]
    fn metrics_multi_label_by_hand() {
        // k = 3; truth {0,1} {1} {2}; predicted {0} {1,2} {2}.
        // label 0: TP1 -> P1 R1 F1 1
        // label 1: TP1 FN1 -> P1 R1/2 F1 2/3
        // label 2: TP1 FP1 -> P1/2 R1 F1 2/3
        // micro: TP3 FP1 FN1; hamming 2/9; exact matches 1/3.
        let m = metrics(
            3,
            &[vec![0, 1], vec![1], vec![2]],
            &[vec![0], vec![1, 2], vec![2]],
        );
        assert_metrics(
            &m,
            &EvaluationMetrics {
                accuracy: 1.0 / 3.0,
                precision: (1.0 + 1.0 + 0.5) / 3.0,
                recall: (1.0 + 0.5 + 1.0) / 3.0,
                f1_score: (1.0 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0,
                micro_precision: 0.75,
                micro_recall: 0.75,
                micro_f1_score: 0.75,
                hamming_loss: 2.0 / 9.0,
            },
        );
        // Nothing predicted at all.
        let m = metrics(2, &[vec![0], vec![1]], &[vec![], vec![]]);
        assert_metrics(
            &m,
            &EvaluationMetrics {
                accuracy: 0.0,
                precision: 0.0,
                recall: 0.0,
                f1_score: 0.0,
                micro_precision: 0.0,
                micro_recall: 0.0,
                micro_f1_score: 0.0,
                hamming_loss: 0.5,
            },
        );
    }

    // ---- hold-out and determinism ----

    #[test]
    fn hold_out_is_about_a_tenth_and_keeps_every_label() {
        let docs = |labels: &[&str]| -> Vec<Document> {
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| Document {
                    line: i + 1,
                    labels: vec![l.to_string()],
                    text: "t".to_string(),
                })
                .collect()
        };
        assert!(hold_out(&docs(&["a"; 9])).is_empty());
        assert_eq!(hold_out(&docs(&["a"; 10])), BTreeSet::from([9]));
        assert_eq!(hold_out(&docs(&["a"; 25])), BTreeSet::from([9, 19, 24]));
        // The 10th document is the only "b": the last "a" goes instead.
        let mut labels = vec!["a"; 11];
        labels[9] = "b";
        assert_eq!(hold_out(&docs(&labels)), BTreeSet::from([10]));
        // Every document its own label: nothing can be held out.
        let unique: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let unique: Vec<&str> = unique.iter().map(String::as_str).collect();
        assert!(hold_out(&docs(&unique)).is_empty());
    }

    #[test]
    fn deterministic_and_serializable() {
        for (csv, mode) in [
            (three_topics(), Mode::MultiClass),
            (multi_label_set(), Mode::MultiLabel),
        ] {
            let a = train(&csv, None, mode, "|").unwrap();
            let b = train(&csv, None, mode, "|").unwrap();
            assert_eq!(a, b);
            let json = serde_json::to_string(&a.model).unwrap();
            assert_eq!(json, serde_json::to_string(&b.model).unwrap());
            let back: TrainedModel = serde_json::from_str(&json).unwrap();
            assert_eq!(back, a.model);
            let text = "The striker scored while heavy rain fell and shares rose";
            assert_eq!(back.predict(text), a.model.predict(text));
            let metrics: EvaluationMetrics =
                serde_json::from_str(&serde_json::to_string(&a.metrics).unwrap()).unwrap();
            assert_eq!(metrics, a.metrics);
        }
    }

    #[test]
    fn tokens_are_lowercase_alphanumeric_runs() {
        let counts = token_counts("Héllo, HÉLLO world-42 ÜBER_straße 東京");
        let expected: BTreeMap<String, u64> = [
            ("héllo", 2),
            ("world", 1),
            ("42", 1),
            ("über", 1),
            ("straße", 1),
            ("東京", 1),
        ]
        .into_iter()
        .map(|(t, c)| (t.to_string(), c))
        .collect();
        assert_eq!(counts, expected);
    }
}
