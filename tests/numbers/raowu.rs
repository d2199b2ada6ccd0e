//! The Rao-Wu rescaling bootstrap of a survey design (`--vce bootstrap` with strata and PSUs)
//! against R's survey package on the same draws (`tests/golden/scripts/raowu.R`, numbers in
//! `tests/reference/raowu_survey/expected.json`): R refits every replicate with `svyglm` on
//! `svrepdesign(type = "bootstrap", repweights = <the multipliers --save-weights wrote>,
//! scale = 1/(R-1))`. Checked: each replicate's estimates (migfit's `--save-reps`), the full
//! estimates, the replicate covariance and the bootstrap SEs; and the rescaling rule itself
//! (per stratum n_h - 1 PSUs drawn with replacement, multiplier count x n_h / (n_h - 1), as R's
//! `survey:::subbootstratum`), here on migfit's multipliers and in the script on both sides'.

use assert_cmd::Command;
use migfit::data::csv::{read_csv, CsvOptions};
use migfit::data::ColumnData;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const TOL: f64 = 1e-6;

struct Case {
    name: &'static str,
    data: &'static str,
    args: &'static [&'static str],
    strata: &'static str,
    psu: Option<&'static str>,
}

const CASES: [Case; 2] = [
    Case {
        name: "nhanes_logit",
        data: "tests/golden/svy_logit_nhanes/data.csv",
        args: &[
            "-m",
            "logit",
            "-f",
            "hi_chol ~ C(race) + C(agecat) + female",
            "--strata",
            "stratum",
            "--psu",
            "psu",
            "--weights",
            "wt",
            "--weight-type",
            "pweight",
            "--vce",
            "bootstrap",
            "--reps",
            "40",
            "--seed",
            "20261206",
        ],
        strata: "stratum",
        psu: Some("psu"),
    },
    Case {
        name: "apistrat_gamma",
        data: "tests/golden/svy_gamma_apistrat/data.csv",
        args: &[
            "-m",
            "glm",
            "--family",
            "gamma",
            "--link",
            "log",
            "-f",
            "api00 ~ ell + meals + mobility",
            "--strata",
            "stype",
            "--weights",
            "pw",
            "--weight-type",
            "pweight",
            "--vce",
            "bootstrap",
            "--reps",
            "40",
            "--seed",
            "7",
        ],
        strata: "stype",
        psu: None,
    },
];

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path).unwrap().lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// A column's values as text keys (strata and PSU labels).
fn keys(ds: &migfit::data::Dataset, name: &str) -> Vec<String> {
    match &ds.column(name).unwrap().data {
        ColumnData::Numeric(v) => v.iter().map(|x| x.to_string()).collect(),
        ColumnData::Text(t) => t.iter().map(|x| x.clone().unwrap()).collect(),
        ColumnData::Categorical(f) => f.codes.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn rao_wu_replicates_match_r_survey_on_the_same_draws() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string("tests/reference/raowu_survey/expected.json").unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for case in CASES {
        let e = expected["cases"].as_array().unwrap().iter().find(|c| c["name"] == case.name).unwrap();
        assert_eq!(e["rule_migfit"], true, "{}: the script found migfit's multipliers follow the rule", case.name);
        assert_eq!(e["rule_r_subbootstrap"], true, "{}: and R's own subbootstrap weights", case.name);
        let (reps_csv, weights_csv) =
            (dir.path().join(format!("{}-reps.csv", case.name)), dir.path().join(format!("{}-w.csv", case.name)));
        let out = Command::cargo_bin("migfit")
            .unwrap()
            .arg("fit")
            .arg(case.data)
            .args(case.args)
            .arg("--save-reps")
            .arg(&reps_csv)
            .arg("--save-weights")
            .arg(&weights_csv)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let coefs = report["models"][0]["coefficients"].as_array().unwrap();

        // The rescaling rule on migfit's multipliers: constant within a PSU, count x n_h/(n_h-1)
        // with whole counts summing to n_h - 1 draws in every stratum and replicate.
        let ds = read_csv(Path::new(case.data), &CsvOptions::default()).unwrap();
        let strata = keys(&ds, case.strata);
        let psu = case.psu.map(|p| keys(&ds, p));
        let w = csv_rows(&weights_csv);
        let reps = w[0].len() - 1;
        assert_eq!(reps, 40);
        for r in 1..=reps {
            // stratum -> psu -> multiplier
            let mut by: BTreeMap<&str, BTreeMap<String, f64>> = BTreeMap::new();
            for row in &w {
                let i = row[0].parse::<usize>().unwrap() - 2;
                let p = psu.as_ref().map_or(i.to_string(), |p| p[i].clone());
                let m: f64 = row[r].parse().unwrap();
                let old = by.entry(strata[i].as_str()).or_default().insert(p, m);
                assert!(old.is_none_or(|o| o == m), "{}: replicate {r}: a PSU's rows share one multiplier", case.name);
            }
            for (h, psus) in &by {
                let nh = psus.len() as f64;
                let mut draws = 0.0;
                for m in psus.values() {
                    let count = m * (nh - 1.0) / nh;
                    assert!((count - count.round()).abs() < 1e-9 && count >= 0.0, "{}: stratum {h}: {m}", case.name);
                    draws += count.round();
                }
                assert_eq!(draws, nh - 1.0, "{}: stratum {h}, replicate {r}: n_h - 1 draws", case.name);
            }
        }

        // Every replicate's estimates. A replicate estimate near zero (a small coefficient such
        // as mobility's, 1e-5 against its bootstrap SE of 8e-4) shows R's IRLS stopping rule (a
        // relative deviance change of 1e-15: estimates to about 1e-9 absolute): replicates
        // are compared on the scale of the larger of the value and the coefficient's SE.
        let theirs: Vec<Vec<f64>> = e["replicate_estimates"].as_array().unwrap().iter().map(floats).collect();
        let se = floats(&e["std_error"]);
        let ours = csv_rows(&reps_csv);
        assert_eq!(ours.len(), theirs.len());
        for (r, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(o[1], "ok");
            let o: Vec<f64> = o[2..].iter().map(|x| x.parse().unwrap()).collect();
            assert_eq!(o.len(), t.len());
            for j in 0..o.len() {
                let scale = t[j].abs().max(se[j]);
                assert!(
                    (o[j] - t[j]).abs() <= TOL * scale,
                    "{}: replicate {} coefficient {j}: ours {:e} R {:e}",
                    case.name,
                    r + 1,
                    o[j],
                    t[j]
                );
            }
        }
        // The full estimates and the bootstrap SEs.
        for (j, (c, t)) in coefs.iter().zip(floats(&e["estimate"])).enumerate() {
            let b = c["estimate"].as_f64().unwrap();
            assert!((b - t).abs() <= TOL * t.abs().max(se[j]), "{}: estimate {j}: {b:e} vs {t:e}", case.name);
            let s = c["std_error"].as_f64().unwrap();
            assert!((s - se[j]).abs() <= TOL * se[j], "{}: SE {j}: ours {s:e} R {:e}", case.name, se[j]);
        }
        // The covariance 1/(R-1) sum (b_r - bbar)(b_r - bbar)' of the replicates migfit saved,
        // against vcov(svyglm) (scale 1/(R-1), rscales 1, mse = FALSE).
        let k = se.len();
        let b: Vec<Vec<f64>> = ours.iter().map(|o| o[2..].iter().map(|x| x.parse().unwrap()).collect()).collect();
        let n = b.len() as f64;
        let mean: Vec<f64> = (0..k).map(|j| b.iter().map(|x| x[j]).sum::<f64>() / n).collect();
        let cov = e["covariance"].as_array().unwrap();
        for i in 0..k {
            let row = floats(&cov[i]);
            for j in 0..k {
                let v = b.iter().map(|x| (x[i] - mean[i]) * (x[j] - mean[j])).sum::<f64>() / (n - 1.0);
                assert!(
                    (v - row[j]).abs() <= TOL * se[i] * se[j],
                    "{}: cov[{i},{j}]: {v:e} vs {:e}",
                    case.name,
                    row[j]
                );
            }
        }
    }
}
