//! Results as data (serde types, documented in `data-schema/output.md`), JSON with 17
//! significant digits, and a plain-text summary.

use crate::inference::Variance;
use crate::model::{Fit, Omitted};
use serde::{Deserialize, Serialize};

/// The whole output of one command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub migfit_version: String,
    pub command: String,
    pub data: String,
    /// SHA-256 of the data file's bytes (hex), so a table can be traced to its input.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub data_sha256: Option<String>,
    pub models: Vec<ModelReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub combined: Option<Combined>,
    /// The variables the models use, with labels and factor levels: what publication tables
    /// need to group factor levels under a header naming the reference level.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(default)]
    pub variables: Vec<VariableInfo>,
}

/// A variable of the models, with its labels (from a schema) and, for a factor, its levels.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VariableInfo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub label_zh: Option<String>,
    /// For a factor: how its terms start (`C(g)` in `C(g)[2]`, `scheme` in `scheme[URBMI]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub term_prefix: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(default)]
    pub levels: Vec<LevelInfo>,
    /// Index into `levels` of the reference level.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub reference: Option<usize>,
}

/// One level of a factor, with its labels.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LevelInfo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub label_zh: Option<String>,
}

impl VariableInfo {
    pub fn numeric(name: &str) -> VariableInfo {
        VariableInfo {
            name: name.to_string(),
            label: None,
            label_zh: None,
            term_prefix: None,
            levels: Vec::new(),
            reference: None,
        }
    }
}

/// Describes the variables that the designs use (regressors and the variables of the
/// responses), in order of first appearance, with labels from the dataset's metadata.
pub fn describe_variables(ds: &crate::data::Dataset, designs: &[&crate::design::Design]) -> Vec<VariableInfo> {
    use crate::design::ResolvedAtom;
    let mut out: Vec<VariableInfo> = Vec::new();
    let label_of = |name: &str| ds.column(name).and_then(|c| c.label.clone());
    let label_zh_of = |name: &str| ds.column(name).and_then(|c| c.label_zh.clone());
    let push_numeric = |out: &mut Vec<VariableInfo>, name: &str| {
        if ds.column(name).is_some() && !out.iter().any(|v| v.name == name) {
            let mut v = VariableInfo::numeric(name);
            v.label = label_of(name);
            v.label_zh = label_zh_of(name);
            out.push(v);
        }
    };
    for d in designs {
        for id in identifiers(&d.response) {
            push_numeric(&mut out, &id);
        }
        for atom in &d.spec.atoms {
            match atom {
                ResolvedAtom::Numeric { expr, .. } => {
                    for v in expr.variables() {
                        push_numeric(&mut out, &v);
                    }
                }
                ResolvedAtom::Factor { text, var, levels, reference, .. } => {
                    if out.iter().any(|v| v.name == *var && v.term_prefix.is_some()) {
                        continue;
                    }
                    out.retain(|v| v.name != *var);
                    out.push(VariableInfo {
                        name: var.clone(),
                        label: label_of(var),
                        label_zh: label_zh_of(var),
                        term_prefix: Some(text.clone()),
                        levels: levels
                            .iter()
                            .map(|l| LevelInfo {
                                name: l.name.clone(),
                                label: l.label.clone(),
                                label_zh: l.label_zh.clone(),
                            })
                            .collect(),
                        reference: Some(*reference),
                    });
                }
            }
        }
    }
    out
}

/// The identifiers (variable-name candidates) in an expression text such as `log(amount)`.
pub fn identifiers(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for ch in text.chars().chain(std::iter::once(' ')) {
        if ch.is_alphanumeric() || ch == '_' || ch == '.' {
            cur.push(ch);
        } else if !cur.is_empty() {
            let starts_ok = cur.chars().next().is_some_and(|c| !c.is_ascii_digit());
            if starts_ok && !out.contains(&cur) {
                out.push(cur.clone());
            }
            cur.clear();
        }
    }
    out
}

