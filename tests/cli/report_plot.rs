//! `--plot FILE.svg` and the plotting module (src/report/plot.rs): snapshots of the coefficient
//! plot (English margins, Chinese coefficients) and of a marginsplot-style line plot; every
//! figure is well-formed XML (a small checker below); hostile labels are escaped; a name that
//! is not `.svg` is a usage error with no file written; the figures render in headless
//! Chromium (skipped without it locally, required in CI through MIGFIT_REQUIRE_TOOLS).

use crate::report_snapshots::table3_report;
use assert_cmd::Command;
use migfit::report::plot::{self, LinePlot, Series};
use migfit::report::{Lang, Layout, Show, Stars, TableOptions};
use std::path::Path;

fn opts(show: Show, lang: Lang, caption: Option<&str>) -> TableOptions {
    TableOptions {
        layout: Layout::Stacked,
        show,
        stars: Stars::default(),
        digits: 3,
        lang,
        titles: vec![],
        caption: caption.map(String::from),
        stats: vec![],
    }
}

fn en_margins() -> String {
    plot::report_svg(&table3_report(), &opts(Show::Margins, Lang::En, Some("Table 3 & effects <AME>"))).unwrap()
}

fn zh_coef() -> String {
    plot::report_svg(&table3_report(), &opts(Show::Coef, Lang::Zh, None)).unwrap()
}

/// Predicted probability by age for two groups: the shape of `margins, at(age=(20(10)60))
/// over(female)`.
fn margins_line() -> String {
    let series = |name: &str, shift: f64| Series {
        name: name.into(),
        points: (0..5)
            .map(|i| {
                let x = 20.0 + 10.0 * i as f64;
                let e = 0.3 + shift + 0.05 * i as f64;
                (x, e, e - 0.04 - 0.01 * i as f64, e + 0.04 + 0.01 * i as f64)
            })
            .collect(),
    };
    plot::lineplot(&LinePlot {
        title: "Predictive margins of received, by age".into(),
        x_label: "Age (年龄)".into(),
        y_label: "Pr(received)".into(),
        series: vec![series("male", 0.0), series("female 女性", 0.08)],
    })
}

#[test]
fn snapshots() {
    crate::snapshot::check("plots/en_margins.svg", &en_margins());
    crate::snapshot::check("plots/zh_coef.svg", &zh_coef());
    crate::snapshot::check("plots/margins_line.svg", &margins_line());
}

#[test]
fn plots_show_what_the_table_shows() {
    let en = en_margins();
    // Marginal effects of the probit (0.375 for UEBMI), the constant left out, levels under
    // their factor's heading, one panel per model.
    assert!(en.contains("UEBMI: 0.3750 ["), "{en}");
    assert!(!en.contains("Constant"));
    assert!(en.contains(">Social health insurance (ref. NCMS)</text>"));
    assert_eq!(en.matches("font-size=\"14\" font-weight=\"bold\"").count(), 3);
    assert!(en.contains("<title>Table 3 &amp; effects &lt;AME&gt;</title>"));
    let zh = zh_coef();
    assert!(zh.contains("<title>系数及95%置信区间</title>"), "{zh}");
    assert!(zh.contains(">城镇职工医保</text>") && zh.contains(">社会医疗保险（参照组：新农合）</text>"), "{zh}");
    assert!(zh.contains("1.2100 ["), "coefficient of UEBMI in the probit");
    assert!(zh.contains("Noto Sans CJK SC"));
}

#[test]
fn every_figure_is_well_formed_xml() {
    for (name, svg) in [("en", en_margins()), ("zh", zh_coef()), ("line", margins_line())] {
        if let Err(e) = well_formed(&svg) {
            panic!("{name}: {e}\n{svg}");
        }
    }
    // Labels with markup characters, quotes and control characters.
    let mut r = table3_report();
    r.variables.iter_mut().find(|v| v.name == "age").unwrap().label = Some("<Age> & \"years\" 'old'\u{7}".into());
    let svg = plot::report_svg(&r, &opts(Show::Coef, Lang::En, Some("a\u{0}b < c"))).unwrap();
    well_formed(&svg).unwrap();
    assert!(svg.contains("&lt;Age&gt; &amp; &quot;years&quot; &apos;old&apos;<"), "{svg}");
    // The checker is not a pass-everything.
    assert!(well_formed("<svg><text>a & b</text></svg>").is_err());
    assert!(well_formed("<svg><g></svg>").is_err());
    assert!(well_formed("<svg x=\"1\" y=2/>").is_err());
}

