//! A classification job's output as Comprehend writes it: `output.tar.gz`
//! holding one member, `predictions.jsonl`, with one JSON object a document
//! (`{"File": "f.txt", "Line": "0", "Classes": [{"Name": "A", "Score": 0.93}]}`).

use std::io::{self, Write};

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
    let mut jsonl = String::new();
    for prediction in predictions {
        jsonl.push_str(&to_json_line(prediction));
        jsonl.push('\n');
    }
    single_member_archive(PREDICTIONS_MEMBER, jsonl.as_bytes(), mtime)
}

/// A `.tar.gz` holding one file.
pub fn single_member_archive(name: &str, content: &[u8], mtime: u64) -> io::Result<Vec<u8>> {
    let encoder = GzEncoder::new(Vec::new(), Compression::default());
    let mut builder = tar::Builder::new(encoder);
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
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

    #[test]
    fn scores_round_to_four_places() {
        assert_eq!(round_score(0.123_456), 0.1235);
    }
}
