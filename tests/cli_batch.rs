//! `migfit batch`: assertions that hold and fail, spec errors with line numbers, determinism
//! across --jobs, a failing variant among good ones, and --check against a baseline.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

const DATA: &str = "../../examples/mroz/mroz.csv";

fn spec(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("spec.toml");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mroz/mroz.csv");
    std::fs::write(&p, body.replace(DATA, &data.display().to_string())).unwrap();
    p
}

const BASE: &str = r#"
[data]
path = "../../examples/mroz/mroz.csv"

[base]
command = "twopart"
formula = "hours ~ age + educ + kidslt6 + C(city)"

[[axis]]
name = "first"
values.probit = { first = "probit" }
values.logit = { first = "logit" }

[[axis]]
name = "vce"
values.oim = {}
values.robust = { vce = "robust" }

[[track]]
term = "kidslt6"
"#;

fn batch(spec: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("migfit").unwrap().arg("batch").arg(spec).arg("--out").arg(out).args(extra).assert()
}

#[test]
fn assertions_that_hold_exit_0() {
    let d = tempfile::tempdir().unwrap();
    let s = spec(d.path(), &format!("{BASE}\n[[assert]]\ntrack = \"kidslt6\"\nrule = \"sign_stable\"\n"));
    batch(&s, &d.path().join("out"), &["-q"]).code(0);
    let md = std::fs::read_to_string(d.path().join("out/assertions.md")).unwrap();
    assert!(md.contains("1 of 1 assertions hold") && md.contains("PASS"), "{md}");
    for f in [
        "effects.csv",
        "effects.json",
        "summary.md",
        "summary.tex",
        "index.html",
        "manifest.json",
        "forest-kidslt6.svg",
    ] {
        assert!(d.path().join("out").join(f).exists(), "{f}");
    }
    assert_eq!(std::fs::read_dir(d.path().join("out/variants")).unwrap().count(), 4);
}

#[test]
fn failing_assertion_exits_1_with_numbers() {
    let d = tempfile::tempdir().unwrap();
    let s =
        spec(d.path(), &format!("{BASE}\n[[assert]]\ntrack = \"kidslt6\"\nrule = \"within\"\ninterval = [0.0, 1.0]\n"));
    batch(&s, &d.path().join("out"), &["-q"])
        .code(1)
        .stderr(predicate::str::contains("FAILED").and(predicate::str::contains("within")));
    let md = std::fs::read_to_string(d.path().join("out/assertions.md")).unwrap();
    assert!(md.contains("FAIL") && md.contains("probit-oim = -"), "{md}");
}

#[test]
fn spec_errors_name_the_line() {
    let d = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 12] = [
        ("\n[[axis]]\nname = \"t\"\nvalues.a = { trim = \"hours\" }\n", "trim takes VAR:QUANTILE"),
        ("\n[[axis]]\nname = \"t2\"\nvalues.a = { trim = \"hours:1.5\" }\n", "trim takes VAR:QUANTILE"),
        ("\n[[axis]]\nname = \"c\"\nvalues.a = { if = \"hours > \" }\n", "if = \"hours > \""),
        ("\n[[assert]]\ntrack = \"kidslt6\"\nrule = \"within\"\ninterval = [1.0, 0.0]\n", "low <= high"),
        ("\n[[exclude]]\nfrist = \"logit\"\n", "unknown axis 'frist'"),
        ("\n[[exclude]]\nfirst = \"tobit\"\n", "has no value 'tobit'"),
        ("\n[[axis]]\nname = \"v2\"\nvalues.a = { vce = \"robst\" }\n", "unknown vce 'robst'"),
        (
            "\n[[axis]]\nname = \"v3\"\nvalues.a = { vcee = \"robust\" }\n",
            "unknown option 'vcee' (did you mean 'vce'?)",
        ),
        ("\n[[assert]]\ntrack = \"nope\"\nrule = \"sign_stable\"\n", "unknown track 'nope'"),
        ("\n[[axis]]\nname = \"s\"\nvalues.a = { psu = 3 }\n", "option 'psu' takes a survey PSU variable"),
        ("\n[[axis]]\nname = \"s2\"\nvalues.a = { subpop = true }\n", "option 'subpop' takes a survey subpopulation"),
        (
            "\n[[axis]]\nname = \"s3\"\nvalues.a = { strata = \"city\", singleunit = \"sometimes\" }\n",
            "singleunit takes missing, certainty, scaled or centered",
        ),
    ];
    for (extra, msg) in cases {
        let body = format!("{BASE}{extra}");
        let s = spec(d.path(), &body);
        let line = body.lines().count() - extra.trim_end().lines().count() + 1;
        let out = Command::cargo_bin("migfit")
            .unwrap()
            .arg("batch")
            .arg(&s)
            .arg("--out")
            .arg(d.path().join("o"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{msg}: {err}");
        assert!(err.contains(msg), "{msg}: {err}");
        // The message names a line inside the added block.
        let named: usize =
            err.split("spec.toml:").nth(1).and_then(|r| r.split(':').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
        assert!(named >= line && named <= body.lines().count(), "{msg}: line {named}, block starts at {line}: {err}");
    }
}

#[test]
fn output_is_identical_for_any_jobs() {
    let d = tempfile::tempdir().unwrap();
    let s = spec(d.path(), BASE);
    batch(&s, &d.path().join("a"), &["-q", "--jobs", "1"]).code(0);
    batch(&s, &d.path().join("b"), &["-q", "--jobs", "2"]).code(0);
    let mut files = Vec::new();
    fn walk(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out)
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf())
            }
        }
    }
    walk(&d.path().join("a"), &d.path().join("a"), &mut files);
    files.sort();
    assert!(files.len() > 10);
    for f in files.iter().filter(|f| f.as_os_str() != "run.log") {
        assert_eq!(
            std::fs::read(d.path().join("a").join(f)).unwrap(),
            std::fs::read(d.path().join("b").join(f)).unwrap(),
            "{}",
            f.display()
        );
    }
}

