//! A classification job's output as Comprehend writes it: `output.tar.gz`
//! holding one member, `predictions.jsonl`, with one JSON object a document
//! (`{"File": "f.txt", "Line": "0", "Classes": [{"Name": "A", "Score": 0.93}]}`).
//!
//! Also the spoiled outputs of the `outputFaults` (lines that are not JSON,
//! documents with `Errors`) and the generated large outputs of
//! `largeOutputs`, streamed through gzip and tar without being held in
//! memory.

use std::io::{self, Read, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;

/// The archive member holding the predictions.
pub const PREDICTIONS_MEMBER: &str = "predictions.jsonl";

/// One class or label with its score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// The class or label name.
    #[serde(rename = "Name")]
    pub name: String,
    /// The confidence, 0 to 1.
    #[serde(rename = "Score")]
    pub score: f64,
}

/// One line of `predictions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The input file's name.
    #[serde(rename = "File")]
    pub file: String,
    /// Zero-based line number, for ONE_DOC_PER_LINE input only.
    #[serde(rename = "Line", skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Multi-class results: the top classes.
    #[serde(rename = "Classes", skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<Score>>,
    /// Multi-label results: the labels that apply.
    #[serde(rename = "Labels", skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Score>>,
    /// Why the document could not be classified (then there are no
    /// `Classes` or `Labels`).
    #[serde(rename = "Errors", skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<DocumentError>>,
}

/// One error of a document that could not be classified.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentError {
    /// The error code.
    #[serde(rename = "ErrorCode")]
    pub error_code: String,
    /// What went wrong.
    #[serde(rename = "ErrorMessage")]
    pub error_message: String,
}

/// `ErrorCode` of the documents the `errors` output fault spoils.
pub const DOCUMENT_ERROR_CODE: &str = "INTERNAL_SERVER_ERROR";

/// `ErrorMessage` of the documents the `errors` output fault spoils.
pub const DOCUMENT_ERROR_MESSAGE: &str =
    "An internal error occurred while classifying the document.";

/// What is wrong with some lines of `predictions.jsonl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFault {
    /// The lines of zero-based index `i % 3 == 1` are not JSON: each is the
    /// start of its prediction up to and including the file name, without
    /// the closing quote (`{"File": "a.txt`).
    Malformed,
    /// The documents of the lines of zero-based index `i % 2 == 1` carry
    /// `Errors` (one, [`DOCUMENT_ERROR_CODE`]) and no `Classes` or `Labels`.
    Errors,
}

impl LineFault {
    /// Whether the line of zero-based index `index` is spoiled.
    pub fn spoils(self, index: u64) -> bool {
        match self {
            LineFault::Malformed => index % 3 == 1,
            LineFault::Errors => index % 2 == 1,
        }
    }

    /// How many of `lines` lines are spoiled.
    pub fn spoiled_count(self, lines: u64) -> u64 {
        match self {
            LineFault::Malformed => (lines + 1) / 3,
            LineFault::Errors => lines / 2,
        }
    }
}

/// The line of index `index` of `predictions.jsonl` (without the newline),
/// spoiled if `fault` spoils it.
pub fn render_line(prediction: &Prediction, index: u64, fault: Option<LineFault>) -> String {
    match fault {
        Some(fault) if fault.spoils(index) => match fault {
            LineFault::Malformed => {
                let mut file = serde_json::to_string(&prediction.file).expect("strings serialize");
                file.pop();
                format!("{{\"File\": {file}")
            }
            LineFault::Errors => to_json_line(&Prediction {
                classes: None,
                labels: None,
                errors: Some(vec![DocumentError {
                    error_code: DOCUMENT_ERROR_CODE.to_string(),
                    error_message: DOCUMENT_ERROR_MESSAGE.to_string(),
                }]),
                ..prediction.clone()
            }),
        },
        _ => to_json_line(prediction),
    }
}

/// Writes JSON with `", "` and `": "` separators, as the service's output
/// files have them.
struct SpacedFormatter;

impl serde_json::ser::Formatter for SpacedFormatter {
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

/// One prediction as a JSON line (without the newline).
pub fn to_json_line(prediction: &Prediction) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, SpacedFormatter);
    prediction
        .serialize(&mut serializer)
        .expect("predictions always serialize");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Rounds a score to four decimals, as the service reports them.
pub fn round_score(score: f64) -> f64 {
    (score * 10_000.0).round() / 10_000.0
}

/// `output.tar.gz` with `predictions.jsonl` holding these predictions.
pub fn predictions_archive(predictions: &[Prediction], mtime: u64) -> io::Result<Vec<u8>> {
    spoiled_predictions_archive(predictions, None, mtime)
}

/// `output.tar.gz` with `predictions.jsonl` holding these predictions, the
/// lines `fault` spoils spoiled.
pub fn spoiled_predictions_archive(
    predictions: &[Prediction],
    fault: Option<LineFault>,
    mtime: u64,
) -> io::Result<Vec<u8>> {
    let mut jsonl = String::new();
    for (index, prediction) in predictions.iter().enumerate() {
        jsonl.push_str(&render_line(prediction, index as u64, fault));
        jsonl.push('\n');
    }
    single_member_archive(PREDICTIONS_MEMBER, jsonl.as_bytes(), mtime)
}

