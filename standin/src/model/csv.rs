//! `COMPREHEND_CSV` training files: RFC 4180 CSV, no header, the label in
//! column 1 and the document text in column 2.

use std::collections::BTreeSet;

use super::{Document, Mode, DEFAULT_LABEL_DELIMITER, MAX_LABEL_CHARS};

/// Which file a document comes from, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    Training,
    Test,
}

impl Source {
    /// Where a line is, as error messages start.
    pub(super) fn at(self, line: usize) -> String {
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

/// Parses and checks the documents of a `COMPREHEND_CSV` file. Columns
/// after the second are taken as part of the text (joined with commas).
pub(super) fn parse_documents(
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
            at,
            labels: labels.into_iter().collect(),
            text,
        });
    }
    Ok(documents)
}

/// One CSV record.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Record {
    /// The line it starts on (1-based).
    pub(super) line: usize,
    pub(super) fields: Vec<String>,
}

/// A CSV syntax error.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct CsvError {
    pub(super) line: usize,
    pub(super) message: String,
}

/// Parses RFC 4180 CSV: fields separated by commas, records by LF, CRLF or
/// CR; a field starting with `"` is quoted up to the next lone `"`, may hold
/// commas and line breaks, and `""` in it is one `"`. Leniently, characters
/// after a closing quote are kept, and a `"` inside an unquoted field is an
/// ordinary character. A leading byte order mark is ignored, and so are
/// blank (or whitespace-only) lines.
pub(super) fn parse_csv(input: &str) -> Result<Vec<Record>, CsvError> {
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