/// Effects of a combined model (the two-part model's `E[y]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Combined {
    pub description: String,
    pub vce: String,
    pub margins: Vec<Margin>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Weights {
    pub variable: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One fitted model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelReport {
    pub name: String,
    pub formula: String,
    pub response: String,
    pub model: String,
    pub family: String,
    pub link: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub n_obs: f64,
    pub n_rows: usize,
    pub n_dropped: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub log_likelihood: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub ll_null: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub pseudo_r2: Option<f64>,
    #[serde(deserialize_with = "nan_if_null")]
    pub deviance: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub pearson_chi2: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub dispersion: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub df_resid: f64,
    pub converged: bool,
    pub iterations: usize,
    pub vce: String,
    pub vce_type: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub vce_factor: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub n_clusters: Option<usize>,
    /// Degrees of freedom of the t statistics (survey designs: PSUs minus strata, Stata's
    /// `e(df_r)`); absent when the statistics are z (normal).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub df_r: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub weights: Option<Weights>,
    #[serde(deserialize_with = "nan_if_null")]
    pub level: f64,
    /// `true` when the coefficient rows hold odds ratios (`--or`).
    pub odds_ratios: bool,
    pub coefficients: Vec<Coefficient>,
    pub omitted: Vec<Omitted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub margins_description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(default)]
    pub margins: Vec<Margin>,
    pub notes: Vec<String>,
}

/// One row of a coefficient table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Coefficient {
    pub term: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub estimate: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub std_error: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub statistic: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p_value: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub conf_low: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub conf_high: f64,
}

/// One marginal effect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Margin {
    /// The variable (`age`) or factor level (`C(g)[2]`, `scheme[URBMI]`).
    pub term: String,
    /// `dydx` for a derivative, `"<level> vs <reference>"` for a discrete change.
    pub contrast: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub estimate: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub std_error: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub statistic: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p_value: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub conf_low: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub conf_high: f64,
}

/// z statistic, two-sided normal p-value and confidence interval of an estimate.
pub fn inference(estimate: f64, se: f64, level: f64) -> (f64, f64, f64, f64) {
    inference_df(estimate, se, level, None)
}

/// As [`inference`], with Student's t and `df` degrees of freedom when `df` is given (survey
/// designs, as Stata's `svy`): [`crate::inference::statistics`].
pub fn inference_df(estimate: f64, se: f64, level: f64, df: Option<f64>) -> (f64, f64, f64, f64) {
    crate::inference::statistics(estimate, se, level, df)
}

/// Recomputes the statistics, p-values and intervals of marginal effects with Student's t and
/// `df` degrees of freedom (a [`Variance`]'s `df`; `None`: leaves them as they are, normal).
pub fn apply_df(margins: &mut [Margin], level: f64, df: Option<f64>) {
    if df.is_none() {
        return;
    }
    for m in margins {
        let (t, p, lo, hi) = inference_df(m.estimate, m.std_error, level, df);
        (m.statistic, m.p_value, m.conf_low, m.conf_high) = (t, p, lo, hi);
    }
}

impl Margin {
    pub fn new(term: String, contrast: String, estimate: f64, se: f64, level: f64) -> Margin {
        let (statistic, p_value, conf_low, conf_high) = inference(estimate, se, level);
        Margin { term, contrast, estimate, std_error: se, statistic, p_value, conf_low, conf_high }
    }
}

