//! One options model for `fit` and `twopart`: what a command line or a batch variant asks
//! for, as one serde-deserializable [`Options`], checked and resolved once
//! ([`Options::resolve`]) into validated jobs: the formulas, `response2`, `--if` and the
//! subsample parsed, the schema's survey design looked up, the table options checked.
//!
//! `migfit fit` / `twopart` fill it from their clap structs field by field (`src/cli/fit.rs`,
//! `src/cli/twopart.rs`); a batch spec deserializes it from each variant's merged options. The
//! TOML keys are the long flag names, with `_` or `-` (`max_iter` or `max-iter`); [`KEYS`]
//! lists them with what they take. Options of the other command are ignored (`first` in a
//! `fit` variant, `response` in a `twopart` one), so that one grid can mix both commands.
//!
//! Layer: above `analysis`, beside `report`. Only `batch` and the command line import it.

use crate::analysis::Job;
use crate::data::expr::Expr;
use crate::data::schema::Schema;
use crate::data::{ColumnData, Dataset};
use crate::error::{usage, Error, Result};
use crate::output::Report;
use crate::report::{Format, TableOptions};
use serde::{Deserialize, Deserializer};

mod resolve;
use std::path::Path;

/// Every option of `fit` and `twopart`, as typed (strings are parsed by [`Options::resolve`]).
/// A field left at its default is "not given"; the command's default applies.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// `fit` (default) or `twopart`: the subcommand.
    pub command: Option<String>,
    /// Model formula(s); `fit` takes several (side by side), `twopart` one.
    #[serde(deserialize_with = "one_or_many")]
    pub formula: Vec<String>,
    /// `twopart`: the second part's regressors, "~ x1 + x3".
    pub formula2: Option<String>,
    /// `fit`: fit the right-hand side of the one formula to each of these responses.
    #[serde(deserialize_with = "one_or_many")]
    pub response: Vec<String>,
    /// `fit`: probit, logit or glm; one for all models or one per model.
    #[serde(deserialize_with = "one_or_many")]
    pub model: Vec<String>,
    /// GLM family: one for all GLMs or one per GLM (`twopart`: the second part's; gamma).
    #[serde(deserialize_with = "one_or_many")]
    pub family: Vec<String>,
    /// GLM link, as `family` (`twopart`: log).
    #[serde(deserialize_with = "one_or_many")]
    pub link: Vec<String>,
    /// `twopart`: the first part, probit (default) or logit.
    pub first: Option<String>,
    /// `twopart`: the second part's response as an expression of the data.
    pub response2: Option<String>,
    /// `twopart`: the joint variance of both parts (stacked scores).
    #[serde(alias = "joint-vce")]
    pub joint_vce: bool,
    /// `mediate`: the outcome and controls, "y ~ x1 + x2".
    pub outcome: Option<String>,
    /// `mediate`: the treatment, one formula term.
    pub treatment: Option<String>,
    /// `mediate`: the mediators (a list, or one string "m1,m2").
    #[serde(deserialize_with = "one_or_many")]
    pub mediators: Vec<String>,
    /// `mediate`: khb (default) or causal.
    pub method: Option<String>,
    /// `mediate`: KHB on the average-partial-effect scale.
    pub ape: bool,
    /// `mediate`: treatment-mediator interaction (causal).
    pub interaction: bool,
    /// `fit`: odds ratios (logit).
    #[serde(alias = "or")]
    pub odds_ratios: bool,
    pub vce: Option<String>,
    /// Whose conventions the variance, log likelihood and df follow: stata (default), r or
    /// statsmodels (`inference::convention`).
    pub convention: Option<String>,
    pub cluster: Option<String>,
    pub weights: Option<String>,
    #[serde(alias = "weight-type")]
    pub weight_type: Option<String>,
    /// A survey design (Stata's svy): the schema's `[design]` unless strata/psu/fpc are given.
    pub svy: bool,
    pub strata: Option<String>,
    pub psu: Option<String>,
    pub fpc: Option<String>,
    pub subpop: Option<String>,
    pub singleunit: Option<String>,
    /// Confidence level in percent (95).
    pub level: Option<f64>,
    /// `vce = "bootstrap"`: number of replicates (999).
    pub reps: Option<i64>,
    /// `vce = "bootstrap"`: the seed of the replicates' streams (1).
    pub seed: Option<i64>,
    /// `vce = "bootstrap"`: classic (draws with replacement; Rao-Wu under a survey design) or
    /// bayes (Bayesian bootstrap).
    pub bootstrap: Option<String>,
    /// `vce = "bootstrap"`: the intervals, percentile (default), normal or bca.
    pub ci: Option<String>,
    /// `vce = "bootstrap"`: write every replicate's statistics to this CSV file.
    #[serde(alias = "save-reps")]
    pub save_reps: Option<String>,
    /// `vce = "bootstrap"`: write every replicate's weight multiplier of every estimation row
    /// to this CSV file (rows by replicates), to rerun the replicates elsewhere.
    #[serde(alias = "save-weights")]
    pub save_weights: Option<String>,
    /// GLM dispersion: x2, dev or a number.
    pub scale: Option<ScaleValue>,
    /// Maximum number of iterations (100).
    #[serde(alias = "max-iter")]
    pub max_iter: Option<usize>,
    #[serde(alias = "keep-going")]
    pub keep_going: bool,
    /// Firth's bias-reduced estimates for binomial models (a two-part model's first part).
    pub firth: bool,
    /// Marginal effects (`None`: the caller's default, see [`Context::margins_default`]).
    pub margins: Option<bool>,
    #[serde(alias = "margins-at")]
    pub margins_at: Option<String>,
    /// Predictive margins by the levels of these factors, "VAR[,VAR]".
    #[serde(alias = "predict-margins")]
    pub predict_margins: Option<String>,
    /// Contrasts of a factor's predictive margins, "VAR:pairwise|reference|adjacent[; ...]".
    pub contrast: Option<String>,
    /// Multiple-comparison adjustment of the contrasts: bonferroni, holm or sidak.
    pub mcompare: Option<String>,
    /// At-grid of the predictive margins and effects, "age=20(10)60; female=0 1".
    pub at: Option<String>,
    /// Effects within each group of this variable's rows (Stata's over()).
    pub over: Option<String>,
    /// The effects of these variables only (Stata's dydx(varlist)), "age, educ".
    pub dydx: Option<String>,
    /// The scale of the effects: dydx (default), eyex, dyex or eydx (Stata's eyex() etc.).
    #[serde(alias = "margins-scale")]
    pub margins_scale: Option<String>,
    /// The variance of the margins: delta (Stata's default, conditional on the covariates) or
    /// unconditional (Stata's vce(unconditional): linearized over the design).
    #[serde(alias = "margins-vce")]
    pub margins_vce: Option<String>,
    /// Per-row predictions (linear index, means, residuals) written to this CSV or Parquet file.
    pub predict: Option<String>,
    /// `fit`: the model in each group of this variable, side by side, with the stacked (suest)
    /// variance of all groups' estimates.
    pub by: Option<String>,
    /// With `by`: test each effect equal across the groups (Wald, per effect and jointly).
    #[serde(alias = "test-equal")]
    pub test_equal: bool,
    /// Wald tests of coefficients (`C(scope)`, `educ = 0, age = 0`, `a = b`), one per entry.
    #[serde(deserialize_with = "one_or_many")]
    pub test: Vec<String>,
    /// With `test`: the wild score bootstrap of each test, a number of draws or `all` (every
    /// Rademacher sign vector; with fewer than 12 clusters they are all used anyway).
    #[serde(alias = "wild-reps")]
    pub wild_reps: Option<WildRepsValue>,
    /// The wild bootstrap's weights: rademacher (default) or webb.
    #[serde(alias = "wild-weights")]
    pub wild_weights: Option<String>,
    /// The seed of sampled wild bootstrap draws (1).
    #[serde(alias = "wild-seed")]
    pub wild_seed: Option<i64>,
    /// Linear combinations of coefficients (`a - b`), one per entry.
    #[serde(deserialize_with = "one_or_many")]
    pub lincom: Vec<String>,
    /// Wald tests of margins (`scope[2] = scope[3]`, `dydx(age) = 0`), one per entry.
    #[serde(alias = "test-margins", deserialize_with = "one_or_many")]
    pub test_margins: Vec<String>,
    /// Linear combinations of margins (`scope[3] - scope[2]`), one per entry.
    #[serde(alias = "lincom-margins", deserialize_with = "one_or_many")]
    pub lincom_margins: Vec<String>,
    /// Summary rows of tables: `N,ll,r2,aic,bic,chi2,p,clusters,strata`.
    pub stats: Option<String>,
    /// Row filters: a subsample the schema names, an expression, a quantile trim.
    pub subsample: Option<String>,
    #[serde(rename = "if")]
    pub if_expr: Option<String>,
    /// `VAR:QUANTILE`: drop the rows whose VAR is above that quantile.
    pub trim: Option<String>,
    /// Table options (the report of a single run, or a batch variant's table).
    pub format: Option<String>,
    pub layout: Option<String>,
    pub show: Option<String>,
    pub stars: Option<String>,
    pub digits: Option<usize>,
    pub lang: Option<String>,
    #[serde(alias = "titles", deserialize_with = "one_or_many")]
    pub title: Vec<String>,
    pub caption: Option<String>,
    #[serde(alias = "latex-standalone")]
    pub latex_standalone: bool,
    /// A coefficient (or marginal-effect) plot, SVG: the file of a single run; in a batch,
    /// any `.svg` name asks for `variants/NAME.svg`.
    pub plot: Option<String>,
}

