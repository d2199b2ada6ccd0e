//! `migfit fit` from the outside: bad inputs get one clear message and a non-zero exit code
//! (never 101, a panic), and no output file is left behind.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const GOOD: &str = "y,x,g\n1,0.5,a\n0,1.5,b\n1,2.0,a\n0,0.1,b\n1,1.1,c\n0,2.2,c\n1,0.3,a\n0,1.9,b\n1,1.2,b\n0,0.7,a\n";

/// Runs a failing command with `-o out.json` and checks the exit code, the message and that
/// no output file was written.
fn fails(args: &[&str], data: &str, code: i32, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", data);
    let out = dir.path().join("out.json");
    let mut cmd = migfit();
    cmd.arg("fit").arg(&file).args(args).arg("--format").arg("json").arg("-o").arg(&out);
    let mut assert = cmd.assert().code(code);
    for n in needles {
        assert = assert.stderr(predicate::str::contains(*n));
    }
    assert!(!out.exists(), "no partial output file");
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "only the input remains: {leftovers:?}");
}

#[test]
fn missing_file() {
    migfit()
        .args(["fit", "no/such/file.csv", "-f", "y ~ x", "-m", "probit"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read no/such/file.csv"));
}

#[test]
fn no_header() {
    fails(&["-f", "y ~ x", "-m", "probit"], "1,0.5\n0,1.5\n", 1, &["line 1", "header"]);
}

#[test]
fn empty_file() {
    fails(&["-f", "y ~ x", "-m", "probit"], "", 1, &["empty"]);
}

#[test]
fn ragged_rows() {
    fails(&["-f", "y ~ x", "-m", "probit"], "y,x\n1,0.5\n0\n1,2\n", 1, &["line 3", "has 1 fields", "header has 2"]);
}

#[test]
fn non_numeric_value_in_numeric_column() {
    fails(
        &["-f", "y ~ x", "-m", "probit"],
        "y,x\n1,0.5\n0,1.5\n1,abc\n0,2\n",
        1,
        &["column 'x'", "line 4", "'abc'", "C()"],
    );
}

#[test]
fn unknown_column_suggests_closest() {
    fails(&["-f", "y ~ x + g2", "-m", "probit"], GOOD, 2, &["unknown column 'g2'"]);
    fails(&["-f", "y ~ z", "-m", "probit"], "y,zz\n1,1\n0,2\n", 2, &["unknown column 'z'", "did you mean 'zz'"]);
}

#[test]
fn formula_syntax_error_points_at_character() {
    fails(&["-f", "y ~ x + * C(g)", "-m", "probit"], GOOD, 2, &["character 9", "        ^"]);
    fails(&["-f", "y ~ x + C(g", "-m", "probit"], GOOD, 2, &["expected ')'"]);
}

#[test]
fn constant_response() {
    fails(&["-f", "y ~ x", "-m", "probit"], "y,x\n1,1\n1,2\n1,3\n", 3, &["constant", "'y'"]);
    fails(&["-f", "y ~ x", "-m", "glm"], "y,x\n2,1\n2,2\n2,3\n", 3, &["constant"]);
}

#[test]
fn empty_sample_after_dropping() {
    fails(&["-f", "y ~ x", "-m", "probit"], "y,x\n1,NA\nNA,2\n", 3, &["estimation sample is empty", "2 rows read"]);
}

#[test]
fn text_column_needs_c() {
    fails(&["-f", "y ~ g", "-m", "probit"], GOOD, 1, &["column 'g'", "C()"]);
}

#[test]
fn gamma_needs_positive_response() {
    fails(
        &["-f", "y ~ x", "-m", "glm", "--family", "gamma", "--link", "log"],
        "y,x\n1,1\n0,2\n3,3\n-1,4\n2,5\n",
        3,
        &["strictly positive", "2 of 5", "lines 3, 5"],
    );
}

#[test]
fn bad_options() {
    fails(&["-f", "y ~ x", "-m", "tobit"], GOOD, 2, &["unknown model 'tobit'"]);
    fails(&["-f", "y ~ x", "-m", "glm", "--family", "weibull"], GOOD, 2, &["unknown family 'weibull'"]);
    fails(&["-f", "y ~ x", "-m", "probit", "--vce", "cluster"], GOOD, 2, &["--cluster"]);
    fails(
        &["-f", "y ~ x", "-m", "probit", "--weights", "x", "--weight-type", "aweight"],
        GOOD,
        2,
        &["aweights are not allowed"],
    );
    fails(
        &["-f", "y ~ x", "-m", "probit", "--weights", "x", "--weight-type", "pweight", "--vce", "oim"],
        GOOD,
        2,
        &["pweights"],
    );
    fails(&["-f", "y ~ C(g, ref=zz)", "-m", "probit"], GOOD, 2, &["reference level 'zz'", "a, b, c"]);
}

#[test]
fn good_fit_writes_json_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", GOOD);
    let out = dir.path().join("out.json");
    migfit()
        .args(["fit", &file, "-f", "y ~ x + C(g)", "-m", "logit", "--format", "json", "-o"])
        .arg(&out)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["n_obs"], 10);
    let terms: Vec<&str> = m["coefficients"].as_array().unwrap().iter().map(|c| c["term"].as_str().unwrap()).collect();
    assert_eq!(terms, vec!["(Intercept)", "x", "C(g)[b]", "C(g)[c]"]);
    for f in ["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"] {
        assert!(m["coefficients"][1][f].is_f64(), "{f}");
    }
    assert!(m["vce"].as_str().unwrap().starts_with("OIM"));
}

#[test]
fn broken_pipe_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", GOOD);
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("migfit"))
        .args(["fit", &file, "-f", "y ~ x", "-m", "logit"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // close the read end at once
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_ne!(status.code(), Some(101), "panic: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A plain CSV with CRLF line ends and a quoted line break (read by the precise reader): the
/// bad value is named at the line an editor shows.
#[test]
fn crlf_file_names_the_editor_line() {
    fails(
        &["-f", "y ~ x"],
        "y,x,g\r\n1,0.5,a\r\n0,1.5,b\r\n1,abc,a\r\n0,0.1,\"b\r\nc\"\r\n",
        1,
        &["line 4 has the value 'abc'"],
    );
}
