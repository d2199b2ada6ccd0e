//! Results as data (serde types, documented in `data-schema/output.md`), JSON with 17
//! significant digits, and a plain-text summary.

use crate::inference::wald::WaldTest;
use crate::inference::{Variance, VceKind};
use crate::model::{Fit, Omitted};
use serde::{Deserialize, Serialize};

mod json;
pub(crate) use json::nan_if_null;
pub use json::{format_g17, to_json};

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
    /// Tests across the models (`--by ... --test-equal`: each effect equal across the groups,
    /// under the stacked variance).
    #[serde(skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<WaldTest>,
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
    ColumnLabels::of(ds).describe(designs)
}

/// The names and labels of a dataset's columns: what [`describe_variables`] reads, kept by a
/// job that frees the columns before it reports (`data::Data::release`).
pub struct ColumnLabels(std::collections::HashMap<String, (Option<String>, Option<String>)>);

impl ColumnLabels {
    pub fn of(ds: &crate::data::Dataset) -> ColumnLabels {
        ColumnLabels(ds.columns().iter().map(|c| (c.name.clone(), (c.label.clone(), c.label_zh.clone()))).collect())
    }

    /// [`describe_variables`] of the designs.
    pub fn describe(&self, designs: &[&crate::design::Design]) -> Vec<VariableInfo> {
        describe_with(&self.0, designs)
    }
}

fn describe_with(
    columns: &std::collections::HashMap<String, (Option<String>, Option<String>)>,
    designs: &[&crate::design::Design],
) -> Vec<VariableInfo> {
    use crate::design::ResolvedAtom;
    let mut out: Vec<VariableInfo> = Vec::new();
    let label_of = |name: &str| columns.get(name).and_then(|c| c.0.clone());
    let label_zh_of = |name: &str| columns.get(name).and_then(|c| c.1.clone());
    let push_numeric = |out: &mut Vec<VariableInfo>, name: &str| {
        if columns.contains_key(name) && !out.iter().any(|v| v.name == name) {
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predictions: Vec<Prediction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contrasts: Vec<Prediction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// `--test-margins` on the combined E[y]'s margins.
    #[serde(skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<WaldTest>,
    /// `--lincom-margins` on the combined E[y]'s margins.
    #[serde(skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub lincom: Vec<Lincom>,
}

impl Combined {
    /// A combined prediction with its description and variance sentence, nothing computed yet.
    pub fn new(description: String, vce: String) -> Combined {
        Combined {
            description,
            vce,
            margins: Vec::new(),
            predictions: Vec::new(),
            contrasts: Vec::new(),
            notes: Vec::new(),
            tests: Vec::new(),
            lincom: Vec::new(),
        }
    }
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
    /// Predictive margins (`--predict-margins`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predictions: Vec<Prediction>,
    /// Contrasts of predictive margins (`--contrast`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contrasts: Vec<Prediction>,
    pub notes: Vec<String>,
    /// Akaike's information criterion as Stata's `estat ic`: `-2 ll + 2 k`, `k` the number of
    /// estimated (non-omitted) coefficients; absent under a survey design (no likelihood).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aic: Option<f64>,
    /// Schwarz's criterion as Stata's `estat ic`: `-2 ll + k ln N`, `N` = `n_obs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<f64>,
    /// The test of every slope of Stata's estimation header (LR or Wald chi2; adjusted F
    /// under a survey design).
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub model_test: Option<WaldTest>,
    /// Strata of a survey design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_strata: Option<usize>,
    /// `--test` results.
    #[serde(skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<WaldTest>,
    /// `--lincom` results.
    #[serde(skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub lincom: Vec<Lincom>,
    /// The variance matrix of the coefficients (of `b`, also when rows show odds ratios).
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub vcov: Option<Vcov>,
}

/// A variance matrix with its term names (rows and columns in the order of `terms`).
#[derive(Debug, Clone, Serialize)]
pub struct Vcov {
    pub terms: Vec<String>,
    pub matrix: Vec<Vec<f64>>,
}

impl Vcov {
    pub fn new(terms: &[String], v: &ndarray::Array2<f64>) -> Vcov {
        Vcov { terms: terms.to_vec(), matrix: v.rows().into_iter().map(|r| r.to_vec()).collect() }
    }
}

/// A linear combination of coefficients (Stata's `lincom`), or of margins
/// (`--lincom-margins`, `on: "margins"`).
#[derive(Debug, Clone, Serialize)]
pub struct Lincom {
    pub term: String,
    pub estimate: f64,
    pub std_error: f64,
    pub statistic: f64,
    pub p_value: f64,
    pub conf_low: f64,
    pub conf_high: f64,
    /// `margins` for a combination of margins; absent for coefficients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<&'static str>,
}

impl Lincom {
    /// A combination with its estimate, SE and `(statistic, p, conf_low, conf_high)` (as
    /// [`crate::inference::statistics`] gives them); `on` is `Some("margins")` for margins.
    pub fn new(
        term: String,
        estimate: f64,
        std_error: f64,
        stats: (f64, f64, f64, f64),
        on: Option<&'static str>,
    ) -> Lincom {
        let (statistic, p_value, conf_low, conf_high) = stats;
        Lincom { term, estimate, std_error, statistic, p_value, conf_low, conf_high, on }
    }
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
    /// Degrees of freedom of this row's t test when they differ by row (CR2/CR3:
    /// Bell-McCaffrey / Satterthwaite); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
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
    /// Degrees of freedom of this row's t test when they differ by row (see
    /// [`Coefficient::df`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
    /// The effect's gradient with respect to the coefficients its variance covers (what the
    /// delta-method SE and the per-row degrees of freedom use); not reported.
    #[serde(skip)]
    pub jacobian: Vec<f64>,
    /// With `--margins-vce unconditional`: the effect's own linearization per sampling unit,
    /// `sum_{i in j} w_i (f_i - m) / W` (see `margins::MarginsVce`); empty otherwise. Not
    /// reported.
    #[serde(skip)]
    pub linearized: Vec<f64>,
    /// The at-grid point of the effect (`--at`), as in [`Prediction::at`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_at",
        deserialize_with = "deserialize_at"
    )]
    pub at: Option<Vec<(String, String)>>,
    /// The group whose rows the effect averages over (`--over`), `{"female": 1}`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_at",
        deserialize_with = "deserialize_at"
    )]
    pub over: Option<Vec<(String, String)>>,
}