/// Makes the predictions of a large output: realistic lines of one input
/// file, `"Line"` counting from 0, the classes or labels and their scores
/// varying from line to line but the same for the same line number.
#[derive(Debug, Clone)]
pub struct LargePredictions {
    /// `"File"` of every line.
    pub file: String,
    /// The classifier's labels (at least one).
    pub labels: Vec<String>,
    /// Whether lines have `Labels` (multi-label) or `Classes`.
    pub multi_label: bool,
    /// What is wrong with some lines, if anything.
    pub fault: Option<LineFault>,
}

/// A fixed pseudo-random draw for a line number (splitmix64).
fn draw(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl LargePredictions {
    /// The prediction of line `index`.
    pub fn prediction(&self, index: u64) -> Prediction {
        let k = self.labels.len().max(1) as u64;
        let mut random = draw(index);
        let mut next = |bound: u64| {
            let value = random % bound;
            random = draw(random);
            value
        };
        let name = |i: u64| self.labels.get(i as usize).cloned().unwrap_or_default();
        let (classes, labels) = if self.multi_label {
            // Each label applies to about two documents in five, the first
            // drawn at least; scores 0.5 to 0.9999, highest first.
            let first = next(k);
            let mut labels = Vec::new();
            for i in 0..k {
                if i == first || next(5) < 2 {
                    labels.push(Score {
                        name: name(i),
                        score: round_score(0.5 + next(5000) as f64 / 10_000.0),
                    });
                }
            }
            labels.sort_by(|a, b| b.score.total_cmp(&a.score));
            (None, Some(labels))
        } else {
            // The top class drawn with a score of 0.34 to 0.9999, the others
            // sharing the rest in decreasing order.
            let top = next(k);
            let top_score = 0.34 + next(6600) as f64 / 10_000.0;
            let mut classes = vec![Score {
                name: name(top),
                score: round_score(top_score),
            }];
            let mut rest = 1.0 - top_score;
            for offset in 1..k.min(3) {
                let share = rest * (0.5 + next(500) as f64 / 1000.0);
                rest -= share;
                classes.push(Score {
                    name: name((top + offset) % k),
                    score: round_score(share.min(top_score)),
                });
            }
            classes.sort_by(|a, b| b.score.total_cmp(&a.score));
            (Some(classes), None)
        };
        Prediction {
            file: self.file.clone(),
            line: Some(index.to_string()),
            classes,
            labels,
            errors: None,
        }
    }

    /// Line `index` with its newline.
    fn line(&self, index: u64) -> String {
        let mut line = render_line(&self.prediction(index), index, self.fault);
        line.push('\n');
        line
    }

    /// How many lines make at least `bytes` bytes, and their size: the
    /// lines of a `predictions.jsonl` of about `bytes` bytes (at most one
    /// line more).
    pub fn measure(&self, bytes: u64) -> (u64, u64) {
        let (mut lines, mut size) = (0u64, 0u64);
        while size < bytes {
            size += self.line(lines).len() as u64;
            lines += 1;
        }
        (lines, size)
    }

    /// Writes `output.tar.gz` with a `predictions.jsonl` of the first
    /// `lines` lines (`size` bytes, as [`LargePredictions::measure`] gives
    /// them) to `sink`, a line at a time.
    pub fn write_archive<W: Write>(
        &self,
        sink: W,
        lines: u64,
        size: u64,
        mtime: u64,
    ) -> io::Result<W> {
        let encoder = GzEncoder::new(sink, Compression::default());
        let mut builder = tar::Builder::new(encoder);
        let mut header = member_header(size, mtime);
        let reader = LineReader {
            predictions: self,
            next: 0,
            lines,
            pending: Vec::new(),
            offset: 0,
        };
        builder.append_data(&mut header, PREDICTIONS_MEMBER, reader)?;
        builder.into_inner()?.finish()
    }
}

/// Reads the lines of a large output one at a time.
struct LineReader<'a> {
    predictions: &'a LargePredictions,
    next: u64,
    lines: u64,
    pending: Vec<u8>,
    offset: usize,
}

