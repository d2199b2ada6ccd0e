//! Golden tests: migfit against reference numbers that follow Stata's conventions.
//!
//! Every directory `tests/golden/<case>/` holds `data.csv`, `case.json` (the command line
//! and tolerances) and `expected.json` (the reference numbers, 17 significant digits,
//! written by `tests/golden/scripts/generate.py`; see `tests/golden/README.md`). This test
//! runs the built binary on each case and compares every number in `expected.json` with
//! one relative-tolerance rule. All mismatches of all cases are collected and reported
//! together, so one run shows the whole picture.
//!
//! Needs only `serde_json` (dev-dependency) and std.

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Fewer cases than this means fixtures went missing.
const MIN_CASES: usize = 30;

/// Denominator floor of the relative error, so that an exact zero reference is compared
/// absolutely at `tol * TINY` instead of dividing by zero.
const TINY: f64 = 1e-300;

/// The one comparison rule: |ours - theirs| <= tol * max(|theirs|, TINY).
fn rel_close(ours: f64, theirs: f64, tol: f64) -> bool {
    ours.is_finite() && (ours - theirs).abs() <= tol * theirs.abs().max(TINY)
}

fn rel_err(ours: f64, theirs: f64) -> f64 {
    (ours - theirs).abs() / theirs.abs().max(TINY)
}

struct Tolerance {
    estimate: f64,
    std_error: f64,
    margin_estimate: f64,
    margin_std_error: f64,
    /// Test statistics, their p-values and linear combinations (`tests`, `model_test`,
    /// `lincom`): 1e-5, as effect SEs (they are smooth functions of the variance).
    test: f64,
    /// The log likelihood (default: the estimate tolerance; the convention cases ask 1e-8).
    log_likelihood: f64,
}

impl Tolerance {
    fn from_case(case: &Value) -> Tolerance {
        let t = &case["tolerance"];
        let get = |k: &str, default: f64| t.get(k).and_then(Value::as_f64).unwrap_or(default);
        Tolerance {
            estimate: get("estimate", 1e-6),
            std_error: get("std_error", 1e-6),
            margin_estimate: get("margin_estimate", 1e-6),
            margin_std_error: get("margin_std_error", 1e-5),
            test: get("test", 1e-5),
            log_likelihood: get("log_likelihood", get("estimate", 1e-6)),
        }
    }
}

/// Collects readable mismatch lines for one case.
struct Report<'a> {
    case: &'a str,
    lines: Vec<String>,
}

impl<'a> Report<'a> {
    fn fail(&mut self, place: &str, msg: String) {
        self.lines.push(format!("{} | {} | {}", self.case, place, msg));
    }

    fn number(&mut self, place: &str, field: &str, ours: Option<&Value>, theirs: &Value, tol: f64) {
        let theirs = match theirs.as_f64() {
            Some(x) => x,
            None => return self.fail(place, format!("{field}: expected.json holds no number")),
        };
        match ours.and_then(Value::as_f64) {
            None => self.fail(place, format!("{field}: ours missing or not a number ({ours:?}), theirs {theirs:.17e}")),
            Some(o) if !rel_close(o, theirs, tol) => self.fail(
                place,
                format!(
                    "{field}: ours {o:.17e} theirs {theirs:.17e} rel err {:.3e} > tol {tol:.0e}",
                    rel_err(o, theirs)
                ),
            ),
            Some(_) => {}
        }
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("golden")
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

fn find<'v>(list: Option<&'v Value>, key: &dyn Fn(&Value) -> bool) -> Option<&'v Value> {
    list.and_then(Value::as_array).and_then(|a| a.iter().find(|x| key(x)))
}

fn str_of<'v>(v: &'v Value, k: &str) -> &'v str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn compare_margins(r: &mut Report, place: &str, ours: Option<&Value>, theirs: &Value, tol: &Tolerance) {
    for e in theirs.as_array().into_iter().flatten() {
        let (term, contrast) = (str_of(e, "term"), str_of(e, "contrast"));
        let p = format!("{place} | margin {term} [{contrast}]");
        // At-grid effects (`--at`) are matched by their grid point too.
        let same = |x: &Value| {
            str_of(x, "term") == term && str_of(x, "contrast") == contrast && same_at(x.get("at"), e.get("at"))
        };
        match find(ours, &same) {
            None => r.fail(&p, "missing from our output".into()),
            Some(o) => {
                r.number(&p, "estimate", o.get("estimate"), &e["estimate"], tol.margin_estimate);
                r.number(&p, "std_error", o.get("std_error"), &e["std_error"], tol.margin_std_error);
                compare_inference(r, &p, o, e, tol.margin_std_error);
            }
        }
    }
}