/// `wild_reps`: a number (`999`) or a word (`"all"`, or a number as typed on the command line).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum WildRepsValue {
    Number(i64),
    Text(String),
}

/// A dispersion given as a rule (`"x2"`, `"dev"`, `"2.5"`) or a number (`2.5`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ScaleValue {
    Text(String),
    Number(f64),
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// The keys of [`Options`] with what they take (for messages and docs), in the order of
/// `docs/batch.md`. A unit test checks this list against the struct.
pub const KEYS: &[(&str, &str)] = &[
    ("command", "fit, twopart or mediate"),
    ("formula", "a model formula (fit: or a list of formulas)"),
    ("formula2", "the second part's regressors"),
    ("response", "a response expression or a list of them"),
    ("model", "probit, logit or glm (or a list, one per model)"),
    ("family", "a GLM family (or a list, one per GLM)"),
    ("link", "a GLM link (or a list, one per GLM)"),
    ("first", "probit or logit"),
    ("response2", "an expression, e.g. log(amount)"),
    ("joint_vce", "true or false"),
    ("outcome", "mediate: the outcome and controls, \"y ~ x1 + x2\""),
    ("treatment", "mediate: the treatment, one formula term"),
    ("mediators", "mediate: a mediator or a list of them"),
    ("method", "mediate: khb or causal"),
    ("ape", "true or false"),
    ("interaction", "true or false"),
    ("odds_ratios", "true or false"),
    ("vce", "oim, eim, robust, cluster, svy, hc2, hc3, cr2, cr3, jackknife or bootstrap"),
    ("convention", "stata, r or statsmodels"),
    ("cluster", "a variable"),
    ("weights", "a variable"),
    ("weight_type", "fweight, pweight or aweight"),
    ("svy", "true or false"),
    ("strata", "a survey strata variable"),
    ("psu", "a survey PSU variable"),
    ("fpc", "a survey finite-population correction variable"),
    ("subpop", "a survey subpopulation expression"),
    ("singleunit", "missing, certainty, scaled or centered"),
    ("level", "a confidence level in percent"),
    ("reps", "a number of bootstrap replicates (999)"),
    ("seed", "a non-negative integer seed (1)"),
    ("bootstrap", "classic or bayes"),
    ("ci", "percentile, normal or bca"),
    ("save_reps", "a CSV file for the bootstrap replicates"),
    ("save_weights", "a CSV file for the bootstrap's replicate weight multipliers"),
    ("scale", "x2, dev or a number"),
    ("max_iter", "a number of iterations"),
    ("keep_going", "true or false"),
    ("firth", "true or false: Firth's bias reduction (binomial models; a two-part model's first part)"),
    ("margins", "true or false"),
    ("margins_at", "means or var=value,..."),
    ("predict_margins", "a factor or factors, VAR[,VAR], or _cons (the overall margin)"),
    ("contrast", "VAR:pairwise, VAR:reference or VAR:adjacent (several separated by ;)"),
    ("mcompare", "bonferroni, holm or sidak"),
    ("at", "an at-grid, e.g. \"age=20(10)60; female=0 1\""),
    ("over", "a variable: effects within each of its groups"),
    ("dydx", "variables whose effects to report, e.g. \"age, educ\""),
    ("margins_scale", "dydx, eyex, dyex or eydx: effects as derivatives or (semi-)elasticities"),
    ("margins_vce", "delta or unconditional: the margins' variance (Stata's vce(delta), vce(unconditional))"),
    ("predict", "a .csv or .parquet file for per-row predictions and residuals"),
    ("by", "a variable: the model in each of its groups, with the stacked (suest) variance"),
    ("test_equal", "true or false: each effect equal across the by groups"),
    ("test", "a hypothesis, e.g. \"C(scope)\", \"educ = 0, age = 0\" or \"a = b\" (or a list)"),
    ("wild_reps", "with test: wild score bootstrap draws, a number or \"all\" (Rademacher sign vectors)"),
    ("wild_weights", "rademacher or webb"),
    ("wild_seed", "a non-negative integer seed of the wild bootstrap draws (1)"),
    ("lincom", "a linear combination, e.g. \"a - b\" (or a list)"),
    ("test_margins", "a hypothesis on margins, e.g. \"scope[2] = scope[3]\" or \"dydx(age) = 0\" (or a list)"),
    ("lincom_margins", "a linear combination of margins, e.g. \"scope[3] - scope[2]\" (or a list)"),
    ("stats", "table summary rows, e.g. \"N,ll,aic,bic,clusters\""),
    ("subsample", "a subsample named in the schema"),
    ("if", "a row filter expression"),
    ("trim", "VAR:QUANTILE, e.g. total_expenditure:0.99 drops rows above the 99th percentile"),
    ("format", "text, md, latex, csv, html, json or summary"),
    ("layout", "stacked or side"),
    ("show", "coef, margins or or"),
    ("stars", "p-value thresholds, e.g. \"0.1,0.05,0.01\", or \"none\""),
    ("digits", "a number of decimals"),
    ("lang", "en or zh"),
    ("title", "a column title or a list of them"),
    ("caption", "a table caption"),
    ("latex_standalone", "true or false"),
    ("plot", "an SVG file name (FILE.svg)"),
];

