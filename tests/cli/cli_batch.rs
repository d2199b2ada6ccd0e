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
    let cases: [(&str, &str); 14] = [
        ("\n[[axis]]\nname = \"t\"\nvalues.a = { trim = \"hours\" }\n", "trim takes VAR:QUANTILE"),
        ("\n[[axis]]\nname = \"t2\"\nvalues.a = { trim = \"hours:1.5\" }\n", "trim takes VAR:QUANTILE"),
        ("\n[[axis]]\nname = \"c\"\nvalues.a = { if = \"hours > \" }\n", "condition \"hours > \""),
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
        (
            "\n[[track]]\nterm = \"educ\"\nstatistic = \"nei\"\n",
            "statistic 'nei' (expected margin or coef; for a mediate variant also",
        ),
        ("\n[[track]]\nterm = \"educ\"\npart = \"mediaton\"\n", "part 'mediaton' (expected model"),
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

// ---------------------------------------------------------------------------------------------
// One options model (issue #16): every `fit` / `twopart` option has a spec key, and a batch
// variant is exactly the command line it describes.

/// Options of a single run that a batch spec cannot take, each with the reason.
const CLI_ONLY: &[(&str, &str)] = &[
    ("output", "a batch writes into its --out folder: each variant's table is variants/NAME.EXT"),
    ("help", "prints the usage"),
];

/// Data options: in a spec they are keys of `[data]`, shared by every variant (the data are
/// read once per run).
const DATA_KEYS: &[&str] = &["schema", "delimiter", "encoding"];

/// The `--long` flags of `migfit COMMAND --help`.
fn long_flags(command: &str) -> Vec<String> {
    let out = Command::cargo_bin("migfit").unwrap().args([command, "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let mut flags = Vec::new();
    for line in help.lines() {
        let t = line.trim_start();
        let t = if t.starts_with('-') && !t.starts_with("--") { t.split_once(", ").map_or("", |x| x.1) } else { t };
        if let Some(rest) = t.strip_prefix("--") {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            if !name.is_empty() && !flags.contains(&name) {
                flags.push(name);
            }
        }
    }
    flags
}

/// Whether a spec accepts `key` with some value (a string, a number, a boolean, a list) in
/// `[base]` (`data = false`) or in `[data]`.
fn spec_takes(key: &str, data: bool) -> bool {
    use migfit::batch::spec::{expand, parse, Source};
    ["\"1\"", "1", "true", "[\"1\"]"].iter().any(|value| {
        let formula = if key == "formula" { "" } else { "formula = \"y ~ x\"\n" };
        let text = if data {
            format!("[data]\npath = \"x.csv\"\n{key} = {value}\n[base]\n{formula}")
        } else {
            format!("[data]\npath = \"x.csv\"\n[base]\n{formula}{key} = {value}\n")
        };
        let src = Source { name: "spec.toml", text: &text };
        parse(&src).and_then(|s| expand(&s, &src)).is_ok()
    })
}

#[test]
fn every_fit_and_twopart_option_has_a_spec_key() {
    let mut missing = Vec::new();
    let mut seen = 0;
    for command in ["fit", "twopart", "mediate"] {
        let flags = long_flags(command);
        assert!(flags.len() > 30, "{command}: {flags:?}");
        for flag in flags {
            seen += 1;
            if CLI_ONLY.iter().any(|(f, _)| *f == flag) {
                continue;
            }
            let ok =
                if DATA_KEYS.contains(&flag.as_str()) { spec_takes(&flag, true) } else { spec_takes(&flag, false) };
            if !ok {
                missing.push(format!("{command} --{flag}"));
            }
        }
    }
    assert!(seen > 60);
    assert!(missing.is_empty(), "options with no batch-spec key: {missing:?}");
    // The check can fail: a name no spec takes is caught.
    assert!(!spec_takes("no-such-option", false) && !spec_takes("formula", true));
}

/// A variant's table (`format` and the table options) is the file the command line writes,
/// byte for byte, for the options batch specs could not say before (svy, keep-going, or, ...).
#[test]
fn a_variant_is_the_command_line_it_describes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("examples/wang2022/extract.csv");
    let schema = root.join("data-schema/cmds2014.toml");
    let d = tempfile::tempdir().unwrap();
    let body = format!(
        r#"
[data]
path = "{}"
schema = "{}"

[base]
command = "fit"
model = "probit"
formula = "received ~ scope + age + female"
format = "json"

[[axis]]
name = "v"
values.svy = {{ svy = true, keep-going = true }}
values.tp = {{ command = "twopart", formula = "reimb_amount ~ scope + age + female", svy = true, max-iter = 50, subpop = "age > 30" }}
values.or = {{ model = "logit", or = true, margins = false, format = "md", digits = 2, title = "Logit", stars = "0.1,0.05,0.01", if = "age < 50" }}
values.multi = {{ model = ["probit", "logit"], formula = ["received ~ age", "received ~ age + female"], format = "latex", latex_standalone = true, vce = "robust", level = 90 }}

[[track]]
term = "age"
part = "first"
"#,
        data.display(),
        schema.display()
    );
    let s = d.path().join("spec.toml");
    std::fs::write(&s, body).unwrap();
    batch(&s, &d.path().join("out"), &["-q"]).code(0);
    let x = data.display().to_string();
    let sc = schema.display().to_string();
    let cases: [(&str, Vec<&str>); 4] = [
        (
            "svy.report.json",
            vec![
                "fit",
                "-m",
                "probit",
                "-f",
                "received ~ scope + age + female",
                "--svy",
                "--keep-going",
                "--margins",
                "--format",
                "json",
            ],
        ),
        (
            "tp.report.json",
            vec![
                "twopart",
                "-f",
                "reimb_amount ~ scope + age + female",
                "--svy",
                "--max-iter",
                "50",
                "--subpop",
                "age > 30",
                "--margins",
                "--format",
                "json",
            ],
        ),
        (
            "or.md",
            vec![
                "fit",
                "-m",
                "logit",
                "-f",
                "received ~ scope + age + female",
                "--or",
                "--format",
                "md",
                "--digits",
                "2",
                "--title",
                "Logit",
                "--stars",
                "0.1,0.05,0.01",
                "--if",
                "age < 50",
            ],
        ),
        (
            "multi.tex",
            vec![
                "fit",
                "-m",
                "probit",
                "-m",
                "logit",
                "-f",
                "received ~ age",
                "-f",
                "received ~ age + female",
                "--format",
                "latex",
                "--latex-standalone",
                "--vce",
                "robust",
                "--level",
                "90",
                "--margins",
            ],
        ),
    ];
    for (file, args) in cases {
        let cli = Command::cargo_bin("migfit")
            .unwrap()
            .arg(args[0])
            .arg(&x)
            .args(["--schema", &sc])
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(cli.status.success(), "{file}: {}", String::from_utf8_lossy(&cli.stderr));
        let ours = std::fs::read(d.path().join("out/variants").join(file)).unwrap();
        assert!(cli.stdout.len() > 500, "{file}");
        assert!(ours == cli.stdout, "{file}: the batch variant's table differs from the command line's");
    }
    // Variants without `format` write no table.
    let n = std::fs::read_dir(d.path().join("out/variants")).unwrap().count();
    assert_eq!(n, 8, "4 records and 4 tables");
}

/// The keys batch specs lacked name their line when their value is wrong, whatever the
/// spelling (`keep-going`, `max-iter`), as the older keys do.
#[test]
fn new_keys_are_spec_errors_at_their_line() {
    let d = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 4] = [
        ("\n[[axis]]\nname = \"s\"\nvalues.a = { svy = true }\n", "--svy needs the survey design"),
        ("\n[[axis]]\nname = \"k\"\nvalues.a = { keep-going = \"yes\" }\n", "option 'keep-going' takes true or false"),
        ("\n[[axis]]\nname = \"m\"\nvalues.a = { max-iter = 0 }\n", "--max-iter must be at least 1"),
        ("\n[[axis]]\nname = \"f\"\nvalues.a = { format = \"latex\", digits = 20 }\n", "--digits must be at most 12"),
    ];
    for (extra, msg) in cases {
        let body = format!("{BASE}{extra}");
        let s = spec(d.path(), &body);
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
        let line = body.lines().count();
        assert!(err.contains(&format!("spec.toml:{line}:")), "{msg}: line {line}: {err}");
    }
}

/// A `mediate` variant runs in a grid: its table is the file `migfit mediate` writes, byte for
/// byte, and its tracked numbers (KHB's difference, the default, and the reduced coefficient)
/// are the ones in its JSON.
#[test]
fn mediate_variants_run_in_a_grid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("tests/golden/mediation/mroz_mediation.csv");
    let d = tempfile::tempdir().unwrap();
    let body = format!(
        r#"
[data]
path = "{}"

[base]
command = "mediate"
outcome = "inlf ~ age + kidslt6"
treatment = "college"
mediators = ["nwifeinc"]
format = "md"

[[axis]]
name = "model"
values.logit = {{ model = "logit" }}
values.probit = {{ model = "probit" }}

[[track]]
id = "mediated"
term = "college"

[[track]]
id = "reduced"
term = "college"
part = "mediation"
statistic = "reduced"

[[assert]]
track = "mediated"
rule = "sign_stable"
"#,
        data.display()
    );
    let s = d.path().join("spec.toml");
    std::fs::write(&s, body).unwrap();
    batch(&s, &d.path().join("out"), &["-q"]).code(0);
    let x = data.display().to_string();
    let base =
        ["mediate", &x, "--outcome", "inlf ~ age + kidslt6", "--treatment", "college", "--mediators", "nwifeinc"];
    for model in ["logit", "probit"] {
        let cli =
            Command::cargo_bin("migfit").unwrap().args(base).args(["-m", model, "--format", "md"]).output().unwrap();
        assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
        let ours = std::fs::read(d.path().join("out/variants").join(format!("{model}.md"))).unwrap();
        assert!(ours == cli.stdout, "{model}: the batch variant's table differs from the command line's");
        let json =
            Command::cargo_bin("migfit").unwrap().args(base).args(["-m", model, "--format", "json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let effect = &v["mediation"]["khb"]["effects"][0];
        assert_eq!(effect["term"], "college");
        let effects: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.path().join("out/effects.json")).unwrap()).unwrap();
        for (track, stat) in [("mediated", "difference"), ("reduced", "reduced")] {
            let row = effects
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["variant"] == model && r["track"] == track)
                .unwrap_or_else(|| panic!("{model} {track}: {effects}"));
            assert_eq!(row["status"], "ok", "{row}");
            assert_eq!(row["part"], "mediation");
            assert_eq!(row["estimate"], effect[stat]["estimate"], "{model} {track}");
            assert_eq!(row["std_error"], effect[stat]["std_error"], "{model} {track}");
        }
    }
    // The saved variant reads back into `migfit table`.
    let o = Command::cargo_bin("migfit")
        .unwrap()
        .arg("table")
        .arg(d.path().join("out/variants/logit.json"))
        .arg(d.path().join("out/variants/probit.json"))
        .args(["--format", "md"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("logit"));
}