/// The same grid point: the same variables with equal values (numbers compared as numbers).
fn same_at(a: Option<&Value>, b: Option<&Value>) -> bool {
    let empty = serde_json::Map::new();
    let (a, b) = (a.and_then(Value::as_object).unwrap_or(&empty), b.and_then(Value::as_object).unwrap_or(&empty));
    a.len() == b.len()
        && a.iter().all(|(k, v)| match (v.as_f64(), b.get(k)) {
            (Some(x), Some(w)) => w.as_f64() == Some(x),
            (None, Some(w)) => w == v,
            _ => false,
        })
}

/// Predictive margins or contrasts (`kind`), matched by term and grid point; every reference
/// row must be there and ours must have no extra rows.
fn compare_predictions(r: &mut Report, place: &str, kind: &str, ours: Option<&Value>, theirs: &Value, tol: &Tolerance) {
    let theirs = theirs.as_array().cloned().unwrap_or_default();
    let n_ours = ours.and_then(Value::as_array).map_or(0, Vec::len);
    if n_ours != theirs.len() {
        r.fail(place, format!("{kind}: ours has {n_ours} rows, the reference {}", theirs.len()));
    }
    for e in &theirs {
        let term = str_of(e, "term");
        let p = format!("{place} | {kind} {term} at {}", e.get("at").map_or(String::new(), Value::to_string));
        match find(ours, &|x| str_of(x, "term") == term && same_at(x.get("at"), e.get("at"))) {
            None => r.fail(&p, "missing from our output".into()),
            Some(o) => {
                r.number(&p, "estimate", o.get("estimate"), &e["estimate"], tol.margin_estimate);
                r.number(&p, "std_error", o.get("std_error"), &e["std_error"], tol.margin_std_error);
                compare_inference(r, &p, o, e, tol.margin_std_error);
            }
        }
    }
}

/// p-value, confidence limits and per-row degrees of freedom, where the reference gives them
/// (the survey cases: t with the design's degrees of freedom; CR2/CR3: Satterthwaite df). They inherit the SE's tolerance: they are smooth functions of
/// the estimate and its SE.
fn compare_inference(r: &mut Report, place: &str, ours: &Value, theirs: &Value, tol: f64) {
    // `df`: a row's own degrees of freedom (CR2/CR3's Satterthwaite df), a smooth function of
    // the data like the SE.
    for field in ["p_value", "conf_low", "conf_high", "df"] {
        if let Some(t) = theirs.get(field) {
            r.number(place, field, ours.get(field), t, tol);
        }
    }
}

