//! The files a batch run writes. Every file is a deterministic function of the results (no
//! times, no paths of the machine), and each is written atomically.
//!
//! The summary tables (`summary.md`, `summary.tex`, the table in `index.html`) print through
//! `report::format` (stars, escaping, numbers) rather than the regression
//! [`report::Table`](crate::report::Table): there the columns are models and the rows terms,
//! with N / log likelihood rows and notes about the variance, built from one `Report`; here
//! the rows are variants, the columns tracked effects from many reports, and a cell is one
//! effect on one line, `estimate** (SE)`, or the status of a variant that has none.

use super::run::{AssertOutcome, EffectRow, VariantResult};
use super::spec::TrackSpec;
use crate::error::{DataError, Error, Result};
use crate::report::format::{self, format_g17, Stars};
use serde::Serialize;
use std::path::Path;

pub struct Context<'a> {
    pub title: String,
    pub description: Option<String>,
    pub spec_name: String,
    pub spec_sha: String,
    pub data_name: String,
    pub data_sha: String,
    pub axes: Vec<String>,
    pub tracks: Vec<TrackSpec>,
    pub results: &'a [VariantResult],
    pub rows: &'a [EffectRow],
    pub assertions: &'a [AssertOutcome],
    /// `Some(failures)` when `--check` was given.
    pub check: Option<Vec<String>>,
}

#[derive(Serialize)]
struct VariantFile<'a> {
    variant: &'a str,
    values: indexmap::IndexMap<String, String>,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a crate::report::combine::Saved>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    migfit_version: &'a str,
    spec: &'a str,
    spec_sha256: &'a str,
    data: &'a str,
    data_sha256: &'a str,
    variants: Vec<&'a str>,
    failed_variants: Vec<&'a str>,
    assertions_passed: usize,
    assertions_failed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_passed: Option<bool>,
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    crate::io::write_output(text, Some(&dir.join(name)))
}

/// A file-name-safe version of a track id.
pub fn slug(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    out.trim_matches('_').to_string()
}

pub fn write_all(dir: &Path, ctx: &Context) -> Result<()> {
    let io =
        |e: std::io::Error| Error::Data(DataError::Write { path: dir.display().to_string(), reason: e.to_string() });
    std::fs::create_dir_all(dir.join("variants")).map_err(io)?;
    for r in ctx.results {
        let vf = VariantFile {
            variant: &r.variant.name,
            values: r.variant.values.iter().cloned().collect(),
            status: if r.outcome.is_ok() { "ok" } else { "failed" },
            error: r.outcome.as_ref().err().map(String::as_str),
            result: r.outcome.as_ref().ok(),
        };
        write(dir, &format!("variants/{}.json", slug(&r.variant.name)), &crate::output::to_json(&vf))?;
    }
    write(dir, "effects.json", &crate::output::to_json(&ctx.rows))?;
    write(dir, "effects.csv", &effects_csv(ctx))?;
    write(dir, "summary.md", &summary_md(ctx))?;
    write(dir, "summary.tex", &summary_tex(ctx))?;
    write(dir, "assertions.json", &crate::output::to_json(&ctx.assertions))?;
    write(dir, "assertions.md", &assertions_md(ctx))?;
    let mut svgs = Vec::new();
    for t in &ctx.tracks {
        let id = super::run::track_id(t);
        let name = format!("forest-{}.svg", slug(&id));
        write(dir, &name, &forest_svg(ctx, &id, t))?;
        svgs.push((id, name));
    }
    if let Some(c) = &ctx.check {
        let mut s = String::from("# Check against the baseline\n\n");
        if c.is_empty() {
            s.push_str("Every effect matches the baseline within the tolerances.\n");
        } else {
            s.push_str(&format!("{} differences:\n\n", c.len()));
            for f in c {
                s.push_str(&format!("- {f}\n"));
            }
        }
        write(dir, "check.md", &s)?;
    }
    write(dir, "index.html", &index_html(ctx, &svgs))?;
    let m = Manifest {
        migfit_version: crate::VERSION,
        spec: &ctx.spec_name,
        spec_sha256: &ctx.spec_sha,
        data: &ctx.data_name,
        data_sha256: &ctx.data_sha,
        variants: ctx.results.iter().map(|r| r.variant.name.as_str()).collect(),
        failed_variants: ctx.results.iter().filter(|r| r.outcome.is_err()).map(|r| r.variant.name.as_str()).collect(),
        assertions_passed: ctx.assertions.iter().filter(|a| a.passed).count(),
        assertions_failed: ctx.assertions.iter().filter(|a| !a.passed).count(),
        check_passed: ctx.check.as_ref().map(Vec::is_empty),
    };
    write(dir, "manifest.json", &crate::output::to_json(&m))
}

