//! `--predict FILE` (issue #17, item 8): migfit's per-row predictions against statsmodels'
//! (`tests/golden/scripts/predict_rows.py` writes `tests/reference/predict_*`): the same rows
//! in file order with their CSV lines, empty cells where the reference is empty (a missing
//! covariate; residuals of a missing outcome), every number at 1e-8 relative (absolute below
//! 1). The Parquet file holds the same numbers as the CSV file, nulls for its empty cells.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference").join(case)
}

/// (header, rows of cells) of a CSV file without quoting.
fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines();
    let head = lines.next().unwrap().split(',').map(str::to_string).collect();
    (head, lines.map(|l| l.split(',').map(str::to_string).collect()).collect())
}

fn run(case: &str, out: &Path) {
    let c: Value = serde_json::from_str(&std::fs::read_to_string(dir(case).join("case.json")).unwrap()).unwrap();
    let args: Vec<&str> = c["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    Command::cargo_bin("migfit")
        .unwrap()
        .arg(c["command"].as_str().unwrap())
        .arg(dir(case).join("data.csv"))
        .args(&args)
        .arg("--predict")
        .arg(out)
        .args(["--format", "json"])
        .assert()
        .success();
}

fn check(case: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pred.csv");
    run(case, &out);
    let (h1, ours) = read_csv(&out);
    let (h2, theirs) = read_csv(&dir(case).join("expected.csv"));
    assert_eq!(h1, h2, "{case}: columns");
    assert_eq!(ours.len(), theirs.len(), "{case}: rows");
    let mut bad = Vec::new();
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o[0], t[0], "{case}: row numbers");
        for (j, (a, b)) in o.iter().zip(t).enumerate().skip(1) {
            match (a.is_empty(), b.is_empty()) {
                (true, true) => {}
                (false, false) => {
                    let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
                    if (a - b).abs() > 1e-8 * b.abs().max(1.0) {
                        bad.push(format!("row {} {}: {a} vs {b}", o[0], h1[j]));
                    }
                }
                _ => bad.push(format!("row {} {}: '{a}' vs '{b}'", o[0], h1[j])),
            }
        }
    }
    assert!(bad.is_empty(), "{case}: {} mismatches, first: {:?}", bad.len(), &bad[..bad.len().min(5)]);
}

#[test]
fn probit_predictions_match_statsmodels() {
    check("predict_probit_mroz");
}

#[test]
fn gamma_predictions_cover_rows_with_a_missing_outcome() {
    check("predict_gamma_mroz");
}

#[test]
fn twopart_predictions_match_statsmodels() {
    check("predict_twopart_mroz");
}

#[test]
fn parquet_holds_the_csv_numbers() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    let tmp = tempfile::tempdir().unwrap();
    let (csv, pq) = (tmp.path().join("p.csv"), tmp.path().join("p.parquet"));
    run("predict_twopart_mroz", &csv);
    run("predict_twopart_mroz", &pq);
    let (head, rows) = read_csv(&csv);
    let reader = SerializedFileReader::new(std::fs::File::open(&pq).unwrap()).unwrap();
    let names: Vec<String> =
        reader.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.name().to_string()).collect();
    assert_eq!(names, head);
    let mut n = 0;
    for (rec, csv_row) in reader.get_row_iter(None).unwrap().zip(&rows) {
        let rec = rec.unwrap();
        for ((_, field), cell) in rec.get_column_iter().zip(csv_row) {
            match field {
                Field::Long(v) => assert_eq!(v.to_string(), *cell),
                Field::Double(v) => assert_eq!(*v, cell.parse::<f64>().unwrap()),
                Field::Null => assert!(cell.is_empty()),
                other => panic!("unexpected field {other:?}"),
            }
        }
        n += 1;
    }
    assert_eq!(n, rows.len());
}