/// A small XML well-formedness check: balanced, properly nested tags; quoted attributes;
/// `&` only in the five predefined entities or numeric references; no `<` in text; one root;
/// no control characters XML 1.0 forbids.
fn well_formed(s: &str) -> Result<(), String> {
    let entity = |rest: &str| -> bool {
        let Some(end) = rest.find(';') else { return false };
        let name = &rest[1..end];
        matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
            || name.strip_prefix('#').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    if let Some(c) = s.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err(format!("control character {:?}", c));
    }
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        match b[i] {
            b'<' => {
                let end = s[i..].find('>').ok_or("unclosed tag")? + i;
                let tag = &s[i + 1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    let open = stack.pop().ok_or(format!("stray </{name}>"))?;
                    if open != name.trim() {
                        return Err(format!("<{open}> closed by </{name}>"));
                    }
                } else {
                    let self_closing = tag.ends_with('/');
                    let body = tag.trim_end_matches('/');
                    let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
                    if name.is_empty() {
                        return Err("empty tag name".into());
                    }
                    // Attributes: name="value" pairs.
                    let mut rest = body[name.len()..].trim_start();
                    while !rest.is_empty() {
                        let eq = rest.find('=').ok_or(format!("attribute without value in <{name}>"))?;
                        let after = &rest[eq + 1..];
                        if !after.starts_with('"') {
                            return Err(format!("unquoted attribute in <{name}>"));
                        }
                        let close = after[1..].find('"').ok_or("unterminated attribute")?;
                        let value = &after[1..1 + close];
                        if value.contains('<') {
                            return Err("'<' in an attribute".into());
                        }
                        for (k, _) in value.match_indices('&') {
                            if !entity(&value[k..]) {
                                return Err("bare '&' in an attribute".into());
                            }
                        }
                        rest = after[close + 2..].trim_start();
                    }
                    if stack.is_empty() {
                        roots += 1;
                    }
                    if !self_closing {
                        stack.push(name);
                    }
                }
                i = end + 1;
            }
            b'&' => {
                if !entity(&s[i..]) {
                    return Err(format!("bare '&' at byte {i}"));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed <{}>", stack.join(">, <")));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn mroz() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mroz/mroz.csv").display().to_string()
}

#[test]
fn twopart_plot_has_a_panel_per_part_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let svg = dir.path().join(name);
        migfit()
            .args(["twopart", &mroz(), "-f", "hours ~ age + educ + C(kidslt6)", "--margins", "--plot"])
            .arg(&svg)
            .assert()
            .success();
        std::fs::read_to_string(svg).unwrap()
    };
    let a = run("a.svg");
    assert_eq!(a, run("b.svg"));
    well_formed(&a).unwrap();
    for part in ["Pr(hours &gt; 0) · Probit", "E[hours | &gt; 0] · GLM gamma-log", "E[hours] · Two-part"] {
        assert!(a.contains(part), "{part}\n{a}");
    }
    assert!(a.contains("<title>Marginal effects with 95% confidence intervals</title>"));
}

#[test]
fn plot_to_a_name_that_is_not_svg_is_a_usage_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("coef.png");
    let table = dir.path().join("t.md");
    migfit()
        .args(["fit", &mroz(), "-m", "probit", "-f", "inlf ~ age + educ", "-o"])
        .arg(&table)
        .arg("--plot")
        .arg(&png)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--plot writes SVG: give a file name ending in .svg"))
        .stderr(predicates::str::contains("coef.png"));
    assert!(!png.exists() && !table.exists());
    // In a directory that does not exist: an error naming the file, and no table either.
    let svg = dir.path().join("missing/coef.svg");
    migfit()
        .args(["fit", &mroz(), "-m", "probit", "-f", "inlf ~ age + educ", "-o"])
        .arg(&table)
        .arg("--plot")
        .arg(&svg)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("coef.svg"));
    assert!(!table.exists());
}

