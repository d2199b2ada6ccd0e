//! `migfit describe` against scipy (tests/fixtures/describe/make_describe.py).

use assert_cmd::Command;

fn rel_close(ours: f64, reference: &str, what: &str) {
    let r: f64 = reference.parse().unwrap();
    // Sums in a different order (numpy's pairwise summation) and a different incomplete-beta /
    // incomplete-gamma implementation (statrs vs scipy's cephes) agree to ~1e-14; 1e-11 leaves
    // room without hiding a wrong formula.
    let tol = 1e-11 * r.abs().max(1e-300);
    assert!((ours - r).abs() <= tol, "{what}: ours {ours:e}, scipy {r:e}, diff {:e}", (ours - r).abs());
}

#[test]
fn describe_matches_scipy() {
    let out = Command::cargo_bin("migfit")
        .unwrap()
        .args([
            "describe",
            "tests/fixtures/describe/data.csv",
            "--schema",
            "tests/fixtures/describe/schema.toml",
            "--by",
            "grp",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let exp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/fixtures/describe/expected.json").unwrap()).unwrap();

    let groups = ours["groups"].as_array().unwrap();
    let rows = ours["rows"].as_array().unwrap();
    let row = |var: &str, level: Option<&str>| {
        rows.iter()
            .find(|r| r["variable"] == var && r["level"].as_str() == level)
            .unwrap_or_else(|| panic!("no row {var} {level:?}"))
    };
    for (j, g) in ["total", "a", "b", "c"].iter().enumerate() {
        let e = &exp["columns"][g];
        assert_eq!(groups[j]["n"], e["n"], "N of {g}");
        let x = &row("x", None)["cells"][j];
        rel_close(x["mean"].as_f64().unwrap(), e["x_mean"].as_str().unwrap(), &format!("mean x {g}"));
        rel_close(x["sd"].as_f64().unwrap(), e["x_sd"].as_str().unwrap(), &format!("sd x {g}"));
        let b = &row("bin", None)["cells"][j];
        rel_close(b["pct"].as_f64().unwrap(), e["bin_pct"].as_str().unwrap(), &format!("pct bin {g}"));
        for (k, level) in ["k1", "k2", "k3", "k4"].iter().enumerate() {
            let c = &row("cat", Some(level))["cells"][j];
            rel_close(c["pct"].as_f64().unwrap(), e["cat_pct"][k].as_str().unwrap(), &format!("pct cat {level} {g}"));
        }
    }
    for (var, test) in [("cat", "chi2"), ("bin", "chi2"), ("x", "anova")] {
        let t = &row(var, None)["test"];
        assert_eq!(t["test"], test);
        rel_close(
            t["statistic"].as_f64().unwrap(),
            exp["tests"][var][0].as_str().unwrap(),
            &format!("{test} statistic {var}"),
        );
        rel_close(t["p_value"].as_f64().unwrap(), exp["tests"][var][1].as_str().unwrap(), &format!("{test} p {var}"));
    }
}

#[test]
fn describe_formats_render() {
    for format in ["text", "markdown", "csv", "json"] {
        let out = Command::cargo_bin("migfit")
            .unwrap()
            .args([
                "describe",
                "tests/fixtures/cmds2014_small.csv",
                "--schema",
                "data-schema/cmds2014.toml",
                "--by",
                "scheme_group",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("across_provinces") || text.contains("Across provinces"), "{format}:\n{text}");
    }
}

#[test]
fn describe_subsample_and_if() {
    let run = |extra: &[&str]| {
        let out = Command::cargo_bin("migfit")
            .unwrap()
            .args([
                "describe",
                "tests/fixtures/cmds2014_small.csv",
                "--schema",
                "data-schema/cmds2014.toml",
                "--vars",
                "age",
                "--format",
                "json",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["groups"][0]["n"].as_u64().unwrap()
    };
    let all = run(&[]);
    let ncms = run(&["--subsample", "ncms"]);
    let urban = run(&["--subsample", "urban"]);
    assert_eq!(all, ncms + urban);
    let young = run(&["--if", "age < 30"]);
    assert!(young < all);
    let out = Command::cargo_bin("migfit")
        .unwrap()
        .args([
            "describe",
            "tests/fixtures/cmds2014_small.csv",
            "--schema",
            "data-schema/cmds2014.toml",
            "--if",
            "scheme == \"NCSM\"",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a level"));
}