/// Other spellings of keys: the short flag names.
const ALIASES: &[(&str, &str)] = &[("or", "odds_ratios"), ("titles", "title")];

/// The key a spelling stands for (`max-iter` -> `max_iter`, `or` -> `odds_ratios`), if any.
pub fn canonical(name: &str) -> Option<&'static str> {
    let n = name.replace('-', "_");
    if let Some((_, k)) = ALIASES.iter().find(|(a, _)| *a == n) {
        return Some(k);
    }
    KEYS.iter().map(|(k, _)| *k).find(|k| *k == n)
}

/// What a key takes, for messages.
pub fn describe(key: &str) -> &'static str {
    KEYS.iter().find(|(k, _)| *k == key).map_or("", |(_, w)| w)
}

impl Options {
    /// Checks the type of one option's value (a spec line): `Err` names what the key takes.
    pub fn check_value(key: &str, value: &toml::Value) -> std::result::Result<(), String> {
        let mut t = toml::Table::new();
        t.insert(key.to_string(), value.clone());
        Options::deserialize(toml::Value::Table(t)).map(|_| ()).map_err(|_| describe(key).to_string())
    }
}

/// What the options are resolved against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The data's schema, read once (its survey design, its subsamples).
    pub schema: Option<&'a Schema>,
    /// Marginal effects when `margins` is not given: false on the command line, true in a
    /// batch run.
    pub margins_default: bool,
    /// The output file of a single run (`-o`): its extension chooses the format.
    pub output: Option<&'a Path>,
}

