//! `migfit fit` from the outside: bad inputs get one clear message and a non-zero exit code
//! (never 101, a panic), and no output file is left behind.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const GOOD: &str = "y,x,g\n1,0.5,a\n0,1.5,b\n1,2.0,a\n0,0.1,b\n1,1.1,c\n0,2.2,c\n1,0.3,a\n0,1.9,b\n1,1.2,b\n0,0.7,a\n";

/// Runs a failing command with `-o out.json` and checks the exit code, the message and that
/// no output file was written.
fn fails(args: &[&str], data: &str, code: i32, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", data);
    let out = dir.path().join("out.json");
    let mut cmd = migfit();
    cmd.arg("fit").arg(&file).args(args).arg("--format").arg("json").arg("-o").arg(&out);
    let mut assert = cmd.assert().code(code);
    for n in needles {
        assert = assert.stderr(predicate::str::contains(*n));
    }
    assert!(!out.exists(), "no partial output file");
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "only the input remains: {leftovers:?}");
}

#[test]
fn missing_file() {
    migfit()
        .args(["fit", "no/such/file.csv", "-f", "y ~ x", "-m", "probit"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read no/such/file.csv"));
}

#[test]
fn no_header() {
    fails(&["-f", "y ~ x", "-m", "probit"], "1,0.5\n0,1.5\n", 1, &["line 1", "header"]);
}

#[test]
fn empty_file() {
    fails(&["-f", "y ~ x", "-m", "probit"], "", 1, &["empty"]);
}

#[test]
fn ragged_rows() {
    fails(&["-f", "y ~ x", "-m", "probit"], "y,x\n1,0.5\n0\n1,2\n", 1, &["line 3", "has 1 fields", "header has 2"]);
}

#[test]
fn non_numeric_value_in_numeric_column() {
    fails(
        &["-f", "y ~ x", "-m", "probit"],
        "y,x\n1,0.5\n0,1.5\n1,abc\n0,2\n",
        1,
        &["column 'x'", "line 4", "'abc'", "C()"],
    );
}

#[test]
fn unknown_column_suggests_closest() {
    fails(&["-f", "y ~ x + g2", "-m", "probit"], GOOD, 2, &["unknown column 'g2'"]);
    fails(&["-f", "y ~ z", "-m", "probit"], "y,zz\n1,1\n0,2\n", 2, &["unknown column 'z'", "did you mean 'zz'"]);
}

#[test]
fn formula_syntax_error_points_at_character() {
    fails(&["-f", "y ~ x + * C(g)", "-m", "probit"], GOOD, 2, &["character 9", "        ^"]);
    fails(&["-f", "y ~ x + C(g", "-m", "probit"], GOOD, 2, &["expected ')'"]);
}

#[test]
fn constant_response() {
    fails(&["-f", "y ~ x", "-m", "probit"], "y,x\n1,1\n1,2\n1,3\n", 3, &["constant", "'y'"]);
    fails(&["-f", "y ~ x", "-m", "glm"], "y,x\n2,1\n2,2\n2,3\n", 3, &["constant"]);
}

#[test]
fn empty_sample_after_dropping() {
    fails(&["-f", "y ~ x", "-m", "probit"], "y,x\n1,NA\nNA,2\n", 3, &["estimation sample is empty", "2 rows read"]);
}

#[test]
fn text_column_needs_c() {
    fails(&["-f", "y ~ g", "-m", "probit"], GOOD, 1, &["column 'g'", "C()"]);
}

#[test]
fn gamma_needs_positive_response() {
    fails(
        &["-f", "y ~ x", "-m", "glm", "--family", "gamma", "--link", "log"],
        "y,x\n1,1\n0,2\n3,3\n-1,4\n2,5\n",
        3,
        &["strictly positive", "2 of 5", "lines 3, 5"],
    );
}

#[test]
fn bad_options() {
    fails(&["-f", "y ~ x", "-m", "tobit"], GOOD, 2, &["unknown model 'tobit'"]);
    fails(&["-f", "y ~ x", "-m", "glm", "--family", "weibull"], GOOD, 2, &["unknown family 'weibull'"]);
    fails(&["-f", "y ~ x", "-m", "probit", "--vce", "cluster"], GOOD, 2, &["vce cluster needs a cluster variable"]);
    fails(
        &["-f", "y ~ x", "-m", "probit", "--weights", "x", "--weight-type", "aweight"],
        GOOD,
        2,
        &["aweights are not allowed"],
    );
    fails(
        &["-f", "y ~ x", "-m", "probit", "--weights", "x", "--weight-type", "pweight", "--vce", "oim"],
        GOOD,
        2,
        &["pweights"],
    );
    fails(&["-f", "y ~ C(g, ref=zz)", "-m", "probit"], GOOD, 2, &["reference level 'zz'", "a, b, c"]);
}

#[test]
fn good_fit_writes_json_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", GOOD);
    let out = dir.path().join("out.json");
    migfit()
        .args(["fit", &file, "-f", "y ~ x + C(g)", "-m", "logit", "--format", "json", "-o"])
        .arg(&out)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["n_obs"], 10);
    let terms: Vec<&str> = m["coefficients"].as_array().unwrap().iter().map(|c| c["term"].as_str().unwrap()).collect();
    assert_eq!(terms, vec!["(Intercept)", "x", "C(g)[b]", "C(g)[c]"]);
    for f in ["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"] {
        assert!(m["coefficients"][1][f].is_f64(), "{f}");
    }
    assert!(m["vce"].as_str().unwrap().starts_with("OIM"));
}

