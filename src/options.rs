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

use crate::analysis::{Estimation, FitJob, Job, TwoPartJob};
use crate::data::expr::Expr;
use crate::data::schema::Schema;
use crate::data::source::{if_filter, subsample_filter};
use crate::data::{ColumnData, Dataset};
use crate::design::{SampleOptions, WeightType};
use crate::error::{usage, Error, Result};
use crate::formula::Formula;
use crate::margins::At;
use crate::model::{ModelKind, ModelSpec, Scale};
use crate::output::Report;
use crate::report::{Format, Lang, Layout, Show, Stars, TableOptions};
use crate::survey::{SingleUnit, SurveySpec};
use crate::vce::VceKind;
use serde::{Deserialize, Deserializer};
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
    /// `fit`: odds ratios (logit).
    #[serde(alias = "or")]
    pub odds_ratios: bool,
    pub vce: Option<String>,
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
    /// GLM dispersion: x2, dev or a number.
    pub scale: Option<ScaleValue>,
    /// Maximum number of iterations (100).
    #[serde(alias = "max-iter")]
    pub max_iter: Option<usize>,
    #[serde(alias = "keep-going")]
    pub keep_going: bool,
    /// Marginal effects (`None`: the caller's default, see [`Context::margins_default`]).
    pub margins: Option<bool>,
    #[serde(alias = "margins-at")]
    pub margins_at: Option<String>,
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
    ("command", "fit or twopart"),
    ("formula", "a model formula (fit: or a list of formulas)"),
    ("formula2", "the second part's regressors"),
    ("response", "a response expression or a list of them"),
    ("model", "probit, logit or glm (or a list, one per model)"),
    ("family", "a GLM family (or a list, one per GLM)"),
    ("link", "a GLM link (or a list, one per GLM)"),
    ("first", "probit or logit"),
    ("response2", "an expression, e.g. log(amount)"),
    ("joint_vce", "true or false"),
    ("odds_ratios", "true or false"),
    ("vce", "oim, eim, robust, cluster or svy"),
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
    ("scale", "x2, dev or a number"),
    ("max_iter", "a number of iterations"),
    ("keep_going", "true or false"),
    ("margins", "true or false"),
    ("margins_at", "means or var=value,..."),
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
    pub error: Error,
}

impl From<OptionError> for Error {
    fn from(e: OptionError) -> Error {
        e.error
    }
}

trait Keyed<T> {
    fn at(self, key: &'static str) -> std::result::Result<T, OptionError>;
}

impl<T, E: Into<Error>> Keyed<T> for std::result::Result<T, E> {
    fn at(self, key: &'static str) -> std::result::Result<T, OptionError> {
        self.map_err(|e| OptionError { key, error: e.into() })
    }
}

fn fault(key: &'static str, msg: impl Into<String>) -> OptionError {
    OptionError { key, error: usage(msg.into()) }
}

type Checked<T> = std::result::Result<T, OptionError>;

/// The command the options run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Fit,
    TwoPart,
}

/// The validated table options: the format (`None`: not asked for), the table and whether
/// LaTeX is a complete document.
#[derive(Debug, Clone)]
pub struct TableChoice {
    pub format: Option<Format>,
    pub table: TableOptions,
    pub standalone: bool,
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
                let cut = quantile_sorted(&vals, *q);
                let keep: Vec<bool> = col.iter().map(|x| x.is_nan() || *x <= cut).collect();
                ds = ds.filter_rows(&keep);
            }
        }
        Ok(ds)
    }
}

/// Stata's default `_pctile` definition: with `n p` not an integer, the next order statistic;
/// with an integer, the average of the two around it.
pub fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    let n = v.len();
    let np = n as f64 * p;
    let j = np.floor() as usize;
    if (np - np.floor()).abs() < 1e-12 && j >= 1 && j < n {
        0.5 * (v[j - 1] + v[j])
    } else {
        v[(np.ceil() as usize).clamp(1, n) - 1]
    }
}