/// An option at fault: its key (so that a spec can point at its line) and the error.
#[derive(Debug)]
pub struct OptionError {
    pub key: &'static str,
    pub error: Box<Error>,
}

impl From<OptionError> for Error {
    fn from(e: OptionError) -> Error {
        *e.error
    }
}

trait Keyed<T> {
    fn at(self, key: &'static str) -> std::result::Result<T, OptionError>;
}

impl<T, E: Into<Error>> Keyed<T> for std::result::Result<T, E> {
    fn at(self, key: &'static str) -> std::result::Result<T, OptionError> {
        self.map_err(|e| OptionError { key, error: Box::new(e.into()) })
    }
}

fn fault(key: &'static str, msg: impl Into<String>) -> OptionError {
    OptionError { key, error: Box::new(usage(msg.into())) }
}

type Checked<T> = std::result::Result<T, OptionError>;

/// The command the options run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Fit,
    TwoPart,
    Mediate,
}

/// The validated table options: the format (`None`: not asked for), the table and whether
/// LaTeX is a complete document.
#[derive(Debug, Clone)]
pub struct TableChoice {
    pub format: Option<Format>,
    pub table: TableOptions,
    pub standalone: bool,
    /// The coefficient plot's file (`--plot`, checked to end in `.svg`).
    pub plot: Option<std::path::PathBuf>,
}