#[test]
fn plots_render_in_chromium() {
    if std::process::Command::new("chromium").arg("--version").output().is_err() {
        // CI (.ci/run) installs chromium and sets MIGFIT_REQUIRE_TOOLS: a failure there.
        assert!(
            std::env::var_os("MIGFIT_REQUIRE_TOOLS").is_none(),
            "chromium is required (MIGFIT_REQUIRE_TOOLS is set)"
        );
        eprintln!("skipped: chromium not installed");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for name in ["en_margins.svg", "zh_coef.svg", "margins_line.svg"] {
        let shot = dir.path().join(name.replace(".svg", ".png"));
        let out = std::process::Command::new(root.join("scripts/check_svg.sh"))
            .arg(root.join("tests/snapshots/plots").join(name))
            .arg(&shot)
            .arg("800,1000")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // A blank (all-white) 800 x 1000 screenshot compresses to about 2-3 kB; a drawn figure
        // is ten times that.
        assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "{name}: screenshot blank or too small");
    }
}

/// `--plot` with predictive margins draws their marginsplot: one line per level against a
/// numeric at-grid variable, the intervals as bands.
fn margins_plot(dir: &Path, extra: &[&str]) -> String {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/pm_probit_api_pweight/data.csv");
    let svg = dir.join(format!("pm{}.svg", extra.len()));
    migfit()
        .arg("fit")
        .arg(&data)
        .args(["-f", "sch_wide ~ ell + meals + mobility + C(stype)", "-m", "probit", "--weights", "pw"])
        .args(["--weight-type", "pweight", "--predict-margins", "stype"])
        .args(extra)
        .arg("--plot")
        .arg(&svg)
        .assert()
        .success();
    std::fs::read_to_string(svg).unwrap()
}

#[test]
fn predictive_margins_plot_as_marginsplot() {
    let dir = tempfile::tempdir().unwrap();
    let line = margins_plot(dir.path(), &["--at", "meals=20(20)80"]);
    well_formed(&line).unwrap();
    assert!(line.contains("<title>Predictive margins with 95% confidence intervals"), "{line}");
    // One line and one band per level; four grid points each; the x axis is the grid variable.
    assert_eq!(line.matches("<polyline").count(), 3, "{line}");
    assert_eq!(line.matches("<polygon").count(), 3);
    assert!(line.contains(">stype = H</text>") && line.contains(">meals</text>"), "{line}");
    assert_eq!(line.matches("<circle").count(), 12);
    // No coefficients in it.
    assert!(!line.contains(">mobility</text>"));
    // Without a grid: dots with whiskers, one row per level; Chinese titles.
    let dots = margins_plot(dir.path(), &["--lang", "zh"]);
    well_formed(&dots).unwrap();
    assert!(dots.contains("<title>预测边际及95%置信区间</title>"), "{dots}");
    assert!(dots.contains(">stype = M</text>") && !dots.contains("<polyline"), "{dots}");
    if std::process::Command::new("chromium").arg("--version").output().is_ok() {
        for (name, svg) in [("line", &line), ("dots", &dots)] {
            let file = dir.path().join(format!("{name}.svg"));
            std::fs::write(&file, svg).unwrap();
            let shot = dir.path().join(format!("{name}.png"));
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = std::process::Command::new(root.join("scripts/check_svg.sh"))
                .arg(&file)
                .arg(&shot)
                .arg("800,1000")
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "{name}: screenshot blank or too small");
        }
    } else {
        assert!(
            std::env::var_os("MIGFIT_REQUIRE_TOOLS").is_none(),
            "chromium is required (MIGFIT_REQUIRE_TOOLS is set)"
        );
    }
}
