//! `--margins-vce delta|unconditional` (Stata's margins `vce(delta)` / `vce(unconditional)`)
//! from the outside: refused (exit 2, no output file) where Stata does not define it or migfit
//! does not compute it; the default is unchanged; robust is the design with each row its own
//! PSU; the batch key gives the CLI's numbers. The numbers are checked against R's survey
//! package in the golden cases `tests/golden/uc_*` (`tests/golden/scripts/unconditional.R`).

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

/// y (0 or a positive amount), x, a 3-level factor g, row id r, stratum h, psu p, cluster c,
/// weight w.
fn data() -> String {
    let mut s = String::from("y,x,g,r,h,p,c,w\n");
    let mut u: u64 = 11;
    let mut next = || {
        u = u.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (u >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..300 {
        let h = i % 3;
        let p = (i / 3) % 4;
        let g = (i / 7) % 3;
        let x = next() * 4.0 - 2.0;
        let z = 0.5 * x + 0.4 * g as f64 - 0.3 + (next() - 0.5) * 2.5;
        let y = if z > 0.0 { next() * 10.0 + 0.5 } else { 0.0 };
        let w = 1.0 + next() * 3.0;
        s.push_str(&format!("{y},{x},{g},{i},{h},{p},{},{w}\n", i % 25));
    }
    s
}

fn write(dir: &Path, text: &str) -> String {
    let p = dir.join("d.csv");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn fails(cmd: &str, args: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &data());
    let out = dir.path().join("out.json");
    let mut a = migfit().args([cmd, &file]).args(args).arg("-o").arg(&out).assert().code(2);
    for n in needles {
        a = a.stderr(predicate::str::contains(*n));
    }
    assert!(!out.exists(), "no partial output file");
}

fn json(cmd: &str, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &data());
    let out = migfit().args([cmd, &file]).args(args).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

const PROBIT: [&str; 6] = ["-f", "I(y > 0) ~ x + C(g)", "-m", "probit", "--predict-margins", "g"];

fn ses(v: &Value, key: &str) -> Vec<f64> {
    v["models"][0][key].as_array().unwrap().iter().map(|m| m["std_error"].as_f64().unwrap()).collect()
}

#[test]
fn refused_where_not_defined() {
    let uc = ["--margins-vce", "unconditional"];
    let with = |more: &[&'static str]| [&PROBIT[..], &uc[..], more].concat();
    // OIM (no weights, no clusters): Stata allows vce(unconditional) after robust, cluster, svy.
    fails("fit", &with(&[]), &["--margins-vce unconditional needs a robust, cluster or survey", "vce oim"]);
    for vce in ["oim", "eim", "hc3", "jackknife", "bootstrap"] {
        fails("fit", &with(&["--vce", vce]), &["--margins-vce unconditional needs", &format!("vce {vce}")]);
    }
    fails("fit", &with(&["--vce", "robust", "--weights", "w", "--weight-type", "fweight"]), &["not fweight weights"]);
    fails("fit", &with(&["--vce", "robust", "--weights", "w", "--weight-type", "aweight"]), &["not aweight weights"]);
    fails("fit", &with(&["--vce", "robust", "--margins-at", "means"]), &["effects at the means"]);
    fails("fit", &with(&["--vce", "robust", "--by", "h"]), &["--by"]);
    fails("fit", &with(&["--vce", "robust", "--convention", "r"]), &["--convention"]);
    fails("twopart", &["-f", "y ~ x", "--margins-vce", "unconditional"], &["vce oim"]);
    fails(
        "fit",
        &[&PROBIT[..], &["--vce", "robust", "--margins-vce", "conditional"]].concat(),
        &["unknown --margins-vce 'conditional' (expected delta or unconditional)"],
    );
}

#[test]
fn delta_is_the_default_and_unconditional_differs() {
    let base = [&PROBIT[..], &["--strata", "h", "--psu", "p", "--weights", "w", "--weight-type", "pweight"]].concat();
    let default = json("fit", &[&base[..], &["--margins"]].concat());
    let delta = json("fit", &[&base[..], &["--margins", "--margins-vce", "delta"]].concat());
    let unc = json("fit", &[&base[..], &["--margins", "--margins-vce", "unconditional"]].concat());
    assert_eq!(default["models"], delta["models"]);
    for key in ["predictions", "margins"] {
        let (a, b) = (ses(&delta, key), ses(&unc, key));
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.is_finite() && y.is_finite() && (x - y).abs() > 1e-9 * x),
            "{a:?} {b:?}"
        );
    }
    let d = unc["models"][0]["margins_description"].as_str().unwrap();
    assert!(d.contains("unconditional (linearized over the design: PSU totals"), "{d}");
}

/// With `--vce robust` the units are the rows with N/(N-1): the survey design with each row its
/// own PSU and one stratum (n/(n-1)) gives the same standard errors.
#[test]
fn robust_is_the_design_of_rows() {
    let w = ["--weights", "w", "--weight-type", "pweight", "--margins", "--margins-vce", "unconditional"];
    let robust = json("fit", &[&PROBIT[..], &w[..], &["--vce", "robust"]].concat());
    let design = json("fit", &[&PROBIT[..], &w[..], &["--psu", "r"]].concat());
    for key in ["predictions", "margins"] {
        for (a, b) in ses(&robust, key).iter().zip(ses(&design, key)) {
            assert!((a / b - 1.0).abs() < 1e-10, "{key}: {a} vs {b}");
        }
    }
}

/// A two-part model with clusters: the combined E[y] margins stack both parts' influence
/// functions over the first part's clusters; a test of margins reads the same covariance as
/// the contrasts.
#[test]
fn twopart_clusters_and_tests_of_margins() {
    let args = [
        "-f",
        "y ~ x + C(g)",
        "--cluster",
        "c",
        "--predict-margins",
        "g",
        "--contrast",
        "g:pairwise",
        "--margins-vce",
        "unconditional",
        "--lincom-margins",
        "g[2] - g[1]",
    ];
    let v = json("twopart", &args);
    let c = &v["combined"];
    let vce = c["vce"].as_str().unwrap();
    assert!(vce.contains("unconditional (linearized over the design: cluster totals, factor G/(G-1)"), "{vce}");
    let contrast = c["contrasts"].as_array().unwrap().iter().find(|x| x["term"] == "C(g)[2] - C(g)[1]").unwrap();
    let lincom = c["lincom"].as_array().unwrap().iter().find(|x| x["term"] == "g[2] - g[1]").unwrap();
    let (a, b) = (contrast["std_error"].as_f64().unwrap(), lincom["std_error"].as_f64().unwrap());
    assert!((a / b - 1.0).abs() < 1e-12, "{a} vs {b}");
    let delta = json("twopart", &args[..args.len() - 4]);
    let d = delta["combined"]["contrasts"].as_array().unwrap().iter().find(|x| x["term"] == "C(g)[2] - C(g)[1]");
    assert!((d.unwrap()["std_error"].as_f64().unwrap() - a).abs() > 1e-9 * a);
}

/// The batch key `margins_vce` gives the CLI's numbers.
#[test]
fn batch_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &data());
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        format!(
            "[data]\npath = {file:?}\n\n[base]\ncommand = \"fit\"\nformula = \"I(y > 0) ~ x + C(g)\"\nmodel = \"probit\"\nvce = \"robust\"\nmargins = true\n\n[[axis]]\nname = \"mv\"\nvalues.unc = {{ margins_vce = \"unconditional\" }}\n\n[[track]]\nterm = \"x\"\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    migfit().arg("batch").arg(&spec).arg("--out").arg(&out).arg("-q").assert().code(0);
    let name = std::fs::read_dir(out.join("variants")).unwrap().next().unwrap().unwrap().path();
    let b: Value = serde_json::from_str(&std::fs::read_to_string(name).unwrap()).unwrap();
    let cli = json(
        "fit",
        &[
            "-f",
            "I(y > 0) ~ x + C(g)",
            "-m",
            "probit",
            "--vce",
            "robust",
            "--margins",
            "--margins-vce",
            "unconditional",
        ],
    );
    assert_eq!(b["result"]["models"][0]["margins"], cli["models"][0]["margins"]);
}
