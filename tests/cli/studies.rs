//! The study registry (`migfit reproduce NAME`, `migfit simulate --study NAME`): every study
//! runs through the same path, and the regression tests of the bugs found on the way (notes
//! printed twice, a spec's link overridden, stay2018 simulated with wang2022's seed, Table 2's
//! columns overflowing).

use assert_cmd::Command;
use migfit::data::load::ReadOptions;
use migfit::data::schema::Schema;
use migfit::study::{self, Extract};
use unicode_width::UnicodeWidthStr;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

/// Runs migfit, expecting success; returns stdout.
fn ok(args: &[&str]) -> String {
    let o = migfit().args(args).output().unwrap();
    assert!(o.status.success(), "migfit {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// The wang2022 spec with the `[[part]]` named `part` edited by `edit`.
fn edited_spec(part: &str, edit: impl Fn(&str) -> String) -> tempfile::NamedTempFile {
    let text = std::fs::read_to_string("examples/wang2022/spec.toml").unwrap();
    let marker = format!("[[part]]\nname = \"{part}\"\n");
    let start = text.find(&marker).unwrap();
    let end = text[start + marker.len()..].find("\n\n").map(|e| start + marker.len() + e).unwrap();
    let edited = format!("{}{}{}", &text[..start], edit(&text[start..end]), &text[end..]);
    assert_ne!(edited, text, "the edit changed nothing");
    let f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(f.path(), edited).unwrap();
    f
}

#[test]
fn every_study_simulates_an_extract_its_schema_reads() {
    for s in study::all() {
        let raw = s.simulate(120, 5);
        let csv = raw.to_csv();
        let schema = Schema::parse(s.schema().text, s.schema().path).unwrap();
        let ds = study::load_extract(
            Extract::Csv { bytes: csv.as_bytes(), display: "test" },
            &ReadOptions::default(),
            &schema,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", s.name()));
        assert_eq!(ds.n_rows(), 120, "{}: the respondents in the analysis universe", s.name());
        assert_eq!(s.simulate(120, 5), raw, "{}: same seed, same extract", s.name());
        assert!(s.plan(None).is_ok(), "{}: the embedded specification", s.name());
        if let Some(spec) = s.spec() {
            assert!(s.plan(Some(spec.text)).is_ok(), "{}: {} as an edited copy", s.name(), spec.path);
        } else {
            assert!(s.plan(Some("")).is_err(), "{}: no specification to edit", s.name());
        }
    }
}

/// Every study with published tables compares cells with them; a study without has none.
#[test]
fn published_cells_come_from_the_published_tables() {
    for s in study::all() {
        let r = study::reproduce(*s, None, &study::Inputs::default()).unwrap();
        assert_eq!(r.cells().is_empty(), s.published().is_empty(), "{}", s.name());
        for c in r.cells() {
            assert!(c.published.is_finite() || c.table == "table2", "{}: {c:?}", s.name());
        }
    }
}

#[test]
fn an_unknown_study_is_a_usage_error_naming_the_closest() {
    for cmd in [&["reproduce", "wang2021"][..], &["simulate", "--study", "stay2019"][..]] {
        let o = migfit().args(cmd).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("did you mean"), "{err}");
        assert!(err.contains("wang2022, stay2018"), "{err}");
    }
}

#[test]
fn the_simulate_layer_does_not_import_the_study_layer() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(std::path::Path::new("src/simulate"), &mut files);
    assert!(files.len() >= 5);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("crate::study"), "{} imports crate::study", f.display());
    }
}