/// The options resolved: the jobs (a `fit` of several models has one per model, reported
/// side by side), the row filters and the table options.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub command: Command,
    pub jobs: Vec<Job>,
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
        for (_, e) in self.rows.subsample.iter().chain(&self.rows.condition) {
            union(&mut out, e.variables());
        }
        union(&mut out, self.rows.trim.iter().map(|t| t.0.as_str()));
        Some(out)
    }

    /// Runs the jobs on a dataset (already filtered): one report, the models in order
    /// (named `model1`, `model2`, ... when there are several).
    pub fn run(&self, ds: &Dataset) -> Result<Report> {
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

impl Options {
    /// Checks every option and builds the jobs; the error names the key at fault.
    pub fn resolve(&self, ctx: &Context) -> Checked<Resolved> {
        let command = match self.command.as_deref().unwrap_or("fit") {
            "fit" => Command::Fit,
            "twopart" => Command::TwoPart,
            other => return Err(fault("command", format!("unknown command '{other}' (expected fit or twopart)"))),
        };
        let table = self.check(ctx)?;
        let jobs = match command {
            Command::Fit => self.fit_jobs(ctx)?,
            Command::TwoPart => vec![Job::TwoPart(self.twopart_job(ctx)?)],
        };
        Ok(Resolved { command, jobs, rows: self.rows(ctx)?, table })
    }

    /// The checks made before anything else: level, iterations and the table options.
    fn check(&self, ctx: &Context) -> Checked<TableChoice> {
        let level = self.level();
        if !(level > 10.0 && level < 99.99) {
            return Err(fault("level", format!("--level must be between 10 and 99.99, not {level}")));
        }
        if self.max_iter == Some(0) {
            return Err(fault("max_iter", "--max-iter must be at least 1"));
        }
        self.table(ctx)
    }

    fn level(&self) -> f64 {
        self.level.unwrap_or(95.0)
    }

    /// Whether marginal effects were asked for (`margins`, `margins_at` or `show = margins`).
    pub fn wants_margins(&self, ctx: &Context) -> bool {
        self.margins.unwrap_or(ctx.margins_default)
            || self.margins_at.is_some()
            || self.show.as_deref() == Some("margins")
    }

    fn table(&self, ctx: &Context) -> Checked<TableChoice> {
        let format = match (&self.format, ctx.output) {
            (Some(f), _) => Some(Format::parse(f).at("format")?),
            (None, Some(p)) => Some(Format::from_path(p).ok_or_else(|| {
                fault(
                    "format",
                    format!(
                        "cannot tell the format from the name '{}': use .txt, .md, .tex, .csv, .html or .json, or give --format",
                        p.display()
                    ),
                )
            })?),
            (None, None) => None,
        };
        if self.latex_standalone && format.unwrap_or(Format::Text) != Format::Latex {
            return Err(fault(
                "latex_standalone",
                "--latex-standalone applies to LaTeX output (--format latex or -o FILE.tex)",
            ));
        }
        let digits = self.digits.unwrap_or(3);
        if digits > 12 {
            return Err(fault("digits", format!("--digits must be at most 12, not {digits}")));
        }
        let show = match self.show.as_deref() {
            Some(s) => Show::parse(s).at("show")?,
            None if self.wants_margins(ctx) => Show::Margins,
            None => Show::Coef,
        };
        Ok(TableChoice {
            format,
            table: TableOptions {
                layout: Layout::parse(self.layout.as_deref().unwrap_or("stacked")).at("layout")?,
                show,
                stars: Stars::parse(self.stars.as_deref().unwrap_or("0.01,0.05")).at("stars")?,
                digits,
                lang: Lang::parse(self.lang.as_deref().unwrap_or("en")).at("lang")?,
                titles: self.title.clone(),
                caption: self.caption.clone(),
            },
            standalone: self.latex_standalone,
        })
    }

    /// Pairs the repeated formula / response / model / family / link options of a `fit`.
    pub fn model_requests(&self) -> Checked<Vec<ModelRequest>> {
        let formulas: Vec<String> = if self.response.is_empty() {
            self.formula.clone()
        } else {
            if self.formula.len() != 1 {
                return Err(fault(
                    "response",
                    "--response takes one --formula whose right-hand side every response shares",
                ));
            }
            let f = &self.formula[0];
            let rhs = f.split_once('~').map(|(_, r)| r).unwrap_or(f).trim();
            self.response.iter().map(|r| format!("{r} ~ {rhs}")).collect()
        };
        let n = formulas.len();
        let models: Vec<String> = match self.model.len() {
            0 => vec!["glm".to_string(); n],
            1 => vec![self.model[0].clone(); n],
            k if k == n => self.model.clone(),
            k => {
                return Err(fault(
                    "model",
                    format!("{k} --model values for {n} models: give one (for all) or one per model"),
                ))
            }
        };
        let n_glm = models.iter().filter(|m| m.as_str() == "glm").count();
        let per_glm = |vals: &[String], opt: &'static str| -> Checked<Vec<Option<String>>> {
            let mut it = vals.iter();
            let mut out = Vec::new();
            for m in &models {
                if m != "glm" {
                    out.push(None);
                    continue;
                }
                out.push(match vals.len() {
                    0 => None,
                    1 => Some(vals[0].clone()),
                    k if k == n_glm => it.next().cloned(),
                    k => {
                        return Err(fault(
                            opt,
                            format!("{k} --{opt} values for {n_glm} GLMs: give one (for all) or one per GLM"),
                        ))
                    }
                });
            }
            Ok(out)
        };
        let fams = per_glm(&self.family, "family")?;
        let links = per_glm(&self.link, "link")?;
        Ok(formulas
            .into_iter()
            .zip(models)
            .zip(fams.into_iter().zip(links))
            .map(|((formula, model), (family, link))| ModelRequest { formula, model, family, link })
            .collect())
    }

    /// The fitting controls: dispersion, iterations, keep going.
    fn controls(&self, spec: &mut ModelSpec) -> Checked<()> {
        spec.scale = match &self.scale {
            None => None,
            Some(ScaleValue::Text(s)) => Some(Scale::parse(s).at("scale")?),
            // Display gives the shortest text that parses back to the same number.
            Some(ScaleValue::Number(x)) => Some(Scale::parse(&x.to_string()).at("scale")?),
        };
        spec.max_iter = self.max_iter.unwrap_or(100);
        spec.keep_going = self.keep_going;
        Ok(())
    }

    fn fit_jobs(&self, ctx: &Context) -> Checked<Vec<Job>> {
        let requests = self.model_requests()?;
        // Every specification is checked before the (possibly slow) load.
        let est = self.estimation(ctx)?;
        let mut jobs = Vec::new();
        for r in &requests {
            let kind = ModelKind::parse(&r.model).at("model")?;
            let mut spec = ModelSpec::new(kind, r.family.as_deref(), r.link.as_deref())
                .at(if r.link.is_some() && r.family.is_none() { "link" } else { "family" })?;
            self.controls(&mut spec)?;
            let formula = Formula::parse(&r.formula).at("formula")?;
            est.check().at("vce")?;
            jobs.push(Job::Fit(FitJob::new(formula, spec, self.odds_ratios, est.clone()).at("odds_ratios")?));
        }
        Ok(jobs)
    }

    /// The one value of an option a two-part model takes once.
    fn single(&self, vals: &[String], key: &'static str, default: &'static str) -> Checked<String> {
        match vals {
            [] => Ok(default.to_string()),
            [v] => Ok(v.clone()),
            _ => Err(fault(key, format!("a two-part model takes one --{key}, not {}", vals.len()))),
        }
    }

    fn twopart_job(&self, ctx: &Context) -> Checked<TwoPartJob> {
        let first_kind = match self.first.as_deref().unwrap_or("probit") {
            "probit" => ModelKind::Probit,
            "logit" => ModelKind::Logit,
            other => return Err(fault("first", format!("unknown --first '{other}' (expected probit or logit)"))),
        };
        let mut first = ModelSpec::new(first_kind, None, None).at("first")?;
        let family = self.single(&self.family, "family", "gamma")?;
        let link = self.single(&self.link, "link", "log")?;
        let mut second = ModelSpec::new(ModelKind::Glm, Some(&family), Some(&link)).at("family")?;
        self.controls(&mut first)?;
        self.controls(&mut second)?;
        first.scale = None;
        let formula = match self.formula.as_slice() {
            [f] => Formula::parse(f).at("formula")?,
            fs => {
                return Err(fault("formula", format!("a two-part model takes one --formula, not {}", fs.len())))
            }
        };
        let formula2 = self.formula2.as_deref().map(Formula::parse_rhs).transpose().at("formula2")?;
        if let Some(r) = &self.response2 {
            crate::formula::parse_expr(r).at("response2")?;
        }
        let est = self.estimation(ctx)?;
        est.check().at("vce")?;
        TwoPartJob::new(formula, formula2, self.response2.clone(), first, second, self.joint_vce, est).at("first")
    }

    /// The validated estimation options: variance, weights, survey design, margins.
    fn estimation(&self, ctx: &Context) -> Checked<Estimation> {
        let mut sample = self.sample_options()?;
        let survey = self.survey(ctx, &mut sample)?;
        let margins = if self.wants_margins(ctx) {
            Some(At::parse(self.margins_at.as_deref()).at("margins_at")?)
        } else {
            None
        };
        Ok(Estimation {
            vce: self.vce.as_deref().map(VceKind::parse).transpose().at("vce")?,
            sample,
            level: self.level(),
            margins,
            survey,
        })
    }

    fn sample_options(&self) -> Checked<SampleOptions> {
        let weights = match (&self.weights, &self.weight_type) {
            (Some(v), Some(t)) => Some((v.clone(), WeightType::parse(t).at("weight_type")?)),
            (Some(_), None) => {
                return Err(fault("weights", "--weights needs --weight-type fweight, pweight or aweight"))
            }
            (None, Some(_)) => return Err(fault("weight_type", "--weight-type needs --weights")),
            (None, None) => None,
        };
        Ok(SampleOptions { weights, cluster: self.cluster.clone(), ..Default::default() })
    }

    /// The survey design asked for, if any: strata/psu/fpc, else the schema's `[design]`;
    /// the design's weight becomes a pweight unless weights are given. The design columns
    /// join the listwise deletion.
    fn survey(&self, ctx: &Context, sample: &mut SampleOptions) -> Checked<Option<SurveySpec>> {
        let explicit = self.strata.is_some() || self.psu.is_some() || self.fpc.is_some();
        let wants = self.svy
            || self.subpop.is_some()
            || self.singleunit.is_some()
            || explicit
            || self.vce.as_deref().is_some_and(|v| VceKind::parse(v).ok() == Some(VceKind::Survey));
        if !wants {
            return Ok(None);
        }
        let declared = ctx.schema.map(|s| s.design.clone()).unwrap_or_default();
        let spec = SurveySpec {
            strata: self.strata.clone().or(if explicit { None } else { declared.strata.clone() }),
            psu: self.psu.clone().or(if explicit { None } else { declared.psu.clone() }),
            fpc: self.fpc.clone().or(if explicit { None } else { declared.fpc.clone() }),
            subpop: self.subpop.clone(),
            singleunit: self
                .singleunit
                .as_deref()
                .or(if explicit { None } else { declared.singleunit.as_deref() })
                .map(SingleUnit::parse)
                .transpose()
                .at("singleunit")?
                .unwrap_or_default(),
        };
        if spec.strata.is_none() && spec.psu.is_none() {
            return Err(fault(
                "svy",
                if ctx.schema.is_some() {
                    "--svy: the schema declares no survey design ([design] strata or psu); give --psu VAR and/or --strata VAR"
                } else {
                    "--svy needs the survey design: --psu VAR and/or --strata VAR (or a --schema with a [design] table)"
                },
            ));
        }
        if sample.weights.is_none() {
            if let Some(w) = declared.weight.clone().filter(|_| !explicit || self.svy) {
                sample.weights = Some((w, WeightType::Probability));
            }
        }
        for c in spec.columns() {
            if !sample.also_require.contains(&c) {
                sample.also_require.push(c);
            }
        }
        Ok(Some(spec))
    }

    /// The row filters, parsed (the subsample looked up in the schema).
    fn rows(&self, ctx: &Context) -> Checked<RowFilters> {
        let subsample = self.subsample.as_deref().map(|n| subsample_filter(ctx.schema, n)).transpose().at("subsample")?;
        let condition = self.if_expr.as_deref().map(if_filter).transpose().at("if")?;
        let trim = match &self.trim {
            Some(s) => {
                let bad = || fault("trim", format!("trim takes VAR:QUANTILE (e.g. amount:0.99), not '{s}'"));
                let (var, q) = s.split_once(':').ok_or_else(bad)?;
                let q: f64 = q.trim().parse().map_err(|_| bad())?;
                if !(0.0 < q && q < 1.0) {
                    return Err(bad());
                }
                Some((var.trim().to_string(), q))
            }
            None => None,
        };
        Ok(RowFilters { subsample, condition, trim })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field names serde derives for [`Options`], read off `deserialize_struct`.
    fn serde_fields() -> &'static [&'static str] {
        use serde::de::{self, Visitor};
        struct Probe<'a>(&'a std::cell::Cell<&'static [&'static str]>);
        impl<'de> Deserializer<'de> for Probe<'_> {
            type Error = de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, Self::Error> {
                Err(de::Error::custom("probe"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> std::result::Result<V::Value, Self::Error> {
                self.0.set(fields);
                Err(de::Error::custom("probe"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
                option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
                ignored_any
            }
        }
        let cell = std::cell::Cell::new(&[][..]);
        let _ = Options::deserialize(Probe(&cell));
        cell.get()
    }

    #[test]
    fn keys_are_the_fields_of_the_struct() {
        let fields = serde_fields();
        assert!(fields.len() > 30, "{fields:?}");
        for f in fields {
            assert!(canonical(f).is_some(), "field '{f}' is not in KEYS");
        }
        for (k, what) in KEYS {
            assert!(fields.contains(k), "KEYS names '{k}', which Options does not have");
            assert!(!what.is_empty());
        }
    }

    fn parse(text: &str) -> std::result::Result<Options, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn keys_take_underscores_dashes_lists_and_numbers() {
        let o = parse("max-iter = 7\nkeep_going = true\nformula = [\"y ~ x\", \"z ~ x\"]\nmodel = \"probit\"\nor = true\nscale = 2\nlevel = 90\ntitles = \"A\"\nif = \"x > 1\"").unwrap();
        assert_eq!(o.max_iter, Some(7));
        assert!(o.keep_going && o.odds_ratios);
        assert_eq!(o.formula.len(), 2);
        assert_eq!(o.model, vec!["probit".to_string()]);
        assert_eq!(o.scale, Some(ScaleValue::Number(2.0)));
        assert_eq!(o.level, Some(90.0));
        assert_eq!(o.title, vec!["A".to_string()]);
        assert_eq!(o.if_expr.as_deref(), Some("x > 1"));
        assert!(parse("vcee = \"robust\"").is_err());
        assert!(parse("svy = \"yes\"").is_err());
        assert_eq!(canonical("max-iter"), Some("max_iter"));
        assert_eq!(canonical("or"), Some("odds_ratios"));
        assert_eq!(canonical("vcee"), None);
    }

    fn ctx() -> Context<'static> {
        Context { schema: None, margins_default: true, output: None }
    }

    #[test]
    fn a_numeric_scale_is_the_scale_of_its_text() {
        let mut a = parse("formula = \"y ~ x\"\nscale = 2.5").unwrap().resolve(&ctx()).unwrap();
        let mut b = parse("formula = \"y ~ x\"\nscale = \"2.5\"").unwrap().resolve(&ctx()).unwrap();
        let (Job::Fit(a), Job::Fit(b)) = (a.jobs.remove(0), b.jobs.remove(0)) else { panic!() };
        assert_eq!(a.spec.scale, b.spec.scale);
        let e = parse("formula = \"y ~ x\"\nscale = -1").unwrap().resolve(&ctx()).unwrap_err();
        assert_eq!(e.key, "scale");
    }

    #[test]
    fn errors_name_their_key() {
        let cases = [
            ("formula = \"y ~ x\"\nweights = \"w\"", "weights"),
            ("formula = \"y ~ x\"\nweight_type = \"pweight\"", "weight_type"),
            ("formula = \"y ~\"", "formula"),
            ("formula = \"y ~ x\"\nsvy = true", "svy"),
            ("formula = \"y ~ x\"\nmax_iter = 0", "max_iter"),
            ("formula = \"y ~ x\"\nformat = \"docx\"", "format"),
            ("formula = \"y ~ x\"\nlatex_standalone = true\nformat = \"md\"", "latex_standalone"),
            ("command = \"twopart\"\nformula = [\"y ~ x\", \"z ~ x\"]", "formula"),
            ("command = \"twopart\"\nformula = \"y ~ x\"\nfirst = \"tobit\"", "first"),
            ("command = \"twopart\"\nformula = \"y ~ x\"\nresponse2 = \"log(\"", "response2"),
            ("formula = \"y ~ x\"\nif = \"x >\"", "if"),
            ("formula = \"y ~ x\"\nsubsample = \"ncms\"", "subsample"),
            ("formula = \"y ~ x\"\nodds_ratios = true\nmodel = \"probit\"", "odds_ratios"),
            ("formula = \"y ~ x\"\nvce = \"svy\"", "svy"),
            ("command = \"tobit\"\nformula = \"y ~ x\"", "command"),
        ];
        for (text, key) in cases {
            let e = parse(text).unwrap().resolve(&ctx()).expect_err(text);
            assert_eq!(e.key, key, "{text}: {}", e.error);
        }
    }

    #[test]
    fn the_survey_options_make_a_design() {
        let r = parse("formula = \"y ~ x\"\nstrata = \"s\"\npsu = \"p\"\nkeep-going = true").unwrap().resolve(&ctx()).unwrap();
        let Job::Fit(j) = &r.jobs[0] else { panic!() };
        assert!(j.est.survey.is_some() && j.spec.keep_going);
        assert_eq!(j.est.sample.also_require, vec!["s".to_string(), "p".to_string()]);
    }
}
