//! Plots as SVG: one code path for every figure migfit draws.
//!
//! - [`coefplot`]: estimates with confidence intervals, one row per term, a panel per model
//!   (Stata's `coefplot`; batch's forest plots of one effect across variants are the same
//!   figure with one panel, [`crate::batch`]);
//! - [`lineplot`]: estimates at a sequence of x values joined by a line, the interval as a
//!   shaded band (Stata's `marginsplot`), for predictive margins and at-grids;
//! - [`report_svg`]: the coefficient plot of a [`Report`], built from the one table model
//!   ([`super::table`]) so that the plot shows exactly what the table's cells hold
//!   (coefficients, marginal effects or odds ratios, with the same labels in either language);
//!   with predictive margins, their `marginsplot` instead: a line plot against a numeric
//!   at-grid variable (bands), else dots with whiskers per margin.
//!
//! The SVG is a deterministic function of its input: coordinates with one decimal, tick
//! labels from "nice" steps rounded to 1e-9, no times or paths. Text is escaped for XML
//! (control characters, which XML 1.0 forbids, are dropped). Label widths are measured in
//! display columns (a Chinese character counts two), about 7 px per column at 12 px type, and
//! the font list names CJK fonts so Chinese labels render wherever one of them is installed.

use super::format::{self, width};
use super::table::{self, Lang, Show, TableOptions};
use crate::error::Result;
use crate::output::Report;

/// The fonts every figure asks for, in order: Latin, then CJK fallbacks (Linux, macOS,
/// Windows), then the generic family. Single-quoted: the list sits in a double-quoted
/// attribute.
pub const FONT_FAMILY: &str =
    "'DejaVu Sans','Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei','SimSun',sans-serif";

/// Pixels per display column at 12 px type.
const COLUMN_PX: f64 = 7.0;
const INK: &str = "#1f4e79";
/// Series colours of line plots, in order (colour-blind safe: Okabe-Ito).
const PALETTE: [&str; 6] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"];

/// Text escaped for XML content and attributes; characters XML 1.0 cannot hold are dropped.
pub fn xml(s: &str) -> String {
    let kept: String = s.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')).collect();
    format::html(&kept).replace('\'', "&apos;")
}

/// The width in pixels of a label at 12 px type.
pub fn text_px(s: &str) -> f64 {
    COLUMN_PX * width(s) as f64
}

/// "Nice" tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi].
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| span / s <= 6.0).unwrap_or(10.0 * mag);
    let start = (lo / step).ceil() as i64;
    let end = (hi / step).floor() as i64;
    (start..=end).map(|i| i as f64 * step).collect()
}

/// A tick label: the value rounded to 1e-9 (so 0.30000000000000004 prints 0.3), shortest form.
fn tick_label(v: f64) -> String {
    let r = (v * 1e9).round() / 1e9;
    crate::data::format_number(if r == 0.0 { 0.0 } else { r })
}

/// One row of a coefficient plot: a point with its interval, or a note where there is none
/// (a failed variant's status).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub label: String,
    /// Estimate, lower and upper bound.
    pub value: Option<(f64, f64, f64)>,
    /// Shown instead of the point when `value` is `None`.
    pub note: String,
    /// A group heading (a factor's name and reference level): bold, no point.
    pub heading: bool,
}

impl Row {
    pub fn point(label: impl Into<String>, estimate: f64, lo: f64, hi: f64) -> Row {
        Row { label: label.into(), value: Some((estimate, lo, hi)), note: String::new(), heading: false }
    }
}

/// One panel: its heading and rows, on an axis of its own (models on different scales).
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub rows: Vec<Row>,
}

/// A coefficient plot.
#[derive(Debug, Clone, PartialEq)]
pub struct CoefPlot {
    /// The document's `<title>` and, when `heading`, the line above the panels.
    pub title: String,
    pub heading: bool,
    /// Where the dashed reference line goes (0; 1 for odds ratios).
    pub reference: f64,
    pub panels: Vec<Panel>,
}

const ROW_H: f64 = 20.0;
const PLOT_W: f64 = 420.0;