impl ModelReport {
    /// Builds the report of a fit with its variance; `odds_ratios` transforms the rows (exp(b),
    /// SE exp(b) se(b), CI exp of the coefficient CI; z and p stay those of the coefficient).
    pub fn new(name: &str, formula: &str, fit: &Fit, vce: &Variance, level: f64, odds_ratios: bool) -> ModelReport {
        let se = vce.std_errors();
        let coefficients = fit
            .design
            .names
            .iter()
            .zip(&fit.beta)
            .zip(&se)
            .map(|((term, &b), &s)| {
                let (z, p, lo, hi) = vce.statistics(b, s, level);
                if odds_ratios {
                    let or = crate::stats::odds_ratio(b, s, lo, hi);
                    Coefficient {
                        term: term.clone(),
                        estimate: or.estimate,
                        std_error: or.std_error,
                        statistic: z,
                        p_value: p,
                        conf_low: or.conf_low,
                        conf_high: or.conf_high,
                    }
                } else {
                    Coefficient {
                        term: term.clone(),
                        estimate: b,
                        std_error: s,
                        statistic: z,
                        p_value: p,
                        conf_low: lo,
                        conf_high: hi,
                    }
                }
            })
            .collect();
        let d = &fit.design;
        ModelReport {
            name: name.to_string(),
            formula: formula.to_string(),
            response: d.response.clone(),
            model: fit.spec.kind.name().to_string(),
            family: fit.spec.family.name().to_string(),
            link: fit.spec.link.name().to_string(),
            n_obs: fit.n_obs,
            n_rows: d.n(),
            n_dropped: d.n_dropped,
            log_likelihood: fit.log_likelihood,
            ll_null: fit.ll_null,
            pseudo_r2: fit.ll_null.map(|l0| 1.0 - fit.log_likelihood / l0),
            deviance: fit.deviance,
            pearson_chi2: fit.pearson_chi2,
            dispersion: fit.dispersion,
            df_resid: fit.df_resid,
            converged: fit.converged,
            iterations: fit.iterations,
            vce: vce.description.clone(),
            vce_type: vce.kind.name().to_string(),
            vce_factor: vce.factor,
            n_clusters: vce.n_clusters,
            df_r: vce.df,
            weights: d
                .weight_var
                .clone()
                .zip(d.weight_type)
                .map(|(variable, t)| Weights { variable, kind: t.as_str().to_string() }),
            level,
            odds_ratios,
            coefficients,
            omitted: fit.omitted.clone(),
            margins_description: None,
            margins: Vec::new(),
            notes: fit.notes.clone(),
        }
    }
}

/// Reads a number as [`to_json`] writes it: `null` stands for a non-finite value (NaN).
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Formats a number like C's `%.17g`: 17 significant digits, which round-trip every f64.
pub fn format_g17(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.16e}", v);
    let (mant, exp) = sci.split_once('e').expect("scientific format");
    let exp: i32 = exp.parse().expect("exponent");
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if !(-5..17).contains(&exp) {
        let mut m = format!("{}.{}", &digits[..1], &digits[1..]);
        while m.ends_with('0') {
            m.pop();
        }
        if m.ends_with('.') {
            m.pop();
        }
        let es = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{es}{:02}", exp.abs());
    }
    let s = if exp >= 0 {
        let point = exp as usize + 1;
        format!("{}.{}", &digits[..point], &digits[point..])
    } else {
        format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
    };
    let mut s = s;
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    format!("{sign}{s}")
}

/// serde_json formatter that writes floats with 17 significant digits.
struct G17<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for G17<'_> {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        w.write_all(format_g17(v).as_bytes())
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Serializes any result as pretty JSON with 17-digit floats (non-finite numbers as null).
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut buf, G17(serde_json::ser::PrettyFormatter::with_indent(b"  ")));
    value.serialize(&mut ser).expect("results serialize");
    buf.push(b'\n');
    String::from_utf8(buf).expect("JSON is UTF-8")
}

fn fmt_num(v: f64, width: usize) -> String {
    if !v.is_finite() {
        return format!("{:>width$}", ".");
    }
    let a = v.abs();
    let s = if a != 0.0 && !(1e-4..1e7).contains(&a) { format!("{v:.3e}") } else { format!("{v:.7}") };
    // Keep at most 7 significant digits in fixed notation.
    let s = if s.contains('e') { s } else { trim_sig(v, 7) };
    format!("{s:>width$}")
}

fn trim_sig(v: f64, sig: usize) -> String {
    let a = v.abs();
    let int_digits = if a >= 1.0 { (a.log10().floor() as i32 + 1) as usize } else { 0 };
    let dec = sig.saturating_sub(int_digits).max(if a < 1.0 { sig } else { 0 });
    format!("{v:.dec$}")
}