/// Regression: the fit's notes were added twice to every model of `reproduce` (once by the
/// report, once more with the margins), so each appeared twice in the JSON.
#[test]
fn reproduce_prints_each_note_once() {
    for name in ["wang2022", "stay2018"] {
        let out = ok(&["reproduce", name, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let mut noted = 0;
        for m in v["models"].as_array().unwrap() {
            let notes: Vec<&str> = m["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
            let mut unique = notes.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), notes.len(), "{name} {}: {notes:?}", m["name"]);
            noted += !notes.is_empty() as usize;
        }
        assert!(noted > 0, "{name}: no model has a note, the test checks nothing");
    }
    let v: serde_json::Value = serde_json::from_str(&ok(&["reproduce", "wang2022", "--format", "json"])).unwrap();
    let ncms = v["models"].as_array().unwrap().iter().find(|m| m["name"] == "ncms/probit").unwrap();
    let n = ncms["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| *n == "scheme[UEBMI] omitted because of collinearity")
        .count();
    assert_eq!(n, 1);
}

/// Regression: a gamma part's `link` was replaced by log whatever the spec said.
#[test]
fn a_specs_link_is_fitted_as_written() {
    let spec = edited_spec("amount", |part| part.replace("link = \"log\"", "link = \"inverse\""));
    let out = ok(&["reproduce", "wang2022", "--format", "json", "--spec", spec.path().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for m in v["models"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let want = if name.ends_with("/amount") {
            "inverse"
        } else if name.ends_with("/ratio") {
            "log"
        } else {
            "probit"
        };
        assert_eq!(m["link"], want, "{name}");
    }
}

/// A link the part's model cannot take is refused with the part named, not ignored.
#[test]
fn a_link_the_model_cannot_take_is_refused() {
    let spec = edited_spec("probit", |part| part.replace("model = \"probit\"", "model = \"probit\"\nlink = \"logit\""));
    let o = migfit().args(["reproduce", "wang2022", "--spec"]).arg(spec.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("'probit'") && err.contains("link = \"logit\""), "{err}");
    assert!(o.stdout.is_empty());
}

/// Regression: `simulate --study stay2018` without `--seed` used wang2022's seed; each study
/// has its own, the one `reproduce` uses without data.
#[test]
fn simulate_defaults_to_the_studys_own_seed() {
    for s in study::all() {
        let seed = s.default_seed().to_string();
        let default = ok(&["simulate", "--study", s.name(), "--n", "100"]);
        let explicit = ok(&["simulate", "--study", s.name(), "--n", "100", "--seed", &seed]);
        assert_eq!(default, explicit, "{}", s.name());
    }
    let stay = ok(&["simulate", "--study", "stay2018", "--n", "100"]);
    assert_ne!(stay, ok(&["simulate", "--study", "stay2018", "--n", "100", "--seed", "20220601"]));
    let text = ok(&["reproduce", "stay2018"]);
    assert!(text.contains("--study stay2018 --n 5000 --seed 20180501"), "{text}");
}

/// Regression: Table 2's column names ("across_provinces") are longer than the column, which
/// pushed the numbers out of line; every line of a block now has the same display width.
#[test]
fn reproduce_text_columns_line_up() {
    let text = ok(&["reproduce", "wang2022"]);
    for t in ["Table 1.", "Table 2.", "Table 3.", "Table 4."] {
        let block = text.split(t).nth(1).unwrap().split("\n\n").next().unwrap();
        let widths: Vec<usize> = block.lines().skip(1).map(|l| l.trim_end_matches(" *").width()).collect();
        assert!(widths.len() > 3, "{t}");
        assert!(widths.iter().all(|w| *w == widths[0]), "{t}: line widths {widths:?}\n{block}");
    }
    assert!(text.contains("across_provinces"));
}

/// Issue #17: `reproduce wang2022` tests each scope effect equal in the two insurance
/// subsamples (Table 4) and reports predictive margins by scope. The tests are those of
/// `fit --by scheme_group --test-equal --dydx scope` on the same data (one stacked-variance
/// code path), and the added blocks follow the unchanged Tables 1-4.
#[test]
fn reproduce_wang2022_tests_equal_scope_effects_as_fit_by_does() {
    let data = "examples/wang2022/extract.csv";
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["reproduce", "wang2022", "--data", data, "--format", "json"])).unwrap();
    let tests = json["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 9, "three parts x (two scope levels + joint)");
    for m in json["models"].as_array().unwrap() {
        let terms: Vec<&str> =
            m["predictions"].as_array().unwrap().iter().map(|p| p["term"].as_str().unwrap()).collect();
        assert_eq!(terms, ["scope[within_city]", "scope[across_cities]", "scope[across_provinces]"]);
    }
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wang2022/spec.toml")).unwrap();
    let rhs = spec.lines().find_map(|l| l.strip_prefix("rhs = \"")).unwrap().trim_end_matches('"');
    let by: serde_json::Value = serde_json::from_str(&ok(&[
        "fit",
        data,
        "--schema",
        "data-schema/cmds2014.toml",
        "-f",
        &format!("received ~ {rhs}"),
        "-m",
        "probit",
        "--by",
        "scheme_group",
        "--test-equal",
        "--dydx",
        "scope",
        "--format",
        "json",
    ]))
    .unwrap();
    let by_tests = by["tests"].as_array().unwrap();
    assert_eq!(by_tests.len(), 3);
    for (ours, fit) in tests[..3].iter().zip(by_tests) {
        assert!(ours["test"].as_str().unwrap().starts_with("Pr(received): "), "{ours}");
        assert_eq!(ours["statistic"], fit["statistic"]);
        assert_eq!(ours["df"], fit["df"]);
    }
    let text = ok(&["reproduce", "wang2022"]);
    let summary = text.find("\nSummary: ").unwrap();
    let added = text.find("Table 4, added: equal migration-scope effects").unwrap();
    let margins = text.find("Predictive margins by migration scope").unwrap();
    assert!(summary < added && added < margins, "the added blocks follow Tables 1-4");
}
