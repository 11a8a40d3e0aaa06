//! The counting (no I/O), the archive streaming (archives built here with
//! flate2 and tar), the URI parser and [`summarize_output`] over the fake.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::archive::{next_line, Line};
use super::fake::{tar_gz, Breaking, FakeOutputs};
use super::*;

fn summary_of(lines: &[&str], top: usize) -> Summary {
    let mut b = SummaryBuilder::new();
    for line in lines {
        b.line(line.as_bytes());
    }
    b.finish(top)
}

fn count(name: &str, documents: u64) -> ClassCount {
    ClassCount {
        name: name.to_owned(),
        documents,
    }
}

/// A multi-class prediction whose top class is `class` at `score`.
fn multi_class(file: &str, class: &str, score: f64) -> String {
    format!(
        r#"{{"File": "{file}", "Line": "0", "Classes": [{{"Name": "{class}", "Score": {score}}}, {{"Name": "zz-runner-up", "Score": 0.01}}]}}"#
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

async fn summarize_bytes(bytes: Vec<u8>, top: usize) -> Result<Summary, ResultsError> {
    summarize(Breaking::new(bytes, None), top).await
}

fn malformed(result: Result<Summary, ResultsError>) -> String {
    match result {
        Err(ResultsError::Malformed(why)) => why,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn multi_class_counts_each_document_under_its_top_class() {
    let lines = [
        r#"{"File": "f.txt", "Line": "0", "Classes": [{"Name": "A", "Score": 0.93}, {"Name": "B", "Score": 0.05}]}"#,
        // Not sorted by score: the highest still wins.
        r#"{"File": "f.txt", "Line": "1", "Classes": [{"Name": "A", "Score": 0.2}, {"Name": "B", "Score": 0.7}]}"#,
        r#"{"File": "f.txt", "Line": "2", "Classes": [{"Name": "B", "Score": 0.6}]}"#,
        r#"{"File": "g.txt", "Classes": [{"Name": "C", "Score": 0.5}]}"#,
    ];
    let s = summary_of(&lines, 10);
    assert_eq!(s.mode, Some(Mode::MultiClass));
    assert_eq!(s.documents, 4);
    assert_eq!(s.classes, vec![count("B", 2), count("A", 1), count("C", 1)]);
    assert_eq!(s.other_classes, 0);
    assert_eq!((s.failed_documents, s.malformed_lines), (0, 0));
    assert_eq!(s.first_malformed, None);
}

#[test]
fn top_n_keeps_the_largest_classes_ties_by_name() {
    let mut lines = Vec::new();
    for (class, n) in [("D", 1), ("C", 3), ("B", 3), ("A", 1), ("E", 5)] {
        for i in 0..n {
            lines.push(multi_class(&format!("{class}{i}"), class, 0.9));
        }
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let s = summary_of(&lines, 3);
    assert_eq!(s.classes, vec![count("E", 5), count("B", 3), count("C", 3)]);
    assert_eq!(s.other_classes, 2, "A and D left out");
    assert_eq!(s.documents, 13);
    let none = summary_of(&lines, 0);
    assert!(none.classes.is_empty());
    assert_eq!(none.other_classes, 5);
}

#[test]
fn multi_label_counts_every_label() {
    let lines = [
        r#"{"File": "f.txt", "Labels": [{"Name": "A", "Score": 0.8}, {"Name": "C", "Score": 0.6}]}"#,
        r#"{"File": "g.txt", "Labels": [{"Name": "A", "Score": 0.9}]}"#,
        // A label listed twice counts once.
        r#"{"File": "h.txt", "Labels": [{"Name": "B", "Score": 0.7}, {"Name": "B", "Score": 0.7}]}"#,
        // No label above the threshold: classified, under no label.
        r#"{"File": "i.txt", "Labels": []}"#,
    ];
    let s = summary_of(&lines, 10);
    assert_eq!(s.mode, Some(Mode::MultiLabel));
    assert_eq!(s.mode.map(|m| m.as_str()), Some("MULTI_LABEL"));
    assert_eq!(s.documents, 4);
    assert_eq!(s.classes, vec![count("A", 2), count("B", 1), count("C", 1)]);
    // The mean of the top scores of the three documents that have one.
    let mean = s.mean_top_score.unwrap();
    assert!((mean - (0.8 + 0.9 + 0.7) / 3.0).abs() < 1e-12, "{mean}");
}

#[test]
fn mean_top_score_is_over_classified_documents() {
    let lines = [
        r#"{"File": "a", "Classes": [{"Name": "A", "Score": 0.9}, {"Name": "B", "Score": 0.1}]}"#,
        r#"{"File": "b", "Classes": [{"Name": "B", "Score": 0.3}, {"Name": "A", "Score": 0.5}]}"#,
        r#"{"File": "c", "Errors": [{"ErrorCode": "X", "ErrorMessage": "y"}]}"#,
    ];
    let s = summary_of(&lines, 10);
    assert!((s.mean_top_score.unwrap() - 0.7).abs() < 1e-12);
    assert_eq!(Mode::MultiClass.as_str(), "MULTI_CLASS");
    assert_eq!(summary_of(&[], 10).mean_top_score, None);
    assert_eq!(summary_of(&[], 10).mode, None);
}

#[test]
fn documents_with_errors_are_failed_not_classified() {
    let lines = [
        r#"{"File": "a.pdf", "Errors": [{"ErrorCode": "PAGE_LIMIT_EXCEEDED", "ErrorMessage": "too many pages"}]}"#,
        r#"{"File": "b.pdf", "Classes": [], "Errors": [{"ErrorCode": "X", "ErrorMessage": "y"}]}"#,
        r#"{"File": "c.pdf", "Classes": [{"Name": "A", "Score": 0.9}]}"#,
        // Classified despite an (empty) Errors member.
        r#"{"File": "d.pdf", "Classes": [{"Name": "A", "Score": 0.8}], "Errors": []}"#,
    ];
    let s = summary_of(&lines, 10);
    assert_eq!(s.failed_documents, 2);
    assert_eq!(s.documents, 2);
    assert_eq!(s.classes, vec![count("A", 2)]);
    assert_eq!(s.malformed_lines, 0);
}

#[test]
fn malformed_lines_are_counted_and_the_first_located() {
    let lines = [
        &multi_class("a", "A", 0.9) as &str,
        "",
        "not json",
        r#"{"File": "b"}"#,
        r#"{"File": "c", "Classes": [{"Name": "A"}]}"#,
        r#"[1, 2]"#,
        r#"{"File": "d", "Classes": []}"#,
        &multi_class("e", "B", 0.8),
    ];
    let s = summary_of(&lines, 10);
    assert_eq!(s.malformed_lines, 5);
    assert_eq!(
        s.first_malformed.as_deref(),
        Some("line 3: expected ident at column 2")
    );
    assert_eq!(s.documents, 2);
    assert_eq!(s.classes, vec![count("A", 1), count("B", 1)]);

    let s = summary_of(&[&multi_class("a", "A", 0.9), r#"{"File": "b"}"#], 10);
    assert_eq!(
        s.first_malformed.as_deref(),
        Some("line 2: no Classes, Labels or Errors")
    );
    let s = summary_of(&["", "{"], 10);
    assert_eq!(
        s.first_malformed.as_deref(),
        Some("line 2: EOF while parsing an object at column 1")
    );
}

#[test]
fn a_long_reason_is_cut() {
    let long = format!(r#"{{"File": "a", "Classes": "{}"}}"#, "x".repeat(5000));
    let s = summary_of(&[&long], 10);
    let reason = s.first_malformed.unwrap();
    assert!(
        reason.starts_with("line 1: invalid type: string"),
        "{reason}"
    );
    assert!(reason.len() < 300, "{}", reason.len());
}

#[test]
fn class_names_past_the_cap_are_only_counted_as_others() {
    let mut b = SummaryBuilder::new();
    for i in 0..MAX_CLASSES + 5 {
        b.line(multi_class("f", &format!("class-{i:05}"), 0.9).as_bytes());
    }
    // A name seen past the cap, again: still one more class.
    b.line(multi_class("f", &format!("class-{:05}", MAX_CLASSES + 1), 0.9).as_bytes());
    // A tracked name still counts.
    b.line(multi_class("f", "class-00000", 0.9).as_bytes());
    let s = b.finish(1);
    assert_eq!(s.documents, MAX_CLASSES as u64 + 7);
    assert_eq!(s.classes, vec![count("class-00000", 2)]);
    assert_eq!(s.other_classes, MAX_CLASSES as u64 - 1 + 5);
}

#[test]
fn next_line_cuts_overlong_lines_without_holding_them() {
    let input = b"short\r\nxxxxxxxxxxxxxxxxxxxx\nok\nyyyyyyyyyyyyyy".to_vec();
    let mut reader = std::io::BufReader::with_capacity(4, &input[..]);
    let mut line = Vec::new();
    let mut seen = Vec::new();
    loop {
        let l = next_line(&mut reader, &mut line, 8).unwrap();
        assert!(line.capacity() <= 16, "{}", line.capacity());
        if l == Line::End {
            break;
        }
        seen.push((l, String::from_utf8(line.clone()).unwrap()));
    }
    assert_eq!(
        seen,
        vec![
            (Line::Complete, "short\r".to_owned()),
            (Line::Overlong, String::new()),
            (Line::Complete, "ok".to_owned()),
            (Line::Overlong, String::new()),
        ]
    );
}

#[tokio::test]
async fn an_archive_is_summarized() {
    let jsonl = [
        multi_class("a", "World", 0.9),
        multi_class("b", "Sports", 0.8),
        multi_class("c", "World", 0.7),
    ]
    .join("\n");
    let s = summarize_bytes(tar_gz(&[(PREDICTIONS_MEMBER, jsonl.as_bytes())]), 5)
        .await
        .unwrap();
    assert_eq!(s.documents, 3);
    assert_eq!(s.classes, vec![count("World", 2), count("Sports", 1)]);
}

#[tokio::test]
async fn only_the_predictions_member_is_read_in_any_directory() {
    let jsonl = multi_class("a", "A", 0.9);
    let other = multi_class("b", "B", 0.9);
    let bytes = tar_gz(&[
        ("README.txt", b"not predictions"),
        ("out/predictions.jsonl", jsonl.as_bytes()),
        ("predictions.jsonl.bak", other.as_bytes()),
        // Only the first predictions.jsonl counts.
        ("predictions.jsonl", other.as_bytes()),
    ]);
    let s = summarize_bytes(bytes, 5).await.unwrap();
    assert_eq!(s.classes, vec![count("A", 1)]);
}

#[tokio::test]
async fn the_standin_archive_format_is_summarized() {
    // What the stand-in writes: `", "` separators, a trailing newline.
    let jsonl = "{\"File\": \"news.txt\", \"Line\": \"0\", \"Classes\": [{\"Name\": \"A\", \"Score\": 0.93}, {\"Name\": \"B\", \"Score\": 0.07}]}\n";
    let s = summarize_bytes(tar_gz(&[(PREDICTIONS_MEMBER, jsonl.as_bytes())]), 5)
        .await
        .unwrap();
    assert_eq!((s.documents, s.malformed_lines), (1, 0));
}

#[tokio::test]
async fn a_malformed_line_in_an_archive_leaves_the_rest_summarized() {
    let jsonl = format!(
        "{}\n{}\n{{oops\n{}\n",
        multi_class("a", "A", 0.9),
        multi_class("b", "A", 0.9),
        multi_class("c", "B", 0.9)
    );
    let s = summarize_bytes(tar_gz(&[(PREDICTIONS_MEMBER, jsonl.as_bytes())]), 5)
        .await
        .unwrap();
    assert_eq!(s.documents, 3);
    assert_eq!(s.malformed_lines, 1);
    assert_eq!(
        s.first_malformed.as_deref(),
        Some("line 3: key must be a string at column 2")
    );
}

#[tokio::test]
async fn an_overlong_line_is_skipped() {
    let long = format!(
        r#"{{"File": "{}", "Classes": [{{"Name": "A", "Score": 0.9}}]}}"#,
        "x".repeat(MAX_LINE_BYTES)
    );
    let jsonl = format!(
        "{}\n{long}\n{}\n",
        multi_class("a", "A", 0.9),
        multi_class("b", "B", 0.9)
    );
    let s = summarize_bytes(tar_gz(&[(PREDICTIONS_MEMBER, jsonl.as_bytes())]), 5)
        .await
        .unwrap();
    assert_eq!(s.documents, 2);
    assert_eq!(s.malformed_lines, 1);
    assert_eq!(
        s.first_malformed,
        Some(format!("line 2: longer than {MAX_LINE_BYTES} bytes"))
    );
}

#[tokio::test]
async fn an_archive_of_several_megabytes_is_streamed() {
    // About 6 MB of predictions over 5 classes.
    let mut jsonl = String::new();
    let n = 60_000u64;
    for i in 0..n {
        let class = format!("class-{}", i % 5);
        jsonl.push_str(&multi_class(&format!("doc-{i:08}.txt"), &class, 0.5));
        jsonl.push('\n');
    }
    assert!(jsonl.len() > 5_000_000, "{}", jsonl.len());
    let bytes = tar_gz(&[(PREDICTIONS_MEMBER, jsonl.as_bytes())]);
    let s = summarize_bytes(bytes, 3).await.unwrap();
    assert_eq!(s.documents, n);
    assert_eq!(
        s.classes,
        vec![
            count("class-0", n / 5),
            count("class-1", n / 5),
            count("class-2", n / 5)
        ]
    );
    assert_eq!(s.other_classes, 2);
    assert_eq!(s.mean_top_score, Some(0.5));
}

#[tokio::test]
async fn what_is_not_a_predictions_archive_is_malformed() {
    let not_gzip = malformed(summarize_bytes(b"PK\x03\x04 a zip file".to_vec(), 5).await);
    assert!(not_gzip.contains("gzip"), "{not_gzip}");

    let not_tar = malformed(summarize_bytes(gzip(&[b'x'; 2000]), 5).await);
    assert!(not_tar.starts_with("not a tar.gz archive"), "{not_tar}");

    let no_member = malformed(summarize_bytes(tar_gz(&[("other.txt", b"hello")]), 5).await);
    assert_eq!(no_member, "no predictions.jsonl in the archive");

    let empty = malformed(summarize_bytes(Vec::new(), 5).await);
    assert!(!empty.is_empty());
}

#[tokio::test]
async fn a_cut_archive_is_malformed() {
    let mut jsonl = String::new();
    for i in 0..5_000 {
        jsonl.push_str(&multi_class(&format!("doc-{i}"), "A", 0.9));
        jsonl.push('\n');
    }
    let bytes = tar_gz(&[(PREDICTIONS_MEMBER, jsonl.as_bytes())]);
    // Cut in the middle of the data, and just before the gzip trailer.
    for cut in [bytes.len() / 2, bytes.len() - 4] {
        let why = malformed(summarize_bytes(bytes[..cut].to_vec(), 5).await);
        assert!(!why.is_empty(), "cut at {cut}");
    }
}

#[tokio::test]
async fn a_stream_that_breaks_is_unreadable() {
    let mut jsonl = String::new();
    for i in 0..5_000 {
        jsonl.push_str(&multi_class(&format!("doc-{i}"), "A", 0.9));
        jsonl.push('\n');
    }
    let bytes = tar_gz(&[(PREDICTIONS_MEMBER, jsonl.as_bytes())]);
    for after in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        match summarize(Breaking::new(bytes.clone(), Some(after)), 5).await {
            Err(ResultsError::Unreadable(e)) => {
                assert_eq!(e.code, READ_ERROR);
                assert_eq!(e.kind, ErrorKind::Transient);
                assert!(e.message.contains("connection reset"), "{e}");
            }
            other => panic!("broken after {after}: expected Unreadable, got {other:?}"),
        }
    }
}

#[test]
fn s3_uris_are_parsed() {
    assert_eq!(
        parse_s3_uri("s3://out/news/1-CLN-a/output/output.tar.gz").unwrap(),
        S3Object {
            bucket: "out".into(),
            key: "news/1-CLN-a/output/output.tar.gz".into(),
        }
    );
    // Keys are taken as written.
    assert_eq!(
        parse_s3_uri("s3://b/a%20b/c d.tar.gz").unwrap().key,
        "a%20b/c d.tar.gz"
    );
    for bad in [
        "",
        "s3://",
        "s3://bucket",
        "s3://bucket/",
        "s3:///key",
        "s3://bucket/prefix/",
        "https://bucket.s3.amazonaws.com/key",
        "S3:/bucket/key",
        "s3://my bucket/key",
    ] {
        let err = parse_s3_uri(bad).unwrap_err();
        assert_eq!(err.code, "InvalidS3Uri", "{bad}");
        assert_eq!(err.kind, ErrorKind::InvalidSpec, "{bad}");
        assert!(err.message.contains("s3://bucket/key"), "{err}");
    }
}

#[tokio::test]
async fn summarize_output_opens_and_summarizes() {
    const URI: &str = "s3://out/p/111122223333-CLN-abc/output/output.tar.gz";
    let fake = FakeOutputs::default();
    let jsonl = multi_class("a", "A", 0.9);
    fake.put(URI, tar_gz(&[(PREDICTIONS_MEMBER, jsonl.as_bytes())]));
    let at = Place::own("eu-west-1");
    let s = summarize_output(&fake, &at, URI, 5).await.unwrap();
    assert_eq!(s.classes, vec![count("A", 1)]);
    assert_eq!(fake.opened(), vec![(at.clone(), URI.to_owned())]);

    let denied = AwsError {
        kind: ErrorKind::InvalidSpec,
        code: "AccessDenied".into(),
        message: "Access Denied".into(),
    };
    fake.fail_next(denied.clone());
    assert_eq!(
        summarize_output(&fake, &at, URI, 5).await,
        Err(ResultsError::Unreadable(denied))
    );
    match summarize_output(&fake, &at, "s3://out/missing.tar.gz", 5).await {
        Err(ResultsError::Unreadable(e)) => assert_eq!(e.code, "NoSuchKey"),
        other => panic!("{other:?}"),
    }

    fake.put_breaking(URI, tar_gz(&[(PREDICTIONS_MEMBER, jsonl.as_bytes())]), 20);
    assert!(matches!(
        summarize_output(&fake, &at, URI, 5).await,
        Err(ResultsError::Unreadable(_))
    ));
}

#[test]
fn errors_say_what_went_wrong() {
    let e = ResultsError::Malformed("no predictions.jsonl in the archive".into());
    assert_eq!(
        e.to_string(),
        "malformed output: no predictions.jsonl in the archive"
    );
    let e = ResultsError::Unreadable(AwsError {
        kind: ErrorKind::InvalidSpec,
        code: "NoSuchKey".into(),
        message: "The specified key does not exist.".into(),
    });
    assert_eq!(
        e.to_string(),
        "cannot read the output: NoSuchKey: The specified key does not exist."
    );
}
