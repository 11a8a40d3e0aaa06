//! SageMaker Ground Truth augmented manifests, the `AUGMENTED_MANIFEST`
//! training data format: JSON lines, each with the document text in
//! `"source"` and, under each label attribute name, its annotation:
//!
//! - multi-class: a class index, with the class name in
//!   `"<attr>-metadata": {"class-name": "..."}`:
//!   `{"source": "text", "topic": 1, "topic-metadata": {"class-name": "SPORTS"}}`
//! - multi-label: a list of class indexes, named by
//!   `"<attr>-metadata": {"class-map": {"0": "a", "1": "b"}}`:
//!   `{"source": "text", "topics": [0, 1], "topics-metadata": {"class-map": {"0": "a", "1": "b"}}}`
//!
//! With several attribute names (a chained labeling job), a line's labels
//! are those of every attribute it has.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::model::{Document, Mode};

/// Parses the documents of one manifest file; `uri` names it in messages.
/// Blank lines are skipped; any other line that is not a labelled document
/// is an error naming the file and line.
pub fn parse(
    text: &str,
    uri: &str,
    attributes: &[String],
    mode: Mode,
) -> Result<Vec<Document>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut documents = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{uri}, line {}", index + 1);
        let object: Map<String, Value> = match serde_json::from_str(line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(format!("{at}: a manifest line must be a JSON object.")),
            Err(e) => return Err(format!("{at}: the line is not JSON: {e}.")),
        };
        let text = match object.get("source") {
            Some(Value::String(text)) => text.clone(),
            Some(_) => return Err(format!("{at}: \"source\" must be the document text.")),
            None if object.contains_key("source-ref") => {
                return Err(format!(
                    "{at}: the line has \"source-ref\" but no \"source\"; a plain-text \
                     classifier needs the document text in \"source\"."
                ))
            }
            None => return Err(format!("{at}: the line has no \"source\" attribute.")),
        };
        if text.trim().is_empty() {
            return Err(format!("{at}: the document text in \"source\" is empty."));
        }
        let mut labels = BTreeSet::new();
        let mut found = false;
        for attribute in attributes {
            let Some(annotation) = object.get(attribute) else {
                continue;
            };
            found = true;
            let metadata = object.get(&format!("{attribute}-metadata"));
            for label in labels_of(annotation, metadata, attribute, mode)
                .map_err(|e| format!("{at}: {e}"))?
            {
                labels.insert(label);
            }
        }
        if !found {
            return Err(format!(
                "{at}: the line has none of the label attributes {}.",
                attributes.join(", ")
            ));
        }
        if labels.is_empty() {
            return Err(format!("{at}: the document has no label."));
        }
        if mode == Mode::MultiClass && labels.len() > 1 {
            return Err(format!(
                "{at}: a MULTI_CLASS document has exactly one class; this one has {}.",
                labels.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        documents.push(Document {
            at,
            labels: labels.into_iter().collect(),
            text,
        });
    }
    Ok(documents)
}

/// The class names of one attribute's annotation.
fn labels_of(
    annotation: &Value,
    metadata: Option<&Value>,
    attribute: &str,
    mode: Mode,
) -> Result<Vec<String>, String> {
    let Some(metadata) = metadata.and_then(Value::as_object) else {
        return Err(format!("the line has no \"{attribute}-metadata\" object."));
    };
    let class_map = metadata.get("class-map").and_then(Value::as_object);
    let name_of = |index: u64| -> Result<String, String> {
        class_map
            .and_then(|map| map.get(&index.to_string()))
            .and_then(Value::as_str)
            .map(|name| name.trim().to_string())
            .ok_or_else(|| {
                format!(
                    "class index {index} of \"{attribute}\" is not in \
                     \"{attribute}-metadata\".\"class-map\"."
                )
            })
    };
    let check = |name: String| -> Result<String, String> {
        if name.is_empty() {
            Err(format!("\"{attribute}\" has an empty class name."))
        } else {
            Ok(name)
        }
    };
    match mode {
        Mode::MultiClass => {
            let Some(index) = annotation.as_u64() else {
                return Err(format!(
                    "\"{attribute}\" must be a class index (a MULTI_CLASS classifier), not \
                     {annotation}."
                ));
            };
            let name = match metadata.get("class-name") {
                Some(Value::String(name)) => name.trim().to_string(),
                Some(_) => {
                    return Err(format!(
                        "\"{attribute}-metadata\".\"class-name\" must be a string."
                    ))
                }
                None => name_of(index)
                    .map_err(|_| format!("\"{attribute}-metadata\" has no \"class-name\"."))?,
            };
            Ok(vec![check(name)?])
        }
        Mode::MultiLabel => {
            let Some(indexes) = annotation.as_array() else {
                return Err(format!(
                    "\"{attribute}\" must be a list of class indexes (a MULTI_LABEL \
                     classifier), not {annotation}."
                ));
            };
            if class_map.is_none() {
                return Err(format!("\"{attribute}-metadata\" has no \"class-map\"."));
            }
            indexes
                .iter()
                .map(|index| {
                    let index = index.as_u64().ok_or_else(|| {
                        format!("\"{attribute}\" holds {index}, which is not a class index.")
                    })?;
                    check(name_of(index)?)
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn multi_class_lines() {
        let text = concat!(
            r#"{"source": "the team won", "topic": 1, "topic-metadata": {"class-name": "SPORTS", "confidence": 0.9, "human-annotated": "yes", "type": "groundtruth/text-classification"}}"#,
            "\n\n",
            r#"{"source": "bake the bread", "topic": 0, "topic-metadata": {"class-name": "COOKING"}}"#,
            "\n",
        );
        let docs = parse(text, "s3://b/m.jsonl", &attrs(&["topic"]), Mode::MultiClass).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].labels, ["SPORTS"]);
        assert_eq!(docs[0].text, "the team won");
        assert_eq!(docs[1].at, "s3://b/m.jsonl, line 3");
        assert_eq!(docs[1].labels, ["COOKING"]);
    }

    #[test]
    fn multi_label_lines_and_chained_attributes() {
        let text = concat!(
            r#"{"source": "minister at the match", "topics": [0, 2], "topics-metadata": {"class-map": {"0": "SPORTS", "2": "POLITICS"}}}"#,
            "\n",
            r#"{"source": "vote", "extra": [1], "extra-metadata": {"class-map": {"1": "POLITICS"}}}"#,
            "\n",
        );
        let docs = parse(
            text,
            "s3://b/m",
            &attrs(&["topics", "extra"]),
            Mode::MultiLabel,
        )
        .unwrap();
        assert_eq!(docs[0].labels, ["POLITICS", "SPORTS"]);
        assert_eq!(docs[1].labels, ["POLITICS"]);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let cases: &[(&str, Mode, &str)] = &[
            ("not json", Mode::MultiClass, "line 1: the line is not JSON"),
            ("[1]", Mode::MultiClass, "must be a JSON object"),
            (
                r#"{"topic": 0, "topic-metadata": {"class-name": "A"}}"#,
                Mode::MultiClass,
                "no \"source\"",
            ),
            (
                r#"{"source-ref": "s3://b/x.pdf", "topic": 0}"#,
                Mode::MultiClass,
                "source-ref",
            ),
            (
                r#"{"source": "x"}"#,
                Mode::MultiClass,
                "none of the label attributes topic",
            ),
            (
                r#"{"source": "x", "topic": 0}"#,
                Mode::MultiClass,
                "no \"topic-metadata\"",
            ),
            (
                r#"{"source": "x", "topic": "A", "topic-metadata": {"class-name": "A"}}"#,
                Mode::MultiClass,
                "must be a class index",
            ),
            (
                r#"{"source": "x", "topic": 0, "topic-metadata": {}}"#,
                Mode::MultiClass,
                "no \"class-name\"",
            ),
            (
                r#"{"source": "x", "topic": 0, "topic-metadata": {"class-map": {"0": "A"}}}"#,
                Mode::MultiLabel,
                "must be a list",
            ),
            (
                r#"{"source": "x", "topic": [3], "topic-metadata": {"class-map": {"0": "A"}}}"#,
                Mode::MultiLabel,
                "class index 3",
            ),
            (
                r#"{"source": "x", "topic": [], "topic-metadata": {"class-map": {}}}"#,
                Mode::MultiLabel,
                "no label",
            ),
            (
                r#"{"source": " ", "topic": 0, "topic-metadata": {"class-name": "A"}}"#,
                Mode::MultiClass,
                "empty",
            ),
        ];
        for (line, mode, expected) in cases {
            let err = parse(line, "s3://b/m.jsonl", &attrs(&["topic"]), *mode).unwrap_err();
            assert!(err.starts_with("s3://b/m.jsonl, line 1: "), "{err}");
            assert!(err.contains(expected), "{line}: {err}");
        }
    }
}