#[test]
fn broken_pipe_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", GOOD);
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("migfit"))
        .args(["fit", &file, "-f", "y ~ x", "-m", "logit"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // close the read end at once
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_ne!(status.code(), Some(101), "panic: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Column projection (issue #5): `fit`/`twopart` load only the variables their models read; the
// report is the one of a full load, in every input format.

mod projection {
    use migfit::analysis::{Estimation, FitJob, Job, TwoPartJob};
    use migfit::data::source::DataSource as DataArgs;
    use migfit::design::{SampleOptions, WeightType};
    use migfit::formula::Formula;
    use migfit::margins::At;
    use migfit::model::{ModelKind, ModelSpec};

    fn data(path: &str, schema: bool, subsample: Option<&str>, if_expr: Option<&str>) -> DataArgs {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        DataArgs {
            data: root.join(path),
            delimiter: None,
            schema: schema.then(|| root.join("data-schema/cmds2014.toml")),
            subsample: subsample.map(str::to_string),
            if_expr: if_expr.map(str::to_string),
            encoding: None,
        }
    }

    fn est(cluster: Option<&str>, weights: Option<&str>) -> Estimation {
        Estimation {
            vce: None,
            convention: Default::default(),
            sample: SampleOptions {
                cluster: cluster.map(str::to_string),
                weights: weights.map(|w| (w.to_string(), WeightType::Probability)),
                ..Default::default()
            },
            level: 95.0,
            margins: Some(At::Average),
            post: Default::default(),
            survey: None,
            hypotheses: Default::default(),
            bootstrap: None,
        }
    }

    fn fit(formula: &str, kind: ModelKind, est: Estimation) -> Job {
        let spec = ModelSpec::new(kind, None, None).unwrap();
        Job::Fit(FitJob::new(Formula::parse(formula).unwrap(), spec, false, est).unwrap())
    }

    /// The report on the full dataset and on the projected one, as JSON.
    fn both(args: &DataArgs, job: &Job) -> (serde_json::Value, serde_json::Value, usize, usize) {
        let full = args.load().unwrap();
        let cols = job.variables().expect("the job's variables are known");
        let proj = args.load_columns(Some(cols)).unwrap();
        let a = serde_json::to_value(job.run(&full).unwrap()).unwrap();
        let b = serde_json::to_value(job.run(&proj).unwrap()).unwrap();
        (a, b, full.columns().len(), proj.columns().len())
    }

    #[test]
    fn schema_csv_dta_and_parquet_fit_as_the_full_load() {
        let job = fit("received ~ age2 + female + C(duration)", ModelKind::Probit, est(Some("city"), Some("weight")));
        for file in [
            "tests/fixtures/cmds2014_small.csv",
            "tests/fixtures/cmds2014_small.dta",
            "tests/fixtures/cmds2014_small.parquet",
        ] {
            // `--if` on a variable no model reads (province), and without a filter.
            for cond in [Some("province == 42 or hh_size > 3"), None] {
                let (a, b, n_full, n_proj) = both(&data(file, true, None, cond), &job);
                assert_eq!(a, b, "{file} --if {cond:?}");
                assert!(n_proj < n_full, "{file}: {n_proj} of {n_full} variables loaded");
            }
        }
    }

    #[test]
    fn schema_twopart_with_a_subsample_fits_as_the_full_load() {
        // y = 0 for about a third of the rows; x1, x2 and g are read, z and w are not (but --if reads w).
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("z,y,x1,g,x2,w\n");
        let mut s: u64 = 7;
        let mut r = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as f64 / (1u64 << 31) as f64
        };
        for i in 0..400 {
            let (x1, x2, u) = (r(), r(), r());
            let y = if u < 0.35 + 0.2 * x1 { 0.0 } else { (1.0 + x1 + 0.5 * x2 + r()).exp() };
            text.push_str(&format!("{},{y:.4},{x1:.4},{},{x2:.4},{}\n", r(), ["a", "b", "c"][i % 3], i % 5));
        }
        let path = dir.path().join("tp.csv");
        std::fs::write(&path, text).unwrap();
        let args = |cond: Option<&str>| DataArgs { data: path.clone(), ..data("x.csv", false, None, cond) };
        let job = Job::TwoPart(
            TwoPartJob::new(
                Formula::parse("y ~ x1 + C(g)").unwrap(),
                Some(Formula::parse_rhs("x1 + x2").unwrap()),
                Some("y".into()),
                ModelSpec::new(ModelKind::Probit, None, None).unwrap(),
                ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).unwrap(),
                false,
                est(None, None),
            )
            .unwrap(),
        );
        for cond in [Some("w != 2"), None] {
            let (a, b, n_full, n_proj) = both(&args(cond), &job);
            assert_eq!(a, b, "plain CSV two-part, --if {cond:?}");
            assert_eq!((n_full, n_proj), (6, 4 + usize::from(cond.is_some())));
        }
        let job = fit("received ~ age + female", ModelKind::Logit, est(None, None));
        let (a, b, ..) =
            both(&data("tests/fixtures/cmds2014_small.csv", true, Some("urban"), Some("married == 1")), &job);
        assert_eq!(a, b, "schema CSV with --subsample and --if");
    }

    #[test]
    fn plain_csv_dta_and_parquet_fit_as_the_full_load() {
        let job = fit(
            "received ~ C(scheme) + age + age_squared + female + C(education)",
            ModelKind::Probit,
            est(Some("city"), None),
        );
        let (a, b, n_full, n_proj) =
            both(&data("tests/fixtures/table3_small.csv", false, None, Some("has_job == 1")), &job);
        assert_eq!(a, b, "plain CSV");
        assert_eq!((n_full, n_proj), (18, 8), "only the formula's, the cluster's and --if's columns are parsed");
        let job = fit("q214 ~ q101c + q302a", ModelKind::Glm, est(None, None));
        for file in [
            "tests/fixtures/cmds2014_small.dta",
            "tests/fixtures/cmds2014_small.parquet",
            "tests/fixtures/cmds2014_small.csv",
        ] {
            let (a, b, _, n_proj) = both(&data(file, false, None, Some("q214 > 0 and q101b == 1")), &job);
            assert_eq!(a, b, "{file}");
            assert_eq!(n_proj, 4, "{file}");
        }
    }
}

#[test]
fn projected_fit_names_a_missing_or_unknown_column() {
    let dir = tempfile::tempdir().unwrap();
    // Plain CSV: a formula naming a column the file lacks gets the full-load message.
    fails(&["-f", "y ~ xx"], "y,abc,xxz\n1,2,3\n0,1,2\n", 2, &["unknown column 'xx'", "did you mean 'xxz'"]);
    // With a schema: a needed source column the file lacks is named, with the file.
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cmds2014_small.csv")).unwrap();
    let renamed = text.replacen("q101c", "q101cc", 1);
    let p = write(dir.path(), "cut.csv", &renamed);
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/data-schema/cmds2014.toml");
    let out = migfit()
        .args(["fit", &p, "--schema", schema, "-f", "received ~ age2 + female", "-m", "probit"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cut.csv") && err.contains("'q101c'") && err.contains("birth_year"), "{err}");
    // An `--if` on a column no model reads.
    let out = migfit()
        .args([
            "fit",
            &p,
            "--schema",
            schema,
            "-f",
            "received ~ female",
            "-m",
            "probit",
            "--if",
            "province == 42",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A plain CSV with CRLF line ends and a quoted line break (read by the precise reader): the
/// bad value is named at the line an editor shows.
#[test]
fn crlf_file_names_the_editor_line() {
    fails(
        &["-f", "y ~ x"],
        "y,x,g\r\n1,0.5,a\r\n0,1.5,b\r\n1,abc,a\r\n0,0.1,\"b\r\nc\"\r\n",
        1,
        &["line 4 has the value 'abc'"],
    );
}

/// Data from a pipe (`/dev/stdin`, `<(zcat x.csv.gz)`) is read once, by the loader: the table
/// note's SHA-256 is computed only for regular files, since a second reader of a pipe would
/// take part of the stream (the loader then saw a truncated, garbled file).
#[cfg(unix)]
#[test]
fn data_from_a_pipe_is_read_whole() {
    let mroz = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mroz/mroz.csv");
    let bytes = std::fs::read(&mroz).unwrap();
    let args = ["-f", "inlf ~ age + educ + kidslt6", "--model", "probit", "--format", "json"];
    let from_file = migfit().arg("fit").arg(&mroz).args(args).output().unwrap();
    let from_pipe = migfit().args(["fit", "/dev/stdin"]).args(args).write_stdin(bytes).output().unwrap();
    assert!(from_pipe.status.success(), "{}", String::from_utf8_lossy(&from_pipe.stderr));
    let coefs = |o: &std::process::Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v["models"][0]["n_obs"].clone(), v["models"][0]["coefficients"].clone())
    };
    assert_eq!(coefs(&from_pipe), coefs(&from_file));
}

#[test]
fn text_and_numeric_cluster_variables_give_the_same_standard_errors() {
    // The same 8 clusters as text labels (sorted as text: c1 < c10 < c2 < ...) and as numbers;
    // a missing label drops its row in both, and the cluster count says so.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("y,x,lab,num\n");
    let labels = ["c1", "c10", "c2", "c3", "c4", "c5", "c6", "c7"];
    for i in 0..64 {
        let x = ((i * 37) % 17) as f64 / 4.0;
        let y = u8::from((i * 13) % 7 < 3 + (i % 2));
        let c = (i * 5) % 8;
        let (lab, num) = if i == 9 { (String::new(), String::new()) } else { (labels[c].to_string(), c.to_string()) };
        text.push_str(&format!("{y},{x},{lab},{num}\n"));
    }
    let file = write(dir.path(), "d.csv", &text);
    let run = |cl: &str| -> serde_json::Value {
        let out = migfit()
            .args(["fit", &file, "-f", "y ~ x", "--model", "logit", "--cluster", cl, "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (a, b) = (run("lab"), run("num"));
    assert_eq!(a["models"][0]["n_clusters"], 8);
    assert_eq!(a["models"][0]["n_obs"], 63.0);
    for (ca, cb) in a["models"][0]["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["models"][0]["coefficients"].as_array().unwrap())
    {
        assert_eq!(ca["std_error"], cb["std_error"]);
    }
}

/// `migfit fit DATA -f FORMULA -m probit --format json` on `text`, parsed; the model's entry.
fn probit_json(text: &str, formula: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.csv", text);
    let out = migfit()
        .args(["fit", &file, "-f", formula, "-m", "probit", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    json["models"][0].clone()
}

/// Stata's perfect-prediction rule for binary models, case by case: an indicator one of whose
/// values occurs with one outcome only is dropped with the rows it predicts ("a != 0 predicts
/// success": `a` is 1 only where y is 1; "b == 0 predicts failure": `b` is 0 only where y is 0);
/// a column with a third value (`c` is 2 only where y is 0) is not an indicator and stays.
#[test]
fn perfect_predictors_are_dropped_as_stata_does() {
    let mut text = String::from("y,a,b,c,x\n");
    // 24 rows with a = 0, b = 1, varied y, c and x: the model is estimable without them.
    for i in 0..24 {
        let y = (i * 7 % 5 < 2) as u8;
        let c = if y == 0 && i % 4 == 0 { 2 } else { i % 2 };
        text.push_str(&format!("{y},0,1,{c},{}\n", (i * 37 % 23) as f64 / 10.0));
    }
    text.push_str("1,1,1,1,0.4\n1,1,1,0,1.3\n1,1,1,1,2.2\n"); // a = 1: y = 1 throughout
    text.push_str("0,0,0,0,0.9\n0,0,0,1,1.7\n"); // b = 0: y = 0 throughout
    let model = &probit_json(&text, "y ~ a + b + c + x");
    let notes = model["notes"].to_string();
    assert!(notes.contains("a != 0 predicts success perfectly; a dropped and 3 obs not used"), "{notes}");
    assert!(notes.contains("b == 0 predicts failure perfectly; b dropped and 2 obs not used"), "{notes}");
    assert!(!notes.contains("c != 0") && !notes.contains("c == 0"), "c is not an indicator: {notes}");
    assert_eq!(model["n_obs"].as_f64(), Some(24.0), "{model}");
    let terms: Vec<&str> =
        model["coefficients"].as_array().unwrap().iter().map(|c| c["term"].as_str().unwrap()).collect();
    assert_eq!(terms, ["(Intercept)", "c", "x"], "{model}");
}

/// The two checks in order: a collinear column is dropped first, and the perfect-prediction
/// rule then reads the right columns (the tally of `a` is that of `a`, whatever its position
/// among the columns left).
#[test]
fn collinear_column_then_perfect_predictor() {
    let mut text = String::from("y,x,x2,a\n");
    for i in 0..30 {
        let x = (i * 37 % 23) as f64 / 10.0;
        text.push_str(&format!("{},{x},{},0\n", (i * 7 % 5 < 2) as u8, 2.0 * x));
    }
    text.push_str("1,0.4,0.8,1\n1,1.3,2.6,1\n1,2.2,4.4,1\n");
    let model = &probit_json(&text, "y ~ x + x2 + a");
    let notes: Vec<&str> = model["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(
        notes,
        ["x2 omitted because of collinearity", "a != 0 predicts success perfectly; a dropped and 3 obs not used"],
        "{model}"
    );
    assert_eq!(model["n_obs"].as_f64(), Some(30.0), "{model}");
}

/// Few-cluster variances: CR2/CR3 need a cluster variable (usage, exit 2); a singleton
/// cluster that its own indicator fits exactly has a singular adjustment matrix, and the
/// jackknife cannot refit without it (estimation, exit 3, the cluster named).
#[test]
fn few_cluster_variances_refuse_what_they_cannot_compute() {
    fails(&["-f", "y ~ x", "-m", "probit", "--vce", "cr2"], GOOD, 2, &["vce cr2 needs a cluster variable"]);
    fails(&["-f", "y ~ x", "-m", "probit", "--vce", "cr3"], GOOD, 2, &["vce cr3 needs a cluster variable"]);
    fails(&["-f", "y ~ x", "-m", "probit", "--vce", "hc2", "--cluster", "g"], GOOD, 2, &["vce hc2 was given"]);
    let singleton = "y,x,d,g\n1.2,0.5,0,a\n2.1,1.5,0,a\n1.7,2.0,0,b\n0.9,0.1,0,b\n1.4,1.1,0,c\n2.6,2.2,0,c\n1.1,0.3,0,d\n2.0,1.9,0,d\n3.3,1.2,1,e\n";
    for vce in ["cr2", "cr3"] {
        fails(
            &["-f", "y ~ x + d", "-m", "glm", "--vce", vce, "--cluster", "g"],
            singleton,
            3,
            &[&format!("vce {vce}: the adjustment matrix of the cluster of 'g' at line 10 (1 row) is not invertible")],
        );
    }
    fails(
        &["-f", "y ~ x + d", "-m", "glm", "--vce", "jackknife", "--cluster", "g"],
        singleton,
        3,
        &["the fit without the cluster of 'g' at line 10 (1 row) does not converge"],
    );
}
