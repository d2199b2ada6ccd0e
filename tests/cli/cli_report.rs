//! Publication-table options from the command line: format from the file extension, several
//! models side by side, two-part columns, warnings in the notes, completions, help examples,
//! usage errors (exit code 2) before any work.

use assert_cmd::Command;
use predicates::prelude::*;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

const MROZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mroz/mroz.csv");

#[test]
fn format_follows_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("t.txt", "Variable"),
        ("t.md", "| Variable |"),
        ("t.tex", "\\toprule"),
        ("t.csv", "column,model,heading,block,term"),
        ("t.html", "<!DOCTYPE html>"),
        ("t.json", "\"migfit_version\""),
    ];
    for (name, needle) in cases {
        let out = dir.path().join(name);
        migfit()
            .args(["fit", MROZ, "-f", "inlf ~ age + educ + C(kidslt6)", "-m", "probit", "-o"])
            .arg(&out)
            .assert()
            .success();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(needle), "{name}: {text}");
        if name != "t.json" && name != "t.csv" {
            assert!(text.contains("kidslt6 (ref. 0)"), "{name}: {text}");
            assert!(text.contains("predicts failure perfectly"), "{name}: warning in the notes");
            assert!(text.contains("SHA-256"), "{name}");
        }
    }
    // Only the outputs remain: no temporary files from the atomic writes.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), cases.len());
}

#[test]
fn unknown_extension_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    migfit()
        .args(["fit", MROZ, "-f", "inlf ~ age", "-m", "probit", "-o"])
        .arg(dir.path().join("t.odt"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot tell the format"));
}

#[test]
fn bad_table_options_fail_before_fitting() {
    for args in [
        vec!["--stars", "0.05,abc"],
        vec!["--latex-standalone", "--format", "md"],
        vec!["--digits", "40"],
        vec!["--layout", "wide"],
    ] {
        migfit().args(["fit", "no/such/file.csv", "-f", "inlf ~ age", "-m", "probit"]).args(&args).assert().code(2);
    }
}

#[test]
fn several_models_and_repeated_response() {
    let out = migfit()
        .args(["fit", MROZ, "-f", "~ age + educ", "--response", "inlf", "--response", "city", "-m", "probit"])
        .args(["--format", "md", "--stars", "0.1,0.05,0.01"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).unwrap();
    let head = md.lines().next().unwrap();
    assert_eq!(head, "| Variable | inlf (Probit) | city (Probit) |", "{md}");
    assert!(md.contains("\\*\\*\\* p<0.01"), "{md}");
    // Different formulas and estimators side by side.
    migfit()
        .args(["fit", MROZ, "-f", "inlf ~ age + educ", "-m", "logit", "-f", "hours ~ age + educ", "-m", "glm"])
        .args(["--format", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2,model2,hours GLM gaussian-identity"));
    // A mismatched count is a usage error.
    migfit()
        .args(["fit", MROZ, "-f", "inlf ~ age", "-f", "hours ~ age", "-m", "probit", "-m", "glm", "-m", "glm"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("3 --model values for 2 models"));
}

#[test]
fn odds_ratios_side_layout() {
    migfit()
        .args(["fit", MROZ, "-f", "inlf ~ age + educ", "-m", "logit", "--show", "or", "--layout", "side"])
        .assert()
        .success()
        .stdout(predicate::str::contains("OR").and(predicate::str::contains("Odds ratios exp(b)")));
    migfit()
        .args(["fit", MROZ, "-f", "inlf ~ age + educ", "-m", "probit", "--show", "or"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("showing odds ratios (or) needs logit"));
}

#[test]
fn twopart_parts_and_combined_as_columns() {
    let out = migfit()
        .args([
            "twopart",
            MROZ,
            "-f",
            "hours ~ age + educ + C(kidslt6)",
            "--margins",
            "--vce",
            "robust",
            "--format",
            "md",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8(out.stdout).unwrap();
    let head = md.lines().next().unwrap();
    assert_eq!(
        head, "| Variable | Pr(hours > 0) (Probit) | E[hours \\| > 0] (GLM gamma-log) | E[hours] (Two-part) |",
        "{md}"
    );
    assert!(md.contains("| **kidslt6 (ref. 0)** |"), "{md}");
    // Coefficients: the two parts only.
    let out = migfit()
        .args(["twopart", MROZ, "-f", "hours ~ age + educ", "--show", "coef", "--format", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.contains("(Intercept)") && !csv.contains("combined"), "{csv}");
}

#[test]
fn warnings_go_to_stderr_and_the_notes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, "y,x,x2\n1,1,2\n0,2,4\n1,3,6\n0,4,8\n1,5,10\n0,1.5,3\n1,2.5,5\n0,NA,1\n").unwrap();
    migfit()
        .arg("fit")
        .arg(&data)
        .args(["-f", "y ~ x + x2", "-m", "logit", "--format", "md"])
        .assert()
        .success()
        .stderr(predicate::str::contains("collinearity"))
        .stdout(predicate::str::contains("collinearity").and(predicate::str::contains("dropped")));
}

#[test]
fn completions_and_help_examples() {
    for shell in ["bash", "zsh", "fish"] {
        migfit().args(["completions", shell]).assert().success().stdout(predicate::str::contains("twopart"));
    }
    for cmd in ["fit", "twopart", "completions"] {
        migfit().args([cmd, "--help"]).assert().success().stdout(predicate::str::contains("Example"));
    }
    migfit().arg("--help").assert().success().stdout(predicate::str::contains("Exit codes"));
}