fn compare_model(
    r: &mut Report,
    idx: usize,
    ours: Option<&Value>,
    theirs: &Value,
    tol: &Tolerance,
    loglik_check: bool,
) {
    let name = str_of(theirs, "name");
    let place = format!("model {idx} ({name})");
    let ours = match ours {
        Some(o) => o,
        None => return r.fail(&place, "model missing from our output".into()),
    };
    // Names are part of the contract only for twopart ("first", "second").
    if theirs.get("name").is_some() && str_of(ours, "name") != name {
        r.fail(&place, format!("name: ours {:?} theirs {name:?}", ours.get("name")));
    }
    if let Some(n) = theirs.get("n_obs").and_then(Value::as_f64) {
        // n_obs is a count: exact.
        if ours.get("n_obs").and_then(Value::as_f64) != Some(n) {
            r.fail(&place, format!("n_obs: ours {:?} theirs {n}", ours.get("n_obs")));
        }
    }
    if let Some(df) = theirs.get("df_r").and_then(Value::as_f64) {
        // Design degrees of freedom are a count: exact.
        if ours.get("df_r").and_then(Value::as_f64) != Some(df) {
            r.fail(&place, format!("df_r: ours {:?} theirs {df}", ours.get("df_r")));
        }
    }
    if loglik_check {
        if let Some(ll) = theirs.get("log_likelihood").and_then(Value::as_f64) {
            match ours.get("log_likelihood").and_then(Value::as_f64) {
                None => r.fail(&place, "log_likelihood missing".into()),
                Some(o) => {
                    // Both maximise the same likelihood: ours must not be lower ...
                    if o < ll - 1e-9 * ll.abs() {
                        r.fail(
                            &place,
                            format!("log_likelihood lower than the reference: ours {o:.17e} theirs {ll:.17e}"),
                        );
                    }
                    // ... and a much higher value means a different definition (e.g. a
                    // gamma log-likelihood not evaluated at phi = 1, as Stata reports it).
                    r.number(
                        &place,
                        "log_likelihood",
                        ours.get("log_likelihood"),
                        &theirs["log_likelihood"],
                        tol.log_likelihood,
                    );
                }
            }
        }
    }
    for e in theirs["coefficients"].as_array().into_iter().flatten() {
        let term = str_of(e, "term");
        let p = format!("{place} | coef {term}");
        match find(ours.get("coefficients"), &|x| str_of(x, "term") == term) {
            None => r.fail(&p, "missing from our output".into()),
            Some(o) => {
                r.number(&p, "estimate", o.get("estimate"), &e["estimate"], tol.estimate);
                r.number(&p, "std_error", o.get("std_error"), &e["std_error"], tol.std_error);
                compare_inference(r, &p, o, e, tol.std_error);
            }
        }
    }
    let terms = |v: Option<&Value>| -> BTreeSet<String> {
        v.and_then(Value::as_array).into_iter().flatten().map(|x| str_of(x, "term").to_string()).collect()
    };
    let (om_ours, om_theirs) = (terms(ours.get("omitted")), terms(theirs.get("omitted")));
    if om_ours != om_theirs {
        r.fail(&place, format!("omitted terms: ours {om_ours:?} theirs {om_theirs:?}"));
    }
    if let Some(m) = theirs.get("margins") {
        compare_margins(r, &place, ours.get("margins"), m, tol);
    }
    for kind in ["predictions", "contrasts"] {
        if let Some(m) = theirs.get(kind) {
            compare_predictions(r, &place, kind, ours.get(kind), m, tol);
        }
    }
    compare_tests(r, &place, ours, theirs, tol);
}

/// AIC, BIC (at the estimate tolerance: they are the log likelihood plus counts), the model
/// test, `tests[]` (matched by `test`) and `lincom[]` (by `term`), where the reference has them.
fn compare_tests(r: &mut Report, place: &str, ours: &Value, theirs: &Value, tol: &Tolerance) {
    for field in ["aic", "bic"] {
        if let Some(t) = theirs.get(field) {
            r.number(place, field, ours.get(field), t, tol.estimate);
        }
    }
    let test = |r: &mut Report, p: &str, o: &Value, e: &Value| {
        for field in ["statistic", "p_value"] {
            r.number(p, field, o.get(field), &e[field], tol.test);
        }
        // Degrees of freedom are counts: exact.
        for field in ["df", "df_denominator"] {
            if o.get(field).and_then(Value::as_f64) != e.get(field).and_then(Value::as_f64) {
                r.fail(p, format!("{field}: ours {:?} theirs {:?}", o.get(field), e.get(field)));
            }
        }
        // `on`: "margins" for a test of margins (--test-margins).
        for field in ["kind", "method", "on"] {
            if e.get(field).is_some() && o.get(field) != e.get(field) {
                r.fail(p, format!("{field}: ours {:?} theirs {:?}", o.get(field), e.get(field)));
            }
        }
    };
    if let Some(e) = theirs.get("model_test") {
        let p = format!("{place} | model_test");
        match ours.get("model_test") {
            None => r.fail(&p, "missing from our output".into()),
            Some(o) => test(r, &p, o, e),
        }
    }
    for e in theirs.get("tests").and_then(Value::as_array).into_iter().flatten() {
        let name = str_of(e, "test");
        let p = format!("{place} | test {name}");
        match find(ours.get("tests"), &|x| str_of(x, "test") == name) {
            None => r.fail(&p, "missing from our output".into()),
            Some(o) => test(r, &p, o, e),
        }
    }
    for e in theirs.get("lincom").and_then(Value::as_array).into_iter().flatten() {
        let term = str_of(e, "term");
        let p = format!("{place} | lincom {term}");
        match find(ours.get("lincom"), &|x| str_of(x, "term") == term) {
            None => r.fail(&p, "missing from our output".into()),
            Some(o) => {
                for field in ["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"] {
                    r.number(&p, field, o.get(field), &e[field], tol.test);
                }
                if e.get("on").is_some() && o.get("on") != e.get("on") {
                    r.fail(&p, format!("on: ours {:?} theirs {:?}", o.get("on"), e.get("on")));
                }
            }
        }
    }
}