impl Read for LineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offset == self.pending.len() {
            if self.next == self.lines {
                return Ok(0);
            }
            self.pending = self.predictions.line(self.next).into_bytes();
            self.offset = 0;
            self.next += 1;
        }
        let n = buf.len().min(self.pending.len() - self.offset);
        buf[..n].copy_from_slice(&self.pending[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

fn member_header(size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

/// A `.tar.gz` holding one file.
pub fn single_member_archive(name: &str, content: &[u8], mtime: u64) -> io::Result<Vec<u8>> {
    let encoder = GzEncoder::new(Vec::new(), Compression::default());
    let mut builder = tar::Builder::new(encoder);
    let mut header = member_header(content.len() as u64, mtime);
    builder.append_data(&mut header, name, content)?;
    let encoder = builder.into_inner()?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn one_doc_per_line() -> Prediction {
        Prediction {
            file: "f.txt".into(),
            line: Some("0".into()),
            classes: Some(vec![
                Score {
                    name: "A".into(),
                    score: 0.93,
                },
                Score {
                    name: "B".into(),
                    score: 0.07,
                },
            ]),
            labels: None,
            errors: None,
        }
    }

    #[test]
    fn lines_look_like_the_service() {
        assert_eq!(
            to_json_line(&one_doc_per_line()),
            r#"{"File": "f.txt", "Line": "0", "Classes": [{"Name": "A", "Score": 0.93}, {"Name": "B", "Score": 0.07}]}"#
        );
    }

    #[test]
    fn archive_has_one_member() {
        let bytes = predictions_archive(&[one_doc_per_line()], 1_700_000_000).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            names.push(entry.path().unwrap().display().to_string());
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            assert_eq!(text.lines().count(), 1);
        }
        assert_eq!(names, vec![PREDICTIONS_MEMBER.to_string()]);
    }

    fn members(bytes: &[u8]) -> Vec<(String, String)> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let mut text = String::new();
                entry.read_to_string(&mut text).unwrap();
                (entry.path().unwrap().display().to_string(), text)
            })
            .collect()
    }

    #[test]
    fn malformed_lines_are_every_third_from_the_second() {
        let predictions: Vec<Prediction> = (0..7)
            .map(|i| Prediction {
                line: Some(i.to_string()),
                ..one_doc_per_line()
            })
            .collect();
        let bytes =
            spoiled_predictions_archive(&predictions, Some(LineFault::Malformed), 0).unwrap();
        let text = &members(&bytes)[0].1;
        let bad: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| serde_json::from_str::<serde_json::Value>(line).is_err())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(bad, vec![1, 4]);
        assert_eq!(LineFault::Malformed.spoiled_count(7), 2);
        assert_eq!(text.lines().nth(1), Some(r#"{"File": "f.txt"#));
        for (lines, spoiled) in [(0, 0), (1, 0), (2, 1), (3, 1), (4, 1), (5, 2)] {
            assert_eq!(LineFault::Malformed.spoiled_count(lines), spoiled);
            assert_eq!(
                (0..lines)
                    .filter(|&i| LineFault::Malformed.spoils(i))
                    .count() as u64,
                spoiled
            );
        }
    }

    #[test]
    fn error_documents_are_every_second() {
        let predictions: Vec<Prediction> = (0..5).map(|_| one_doc_per_line()).collect();
        let bytes = spoiled_predictions_archive(&predictions, Some(LineFault::Errors), 0).unwrap();
        let text = &members(&bytes)[0].1;
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for (i, line) in lines.iter().enumerate() {
            if i % 2 == 1 {
                assert!(line.get("Classes").is_none());
                assert_eq!(line["Errors"][0]["ErrorCode"], DOCUMENT_ERROR_CODE);
                assert_eq!(line["Errors"][0]["ErrorMessage"], DOCUMENT_ERROR_MESSAGE);
            } else {
                assert!(line.get("Errors").is_none());
                assert_eq!(line["Classes"][0]["Name"], "A");
            }
        }
        assert_eq!(LineFault::Errors.spoiled_count(5), 2);
    }

    #[test]
    fn large_predictions_are_realistic_and_sized() {
        for multi_label in [false, true] {
            let large = LargePredictions {
                file: "big.txt".into(),
                labels: vec!["A".into(), "B".into(), "C".into(), "D".into()],
                multi_label,
                fault: None,
            };
            assert_eq!(large.prediction(17), large.prediction(17));
            let (lines, size) = large.measure(200_000);
            assert!((200_000..200_500).contains(&size), "{size}");
            let bytes = large.write_archive(Vec::new(), lines, size, 0).unwrap();
            assert!(bytes.len() < 100_000, "{}", bytes.len());
            let members = members(&bytes);
            assert_eq!(members.len(), 1);
            assert_eq!(members[0].0, PREDICTIONS_MEMBER);
            assert_eq!(members[0].1.len() as u64, size);
            let mut tops = std::collections::BTreeSet::new();
            for (i, line) in members[0].1.lines().enumerate() {
                let line: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(line["File"], "big.txt");
                assert_eq!(line["Line"], i.to_string());
                let key = if multi_label { "Labels" } else { "Classes" };
                let scores: Vec<f64> = line[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["Score"].as_f64().unwrap())
                    .collect();
                assert!(!scores.is_empty());
                assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{line}");
                assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
                if multi_label {
                    assert!(scores.iter().all(|s| *s >= 0.5));
                } else {
                    assert_eq!(scores.len(), 3);
                    assert!(scores.iter().sum::<f64>() <= 1.0001, "{line}");
                }
                tops.insert(line[key][0]["Name"].as_str().unwrap().to_string());
            }
            assert_eq!(tops.len(), 4);
        }
    }

    #[test]
    fn scores_round_to_four_places() {
        assert_eq!(round_score(0.123_456), 0.1235);
    }
}
