//! `migfit mediate`: bad input gives a clear error and the documented exit code; every table
//! format renders; the options have batch-spec keys.

use assert_cmd::Command;

const MROZ: &str = "tests/golden/mediation/mroz_mediation.csv";

fn mediate(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("migfit").unwrap().arg("mediate").args(args).output().unwrap()
}

fn fails(args: &[&str], code: i32, needle: &str) {
    let o = mediate(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: expected '{needle}' in: {err}");
    assert!(o.stdout.is_empty(), "no partial output");
}

#[test]
fn a_mediator_equal_to_the_treatment_is_a_usage_error() {
    fails(
        &[MROZ, "--outcome", "inlf ~ age", "--treatment", "college", "--mediators", "college"],
        2,
        "is the treatment",
    );
    fails(
        &[MROZ, "--outcome", "inlf ~ age", "--treatment", "C(city)", "--mediators", "educ,city"],
        2,
        "is the treatment",
    );
}

#[test]
fn a_mediator_absent_from_the_data_is_named() {
    fails(&[MROZ, "--outcome", "inlf ~ age", "--treatment", "college", "--mediators", "educ,nosuch"], 2, "'nosuch'");
}

#[test]
fn a_non_binary_outcome_is_a_data_error() {
    fails(
        &[MROZ, "--outcome", "hours ~ age", "--treatment", "college", "--mediators", "nwifeinc"],
        1,
        "binary outcome coded 0/1",
    );
    fails(
        &[
            MROZ,
            "--outcome",
            "kidslt6 ~ age",
            "--treatment",
            "college",
            "--mediators",
            "nwifeinc",
            "--method",
            "causal",
        ],
        1,
        "line ",
    );
}

#[test]
fn a_treatment_without_variation_after_listwise_deletion_is_a_data_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.csv");
    // x varies, but the mediator is missing wherever x = 0.
    let mut s = String::from("y,x,m,c\n");
    for i in 0..40 {
        let x = i % 2;
        let m = if x == 0 { "NA".to_string() } else { format!("{}", i % 7) };
        s.push_str(&format!("{},{x},{m},{}\n", (i % 3 == 0) as u8, i % 5));
    }
    std::fs::write(&p, s).unwrap();
    let p = p.to_str().unwrap();
    fails(&[p, "--outcome", "y ~ c", "--treatment", "x", "--mediators", "m"], 1, "does not vary on the 20 rows");
}

#[test]
fn option_mistakes_are_usage_errors() {
    fails(
        &[MROZ, "--outcome", "inlf ~ age", "--treatment", "college", "--mediators", "educ", "-m", "glm"],
        2,
        "logit or -m probit",
    );
    fails(
        &[
            MROZ,
            "--outcome",
            "inlf ~ age",
            "--treatment",
            "college",
            "--mediators",
            "educ,nwifeinc",
            "--method",
            "causal",
        ],
        2,
        "one mediator",
    );
    fails(
        &[MROZ, "--outcome", "inlf ~ age", "--treatment", "college", "--mediators", "educ", "--interaction"],
        2,
        "--method causal",
    );
}

#[test]
fn every_format_renders_the_mediation_table() {
    let base =
        [MROZ, "--outcome", "inlf ~ age + kidslt6", "--treatment", "C(city)", "--mediators", "educ,nwifeinc", "--ape"];
    for (format, needle) in [
        ("text", "Difference"),
        ("md", "| Difference"),
        ("latex", "Difference"),
        ("csv", "Difference"),
        ("html", "<table"),
        ("summary", "P>|z|"),
        ("json", "\"khb\""),
    ] {
        let o = mediate(&[&base[..], &["--format", format]].concat());
        assert!(o.status.success(), "{format}: {}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(out.contains(needle), "{format}: {out}");
        if format != "json" {
            assert!(out.contains("via educ") || out.contains("via  educ") || out.contains("educ"), "{format}: {out}");
        }
    }
    let o = mediate(&[
        MROZ,
        "--outcome",
        "inlf ~ age",
        "--treatment",
        "college",
        "--mediators",
        "nwifeinc",
        "--method",
        "causal",
    ]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("Natural indirect effect") && out.contains("Proportion mediated"), "{out}");
}

/// `migfit table` reads mediate's JSON: two saved decompositions side by side, each cell the
/// one `mediate` printed itself (the JSON round trip keeps every digit).
#[test]
fn table_combines_saved_mediation_results() {
    let dir = tempfile::tempdir().unwrap();
    let khb = ["--outcome", "inlf ~ age + kidslt6", "--treatment", "C(city)", "--mediators", "educ,nwifeinc"];
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    for (path, model) in [(&a, "logit"), (&b, "probit")] {
        let o = mediate(&[&[MROZ][..], &khb, &["-m", model, "-o", path.to_str().unwrap()]].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let own = mediate(&[&[MROZ][..], &khb, &["-m", "probit", "--format", "md"]].concat());
    let own = String::from_utf8(own.stdout).unwrap();
    let o = Command::cargo_bin("migfit")
        .unwrap()
        .args(["table", a.to_str().unwrap(), b.to_str().unwrap(), "--columns", "Logit,Probit", "--format", "md"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("Logit") && out.contains("Probit"), "{out}");
    // The probit's reduced coefficient of the first treatment level, as mediate printed it,
    // is in the combined table's fifth numeric column.
    let first_row = |t: &str| -> Vec<String> {
        t.lines()
            .find(|l| l.contains("Coefficient"))
            .unwrap()
            .split('|')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    let mine = first_row(&own);
    let combined = first_row(&out);
    assert_eq!(combined.len(), 1 + 8, "{out}");
    assert_eq!(&combined[5..9], &mine[1..5], "{out}\n{own}");
    assert_ne!(combined[1], combined[5], "logit and probit coefficients differ");
}