/// A plain-text summary of a report (the reporter issue adds formatted tables).
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    for m in &report.models {
        let title = match m.model.as_str() {
            "probit" => "Probit regression".to_string(),
            "logit" => "Logistic regression".to_string(),
            _ => format!("Generalized linear model: family {}, link {}", m.family, m.link),
        };
        let label = if report.models.len() > 1 { format!("[{}] ", m.name) } else { String::new() };
        out.push_str(&format!("{label}{title}\n"));
        out.push_str(&format!("Formula: {}\n", m.formula));
        out.push_str(&format!(
            "Number of obs = {}   (rows dropped: {})\nLog likelihood = {}",
            crate::data::format_number(m.n_obs),
            m.n_dropped,
            trim_sig(m.log_likelihood, 10)
        ));
        if let Some(r2) = m.pseudo_r2 {
            out.push_str(&format!("   Pseudo R2 = {:.4}", r2));
        }
        if m.model == "glm" {
            out.push_str(&format!(
                "   Deviance = {}   Dispersion = {}",
                trim_sig(m.deviance, 8),
                trim_sig(m.dispersion, 8)
            ));
        }
        out.push('\n');
        if let Some(w) = &m.weights {
            out.push_str(&format!("Weights: {} ({})\n", w.variable, w.kind));
        }
        out.push_str(&format!("Std. errors: {}\n\n", m.vce));
        let tw = m
            .coefficients
            .iter()
            .map(|c| c.term.chars().count())
            .chain(m.margins.iter().map(|c| c.term.chars().count() + 2))
            .max()
            .unwrap_or(4)
            .max(12);
        let head = if m.odds_ratios { "odds ratio" } else { "coef." };
        let ci = format!("[{}% conf. interval]", crate::data::format_number(m.level));
        let (stat, p) = crate::inference::labels(m.df_r);
        out.push_str(&format!("{:<tw$} {:>12} {:>12} {:>8} {:>7} {:>25}\n", "", head, "std. err.", stat, p, ci));
        out.push_str(&format!("{}\n", "-".repeat(tw + 68)));
        for c in &m.coefficients {
            out.push_str(&format!(
                "{:<tw$} {} {} {:>8.2} {:>7.3} {} {}\n",
                c.term,
                fmt_num(c.estimate, 12),
                fmt_num(c.std_error, 12),
                c.statistic,
                c.p_value,
                fmt_num(c.conf_low, 12),
                fmt_num(c.conf_high, 12)
            ));
        }
        for o in &m.omitted {
            out.push_str(&format!("{:<tw$} {:>12}  ({})\n", o.term, "(omitted)", o.reason));
        }
        if !m.margins.is_empty() {
            out.push_str(&format!(
                "\n{}\n",
                m.margins_description.clone().unwrap_or_else(|| "Marginal effects".into())
            ));
            push_margins(&mut out, &m.margins, tw, m.df_r);
        }
        for n in &m.notes {
            out.push_str(&format!("Note: {n}\n"));
        }
        out.push('\n');
    }
    if let Some(c) = &report.combined {
        out.push_str(&format!("{}\nStd. errors: {}\n", c.description, c.vce));
        let tw = c.margins.iter().map(|m| m.term.chars().count() + 2).max().unwrap_or(12).max(12);
        // The combined effects use the parts' variance, and so their degrees of freedom.
        push_margins(&mut out, &c.margins, tw, report.models.first().and_then(|m| m.df_r));
    }
    out
}

fn push_margins(out: &mut String, margins: &[Margin], tw: usize, df: Option<f64>) {
    let (stat, p) = crate::inference::labels(df);
    out.push_str(&format!(
        "{:<tw$} {:>14} {:>12} {:>12} {:>8} {:>7}\n",
        "", "contrast", "effect", "std. err.", stat, p
    ));
    out.push_str(&format!("{}\n", "-".repeat(tw + 58)));
    for m in margins {
        out.push_str(&format!(
            "{:<tw$} {:>14} {} {} {:>8.2} {:>7.3}\n",
            m.term,
            m.contrast,
            fmt_num(m.estimate, 12),
            fmt_num(m.std_error, 12),
            m.statistic,
            m.p_value
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_printf() {
        assert_eq!(format_g17(1165.0), "1165");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(-0.5), "-0.5");
        assert_eq!(format_g17(1.5e-7), "1.4999999999999999e-07");
        assert_eq!(format_g17(123456789012345678.0), "1.2345678901234568e+17");
        for v in [std::f64::consts::PI, -2.5e-300, 6.02e23, 1.0 / 3.0] {
            assert_eq!(format_g17(v).parse::<f64>().unwrap(), v);
        }
    }
}