/// Row filters, parsed: applied to the loaded dataset before estimation.
#[derive(Debug, Clone, Default)]
pub struct RowFilters {
    /// A subsample named in the schema and its expression.
    pub subsample: Option<(String, Expr)>,
    /// A row condition (`if`) as typed and parsed.
    pub condition: Option<(String, Expr)>,
    /// Drop rows whose variable exceeds this quantile.
    pub trim: Option<(String, f64)>,
}

impl RowFilters {
    pub fn is_empty(&self) -> bool {
        self.subsample.is_none() && self.condition.is_none() && self.trim.is_none()
    }

    /// Keeps the subsample's rows, then those where the condition holds (rows where it is
    /// false or missing are dropped, as Stata's `if`), then trims.
    pub fn apply(&self, ds: Dataset) -> Result<Dataset> {
        if self.is_empty() {
            return Ok(ds);
        }
        let filter = crate::data::source::DataConfig {
            read: Default::default(),
            schema: None,
            subsample: self.subsample.clone(),
            if_expr: self.condition.clone(),
        };
        let mut ds = filter.filter(ds)?;
        if let Some((var, q)) = &self.trim {
            let col = match ds.column(var).map(|c| &c.data) {
                Some(ColumnData::Numeric(v)) => v,
                _ => return Err(usage(format!("trim: '{var}' is not a numeric column"))),
            };
            let mut vals: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
            vals.sort_by(f64::total_cmp);
            if !vals.is_empty() {
                let cut = crate::stats::pctile_sorted(&vals, *q);
                let keep: Vec<bool> = col.iter().map(|x| x.is_nan() || *x <= cut).collect();
                ds = ds.filter_rows(&keep);
            }
        }
        Ok(ds)
    }
}

