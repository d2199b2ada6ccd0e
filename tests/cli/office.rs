//! Word, Excel and Typst tables, and `migfit table` (one table from saved results): the XML
//! inside the `.docx` / `.xlsx` packages against snapshots (tests/snapshots/office/), the
//! reference study's Table 4 from two saved subsample results, and bad input. The independent
//! read-back with python-docx / openpyxl and the LibreOffice rendering are the scripts in
//! tests/office/ (run by .ci/run when their tools are there).

use assert_cmd::Command;
use predicates::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

const DATA: &str = "examples/wang2022/extract.csv";
const SCHEMA: &str = "data-schema/cmds2014.toml";
const RHS: &str = "scheme + age + age2 + C(female) + C(married) + education + income_q + C(has_job) + C(rural_hukou) + C(urban_area) + scope + reason + duration + facility";

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

/// The three parts of the reference study's model fitted on one subsample, saved as JSON.
fn save_subsample(dir: &Path, sample: &str) -> PathBuf {
    let out = dir.join(format!("{sample}.json"));
    let f1 = format!("received ~ {RHS}");
    let f2 = format!("log_amount ~ {RHS}");
    let f3 = format!("ratio ~ {RHS}");
    migfit()
        .args(["fit", DATA, "--schema", SCHEMA, "--subsample", sample, "--margins"])
        .args(["-f", &f1, "-m", "probit", "-f", &f2, "-m", "glm", "--family", "gamma", "--link", "log"])
        .args(["-f", &f3, "-m", "glm", "--family", "gamma", "--link", "log", "-o"])
        .arg(&out)
        .assert()
        .success();
    out
}

fn saved() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ncms = save_subsample(dir.path(), "ncms");
    let urban = save_subsample(dir.path(), "urban");
    (dir, ncms, urban)
}