/// Draws a coefficient plot: per panel, a heading, one row per term (label right-aligned,
/// whisker from the lower to the upper bound, a dot at the estimate with a tooltip), a dashed
/// line at the reference value and an axis with nice ticks.
pub fn coefplot(p: &CoefPlot) -> String {
    let labels = p.panels.iter().flat_map(|q| q.rows.iter()).map(|r| text_px(&r.label));
    let label_w = 10.0 + labels.fold(7.0 * 8.0, f64::max);
    let headings = p.panels.iter().map(|q| text_px(&q.title) * 14.0 / 12.0).chain([text_px(&p.title) * 14.0 / 12.0]);
    let width = (label_w + PLOT_W + 30.0).max(label_w + headings.fold(0.0, f64::max) + 10.0);
    let top = if p.heading { 30.0 } else { 0.0 };
    let panel_h = |q: &Panel| 46.0 + ROW_H * q.rows.len() as f64 + 40.0;
    let height = top + p.panels.iter().map(panel_h).sum::<f64>();
    let mut s = open(width, height, &p.title);
    if p.heading {
        s.push_str(&format!(
            "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
            xml(&p.title)
        ));
    }
    let mut y0 = top;
    for q in &p.panels {
        panel(&mut s, q, p.reference, label_w, y0);
        y0 += panel_h(q);
    }
    s.push_str("</svg>\n");
    s
}

fn open(width: f64, height: f64, title: &str) -> String {
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONT_FAMILY}\" font-size=\"12\">\n"
    );
    s.push_str(&format!("<title>{}</title>\n", xml(title)));
    s.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    s
}

/// The range an axis shows: the values and the reference, padded by 5%.
fn range(values: impl Iterator<Item = f64>, reference: Option<f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.chain(reference).filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 0.0);
    }
    if hi - lo < 1e-12 {
        lo -= 1.0;
        hi += 1.0;
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

fn panel(s: &mut String, q: &Panel, reference: f64, label_w: f64, y0: f64) {
    let values = q.rows.iter().filter_map(|r| r.value).flat_map(|(e, l, h)| [e, l, h]);
    let (lo, hi) = range(values, Some(reference));
    let x = |v: f64| label_w + (v - lo) / (hi - lo) * PLOT_W;
    let top = y0 + 46.0;
    s.push_str(&format!(
        "<text x=\"{label_w:.1}\" y=\"{:.1}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
        y0 + 20.0,
        xml(&q.title)
    ));
    let axis_y = top + ROW_H * q.rows.len() as f64 + 6.0;
    s.push_str(&format!(
        "<line x1=\"{label_w:.1}\" y1=\"{axis_y:.1}\" x2=\"{:.1}\" y2=\"{axis_y:.1}\" stroke=\"black\"/>\n",
        label_w + PLOT_W
    ));
    for tv in ticks(lo, hi) {
        let tx = x(tv);
        s.push_str(&format!(
            "<line x1=\"{tx:.1}\" y1=\"{axis_y:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\n<text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            axis_y + 5.0,
            axis_y + 18.0,
            tick_label(tv)
        ));
    }
    s.push_str(&format!(
        "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n",
        x(reference),
        top - 8.0,
        axis_y
    ));
    for (i, r) in q.rows.iter().enumerate() {
        let y = top + ROW_H * i as f64 + ROW_H / 2.0;
        if r.heading {
            s.push_str(&format!(
                "<text x=\"10.0\" y=\"{:.1}\" font-weight=\"bold\">{}</text>\n",
                y + 4.0,
                xml(&r.label)
            ));
            continue;
        }
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            label_w - 8.0,
            y + 4.0,
            xml(&r.label)
        ));
        match r.value {
            Some((e, l, h)) if e.is_finite() => {
                if l.is_finite() && h.is_finite() {
                    s.push_str(&format!(
                        "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{INK}\" stroke-width=\"2\"/>\n",
                        x(l),
                        x(h)
                    ));
                }
                let interval =
                    if l.is_finite() && h.is_finite() { format!(" [{l:.4}, {h:.4}]") } else { String::new() };
                s.push_str(&format!(
                    "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{INK}\"><title>{}: {:.4}{interval}</title></circle>\n",
                    x(e),
                    xml(&r.label),
                    e
                ));
            }
            _ => {
                let note = if r.note.is_empty() { "not estimated" } else { r.note.as_str() };
                s.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#b00\">{}</text>\n",
                    label_w + 4.0,
                    y + 4.0,
                    xml(note)
                ));
            }
        }
    }
}