fn run_case(dir: &Path, name: &str) -> Vec<String> {
    let case = read_json(&dir.join("case.json"));
    let expected = read_json(&dir.join("expected.json"));
    let tol = Tolerance::from_case(&case);
    let mut r = Report { case: name, lines: Vec::new() };

    let command = case["command"].as_str().expect("case.json: command");
    let args: Vec<&str> = case["args"]
        .as_array()
        .expect("case.json: args")
        .iter()
        .map(|a| a.as_str().expect("case.json: args are strings"))
        .collect();
    let data = dir.join("data.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_migfit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg(command)
        .arg(&data)
        .args(&args)
        .args(["--format", "json"])
        .output()
        .expect("failed to start the migfit binary");
    if !out.status.success() {
        r.fail(
            "run",
            format!(
                "exit status {:?}; stderr: {}",
                out.status.code(),
                // the message, not a whole backtrace
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" / ")
            ),
        );
        return r.lines;
    }
    let ours: Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            r.fail("run", format!("stdout is not JSON: {e}"));
            return r.lines;
        }
    };
    let loglik_check = case["loglik_check"].as_bool().unwrap_or(false);
    let models = expected["models"].as_array().expect("expected.json: models");
    let n_ours = ours["models"].as_array().map_or(0, Vec::len);
    if n_ours != models.len() {
        r.fail("models", format!("ours has {n_ours} models, expected {}", models.len()));
    }
    for (i, m) in models.iter().enumerate() {
        compare_model(&mut r, i, ours["models"].get(i), m, &tol, loglik_check);
    }
    // Tests across the models (`--by ... --test-equal`): the report's own `tests[]`.
    if expected.get("tests").is_some() {
        compare_tests(&mut r, "report", &ours, &expected, &tol);
    }
    if let Some(c) = expected.get("combined") {
        compare_tests(&mut r, "combined", &ours["combined"], c, &tol);
        if let Some(m) = c.get("margins") {
            compare_margins(&mut r, "combined", ours["combined"].get("margins"), m, &tol);
        }
        for kind in ["predictions", "contrasts"] {
            if let Some(m) = c.get(kind) {
                compare_predictions(&mut r, "combined", kind, ours["combined"].get(kind), m, &tol);
            }
        }
    }
    r.lines
}

#[test]
fn golden_cases_match_reference_numbers() {
    let root = golden_dir();
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for entry in fs::read_dir(&root).expect("tests/golden exists") {
        let path = entry.expect("readable directory entry").path();
        if !path.is_dir() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        // Mediation cases have their own shape and test (golden_mediation.rs).
        if name == "scripts" || name == "mediation" {
            continue;
        }
        // No orphan fixtures: a case directory holds exactly its three files.
        let mut files: Vec<String> =
            fs::read_dir(&path).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        files.sort();
        if files != ["case.json", "data.csv", "expected.json"] {
            problems.push(format!("{name} | fixture | expected case.json, data.csv, expected.json; found {files:?}"));
            continue;
        }
        cases.push((path, name));
    }
    cases.sort_by(|a, b| a.1.cmp(&b.1));
    assert!(
        cases.len() >= MIN_CASES,
        "found {} golden cases under {}, expected at least {MIN_CASES}",
        cases.len(),
        root.display()
    );
    let mut used = 0;
    for (dir, name) in &cases {
        problems.extend(run_case(dir, name));
        used += 1;
    }
    assert_eq!(used, cases.len(), "every golden case must be run");
    if !problems.is_empty() {
        let failed: BTreeSet<&str> = problems.iter().map(|l| l.split(" | ").next().unwrap()).collect();
        panic!(
            "{} mismatches in {} of {} golden cases (case | model | term | field: ours, theirs, rel err):\n{}",
            problems.len(),
            failed.len(),
            cases.len(),
            problems.join("\n")
        );
    }
}

#[test]
fn relative_tolerance_rule() {
    assert!(rel_close(1.0 + 5e-7, 1.0, 1e-6));
    assert!(!rel_close(1.0 + 2e-6, 1.0, 1e-6));
    assert!(rel_close(-2e-9, -2e-9 * (1.0 + 1e-7), 1e-6));
    assert!(!rel_close(f64::NAN, 1.0, 1e-6));
    assert!(rel_close(0.0, 0.0, 1e-6));
}
