//! `--predict FILE` from the outside (issue #17, item 8): bad file names are usage errors
//! before anything is fitted, a failed fit leaves no file, several models get one file each.
//! The numbers are checked against statsmodels in `tests/numbers/predict.rs`.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn mroz() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/predict_probit_mroz/data.csv")
}

const PROBIT: [&str; 4] = ["-f", "inlf ~ educ + age", "-m", "probit"];

#[test]
fn a_folder_or_an_unknown_extension_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    migfit()
        .arg("fit")
        .arg(mroz())
        .args(PROBIT)
        .arg("--predict")
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a folder").and(predicate::str::contains(".csv or .parquet")));
    let txt = tmp.path().join("pred.txt");
    migfit()
        .arg("fit")
        .arg(mroz())
        .args(PROBIT)
        .arg("--predict")
        .arg(&txt)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot tell the format").and(predicate::str::contains("pred.txt")));
    assert!(!txt.exists());
    migfit()
        .arg("fit")
        .arg(mroz())
        .args(PROBIT)
        .args(["--by", "city", "--predict"])
        .arg(tmp.path().join("p.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--predict"));
    assert!(!tmp.path().join("p.csv").exists());
}

#[test]
fn a_failed_fit_writes_no_predictions() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("c.csv");
    std::fs::write(&data, "y,x\n1,1\n1,2\n1,3\n1,4\n").unwrap();
    let out = tmp.path().join("p.csv");
    migfit().args(["fit"]).arg(&data).args(["-f", "y ~ x", "-m", "probit", "--predict"]).arg(&out).assert().code(3);
    assert!(!out.exists(), "no partial output");
}

#[test]
fn several_models_get_a_file_each() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p.csv");
    migfit()
        .arg("fit")
        .arg(mroz())
        .args(["-f", "inlf ~ educ", "-f", "inlf ~ educ + age", "-m", "probit", "--predict"])
        .arg(&out)
        .assert()
        .success();
    for m in ["p.model1.csv", "p.model2.csv"] {
        let text = std::fs::read_to_string(tmp.path().join(m)).unwrap();
        assert!(text.starts_with("row,sample,xb,pr_pos,mu,resid,pearson\n2,"), "{m}: {}", &text[..60]);
    }
}
