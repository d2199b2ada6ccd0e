//! `--wild-reps` / `--wild-weights` on `fit` and `twopart` (issue #18, item 6): the wild score
//! bootstrap of each `--test`, against the independent numpy implementation's numbers
//! (`tests/numbers/wild_reference.json`, written by `tests/golden/scripts/wild.py`). Every case
//! has fewer than 12 clusters, so all 2^G Rademacher sign vectors are used: the p-value is a
//! count over the same draws and is compared exactly; the statistic and quantiles to 1e-6
//! relative (the numpy side's numerical information, about 1e-9). Bad input: exit 2, one
//! message, no output file.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The numpy side differentiates its gradient numerically for the information (about 1e-9
/// relative): 1e-6 leaves room for that.
const TOL: f64 = 1e-6;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn root(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn reference(name: &str) -> Value {
    let all: Value = serde_json::from_str(include_str!("../numbers/wild_reference.json")).unwrap();
    all["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone()
}

fn close(ours: f64, theirs: f64, what: &str) {
    assert!((ours - theirs).abs() <= TOL * theirs.abs().max(1e-12), "{what}: ours {ours:e} theirs {theirs:e}");
}

/// The JSON report of `migfit ARGS --format json`.
fn json(args: &[&str]) -> Value {
    let out = migfit().args(args).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Checks one report test's wild fields against a numpy case.
fn check(test: &Value, case: &str) {
    let c = reference(case);
    let w = &test["wild"];
    let g = w["clusters"].as_u64().unwrap();
    assert_eq!(w["method"], "score", "{case}");
    assert_eq!(w["weights"], "rademacher", "{case}");
    assert_eq!(w["enumerated"], true, "{case}: fewer than 12 clusters are enumerated");
    assert_eq!(w["reps"].as_u64().unwrap(), 1 << g, "{case}: all 2^G sign vectors");
    assert_eq!(w["reps"].as_u64().unwrap() as usize, c["draws"].as_array().unwrap().len(), "{case}");
    assert!(w.get("seed").is_none(), "{case}: an enumeration has no seed");
    close(w["statistic"].as_f64().unwrap(), c["statistic"].as_f64().unwrap(), &format!("{case}: statistic"));
    assert_eq!(w["p_value"].as_f64().unwrap(), c["p_value"].as_f64().unwrap(), "{case}: p-value");
    let qs = w["quantiles"].as_array().unwrap();
    let refs = c["quantiles"].as_array().unwrap();
    assert_eq!(qs.len(), refs.len());
    for (q, t) in qs.iter().zip(refs) {
        assert_eq!(q["p"].as_f64(), t[0].as_f64(), "{case}");
        close(q["value"].as_f64().unwrap(), t[1].as_f64().unwrap(), &format!("{case}: quantile {}", t[0]));
    }
}

#[test]
fn fit_wild_tests_match_numpy() {
    let mroz = root("examples/mroz/mroz.csv");
    let mroz = mroz.to_str().unwrap();
    let wp = root("tests/golden/probit_wagepan_cluster/data.csv");
    let wp = wp.to_str().unwrap();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "probit_mroz_unem_educ",
            &[
                mroz,
                "-m",
                "probit",
                "-f",
                "inlf ~ nwifeinc + educ + exper + age + kidslt6 + kidsge6",
                "--cluster",
                "unem",
            ],
            "educ = 0",
        ),
        (
            "logit_wagepan_year_joint",
            &[wp, "-m", "logit", "-f", "union ~ educ + exper + black + hisp + married", "--cluster", "year"],
            "black = 0, hisp = married",
        ),
        (
            "gamma_mroz_unem_exper",
            &[
                mroz,
                "-m",
                "glm",
                "--family",
                "gamma",
                "--link",
                "log",
                "-f",
                "wage ~ educ + exper + age + city",
                "--cluster",
                "unem",
            ],
            "exper = 0.02",
        ),
    ];
    for (case, args, hypothesis) in cases {
        let r = json(&[&["fit"], args, &["--test", hypothesis, "--wild-reps", "999"]].concat());
        let tests = r["models"][0]["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 1);
        // The Wald test itself is unchanged beside its bootstrap.
        assert_eq!(tests[0]["kind"], "chi2");
        check(&tests[0], case);
    }
    // `all` asks for the enumeration the default already gives: the same numbers.
    let args = [
        "fit",
        mroz,
        "-m",
        "probit",
        "-f",
        "inlf ~ nwifeinc + educ + exper + age + kidslt6 + kidsge6",
        "--cluster",
        "unem",
        "--test",
        "educ = 0",
    ];
    let a = json(&[&args[..], &["--wild-reps", "all"]].concat());
    let b = json(&[&args[..], &["--wild-reps", "5", "--wild-seed", "9"]].concat());
    assert_eq!(a["models"][0]["tests"], b["models"][0]["tests"]);
}

#[test]
fn twopart_wild_tests_per_part_match_numpy() {
    // Part 1 is the probit of inlf (= hours > 0 in mroz) on all rows, part 2 the gamma-log GLM
    // of wage on the rows with hours > 0: the numpy cases' models.
    let mroz = root("examples/mroz/mroz.csv");
    let r = json(&[
        "twopart",
        mroz.to_str().unwrap(),
        "-f",
        "hours ~ nwifeinc + educ + exper + age + kidslt6 + kidsge6",
        "--formula2",
        "~ educ + exper + age + city",
        "--response2",
        "wage",
        "--cluster",
        "unem",
        "--test",
        "educ = 0",
        "--test",
        "exper = 0.02",
        "--wild-reps",
        "999",
    ]);
    let part = |i: usize, label: &str| -> Value {
        r["models"][i]["tests"].as_array().unwrap().iter().find(|t| t["test"] == label).unwrap().clone()
    };
    check(&part(0, "educ = 0"), "probit_mroz_unem_educ");
    check(&part(1, "exper = 0.02"), "gamma_mroz_unem_exper");
    // Every test of each part carries its bootstrap.
    for m in r["models"].as_array().unwrap() {
        for t in m["tests"].as_array().unwrap() {
            assert!(t["wild"]["p_value"].is_f64(), "{t}");
        }
    }
}

#[test]
fn the_text_table_says_what_was_bootstrapped() {
    let mroz = root("examples/mroz/mroz.csv");
    let base = [
        "fit",
        mroz.to_str().unwrap(),
        "-m",
        "probit",
        "-f",
        "inlf ~ nwifeinc + educ + exper + age + kidslt6 + kidsge6",
        "--cluster",
        "unem",
        "--test",
        "educ = 0",
    ];
    let out = migfit().args(base).args(["--wild-reps", "999"]).output().unwrap();
    // The table wraps its notes: compare with the line breaks taken out.
    let text = String::from_utf8(out.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("Wild score bootstrap (null imposed; Rademacher weights, all 2^7 = 128 sign vectors of 7 clusters, a full enumeration (exact)): score statistic 4.806, p = 0.0156; 90/95/99% quantiles of the bootstrap statistics 2.431, 3.030, 4.806."),
        "{text}"
    );
    // Webb weights are sampled: the note gives the draws and the seed; the same seed gives
    // the same numbers.
    let webb = |seed: &str| {
        let out = migfit()
            .args(base)
            .args(["--wild-reps", "199", "--wild-weights", "webb", "--wild-seed", seed, "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["models"][0]["tests"][0]["wild"].clone()
    };
    let (a, b, c) = (webb("3"), webb("3"), webb("4"));
    assert_eq!(a, b);
    assert_ne!(a["p_value"].as_f64().map(|_| &a["quantiles"]), Some(&c["quantiles"]));
    assert_eq!((a["reps"].as_u64(), a["enumerated"].as_bool(), a["seed"].as_u64()), (Some(199), Some(false), Some(3)));
    // The statistic does not depend on the draws.
    close(a["statistic"].as_f64().unwrap(), reference("probit_mroz_unem_educ")["statistic"].as_f64().unwrap(), "webb");
}

fn fails(args: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let mroz = root("examples/mroz/mroz.csv");
    let mut a = migfit()
        .args(["fit", mroz.to_str().unwrap(), "-m", "probit", "-f", "inlf ~ educ + age + kidslt6"])
        .args(args)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2);
    for n in needles {
        a = a.stderr(predicate::str::contains(*n));
    }
    assert!(!out.exists(), "no partial output file: {}", Path::new(&out).display());
}

#[test]
fn bad_wild_options_are_usage_errors() {
    fails(&["--cluster", "unem", "--wild-reps", "99"], &["--wild-reps bootstraps the Wald tests", "--test"]);
    fails(&["--test", "educ = 0", "--wild-reps", "99"], &["one weight per cluster", "--cluster VAR"]);
    fails(&["--cluster", "unem", "--test", "educ = 0", "--wild-reps", "0"], &["at least 1", "not '0'"]);
    fails(&["--cluster", "unem", "--test", "educ = 0", "--wild-reps", "-5"], &["not '-5'"]);
    fails(&["--cluster", "unem", "--test", "educ = 0", "--wild-reps", "many"], &["not 'many'"]);
    fails(
        &["--cluster", "unem", "--test", "educ = 0", "--wild-reps", "all", "--wild-weights", "webb"],
        &["Webb weights are sampled, not enumerated"],
    );
    fails(
        &["--cluster", "unem", "--test", "educ = 0", "--wild-reps", "9", "--wild-weights", "mammen"],
        &["unknown wild bootstrap weights 'mammen'"],
    );
    fails(&["--cluster", "unem", "--test", "educ = 0", "--wild-weights", "webb"], &["give --wild-reps too"]);
    fails(&["--cluster", "unem", "--test", "educ = 0", "--wild-seed", "3"], &["give --wild-reps too"]);
    fails(&["--cluster", "unem", "--test", "educ = 0", "--wild-reps", "9", "--wild-seed", "-1"], &["non-negative"]);
    // 31 age clusters: too many to enumerate.
    fails(&["--cluster", "age", "--test", "educ = 0", "--wild-reps", "all"], &["fewer than 12 clusters; there are 31"]);
    fails(&["--cluster", "unem", "--test", "educ = 0", "--wild-reps", "9", "--firth"], &["Firth"]);
}

#[test]
fn batch_keys_reach_the_wild_bootstrap() {
    let dir = tempfile::tempdir().unwrap();
    let mroz = root("examples/mroz/mroz.csv");
    let spec = format!(
        r#"[data]
path = "{}"

[base]
command = "fit"
model = "probit"
formula = "inlf ~ nwifeinc + educ + exper + age + kidslt6 + kidsge6"
cluster = "unem"
test = "educ = 0"

[[axis]]
name = "wild"
values.count = {{ wild_reps = 999 }}
values.all = {{ wild-reps = "all", wild_weights = "rademacher" }}
values.webb = {{ wild_reps = 49, wild_weights = "webb", wild_seed = 5 }}

[[track]]
term = "educ"
"#,
        mroz.display()
    );
    let spec_path = dir.path().join("spec.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let out_dir = dir.path().join("out");
    let out = migfit().arg("batch").arg(&spec_path).arg("--out").arg(&out_dir).arg("-q").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let variant = |name: &str| -> Value {
        let p = out_dir.join("variants").join(format!("{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
    };
    for name in ["count", "all"] {
        check(&variant(name)["result"]["models"][0]["tests"][0], "probit_mroz_unem_educ");
    }
    let w = &variant("webb")["result"]["models"][0]["tests"][0]["wild"];
    assert_eq!((w["weights"].as_str(), w["reps"].as_u64(), w["seed"].as_u64()), (Some("webb"), Some(49), Some(5)));
    // A spec error names the key's line.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, std::fs::read_to_string(&spec_path).unwrap().replace("wild_reps = 999", "wild_reps = 0"))
        .unwrap();
    let out = migfit().arg("batch").arg(&bad).arg("--out").arg(dir.path().join("o2")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--wild-reps takes a number"));
}