/// A predictive margin (`term` `scope[2]`, or `scope[2]:female[1]` for a combination) or a
/// contrast of two (`scope[3] - scope[2]`), at an at-grid point when one was asked for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Prediction {
    pub term: String,
    /// The at-grid point, `{"age": 30, "female": 1}` (numbers as numbers, factor levels as
    /// text); absent without a grid.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_at",
        deserialize_with = "deserialize_at"
    )]
    pub at: Option<Vec<(String, String)>>,
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
    /// The margin's gradient with respect to the coefficients its variance covers (what the
    /// delta-method SE and the tests on margins use); not reported.
    #[serde(skip)]
    pub jacobian: Vec<f64>,
    /// With `--margins-vce unconditional`: the margin's own linearization per sampling unit
    /// (as [`Margin::linearized`]); empty otherwise. Not reported.
    #[serde(skip)]
    pub linearized: Vec<f64>,
}

impl Prediction {
    /// With z (or, given `df`, t) statistics at `level` percent.
    pub fn new(
        term: String,
        at: &[(String, String)],
        estimate: f64,
        se: f64,
        level: f64,
        df: Option<f64>,
    ) -> Prediction {
        let (statistic, p_value, conf_low, conf_high) = inference_df(estimate, se, level, df);
        let at = if at.is_empty() { None } else { Some(at.to_vec()) };
        Prediction {
            term,
            at,
            estimate,
            std_error: se,
            statistic,
            p_value,
            conf_low,
            conf_high,
            jacobian: Vec::new(),
            linearized: Vec::new(),
        }
    }