/// One point of a line plot: x, estimate, lower and upper bound.
pub type LinePoint = (f64, f64, f64, f64);

/// One line of a line plot (a model, a part, a group).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<LinePoint>,
}

/// A marginsplot-style figure.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// Draws estimates against x, each series a line with dots and its interval as a band
/// (15% opacity), on shared axes with nice ticks, a legend when there are several series.
/// Points are drawn in the order given (sort by x first for a line).
pub fn lineplot(p: &LinePlot) -> String {
    let (w, h) = (PLOT_W + 120.0, 300.0);
    let (left, top) = (70.0, 40.0);
    let legend_w = p.series.iter().map(|q| text_px(&q.name)).fold(0.0, f64::max);
    let legend = p.series.len() > 1;
    let width = left + w + if legend { legend_w + 50.0 } else { 20.0 };
    let height = top + h + 50.0;
    let pts = || p.series.iter().flat_map(|q| q.points.iter());
    let (x_lo, x_hi) = range(pts().map(|t| t.0), None);
    let (y_lo, y_hi) = range(pts().flat_map(|t| [t.1, t.2, t.3]), None);
    let x = |v: f64| left + (v - x_lo) / (x_hi - x_lo) * w;
    let y = |v: f64| top + h - (v - y_lo) / (y_hi - y_lo) * h;
    let mut s = open(width, height, &p.title);
    s.push_str(&format!(
        "<text x=\"{left:.1}\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
        xml(&p.title)
    ));
    let base = top + h;
    s.push_str(&format!(
        "<line x1=\"{left:.1}\" y1=\"{base:.1}\" x2=\"{:.1}\" y2=\"{base:.1}\" stroke=\"black\"/>\n<line x1=\"{left:.1}\" y1=\"{top:.1}\" x2=\"{left:.1}\" y2=\"{base:.1}\" stroke=\"black\"/>\n",
        left + w
    ));
    for tv in ticks(x_lo, x_hi) {
        let tx = x(tv);
        s.push_str(&format!(
            "<line x1=\"{tx:.1}\" y1=\"{base:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\n<text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            base + 5.0,
            base + 18.0,
            tick_label(tv)
        ));
    }
    for tv in ticks(y_lo, y_hi) {
        let ty = y(tv);
        s.push_str(&format!(
            "<line x1=\"{:.1}\" y1=\"{ty:.1}\" x2=\"{left:.1}\" y2=\"{ty:.1}\" stroke=\"black\"/>\n<line x1=\"{left:.1}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\" stroke=\"#eee\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            left - 5.0,
            left + w,
            left - 8.0,
            ty + 4.0,
            tick_label(tv)
        ));
    }
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
        left + w / 2.0,
        base + 38.0,
        xml(&p.x_label)
    ));
    s.push_str(&format!(
        "<text x=\"16\" y=\"{0:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0:.1})\">{1}</text>\n",
        top + h / 2.0,
        xml(&p.y_label)
    ));
    for (k, q) in p.series.iter().enumerate() {
        let c = PALETTE[k % PALETTE.len()];
        let ok: Vec<&LinePoint> = q.points.iter().filter(|t| t.0.is_finite() && t.1.is_finite()).collect();
        let band: Vec<&&LinePoint> = ok.iter().filter(|t| t.2.is_finite() && t.3.is_finite()).collect();
        if band.len() > 1 {
            let upper = band.iter().map(|t| format!("{:.1},{:.1}", x(t.0), y(t.3)));
            let lower = band.iter().rev().map(|t| format!("{:.1},{:.1}", x(t.0), y(t.2)));
            let pts: Vec<String> = upper.chain(lower).collect();
            s.push_str(&format!(
                "<polygon points=\"{}\" fill=\"{c}\" fill-opacity=\"0.15\" stroke=\"none\"/>\n",
                pts.join(" ")
            ));
        }
        for t in &band {
            s.push_str(&format!(
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"{c}\" stroke-opacity=\"0.6\"/>\n",
                x(t.0),
                y(t.2),
                y(t.3)
            ));
        }
        if ok.len() > 1 {
            let line: Vec<String> = ok.iter().map(|t| format!("{:.1},{:.1}", x(t.0), y(t.1))).collect();
            s.push_str(&format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>\n",
                line.join(" ")
            ));
        }
        for t in &ok {
            s.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{c}\"><title>{}: {} {:.4}{}</title></circle>\n",
                x(t.0),
                y(t.1),
                xml(&q.name),
                tick_label(t.0),
                t.1,
                if t.2.is_finite() && t.3.is_finite() { format!(" [{:.4}, {:.4}]", t.2, t.3) } else { String::new() }
            ));
        }
        if legend {
            let ly = top + 10.0 + 20.0 * k as f64;
            let lx = left + w + 15.0;
            s.push_str(&format!(
                "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"14\" height=\"10\" fill=\"{c}\"/>\n<text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
                ly - 9.0,
                lx + 20.0,
                ly,
                xml(&q.name)
            ));
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The coefficient plot of a report: one panel per column of its table (a model, a part of a
/// two-part model, the combined effects), one row per term in the table's order and labels,
/// factor levels under their variable's heading; the constant is left out (as `coefplot`).
/// What the rows hold follows `opts.show`: coefficients, marginal effects or odds ratios
/// (whose reference line is at 1).
pub fn report_svg(report: &Report, opts: &TableOptions) -> Result<String> {
    let t = table::build(report, opts)?;
    if has_predictions(report) {
        return Ok(margins_svg(report, opts, &t));
    }
    let level = report.models.first().map_or(95.0, |m| m.level);
    let level = tick_label(level);
    let what = match (opts.show, opts.lang) {
        (Show::Coef, Lang::En) => "Coefficients",
        (Show::Margins, Lang::En) => "Marginal effects",
        (Show::OddsRatios, Lang::En) => "Odds ratios",
        (Show::Coef, Lang::Zh) => "系数",
        (Show::Margins, Lang::Zh) => "边际效应",
        (Show::OddsRatios, Lang::Zh) => "比值比",
    };
    let title = opts.caption.clone().unwrap_or_else(|| match opts.lang {
        Lang::En => format!("{what} with {level}% confidence intervals"),
        Lang::Zh => format!("{what}及{level}%置信区间"),
    });
    let mut panels = Vec::new();
    for (j, c) in t.columns.iter().enumerate() {
        let mut rows = Vec::new();
        for b in &t.blocks {
            let block: Vec<Row> = b
                .rows
                .iter()
                .filter(|r| r.term != "(Intercept)")
                .filter_map(|r| {
                    let cell = r.cells.get(j)?.as_ref()?;
                    Some(Row::point(r.label.clone(), cell.estimate, cell.conf_low, cell.conf_high))
                })
                .collect();
            if block.is_empty() {
                continue;
            }
            if let Some(h) = &b.header {
                rows.push(Row { label: h.clone(), value: None, note: String::new(), heading: true });
            }
            rows.extend(block);
        }
        let heading: Vec<&str> = c.heading.iter().map(String::as_str).filter(|h| !h.is_empty()).collect();
        panels.push(Panel { title: heading.join(" · "), rows });
    }
    let reference = if opts.show == Show::OddsRatios { 1.0 } else { 0.0 };
    Ok(coefplot(&CoefPlot { title, heading: true, reference, panels }))
}

fn has_predictions(report: &Report) -> bool {
    report.models.iter().any(|m| !m.predictions.is_empty())
        || report.combined.as_ref().is_some_and(|c| !c.predictions.is_empty())
}

/// A variable's label in the table's language (its name without one) and a level's.
fn variable_label(report: &Report, var: &str, level: Option<&str>, lang: Lang) -> (String, Option<String>) {
    let info = report.variables.iter().find(|v| v.name == var);
    let pick = |en: &Option<String>, zh: &Option<String>| match lang {
        Lang::Zh => zh.clone().or_else(|| en.clone()),
        Lang::En => en.clone(),
    };
    let name = info.and_then(|v| pick(&v.label, &v.label_zh)).unwrap_or_else(|| var.to_string());
    let level = level.map(|l| {
        info.and_then(|v| v.levels.iter().find(|x| x.name == l))
            .and_then(|x| pick(&x.label, &x.label_zh))
            .unwrap_or_else(|| l.to_string())
    });
    (name, level)
}

/// `C(scope, ref=1)[2]:C(g)[1]` as "Scope = 2, g = 1" with the variables' and levels' labels.
fn term_label(report: &Report, term: &str, lang: Lang) -> String {
    term.split(':')
        .map(|piece| {
            let Some(open) = piece.rfind('[') else { return piece.to_string() };
            let prefix = &piece[..open];
            let level = piece[open + 1..].trim_end_matches(']');
            let var = prefix
                .strip_prefix("C(")
                .and_then(|r| r.strip_suffix(')'))
                .map_or(prefix, |inner| inner.split(',').next().unwrap_or(inner).trim());
            let (v, l) = variable_label(report, var, Some(level), lang);
            format!("{v} = {}", l.unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stata's `marginsplot` of the predictive margins (`--predict-margins`): per model, part and
/// combined E[y] that has them, a line plot against the at-grid variable (one line per level,
/// the interval as a band) when the grid has one numeric variable, else a dot-and-whisker
/// panel with one row per margin (and grid point). Panels are stacked in one SVG, titled as the
/// table's columns.
fn margins_svg(report: &Report, opts: &TableOptions, t: &table::Table) -> String {
    let level = tick_label(report.models.first().map_or(95.0, |m| m.level));
    let (what, y_label) = match opts.lang {
        Lang::En => (format!("Predictive margins with {level}% confidence intervals"), "Predictive margin"),
        Lang::Zh => (format!("预测边际及{level}%置信区间"), "预测边际"),
    };
    let title = opts.caption.clone().unwrap_or(what);
    let heading = |j: usize| -> String {
        t.columns
            .get(j)
            .map(|c| c.heading.iter().filter(|h| !h.is_empty()).cloned().collect::<Vec<_>>().join(" · "))
            .unwrap_or_default()
    };
    let mut sources: Vec<(String, &[crate::output::Prediction])> = report
        .models
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.predictions.is_empty())
        .map(|(j, m)| (heading(j), m.predictions.as_slice()))
        .collect();
    if let Some(c) = report.combined.as_ref().filter(|c| !c.predictions.is_empty()) {
        sources.push((heading(report.models.len()), c.predictions.as_slice()));
    }
    // The grid variable of a line plot: one numeric variable at every margin.
    let x_var = |preds: &[crate::output::Prediction]| -> Option<String> {
        let first = preds.first()?.at.as_ref()?;
        let [(var, _)] = first.as_slice() else { return None };
        let numeric = preds
            .iter()
            .all(|p| p.at.as_ref().is_some_and(|a| a.len() == 1 && &a[0].0 == var && a[0].1.parse::<f64>().is_ok()));
        numeric.then(|| var.clone())
    };
    if let Some(var) =
        sources.first().and_then(|s| x_var(s.1)).filter(|v| sources.iter().all(|s| x_var(s.1).as_ref() == Some(v)))
    {
        let (x_label, _) = variable_label(report, &var, None, opts.lang);
        let plots: Vec<String> = sources
            .iter()
            .map(|(head, preds)| {
                let mut series: Vec<Series> = Vec::new();
                for p in *preds {
                    let name = term_label(report, &p.term, opts.lang);
                    let x: f64 = p.at.as_ref().expect("grid")[0].1.parse().expect("numeric");
                    let point = (x, p.estimate, p.conf_low, p.conf_high);
                    match series.iter_mut().find(|s| s.name == name) {
                        Some(s) => s.points.push(point),
                        None => series.push(Series { name, points: vec![point] }),
                    }
                }
                for s in &mut series {
                    s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
                }
                // Several panels: each titled by its column (the document's title says what).
                let panel_title = if sources.len() > 1 && !head.is_empty() { head.clone() } else { title.clone() };
                lineplot(&LinePlot { title: panel_title, x_label: x_label.clone(), y_label: y_label.into(), series })
            })
            .collect();
        return stack(&title, plots);
    }
    let panels = sources
        .iter()
        .map(|(head, preds)| Panel {
            title: head.clone(),
            rows: preds
                .iter()
                .map(|p| {
                    let mut label = term_label(report, &p.term, opts.lang);
                    if p.at.is_some() {
                        label = format!("{label} ({})", p.at_text());
                    }
                    Row::point(label, p.estimate, p.conf_low, p.conf_high)
                })
                .collect(),
        })
        .collect();
    coefplot(&CoefPlot { title, heading: true, reference: 0.0, panels })
}

/// Several figures one under the other in one SVG (nested `<svg>` elements).
fn stack(title: &str, figures: Vec<String>) -> String {
    if figures.len() == 1 {
        return figures.into_iter().next().expect("one");
    }
    let size = |f: &str, attr: &str| -> f64 {
        let key = format!("{attr}=\"");
        f.find(&key).and_then(|i| f[i + key.len()..].split('"').next()?.parse().ok()).unwrap_or(0.0)
    };
    let width = figures.iter().map(|f| size(f, "width")).fold(0.0, f64::max);
    let height: f64 = figures.iter().map(|f| size(f, "height")).sum();
    let mut s = open(width, height, title);
    let mut y = 0.0;
    for f in &figures {
        s.push_str(&f.replacen("<svg xmlns=\"http://www.w3.org/2000/svg\"", &format!("<svg x=\"0\" y=\"{y:.0}\""), 1));
        y += size(f, "height");
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_cover_the_range() {
        assert_eq!(ticks(-0.12, 0.43), vec![-0.1, 0.0, 0.1, 0.2, 0.30000000000000004, 0.4]);
        assert_eq!(tick_label(0.30000000000000004), "0.3");
        assert_eq!(tick_label(-0.0), "0");
    }

    #[test]
    fn xml_escapes_and_drops_control_characters() {
        assert_eq!(xml("a<b & \"c\" 'd'\u{1}"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;");
    }

    #[test]
    fn chinese_labels_widen_the_label_column() {
        let narrow = coefplot(&CoefPlot {
            title: "t".into(),
            heading: false,
            reference: 0.0,
            panels: vec![Panel { title: "m".into(), rows: vec![Row::point("abcdefghij", 1.0, 0.5, 1.5)] }],
        });
        let wide = coefplot(&CoefPlot {
            title: "t".into(),
            heading: false,
            reference: 0.0,
            panels: vec![Panel {
                title: "m".into(), rows: vec![Row::point("流动范围跨省流动", 1.0, 0.5, 1.5)]
            }],
        });
        // 10 columns of Latin against 16 of Chinese: 42 px wider.
        assert!(narrow.contains("width=\"530\""), "{narrow}");
        assert!(wide.contains("width=\"572\""), "{wide}");
    }

    #[test]
    fn missing_values_give_a_note_not_nan_coordinates() {
        let s = coefplot(&CoefPlot {
            title: "t".into(),
            heading: false,
            reference: 0.0,
            panels: vec![Panel {
                title: "m".into(),
                rows: vec![Row::point("a", 1.0, f64::NAN, f64::NAN), Row::point("b", f64::NAN, 0.0, 1.0)],
            }],
        });
        assert!(!s.contains("NaN"), "{s}");
        assert!(s.contains("not estimated"));
        let l = lineplot(&LinePlot {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series { name: "s".into(), points: vec![(1.0, 0.5, f64::NAN, 0.7), (2.0, 0.6, 0.5, 0.7)] }],
        });
        assert!(!l.contains("NaN"), "{l}");
    }
}