/// One `save_reps` file for every variant would leave only the last variant's replicates: a
/// spec error at its line, unless `{variant}` makes the names distinct (each variant then
/// writes its own file).
#[test]
fn variants_do_not_share_a_replicates_file() {
    let d = tempfile::tempdir().unwrap();
    let reps = d.path().join("reps.csv");
    let body = |name: &str| {
        format!(
            r#"
[data]
path = "../../examples/mroz/mroz.csv"

[base]
command = "fit"
model = "logit"
formula = "inlf ~ age + educ"
vce = "bootstrap"
reps = 20
save_reps = "{}"

[[axis]]
name = "kids"
values.without = {{}}
values.with = {{ formula = "inlf ~ age + educ + kidslt6" }}

[[track]]
term = "educ"
"#,
            d.path().join(name).display()
        )
    };
    let s = spec(d.path(), &body("reps.csv"));
    batch(&s, &d.path().join("out"), &["-q"])
        .code(2)
        .stderr(predicate::str::contains("spec.toml:11:").and(predicate::str::contains("{variant}")));
    assert!(!reps.exists() && !d.path().join("out").exists(), "nothing runs");
    let s = spec(d.path(), &body("reps-{variant}.csv"));
    batch(&s, &d.path().join("out"), &["-q"]).code(0);
    let a = std::fs::read_to_string(d.path().join("reps-without.csv")).unwrap();
    let b = std::fs::read_to_string(d.path().join("reps-with.csv")).unwrap();
    assert!(b.lines().next().unwrap().contains("kidslt6") && !a.lines().next().unwrap().contains("kidslt6"));
}