fn opt(v: Option<f64>) -> String {
    v.map(format_g17).unwrap_or_default()
}

fn effects_csv(ctx: &Context) -> String {
    let mut out = String::from("variant");
    for a in &ctx.axes {
        out.push(',');
        out.push_str(&format::csv_field(a));
    }
    out.push_str(",track,term,part,statistic,status,estimate,std_error,p_value,conf_low,conf_high\n");
    for r in ctx.rows {
        out.push_str(&format::csv_field(&r.variant));
        for a in &ctx.axes {
            out.push(',');
            out.push_str(&format::csv_field(r.values.get(a).map_or("", String::as_str)));
        }
        for f in [&r.track, &r.term, &r.part, &r.statistic, &r.status] {
            out.push(',');
            out.push_str(&format::csv_field(f));
        }
        for v in [r.estimate, r.std_error, r.p_value, r.conf_low, r.conf_high] {
            out.push(',');
            out.push_str(&opt(v));
        }
        out.push('\n');
    }
    out
}

/// Decimals of the summary tables.
const DIGITS: usize = 3;

/// A tracked effect in a summary table: estimate, stars and standard error, or the status of
/// a variant without an estimate.
enum SummaryCell {
    Effect { estimate: String, stars: String, std_error: String },
    Status(String),
    Empty,
}

fn summary_cell(r: Option<&EffectRow>) -> SummaryCell {
    match r {
        Some(r) if r.status == "ok" => SummaryCell::Effect {
            estimate: format::fixed(r.estimate.unwrap(), DIGITS),
            stars: Stars::default().mark(r.p_value.unwrap()),
            std_error: format::fixed(r.std_error.unwrap(), DIGITS),
        },
        Some(r) => SummaryCell::Status(r.status.clone()),
        None => SummaryCell::Empty,
    }
}

/// The cell as plain text: `-0.295** (0.036)`.
fn cell(r: Option<&EffectRow>) -> String {
    match summary_cell(r) {
        SummaryCell::Effect { estimate, stars, std_error } => format!("{estimate}{stars} ({std_error})"),
        SummaryCell::Status(s) => s,
        SummaryCell::Empty => String::new(),
    }
}

/// The cell in LaTeX, stars as a superscript.
fn cell_tex(r: Option<&EffectRow>) -> String {
    match summary_cell(r) {
        SummaryCell::Effect { estimate, stars, std_error } => {
            format!("{} ({std_error})", format::latex_starred(&estimate, &stars))
        }
        SummaryCell::Status(s) => format::latex(&s),
        SummaryCell::Empty => String::new(),
    }
}

/// `** p<0.01, * p<0.05`, each threshold written by `cond`.
fn legend(cond: impl Fn(&str) -> String) -> String {
    Stars::default().legend_with(cond).unwrap_or_default()
}

fn track_label(t: &TrackSpec) -> String {
    t.label.clone().unwrap_or_else(|| super::run::track_id(t))
}

fn summary_md(ctx: &Context) -> String {
    let mut s = format!("# {}\n\n", ctx.title);
    if let Some(d) = &ctx.description {
        s.push_str(&format!("{d}\n\n"));
    }
    s.push_str("| variant |");
    for t in &ctx.tracks {
        s.push_str(&format!(" {} |", format::markdown_pipe(&track_label(t))));
    }
    s.push_str("\n|---|");
    for _ in &ctx.tracks {
        s.push_str("---:|");
    }
    s.push('\n');
    for r in ctx.results {
        s.push_str(&format!("| {} |", format::markdown_pipe(&r.variant.name)));
        for t in &ctx.tracks {
            let id = super::run::track_id(t);
            let row = ctx.rows.iter().find(|x| x.variant == r.variant.name && x.track == id);
            s.push_str(&format!(" {} |", cell(row)));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "\nEstimate (standard error); {}. migfit {}; spec {} (SHA-256 {}); data {} (SHA-256 {}).\n",
        legend(|t| format!("p<{t}")),
        crate::VERSION,
        ctx.spec_name,
        ctx.spec_sha,
        ctx.data_name,
        ctx.data_sha
    ));
    s
}

