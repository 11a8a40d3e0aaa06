use super::csv::{parse_csv, parse_documents, Record, Source};
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

#[test]
fn documents_train_like_their_csv() {
    let csv = three_topics();
    let from_csv = train(&csv, None, Mode::MultiClass, "|").unwrap();
    let documents = parse_documents(&csv, Mode::MultiClass, "|", Source::Training).unwrap();
    assert_eq!(
        train_documents(documents.clone(), None, Mode::MultiClass).unwrap(),
        from_csv
    );
    // Messages about a test document say where it is.
    let test = vec![Document {
        at: "s3://b/test.manifest, line 4".into(),
        labels: vec!["unknown".into()],
        text: "some text".into(),
    }];
    let err = train_documents(documents, Some(test), Mode::MultiClass).unwrap_err();
    assert!(
        err.starts_with(
            "s3://b/test.manifest, line 4: the label \"unknown\" is not in the training data"
        ),
        "{err}"
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

#[test]
fn confusion_matrices_by_hand() {
    let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    // Multi-class: rows are the truth, columns the prediction.
    let m = confusion_matrix(
        Mode::MultiClass,
        &labels,
        &[vec![0], vec![0], vec![1], vec![2]],
        &[vec![0], vec![1], vec![1], vec![1]],
    );
    assert_eq!(
        m,
        serde_json::json!({
            "type": "multi_class",
            "confusion_matrix": [[1, 1, 0], [0, 1, 0], [0, 1, 0]],
            "labels": ["a", "b", "c"],
            "all_labels": ["a", "b", "c"],
        })
    );
    // Multi-label: per label [[TN, FP], [FN, TP]]; truth {0,1} {1} {2},
    // predicted {0} {1,2} {2}.
    let m = confusion_matrix(
        Mode::MultiLabel,
        &labels,
        &[vec![0, 1], vec![1], vec![2]],
        &[vec![0], vec![1, 2], vec![2]],
    );
    assert_eq!(m["type"], "multi_label");
    assert_eq!(
        m["confusion_matrix"],
        serde_json::json!([[[2, 0], [0, 1]], [[1, 0], [1, 1]], [[1, 1], [0, 1]]])
    );
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
                at: format!("Line {}", i + 1),
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
