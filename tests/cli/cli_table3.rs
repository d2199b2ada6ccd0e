//! The reference study's Table 3 (Wang et al. 2022, BMJ Open 12:e060551, CC BY 4.0; the
//! published layout is in tests/fixtures/wang2022_table3.csv) reproduced from the command line
//! on a small synthetic extract (tests/fixtures/table3_small.csv, made by
//! scripts/make_table3_fixture.py): three models side by side (probit | GLM amount | GLM
//! ratio), marginal effects, one block per regressor, factor blocks headed by their reference
//! level, the published order of blocks, N per column.
//!
//! Without a schema the levels of a factor come in sorted order, so within a block the rows are
//! compared as a set; with the schema branch the schema's order and labels apply.

use assert_cmd::Command;
use std::collections::BTreeSet;

const RHS: &str = "C(scheme, ref=NCMS) + age + age_squared + female + married \
    + C(education, ref=primary_or_below) + C(income_quintile, ref=q1) + has_job + rural_hukou \
    + urban_area + C(scope, ref=across_counties_within_city) + C(reason, ref=seeking_jobs) \
    + C(duration, ref=under_1_year) + C(facility, ref=primary_care_facility)";

/// Blocks of the fixture that are factors (the others are numeric: age, and 0/1 indicators).
const FACTORS: [&str; 7] = ["scheme", "education", "income_quintile", "scope", "reason", "duration", "facility"];

fn run(out: &std::path::Path) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/table3_small.csv");
    Command::cargo_bin("migfit")
        .unwrap()
        .args(["fit", fixture, "--margins", "--layout", "side", "--vce", "robust"])
        .args(["-f", &format!("received ~ {RHS}"), "-m", "probit"])
        .args(["-f", &format!("log(amount) ~ {RHS}"), "-m", "glm"])
        .args(["-f", &format!("ratio ~ {RHS}"), "-m", "glm"])
        .args(["--family", "gamma", "--link", "log"])
        .args(["--title", "Probit", "--title", "GLM amount", "--title", "GLM ratio"])
        .arg("-o")
        .arg(out)
        .assert()
        .success();
}

/// (block header or variable, rows) in the published order.
fn published() -> Vec<(String, BTreeSet<String>)> {
    let mut r =
        csv::Reader::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wang2022_table3.csv")).unwrap();
    let mut out: Vec<(String, BTreeSet<String>)> = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let (block, term, reference) = (&rec[0], &rec[1], &rec[2]);
        if block == "n" {
            continue;
        }
        let key = if FACTORS.contains(&block) {
            format!("{block} (ref. {reference})")
        } else {
            // A numeric regressor (age, age squared, 0/1 indicators): a row without a header.
            term.to_string()
        };
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => {
                rows.insert(term.to_string());
            }
            None => out.push((key, BTreeSet::from([term.to_string()]))),
        }
    }
    out
}

#[test]
fn table3_layout_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv_out = dir.path().join("table3.csv");
    run(&csv_out);
    // The tidy CSV: one line per column x term, with the block each row sits in.
    let mut r = csv::Reader::from_path(&csv_out).unwrap();
    let mut ours: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut per_column: Vec<BTreeSet<(String, String)>> = vec![BTreeSet::new(); 3];
    let mut n_obs = vec![String::new(); 3];
    for rec in r.records() {
        let rec = rec.unwrap();
        let col: usize = rec[0].parse().unwrap();
        let (block, label) = (rec[3].to_string(), rec[5].to_string());
        n_obs[col - 1] = rec[14].to_string();
        per_column[col - 1].insert((block.clone(), label.clone()));
        match ours.iter_mut().find(|(k, _)| *k == block) {
            Some((_, rows)) => {
                rows.insert(label);
            }
            None => ours.push((block, BTreeSet::from([label]))),
        }
    }
    let expected = published();
    assert_eq!(ours, expected, "blocks, reference headers and rows in the published order");
    // Every column has every row (the same regressors in the three models).
    for c in &per_column {
        assert_eq!(c, &per_column[0]);
    }
    // Probit on everyone, the GLMs on the recipients with usable amounts.
    assert_eq!(n_obs[0], "900");
    assert_eq!(n_obs[1], n_obs[2]);
    assert!(n_obs[1].parse::<u32>().unwrap() < 600);

    // The Markdown table: columns titled as in the paper, ME and SE side by side.
    let md_out = dir.path().join("table3.md");
    run(&md_out);
    let md = std::fs::read_to_string(&md_out).unwrap();
    let head = md.lines().next().unwrap();
    assert_eq!(head, "| Variable | Probit: ME | SE | GLM amount: ME | SE | GLM ratio: ME | SE |");
    assert!(md.contains("| **scheme (ref. NCMS)** |"), "{md}");
    assert!(md.contains("| **facility (ref. primary\\_care\\_facility)** |"), "{md}");
    assert!(md.lines().any(|l| l.starts_with("| *N* | 900 |")), "{md}");
    assert!(md.contains("\\*\\* p<0.01, \\* p<0.05"), "{md}");
    assert!(md.contains("SHA-256 "), "{md}");
}