fn summary_tex(ctx: &Context) -> String {
    let mut s = String::from(
        "% Generated by migfit batch; requires \\usepackage{booktabs}\n\\begin{table}[htbp]\n\\centering\n",
    );
    s.push_str(&format!("\\caption{{{}}}\n", format::latex(&ctx.title)));
    s.push_str(&format!("\\begin{{tabular}}{{l{}}}\n\\toprule\nVariant", "r".repeat(ctx.tracks.len())));
    for t in &ctx.tracks {
        s.push_str(&format!(" & {}", format::latex(&track_label(t))));
    }
    s.push_str(" \\\\\n\\midrule\n");
    for r in ctx.results {
        s.push_str(&format::latex(&r.variant.name));
        for t in &ctx.tracks {
            let id = super::run::track_id(t);
            let row = ctx.rows.iter().find(|x| x.variant == r.variant.name && x.track == id);
            s.push_str(&format!(" & {}", cell_tex(row)));
        }
        s.push_str(" \\\\\n");
    }
    s.push_str("\\bottomrule\n\\end{tabular}\n");
    s.push_str(&format!(
        "\\par\\smallskip\\footnotesize Estimate (standard error); {}. migfit {}; data SHA-256 \\texttt{{{}}}.\n\\end{{table}}\n",
        legend(|t| format!("$p<{t}$")),
        crate::VERSION,
        &ctx.data_sha[..16]
    ));
    s
}

fn assertions_md(ctx: &Context) -> String {
    let mut s = String::from("# Assertions\n\n");
    let failed = ctx.assertions.iter().filter(|a| !a.passed).count();
    s.push_str(&format!("{} of {} assertions hold.\n\n", ctx.assertions.len() - failed, ctx.assertions.len()));
    for a in ctx.assertions {
        s.push_str(&format!("- **{}** {}: {}\n", if a.passed { "PASS" } else { "FAIL" }, a.name, a.detail));
        for o in &a.offending {
            s.push_str(&format!("  - {o}\n"));
        }
    }
    let failed_v: Vec<&VariantResult> = ctx.results.iter().filter(|r| r.outcome.is_err()).collect();
    if !failed_v.is_empty() {
        s.push_str("\n## Failed variants\n\n");
        for r in failed_v {
            s.push_str(&format!("- {}: {}\n", r.variant.name, r.outcome.as_ref().err().unwrap().replace('\n', " ")));
        }
    }
    s
}

/// A forest plot of one tracked effect across variants: estimate and confidence interval per
/// row, a line at zero ([`crate::report::plot::coefplot`] with one panel).
pub fn forest_svg(ctx: &Context, id: &str, t: &TrackSpec) -> String {
    use crate::report::plot::{coefplot, CoefPlot, Panel, Row};
    let rows = ctx
        .rows
        .iter()
        .filter(|r| r.track == id)
        .map(|r| match (r.status.as_str(), r.estimate, r.conf_low, r.conf_high) {
            ("ok", Some(e), Some(l), Some(h)) => Row::point(r.variant.clone(), e, l, h),
            _ => Row { label: r.variant.clone(), value: None, note: r.status.clone(), heading: false },
        })
        .collect();
    coefplot(&CoefPlot {
        title: track_label(t),
        heading: false,
        reference: 0.0,
        panels: vec![Panel { title: format!("{} ({})", track_label(t), t.term.get_ref()), rows }],
    })
}