/// One part of a zip package, as text.
fn part(file: &Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

/// XML with a line break between elements, so a snapshot diff points at the element.
fn lines(xml: &str) -> String {
    xml.replace("><", ">\n<")
}

const TABLE4: &[&str] = &["--columns", "NCMS,URBMI+UEBMI", "--keep", "scope", "--show", "margins", "--stats", "n"];

#[test]
fn table4_from_two_saved_subsample_results() {
    let (dir, ncms, urban) = saved();
    let out = migfit().arg("table").arg(&ncms).arg(&urban).args(TABLE4).args(["--format", "md"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8(out.stdout).unwrap();
    // The layout of the paper's Table 4: the scope factor's two levels (against its reference
    // level), the three parts of each subsample side by side under the subsample's title.
    let rows: Vec<&str> = md.lines().take_while(|l| l.starts_with('|')).collect();
    assert_eq!(rows.len(), 2 + 1 + 4 + 1, "{md}");
    assert!(rows[0].contains("NCMS Received social health insurance reimbursement"), "{}", rows[0]);
    assert_eq!(rows[0].matches("URBMI+UEBMI").count(), 3, "{}", rows[0]);
    assert!(rows[2].contains("Migration scope (ref. Across counties within a city)"), "{}", rows[2]);
    assert!(rows[3].starts_with("| Across cities within a province |"), "{}", rows[3]);
    assert!(rows[5].starts_with("| Across provinces |"), "{}", rows[5]);
    assert!(rows[7].starts_with("| *N* |"), "{}", rows[7]);
    // Every number is the saved result's, in its column.
    let json: Vec<serde_json::Value> =
        [&ncms, &urban].iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect();
    let cells = |row: &str| -> Vec<String> { row.split('|').skip(2).map(|c| c.trim().replace("\\*", "*")).collect() };
    for (r, term) in [(3, "scope[across_cities]"), (5, "scope[across_provinces]")] {
        let (est, se) = (cells(rows[r]), cells(rows[r + 1]));
        for (j, model) in json.iter().flat_map(|j| j["models"].as_array().unwrap().iter()).enumerate() {
            let m = model["margins"].as_array().unwrap().iter().find(|m| m["term"] == term).unwrap();
            let e = format!("{:.3}", m["estimate"].as_f64().unwrap());
            assert!(est[j].starts_with(&e), "{term} column {}: {} vs {e}", j + 1, est[j]);
            assert_eq!(se[j], format!("({:.3})", m["std_error"].as_f64().unwrap()));
        }
    }
    crate::snapshot::check("office/table4.md", &md.replace(&*dir.path().to_string_lossy(), "DIR"));
}

#[test]
fn word_and_excel_packages_match_snapshots_and_are_deterministic() {
    let (dir, ncms, urban) = saved();
    for (lang, layout) in [("en", "side"), ("zh", "stacked")] {
        for ext in ["docx", "xlsx"] {
            let file = dir.path().join(format!("t4_{lang}.{ext}"));
            let run = |f: &Path| {
                migfit()
                    .arg("table")
                    .arg(&ncms)
                    .arg(&urban)
                    .args(TABLE4)
                    .args(["--lang", lang, "--layout", layout, "-o"])
                    .arg(f)
                    .assert()
                    .success();
            };
            run(&file);
            let again = dir.path().join(format!("again.{ext}"));
            run(&again);
            assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(&again).unwrap(), "{ext} is not deterministic");
            let name = format!("office/table4_{lang}_{layout}");
            if ext == "docx" {
                let doc = part(&file, "word/document.xml");
                if lang == "zh" {
                    assert!(doc.contains("流动范围（参照组：市内跨县）"), "{doc}");
                }
                crate::snapshot::check(&format!("{name}.document.xml"), &lines(&doc));
            } else {
                let sheet = part(&file, "xl/worksheets/sheet1.xml");
                // Numbers are numeric cells (`<c ...><v>` without t="s"), with number formats
                // carrying the decimals, the parentheses of SEs and the stars.
                let styles = part(&file, "xl/styles.xml");
                assert!(styles.contains(r#"formatCode="0.000&quot;**&quot;""#), "{styles}");
                if layout == "stacked" {
                    assert!(styles.contains(r#"formatCode="(0.000)""#), "{styles}");
                }
                crate::snapshot::check(&format!("{name}.sheet1.xml"), &lines(&sheet));
                crate::snapshot::check(
                    &format!("{name}.sharedStrings.xml"),
                    &lines(&part(&file, "xl/sharedStrings.xml")),
                );
            }
        }
    }
}

#[test]
fn typst_table_snapshot() {
    let (_dir, ncms, urban) = saved();
    let out = migfit().arg("table").arg(&ncms).arg(&urban).args(TABLE4).args(["--format", "typst"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("table.cell(colspan: 3, \"NCMS\")"), "{text}");
    crate::snapshot::check("office/table4.typ", &text);
}

#[test]
fn fit_writes_word_and_excel_and_refuses_them_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["docx", "xlsx"] {
        let f = dir.path().join(format!("t.{ext}"));
        migfit()
            .args(["fit", "examples/mroz/mroz.csv", "-m", "probit", "-f", "inlf ~ age + educ + kidslt6", "-o"])
            .arg(&f)
            .assert()
            .success();
        let bytes = std::fs::read(&f).unwrap();
        assert!(bytes.starts_with(b"PK"), "{ext} is not a zip package");
        // A binary format never goes to standard output.
        migfit()
            .args(["fit", "examples/mroz/mroz.csv", "-m", "probit", "-f", "inlf ~ age", "--format", ext])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::contains(format!("give -o FILE.{ext}")));
    }
}

#[test]
fn table_bad_input() {
    let (dir, ncms, _urban) = saved();
    let d = dir.path();
    // A result from another migfit version, without a field the table needs.
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ncms).unwrap()).unwrap();
    v["migfit_version"] = "0.0.9".into();
    v["models"][1].as_object_mut().unwrap().remove("vce");
    let old = d.join("old.json");
    std::fs::write(&old, serde_json::to_string(&v).unwrap()).unwrap();
    migfit().arg("table").arg(&old).assert().code(1).stderr(
        predicates::str::contains("old.json")
            .and(predicates::str::contains("has no field 'vce'"))
            .and(predicates::str::contains("migfit 0.0.9")),
    );
    // Not JSON at all.
    let csv = d.join("t.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    migfit()
        .arg("table")
        .arg(&csv)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("t.csv").and(predicates::str::contains("not a JSON file")));
    // --keep of an unknown term names the closest.
    migfit()
        .arg("table")
        .arg(&ncms)
        .args(["--keep", "scop"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--keep").and(predicates::str::contains("did you mean 'scope'")));
    // An output that cannot be written: an error, and no file (nor a temporary one) left.
    let blocker = d.join("file");
    std::fs::write(&blocker, "x").unwrap();
    for ext in ["docx", "xlsx", "md"] {
        let out = blocker.join(format!("t.{ext}"));
        migfit().arg("table").arg(&ncms).arg("-o").arg(&out).assert().code(1).stderr(predicates::str::contains("t."));
        assert!(!out.exists());
    }
    let missing_dir = d.join("no/such/dir/t.docx");
    migfit().arg("table").arg(&ncms).arg("-o").arg(&missing_dir).assert().code(1);
    let left: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().contains("tmp")), "{left:?}");
    // Binary to stdout.
    migfit().arg("table").arg(&ncms).args(["--format", "xlsx"]).assert().code(2).stdout("");
}

/// python-docx and openpyxl read every cell back and compare with the JSON; skipped (with a
/// message) where the venv with them is missing, as on CI.
#[test]
fn independent_readers_agree_with_the_json() {
    let py = std::env::var("MIGFIT_OFFICE_PYTHON").unwrap_or_else(|_| "/work/venv/bin/python".into());
    if !Path::new(&py).exists() {
        eprintln!("skipped: no Python with python-docx and openpyxl at {py} (set MIGFIT_OFFICE_PYTHON)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = save_subsample(dir.path(), "ncms");
    let x = dir.path().join("t.xlsx");
    let w = dir.path().join("t.docx");
    for f in [&x, &w] {
        migfit().arg("table").arg(&json).args(["--show", "margins", "-o"]).arg(f).assert().success();
    }
    let out = std::process::Command::new(&py)
        .arg("tests/office/check_office.py")
        .arg(&json)
        .arg(&x)
        .arg(&w)
        .args(["--show", "margins"])
        .output()
        .unwrap();
    let msg = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.code() == Some(77) {
        eprintln!("{msg}");
        return;
    }
    assert!(out.status.success(), "{msg}");
}