#[test]
fn a_failing_variant_does_not_stop_the_others() {
    let d = tempfile::tempdir().unwrap();
    let body = format!(
        "{BASE}\n[[axis]]\nname = \"sample\"\nvalues.all = {{}}\nvalues.none = {{ if = \"hours > 1000000\" }}\n"
    );
    let s = spec(d.path(), &body);
    batch(&s, &d.path().join("out"), &["-q"]).code(1).stderr(predicate::str::contains("4 failed"));
    let csv = std::fs::read_to_string(d.path().join("out/effects.csv")).unwrap();
    assert_eq!(csv.lines().filter(|l| l.contains(",ok,")).count(), 4, "{csv}");
    assert_eq!(csv.lines().filter(|l| l.contains(",failed,")).count(), 4, "{csv}");
    let allow = format!("[batch]\nallow_failures = true\n{body}");
    let s = spec(d.path(), &allow);
    batch(&s, &d.path().join("out2"), &["-q"]).code(0);
}

#[test]
fn check_against_a_baseline() {
    let d = tempfile::tempdir().unwrap();
    let s = spec(d.path(), BASE);
    batch(&s, &d.path().join("a"), &["-q"]).code(0);
    let base = d.path().join("a/effects.json");
    batch(&s, &d.path().join("b"), &["-q", "--check"]).code(2); // --check needs a value
    batch(&s, &d.path().join("b"), &["-q", "--check", base.to_str().unwrap()]).code(0);
    let text = std::fs::read_to_string(&base).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let e = v[0]["estimate"].as_f64().unwrap();
    v[0]["estimate"] = serde_json::json!(e * 1.01);
    let moved = d.path().join("moved.json");
    std::fs::write(&moved, serde_json::to_string(&v).unwrap()).unwrap();
    batch(&s, &d.path().join("c"), &["-q", "--check", moved.to_str().unwrap()]).code(1);
    let md = std::fs::read_to_string(d.path().join("c/check.md")).unwrap();
    assert!(md.contains("probit-oim / kidslt6: estimate"), "{md}");
}

#[test]
fn jobs_zero_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let s = spec(d.path(), BASE);
    batch(&s, &d.path().join("out"), &["--jobs", "0"])
        .code(2)
        .stderr(predicate::str::contains("--jobs must be at least 1"));
}

/// Survey-design options in a spec: the variant's variance is linearized, with t statistics.
#[test]
fn survey_design_variants_run() {
    let d = tempfile::tempdir().unwrap();
    let body = r#"
[data]
path = "../../examples/mroz/mroz.csv"

[base]
command = "fit"
model = "probit"
formula = "inlf ~ age + educ + kidslt6"

[[axis]]
name = "design"
values.svy = { strata = "city", psu = "exper" }
values.sub = { strata = "city", psu = "exper", subpop = "age > 35" }

[[track]]
term = "kidslt6"
"#;
    let s = spec(d.path(), body);
    batch(&s, &d.path().join("out"), &["-q"]).code(0);
    let mut found = 0;
    for e in std::fs::read_dir(d.path().join("out/variants")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(text.contains("\"vce_type\": \"svy\"") && text.contains("\"df_r\""), "{}", p.display());
            found += 1;
        }
    }
    assert_eq!(found, 2);
}

/// A batch reads only the columns its variants use (their union): a schema violation in a
/// column no variant reads does not stop it, and the same violation stops a variant that
/// reads the column (the run reports the failed variant, naming the column and value).
#[test]
fn batch_reads_only_the_columns_its_variants_use() {
    let d = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/fixtures/cmds2014_small.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header.iter().position(|&h| h == "q101g").expect("marital status column");
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    cells[col] = "9".into(); // not a code of `married` (1-6, -1 missing)
    lines[1] = cells.join(",");
    let data = d.path().join("extract.csv");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let schema = root.join("data-schema/cmds2014.toml");
    let run = |formula: &str, out: &str| {
        let body = format!(
            "[data]\npath = {:?}\nschema = {:?}\n\n[base]\ncommand = \"fit\"\nmodel = \"probit\"\nformula = {formula:?}\n\n[[axis]]\nname = \"vce\"\nvalues.oim = {{}}\nvalues.robust = {{ vce = \"robust\" }}\n\n[[track]]\nterm = \"female\"\n",
            data.display().to_string(),
            schema.display().to_string(),
        );
        let s = d.path().join(format!("{out}.toml"));
        std::fs::write(&s, body).unwrap();
        batch(&s, &d.path().join(out), &["-q"])
    };
    run("received ~ female + age", "without").code(0);
    let failed = run("received ~ female + married", "with").code(1);
    let stderr = String::from_utf8_lossy(&failed.get_output().stderr).to_string();
    let report = std::fs::read_to_string(d.path().join("with/assertions.md")).unwrap_or_default();
    let all = format!("{stderr}\n{report}");
    assert!(all.contains("q101g") || all.contains("married"), "the violation is named: {all}");
    assert!(all.contains('9'), "the value is named: {all}");
}