fn index_html(ctx: &Context, svgs: &[(String, String)]) -> String {
    let mut s = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str(&format!("<title>{}</title>\n", format::html(&ctx.title)));
    s.push_str("<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border-bottom:1px solid #ccc;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}.pass{color:#176b2c}.fail{color:#b00020;font-weight:bold}figure{margin:1.5em 0}code{background:#f4f4f4;padding:0 3px}</style>\n</head>\n<body>\n");
    s.push_str(&format!("<h1>{}</h1>\n", format::html(&ctx.title)));
    if let Some(d) = &ctx.description {
        s.push_str(&format!("<p>{}</p>\n", format::html(d)));
    }
    let failed = ctx.assertions.iter().filter(|a| !a.passed).count();
    s.push_str(&format!(
        "<p>{} variants; {} of {} assertions hold. migfit {}; spec <code>{}</code> (SHA-256 <code>{}</code>); data <code>{}</code> (SHA-256 <code>{}</code>).</p>\n",
        ctx.results.len(),
        ctx.assertions.len() - failed,
        ctx.assertions.len(),
        crate::VERSION,
        format::html(&ctx.spec_name),
        ctx.spec_sha,
        format::html(&ctx.data_name),
        ctx.data_sha
    ));
    s.push_str("<h2>Assertions</h2>\n<ul>\n");
    for a in ctx.assertions {
        s.push_str(&format!(
            "<li><span class=\"{}\">{}</span> {}: {}",
            if a.passed { "pass" } else { "fail" },
            if a.passed { "PASS" } else { "FAIL" },
            format::html(&a.name),
            format::html(&a.detail)
        ));
        if !a.offending.is_empty() {
            s.push_str("<ul>");
            for o in &a.offending {
                s.push_str(&format!("<li>{}</li>", format::html(o)));
            }
            s.push_str("</ul>");
        }
        s.push_str("</li>\n");
    }
    s.push_str("</ul>\n<h2>Tracked effects</h2>\n<table>\n<tr><th>variant</th>");
    for t in &ctx.tracks {
        s.push_str(&format!("<th>{}</th>", format::html(&track_label(t))));
    }
    s.push_str("</tr>\n");
    for r in ctx.results {
        s.push_str(&format!(
            "<tr><td><a href=\"variants/{}.json\">{}</a></td>",
            slug(&r.variant.name),
            format::html(&r.variant.name)
        ));
        for t in &ctx.tracks {
            let id = super::run::track_id(t);
            let row = ctx.rows.iter().find(|x| x.variant == r.variant.name && x.track == id);
            s.push_str(&format!("<td>{}</td>", format::html(&cell(row))));
        }
        s.push_str("</tr>\n");
    }
    s.push_str(&format!(
        "</table>\n<p>Estimate (standard error); {}. Also as",
        format::html(&legend(|t| format!("p<{t}")))
    ));
    s.push_str(" <a href=\"summary.md\">Markdown</a>, <a href=\"summary.tex\">LaTeX</a>, <a href=\"effects.csv\">CSV</a>, <a href=\"effects.json\">JSON</a>.</p>\n");
    s.push_str("<h2>Forest plots</h2>\n");
    for (id, file) in svgs {
        s.push_str(&format!(
            "<figure><img src=\"{}\" alt=\"forest plot of {}\"><figcaption>{}</figcaption></figure>\n",
            file,
            format::html(id),
            format::html(id)
        ));
    }
    s.push_str("</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(estimate: f64, std_error: f64, p_value: f64) -> EffectRow {
        EffectRow {
            variant: "v".into(),
            values: Default::default(),
            track: "t".into(),
            term: "x".into(),
            part: "combined".into(),
            statistic: "margin".into(),
            status: "ok".into(),
            estimate: Some(estimate),
            std_error: Some(std_error),
            p_value: Some(p_value),
            conf_low: None,
            conf_high: None,
        }
    }

    #[test]
    fn summary_cells_share_the_report_tables_rules() {
        assert_eq!(cell(Some(&row(-0.2954, 0.0361, 0.001))), "-0.295** (0.036)");
        assert_eq!(cell_tex(Some(&row(-0.2954, 0.0361, 0.001))), "-0.295$^{**}$ (0.036)");
        // Regression: a single star stayed plain in summary.tex while two became a superscript.
        assert_eq!(cell_tex(Some(&row(0.1, 0.045, 0.03))), "0.100$^{*}$ (0.045)");
        // A value that rounds to zero prints without a minus sign, as in the report tables.
        assert_eq!(cell(Some(&row(-0.0001, 0.02, 0.9))), "0.000 (0.020)");
        let mut failed = row(0.0, 0.0, 1.0);
        failed.status = "not_estimable".into();
        assert_eq!(cell_tex(Some(&failed)), "not\\_estimable");
        assert_eq!(cell(None), "");
    }
}