/// The options resolved: the jobs (a `fit` of several models has one per model, reported
/// side by side), the row filters and the table options.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub command: Command,
    /// `fit` and `twopart`: the jobs (empty for `mediate`).
    pub jobs: Vec<Job>,
    /// `mediate`: the mediation request.
    pub mediation: Option<crate::mediate::Request>,
    pub rows: RowFilters,
    pub table: TableChoice,
}

/// Appends the names of `more` not yet in `out`.
fn union<S: AsRef<str>>(out: &mut Vec<String>, more: impl IntoIterator<Item = S>) {
    for v in more {
        if !out.iter().any(|o| o == v.as_ref()) {
            out.push(v.as_ref().to_string());
        }
    }
}

impl Resolved {
    /// Every dataset variable the jobs and the row filters read, for column projection
    /// (`None`: cannot be told; read every column).
    pub fn variables(&self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for j in &self.jobs {
            union(&mut out, j.variables()?);
        }
        if let Some(m) = &self.mediation {
            union(&mut out, m.variables()?);
        }
        for (_, e) in self.rows.subsample.iter().chain(&self.rows.condition) {
            union(&mut out, e.variables());
        }
        union(&mut out, self.rows.trim.iter().map(|t| t.0.as_str()));
        Some(out)
    }

    /// Runs a `mediate` request on a dataset (already filtered).
    pub fn run_mediation(&self, ds: &Dataset) -> Result<crate::mediate::Mediation> {
        self.mediation.as_ref().ok_or_else(|| usage("not a mediate command"))?.run(ds)
    }

    /// Runs the command on a dataset (already filtered): a mediation for `mediate`, the jobs'
    /// report otherwise (a batch variant may be either).
    pub fn run_saved(&self, ds: &Dataset) -> Result<crate::report::combine::Saved> {
        use crate::report::combine::Saved;
        Ok(match &self.mediation {
            Some(m) => Saved::Mediation(crate::mediate::MediationReport {
                migfit_version: crate::VERSION.to_string(),
                command: "mediate".into(),
                data: ds.source.clone(),
                data_sha256: None,
                mediation: m.run(ds)?,
            }),
            None => Saved::Model(self.run(ds)?),
        })
    }

    /// [`Resolved::run`] on a dataset handed over: the only job of a command line may free
    /// the columns it no longer reads ([`crate::data::Data`]).
    pub fn run_owned(&self, ds: Dataset) -> Result<Report> {
        match self.jobs.as_slice() {
            [job] if self.mediation.is_none() => job.run_data(crate::data::Data::Owned(ds)),
            _ => self.run(&ds),
        }
    }

    /// Runs the jobs on a dataset (already filtered): one report, the models in order
    /// (named `model1`, `model2`, ... when there are several).
    pub fn run(&self, ds: &Dataset) -> Result<Report> {
        if self.mediation.is_some() {
            return Err(usage("a mediate command has no model report (run_saved gives its mediation)"));
        }
        let mut report: Option<Report> = None;
        let several = self.jobs.len() > 1;
        for (i, job) in self.jobs.iter().enumerate() {
            let mut r = job.run(ds)?;
            if several {
                r.models[0].name = format!("model{}", i + 1);
            }
            match &mut report {
                None => report = Some(r),
                Some(all) => {
                    all.models.extend(r.models);
                    for v in r.variables {
                        if !all.variables.iter().any(|u| u.name == v.name) {
                            all.variables.push(v);
                        }
                    }
                }
            }
        }
        Ok(report.expect("at least one model"))
    }
}

/// One model of a `fit`: formula text, estimator, GLM family and link.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    pub formula: String,
    pub model: String,
    pub family: Option<String>,
    pub link: Option<String>,
}

#[cfg(test)]
mod tests;
