//! Property tests: random bytes and random mutations of a valid extract never make the loader
//! or the validator panic, and every failure carries a message.

use migfit::data::csv::{read_csv_bytes_projected, CsvOptions};
use migfit::data::load::{load_with_schema, ReadOptions, TextEncoding};
use migfit::data::schema::Schema;
use migfit::data::validate::render_text;
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| Schema::from_path(Path::new("data-schema/cmds2014.toml")).unwrap())
}

fn fixture() -> &'static [u8] {
    static F: OnceLock<Vec<u8>> = OnceLock::new();
    F.get_or_init(|| std::fs::read("tests/fixtures/cmds2014_small.csv").unwrap())
}

/// Loads `bytes` as a CSV (and, for good measure, as GBK and as a .dta file): either a report
/// whose violations all render to a non-empty line, or an error with a message.
fn check(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    for (name, enc) in [("f.csv", None), ("g.csv", Some(TextEncoding::Gbk)), ("h.dta", None)] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        // Every variable, and only those the Table 3 model reads (column projection, the
        // path `fit` and `twopart` take).
        for columns in [None, Some(projection())] {
            let opts = ReadOptions { encoding: enc, columns, ..Default::default() };
            match load_with_schema(&p, &opts, schema()) {
                Ok(report) => {
                    let text = render_text("f.csv", "line", report.dataset.n_rows(), &report.violations);
                    assert!(!text.is_empty());
                    for v in &report.violations {
                        assert!(!v.message.is_empty());
                    }
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
    // The same bytes as a plain CSV without a schema, every column and a projection.
    let opts = CsvOptions::default();
    for columns in [None, Some(&["q101b".to_string(), "q601".to_string()][..])] {
        if let Err(e) = read_csv_bytes_projected(bytes, "f.csv", &opts, columns) {
            assert!(!e.to_string().is_empty());
        }
    }
}

fn projection() -> Vec<String> {
    ["received", "amount", "scope", "age", "age2", "female", "income_q", "duration", "scheme"]
        .map(String::from)
        .to_vec()
}

#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to CSV parsing are over-represented.
    let byte = prop_oneof![
        Just(b','),
        Just(b'"'),
        Just(b'\n'),
        Just(b'\r'),
        Just(b'-'),
        Just(b'.'),
        Just(0xFFu8),
        Just(0xE4u8),
        any::<u8>()
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes);
    }

    #[test]
    fn mutated_extracts_never_panic(edits in proptest::collection::vec(edit(), 1..12)) {
        let mut bytes = fixture().to_vec();
        for e in edits {
            let n = bytes.len().max(1);
            match e {
                Edit::Set(i, b) => { let i = i % n; if i < bytes.len() { bytes[i] = b; } }
                Edit::Insert(i, b) => { let i = i % (bytes.len() + 1); bytes.insert(i, b); }
                Edit::Delete(i) => { if !bytes.is_empty() { let i = i % bytes.len(); bytes.remove(i); } }
            }
        }
        check(&bytes);
    }

    #[test]
    fn truncated_stata_files_never_panic(cut in 0usize..6000) {
        let dta = std::fs::read("tests/fixtures/cmds2014_small.dta").unwrap();
        let cut = cut.min(dta.len());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.dta");
        std::fs::write(&p, &dta[..cut]).unwrap();
        if let Err(e) = load_with_schema(&p, &ReadOptions::default(), schema()) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
