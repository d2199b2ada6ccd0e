//! Survey designs (`--svy`, `--strata`, `--psu`, `--fpc`) from the outside: bad designs get one
//! clear message and a non-zero exit code with no output file; the schema's `[design]` is used
//! by `--svy`; two-part models use one design for both parts. The numbers themselves are
//! checked against R's survey package in the golden cases `tests/golden/svy_*`.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

/// y, x, stratum h (3 strata), psu p (2-3 per stratum, ids repeat across strata), fpc f, w.
fn data() -> String {
    let mut s = String::from("y,x,h,p,f,w\n");
    let mut u: u64 = 7;
    let mut next = || {
        u = u.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (u >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..240 {
        let h = i % 3;
        let p = (i / 3) % (2 + h);
        let x = next() * 4.0 - 2.0;
        let y = if 0.4 * x + 0.3 * h as f64 - 0.2 + (next() - 0.5) * 2.0 > 0.0 { next() * 10.0 + 0.5 } else { 0.0 };
        let w = 1.0 + next() * 3.0;
        s.push_str(&format!("{y},{x},{h},{p},{},{w}\n", 50 + 10 * h));
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn fails(args: &[&str], text: &str, code: i32, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", text);
    let out = dir.path().join("out.json");
    let mut a = migfit().args(["fit", &file]).args(args).arg("-o").arg(&out).assert().code(code);
    for n in needles {
        a = a.stderr(predicate::str::contains(*n));
    }
    assert!(!out.exists(), "no partial output file");
}

fn json(cmd: &str, args: &[&str], text: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", text);
    let out = migfit().args([cmd, &file]).args(args).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

const PROBIT: [&str; 4] = ["-f", "I(y > 0) ~ x", "-m", "probit"];

#[test]
fn single_psu_stratum_is_an_estimation_error_naming_it() {
    // Stratum 9 has one PSU.
    let text = format!("{}1,0.3,9,1,50,1\n0,0.2,9,1,50,1\n", data());
    fails(&[&PROBIT[..], &["--strata", "h", "--psu", "p"]].concat(), &text, 3, &["stratum 9 of h has a single PSU"]);
}

#[test]
fn fpc_must_be_constant_within_a_stratum() {
    let mut text = data();
    text.push_str("1,0.3,1,0,77,1\n");
    fails(
        &[&PROBIT[..], &["--strata", "h", "--psu", "p", "--fpc", "f"]].concat(),
        &text,
        1,
        &["constant within a stratum", "stratum 1", "line 242"],
    );
}

#[test]
fn fpc_population_smaller_than_the_sample_is_an_error() {
    let text = data().replace(",50,", ",1.5,");
    fails(
        &[&PROBIT[..], &["--strata", "h", "--psu", "p", "--fpc", "f"]].concat(),
        &text,
        1,
        &["population size of 1.5"],
    );
}

#[test]
fn unknown_design_column_suggests_the_closest() {
    fails(&[&PROBIT[..], &["--psu", "pp"]].concat(), &data(), 2, &["'pp'", "did you mean 'p'"]);
}

#[test]
fn incompatible_options_are_usage_errors() {
    fails(
        &[&PROBIT[..], &["--psu", "p", "--cluster", "h"]].concat(),
        &data(),
        2,
        &["give it as the PSU, not as a cluster variable"],
    );
    fails(&[&PROBIT[..], &["--psu", "p", "--vce", "robust"]].concat(), &data(), 2, &["not vce robust"]);
    fails(
        &[&PROBIT[..], &["--psu", "p", "--weights", "w", "--weight-type", "fweight"]].concat(),
        &data(),
        2,
        &["pweight"],
    );
    fails(&[&PROBIT[..], &["--svy"]].concat(), &data(), 2, &["--psu VAR and/or --strata VAR"]);
    fails(&[&PROBIT[..], &["--vce", "svy"]].concat(), &data(), 2, &["--psu VAR"]);
    fails(&[&PROBIT[..], &["--psu", "p", "--singleunit", "sometimes"]].concat(), &data(), 2, &["sometimes"]);
    fails(&[&PROBIT[..], &["--singleunit", "certainty"]].concat(), &data(), 2, &["--psu VAR and/or --strata VAR"]);
}

#[test]
fn survey_fit_reports_t_with_design_df() {
    let j = json(
        "fit",
        &[&PROBIT[..], &["--strata", "h", "--psu", "p", "--weights", "w", "--weight-type", "pw"]].concat(),
        &data(),
    );
    let m = &j["models"][0];
    // PSUs: 2 + 3 + 4 = 9 (ids nested in strata), strata 3: df 6.
    assert_eq!(m["df_r"].as_f64(), Some(6.0));
    assert_eq!(m["n_clusters"].as_f64(), Some(9.0));
    assert_eq!(m["vce_type"].as_str(), Some("svy"));
    let c = &m["coefficients"][1];
    let (b, se, p) =
        (c["estimate"].as_f64().unwrap(), c["std_error"].as_f64().unwrap(), c["p_value"].as_f64().unwrap());
    // p from t(6), which is larger than the normal p of the same statistic.
    let z = (b / se).abs();
    let normal_p = libm_erfc(z / std::f64::consts::SQRT_2);
    assert!(p > normal_p, "t(6) p-value {p} should exceed the normal one {normal_p}");
}

fn libm_erfc(x: f64) -> f64 {
    // Abramowitz-Stegun 7.1.26 is enough for an inequality.
    let t = 1.0 / (1.0 + 0.3275911 * x);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    poly * (-x * x).exp()
}

#[test]
fn two_part_joint_survey_blocks_match_the_parts() {
    let args = ["-f", "y ~ x", "--strata", "h", "--psu", "p", "--weights", "w", "--weight-type", "pweight"];
    let block = json("twopart", &args, &data());
    let joint = json("twopart", &[&args[..], &["--joint-vce"]].concat(), &data());
    // The joint variance's diagonal blocks are each part's own linearized variance.
    for part in 0..2 {
        for (a, b) in block["models"][part]["coefficients"]
            .as_array()
            .unwrap()
            .iter()
            .zip(joint["models"][part]["coefficients"].as_array().unwrap())
        {
            let (x, y) = (a["std_error"].as_f64().unwrap(), b["std_error"].as_f64().unwrap());
            assert!((x - y).abs() <= 1e-12 * x.abs(), "part {part}: {x} vs {y}");
        }
        assert_eq!(block["models"][part]["df_r"].as_f64(), Some(6.0));
    }
    // The first part equals the probit fitted alone with the same design.
    let alone = json("fit", &[&PROBIT[..], &args[2..]].concat(), &data());
    for (a, b) in alone["models"][0]["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .zip(block["models"][0]["coefficients"].as_array().unwrap())
    {
        let (x, y) = (a["std_error"].as_f64().unwrap(), b["std_error"].as_f64().unwrap());
        assert!((x - y).abs() <= 1e-12 * x.abs(), "{x} vs {y}");
    }
}

#[test]
fn svy_takes_the_design_from_the_schema() {
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |extra: &[&str]| -> Value {
        let out = migfit()
            .current_dir(root)
            .args(["fit", "examples/wang2022/extract.csv", "--schema", "data-schema/cmds2014.toml"])
            .args(["-m", "probit", "-f", "received ~ scope + age", "--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let a = run(&["--svy"]);
    let b = run(&["--strata", "stratum", "--psu", "psu", "--weights", "weight", "--weight-type", "pweight"]);
    assert_eq!(a["models"][0]["coefficients"], b["models"][0]["coefficients"]);
    assert_eq!(a["models"][0]["vce_type"].as_str(), Some("svy"));
    assert!(a["models"][0]["df_r"].as_f64().unwrap() > 100.0);
}

#[test]
fn subpopulation_keeps_the_design_and_drops_empty_strata_from_df() {
    let design = ["--strata", "h", "--psu", "p", "--weights", "w", "--weight-type", "pweight"];
    let sub = json("fit", &[&PROBIT[..], &design[..], &["--subpop", "h <= 1"]].concat(), &data());
    let cond = json("fit", &[&PROBIT[..], &design[..], &["--if", "h <= 1"]].concat(), &data());
    let (s, c) = (&sub["models"][0], &cond["models"][0]);
    // Same rows, same estimates ...
    assert_eq!(s["n_obs"], c["n_obs"]);
    for (a, b) in s["coefficients"].as_array().unwrap().iter().zip(c["coefficients"].as_array().unwrap()) {
        let (x, y) = (a["estimate"].as_f64().unwrap(), b["estimate"].as_f64().unwrap());
        assert!((x - y).abs() <= 1e-10 * x.abs().max(1e-10), "{x} vs {y}");
    }
    // ... and the design df of the strata with subpopulation members (2 + 3 PSUs, 2 strata),
    // stratum 2 left out, as with --if here (each stratum lies wholly in or out).
    assert_eq!(s["df_r"].as_f64(), Some(3.0));
    assert_eq!(c["df_r"].as_f64(), Some(3.0));
    // A subpopulation that leaves some PSUs without members: they stay in the design (zero
    // score totals, counted in n_h and the df), where --if drops them.
    let sub = json("fit", &[&PROBIT[..], &design[..], &["--subpop", "p >= 1 or h == 0"]].concat(), &data());
    let cond = json("fit", &[&PROBIT[..], &design[..], &["--if", "p >= 1 or h == 0"]].concat(), &data());
    assert_eq!(sub["models"][0]["df_r"].as_f64(), Some(6.0));
    assert_eq!(cond["models"][0]["df_r"].as_f64(), Some(4.0));
    let se = |v: &Value| v["models"][0]["coefficients"][1]["std_error"].as_f64().unwrap();
    assert!((se(&sub) - se(&cond)).abs() > 1e-3 * se(&sub), "{} vs {}", se(&sub), se(&cond));
    assert!(sub["models"][0]["vce"].as_str().unwrap().contains("subpopulation p >= 1 or h == 0"));
}

#[test]
fn bad_subpopulations_are_usage_errors() {
    let design = ["--strata", "h", "--psu", "p"];
    fails(&[&PROBIT[..], &design[..], &["--subpop", "x >"]].concat(), &data(), 2, &["subpopulation \"x >\""]);
    fails(&[&PROBIT[..], &design[..], &["--subpop", "x > 1000"]].concat(), &data(), 2, &["selects no rows"]);
    fails(
        &[&PROBIT[..], &design[..], &["--subpop", "nope == 1"]].concat(),
        &data(),
        2,
        &["subpopulation \"nope == 1\"", "unknown variable 'nope'"],
    );
}

/// A stratum with one PSU under `--singleunit` (the numbers: golden cases
/// `svy_logit_nhanes_singleunit_*`): the rules differ, the description says what was done, and
/// the schema's `[design] singleunit` applies with `--svy` unless the command line overrides it.
#[test]
fn singleunit_rules_from_the_command_line_and_the_schema() {
    let text = format!("{}1,0.3,9,1,50,1\n0,0.2,9,1,50,1\n", data());
    let design = ["--strata", "h", "--psu", "p"];
    let se = |v: &Value| v["models"][0]["coefficients"][1]["std_error"].as_f64().unwrap();
    let runs: Vec<Value> = ["certainty", "scaled", "centered"]
        .iter()
        .map(|r| json("fit", &[&PROBIT[..], &design[..], &["--singleunit", r]].concat(), &text))
        .collect();
    for (v, phrase) in runs.iter().zip(["certainty units", "average variance of the others", "grand mean"]) {
        assert!(v["models"][0]["vce"].as_str().unwrap().contains(phrase), "{}", v["models"][0]["vce"]);
        assert_eq!(v["models"][0]["df_r"].as_f64(), Some(6.0), "a lonely stratum adds no degrees of freedom");
    }
    assert!(se(&runs[1]) > se(&runs[0]) && se(&runs[2]) != se(&runs[0]));

    // The same rule from a schema's [design], and a bad one.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", &text);
    let schema = |rule: &str| {
        write(
            dir.path(),
            &format!("{rule}.toml"),
            &format!(
                "[dataset]\nname = \"t\"\n\n[design]\nstrata = \"h\"\npsu = \"p\"\nsingleunit = \"{rule}\"\n\n\
                 [[variable]]\nname = \"y\"\ntype = \"continuous\"\n\n[[variable]]\nname = \"x\"\ntype = \"continuous\"\n\n\
                 [[variable]]\nname = \"h\"\ntype = \"identifier\"\n\n[[variable]]\nname = \"p\"\ntype = \"identifier\"\n"
            ),
        )
    };
    let from_schema = migfit()
        .args(["fit", &file, "--schema", &schema("scaled"), "--svy", "--format", "json"])
        .args(PROBIT)
        .output()
        .unwrap();
    assert!(from_schema.status.success(), "{}", String::from_utf8_lossy(&from_schema.stderr));
    let v: Value = serde_json::from_slice(&from_schema.stdout).unwrap();
    assert!((se(&v) - se(&runs[1])).abs() <= 1e-12 * se(&v), "{} vs {}", se(&v), se(&runs[1]));
    migfit()
        .args(["fit", &file, "--schema", &schema("sometimes"), "--svy"])
        .args(PROBIT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("singleunit takes missing, certainty, scaled or centered"));
}

/// Regression: `--format summary` printed survey t statistics under "z" / "P>|z|" headers
/// (the numbers were t with the design df; the labels were not). Every header of a survey
/// fit, its margins and a two-part model's combined effects says t; a model without a design
/// keeps z.
#[test]
fn summary_labels_survey_statistics_t_not_z() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", &data());
    let summary = |cmd: &str, args: &[&str]| {
        let out = migfit().args([cmd, &file]).args(args).args(["--margins", "--format", "summary"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let headers = |text: &str, label: &str| text.lines().filter(|l| l.contains(label)).count();
    let design = ["--strata", "h", "--psu", "p", "--weights", "w", "--weight-type", "pweight"];
    let fit = summary("fit", &[&PROBIT[..], &design[..]].concat());
    assert!(fit.contains("design degrees of freedom"), "{fit}");
    // The coefficient table and the margins table.
    assert_eq!(headers(&fit, "P>|t|"), 2, "{fit}");
    assert_eq!(headers(&fit, "P>|z|"), 0, "{fit}");
    // Both parts, each with margins, and the combined effects.
    let tp = summary("twopart", &[&["-f", "y ~ x"][..], &design[..]].concat());
    assert_eq!(headers(&tp, "P>|t|"), 5, "{tp}");
    assert_eq!(headers(&tp, "P>|z|"), 0, "{tp}");
    let plain = summary("fit", &PROBIT);
    assert_eq!((headers(&plain, "P>|z|"), headers(&plain, "P>|t|")), (2, 0), "{plain}");
}
