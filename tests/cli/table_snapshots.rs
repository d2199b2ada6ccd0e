//! Snapshot tests of the tables printed outside `report::Table`: a batch summary (Markdown,
//! LaTeX, the HTML index), `describe` (English and Chinese labels, every text format) and the
//! reproduce comparison table. The expected files live in tests/snapshots/tables/; to accept
//! new output run `MIGFIT_UPDATE_SNAPSHOTS=1 cargo test --test table_snapshots` and review the
//! diff.

use assert_cmd::Command;
use migfit::data::describe::{describe, Options};
use migfit::data::{Column, ColumnData, Dataset, Factor, Level};
use migfit::report::{self, Lang};
use unicode_width::UnicodeWidthStr;

fn check(name: &str, actual: &str) {
    crate::snapshot::check(&format!("tables/{name}"), actual);
}

fn migfit(args: &[&str]) -> String {
    let out = Command::cargo_bin("migfit").unwrap().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn batch_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("batch");
    migfit(&["batch", "examples/mroz/sensitivity.toml", "--out", out.to_str().unwrap()]);
    for f in ["summary.md", "summary.tex", "index.html"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        check(&format!("batch_mroz_{f}"), &text);
    }
    // A track label with `>` is escaped for LaTeX (pdflatex prints a bare `>` as `¿`).
    let tex = std::fs::read_to_string(out.join("summary.tex")).unwrap();
    assert!(tex.contains("(Pr(hours \\textgreater{} 0))"), "{tex}");
}

const SMALL: &str = "tests/fixtures/cmds2014_small.csv";
const SCHEMA: &str = "data-schema/cmds2014.toml";
const VARS: &str = "female,age,scheme,received,amount";

#[test]
fn describe_in_english_and_chinese() {
    for (lang, fmt, ext) in [
        ("en", "text", "txt"),
        ("en", "markdown", "md"),
        ("en", "csv", "csv"),
        ("zh", "text", "txt"),
        ("zh", "markdown", "md"),
        ("zh", "csv", "csv"),
    ] {
        let out = migfit(&[
            "describe", SMALL, "--schema", SCHEMA, "--by", "scope", "--vars", VARS, "--lang", lang, "--format", fmt,
        ]);
        check(&format!("describe_{lang}.{ext}"), &out);
    }
    // JSON is the serialized table whatever the language.
    let en = migfit(&["describe", SMALL, "--schema", SCHEMA, "--by", "scope", "--vars", VARS, "--format", "json"]);
    let zh = migfit(&[
        "describe", SMALL, "--schema", SCHEMA, "--by", "scope", "--vars", VARS, "--format", "json", "--lang", "zh",
    ]);
    assert_eq!(en, zh);
    check("describe.json", &en);
}

/// The table lines of a text `describe` table (heading, rule, body; not the notes).
fn table_lines(text: &str) -> Vec<&str> {
    text.lines().take_while(|l| !l.starts_with("Note") && !l.starts_with("注")).collect()
}

#[test]
fn describe_chinese_labels_line_up() {
    // Regression: describe padded cells by characters, so every Chinese character (two
    // terminal columns) pushed the rest of its line one column to the right.
    let mut ds = Dataset::new("inline", vec![1, 2, 3, 4, 5, 6]);
    let levels = vec![
        Level { name: "a".into(), label: Some("新型农村合作医疗".into()), label_zh: None },
        Level { name: "b".into(), label: Some("Other".into()), label_zh: None },
    ];
    ds.push(Column {
        name: "scheme".into(),
        data: ColumnData::Categorical(Factor { codes: vec![0, 0, 1, 1, 0, 1], levels, reference: 0 }),
        label: Some("医疗保险".into()),
        label_zh: None,
    });
    ds.push(Column {
        name: "age".into(),
        data: ColumnData::Numeric(vec![30.0, 41.0, 52.0, 25.0, 33.0, 47.0]),
        label: Some("年龄".into()),
        label_zh: None,
    });
    ds.push(Column {
        name: "female".into(),
        data: ColumnData::Numeric(vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0]),
        label: Some("Female".into()),
        label_zh: Some("女性".into()),
    });
    let levels = vec![
        Level { name: "1".into(), label: Some("Primary".into()), label_zh: Some("小学及以下".into()) },
        Level { name: "2".into(), label: Some("初中".into()), label_zh: None },
    ];
    ds.push(Column {
        name: "edu".into(),
        data: ColumnData::Categorical(Factor { codes: vec![0, 1, 1, 0, 1, 1], levels, reference: 0 }),
        label: Some("Education".into()),
        label_zh: Some("受教育程度".into()),
    });
    let t = describe(&ds, &Options { by: Some("scheme".into()), tests: true, ..Default::default() }).unwrap();
    for lang in [Lang::En, Lang::Zh] {
        let text = report::describe::text(&t, lang);
        let lines = table_lines(&text);
        assert_eq!(lines.len(), 7, "{text}");
        let rule = lines[1];
        assert!(rule.chars().all(|c| c == '-'), "{text}");
        for l in &lines {
            assert_eq!(UnicodeWidthStr::width(*l), rule.len(), "line {l:?} of\n{text}");
        }
    }
    let zh = report::describe::text(&t, Lang::Zh);
    assert!(zh.starts_with("变量"), "{zh}");
    assert!(zh.contains("合计 (N=6)") && zh.contains("\n女性 ") && zh.contains("\n  小学及以下 "), "{zh}");
    let en = report::describe::text(&t, Lang::En);
    assert!(en.starts_with("Variable") && en.contains("\nFemale ") && en.contains("\n  Primary "), "{en}");
}

#[test]
fn reproduce_comparison_table() {
    // The published-versus-reproduced table of `reproduce wang2022` on the synthetic extract.
    let out = migfit(&["reproduce", "wang2022"]);
    check("reproduce_wang2022.txt", &out);
}
