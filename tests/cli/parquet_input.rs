//! Parquet input without polars: the fixture reads like the CSV it came from (see
//! tests/schema_load.rs for the schema path), and damaged files get a message, not a panic.

use assert_cmd::Command;
use predicates::prelude::*;

const FIXTURE: &str = "tests/fixtures/cmds2014_small.parquet";

fn migfit() -> Command {
    let mut c = Command::cargo_bin("migfit").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn plain_parquet_fits_like_the_csv() {
    // Without a schema, the raw numeric codes: q214 (income) on q101c (birth year) and q302a (year of arrival); no value labels.
    let run = |file: &str| {
        let out = migfit()
            .args(["fit", file, "-f", "q214 ~ q101c + q302a", "--format", "json", "--if", "q214 > 0"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["models"][0]["coefficients"].clone()
    };
    let pq = run(FIXTURE);
    let dta = run("tests/fixtures/cmds2014_small.dta");
    assert_eq!(pq, dta, "Parquet and Stata copies of the fixture give the same fit");
}

#[test]
fn damaged_parquet_files_are_data_errors() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.parquet");
    std::fs::write(&garbage, b"PAR1 this is not a parquet file at all PAR1").unwrap();
    let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)).unwrap();
    let truncated = dir.path().join("truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    for f in [&garbage, &truncated] {
        migfit()
            .args(["fit", f.to_str().unwrap(), "-f", "q214 ~ q101c"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("Parquet").and(predicate::str::contains(f.to_str().unwrap())));
    }
}