    /// The grid point as text, `age=30, female=1` (empty without one).
    pub fn at_text(&self) -> String {
        self.at
            .as_ref()
            .map(|a| a.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    }
}

fn serialize_at<S: serde::Serializer>(at: &Option<Vec<(String, String)>>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let at = at.as_deref().unwrap_or_default();
    let mut m = s.serialize_map(Some(at.len()))?;
    for (k, v) in at {
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => m.serialize_entry(k, &x)?,
            _ => m.serialize_entry(k, v)?,
        }
    }
    m.end()
}

/// Reads an at-grid point as [`serialize_at`] writes it, keeping the variables' order.
fn deserialize_at<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<(String, String)>>, D::Error> {
    struct Point;
    impl<'de> serde::de::Visitor<'de> for Point {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of variables and values")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                out.push((k, v));
            }
            Ok(out)
        }
    }
    Ok(Some(d.deserialize_map(Point)?))
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

/// Recomputes the statistics of marginal effects under `vce`'s reference distribution: its
/// `df`, or each effect's own degrees of freedom from its gradient (CR2/CR3,
/// [`Variance::df_of`]).
pub fn apply_variance_df(margins: &mut [Margin], level: f64, vce: &Variance) {
    if vce.satterthwaite.is_none() {
        return apply_df(margins, level, vce.df);
    }
    for m in margins {
        let df = vce.df_of(&m.jacobian);
        let (t, p, lo, hi) = inference_df(m.estimate, m.std_error, level, df);
        (m.statistic, m.p_value, m.conf_low, m.conf_high, m.df) = (t, p, lo, hi, df);
    }
}

impl Margin {
    pub fn new(term: String, contrast: String, estimate: f64, se: f64, level: f64) -> Margin {
        let (statistic, p_value, conf_low, conf_high) = inference(estimate, se, level);
        Margin {
            term,
            contrast,
            estimate,
            std_error: se,
            statistic,
            p_value,
            conf_low,
            conf_high,
            df: None,
            jacobian: Vec::new(),
            linearized: Vec::new(),
            at: None,
            over: None,
        }
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
            .enumerate()
            .map(|(j, ((term, &b), &s))| {
                let row_df = vce.satterthwaite.as_ref().map(|s| s.coefficient_df(j));
                let (z, p, lo, hi) = crate::inference::statistics(b, s, level, row_df.or(vce.df));
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
                        df: row_df,
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
                        df: row_df,
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
            predictions: Vec::new(),
            contrasts: Vec::new(),
            notes: fit.notes.clone(),
            aic: information_criteria(fit, vce).map(|c| c.0),
            bic: information_criteria(fit, vce).map(|c| c.1),
            model_test: crate::inference::wald::model_test(&d.names, &fit.beta, vce, fit.log_likelihood, fit.ll_null),
            n_strata: None,
            tests: Vec::new(),
            lincom: Vec::new(),
            vcov: Some(Vcov::new(&d.names, &vce.matrix)),
        }
    }
}

/// AIC and BIC as Stata's `estat ic`: `-2 ll + 2 k` and `-2 ll + k ln N`, with `k` the
/// estimated coefficients (omitted ones excluded, no scale parameter) and `N` the number of
/// observations (`n_obs`: the sum of frequency weights, else the rows). `None` under a survey
/// design, where Stata's `estat ic` is not allowed (a pseudo-likelihood of a design).
pub fn information_criteria(fit: &Fit, vce: &Variance) -> Option<(f64, f64)> {
    if vce.kind == VceKind::Survey {
        return None;
    }
    let k = fit.beta.len() as f64;
    let m2ll = -2.0 * fit.log_likelihood;
    Some((m2ll + 2.0 * k, m2ll + k * fit.n_obs.ln()))
}
