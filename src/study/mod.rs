//! The studies migfit reproduces: their specifications run on an analysis dataset.
//!
//! Each study implements [`Study`] (name, schema, specification, synthetic extract, run,
//! published tables) and has one line in the registry ([`all`], [`find`]); `migfit reproduce`
//! and `migfit simulate` look the study up and call it, through [`reproduce`] and
//! [`Study::simulate`]. Each study module fits the paper's models with the library (design ->
//! fit -> variance -> margins), so `reproduce`, the calibration of the synthetic extracts and
//! the recovery tests all estimate exactly the same thing.

pub mod compare;
mod registry;

pub use registry::{all, find, Embedded, Plan, Results, Study, Synthetic};

// The registry: each study's module and the type that implements `Study`, one entry a study.
registry::studies!(wang2022::Wang2022, stay2018::Stay2018);

use crate::data::load::{self, LoadReport, ReadOptions};
use crate::data::schema::Schema;
use crate::data::{ColumnData, Dataset, MISSING_CODE};
use crate::design::{Design, SampleOptions, WeightType};
use crate::error::{usage, Result};
use crate::formula::Formula;
use crate::inference::vce::{self, VceKind};
use crate::margins::{self, At, PartEval, Target};
use crate::model::{self, ModelKind, ModelSpec};
use crate::output::{Margin, ModelReport};

/// Where a study's extract comes from.
pub enum Extract<'a> {
    /// A user's file (CSV, Parquet or Stata), read as `fit --schema` reads it.
    File(&'a std::path::Path),
    /// CSV text in memory (a synthetic extract); `display` names it in messages.
    Csv { bytes: &'a [u8], display: &'a str },
}

/// Loads a study's raw extract through its schema (`data-schema/cmds20xx.toml` or an edited
/// copy): codes, missing codes, the universe and the derived variables, exactly as
/// `migfit fit --schema` does. Any violation of the schema (a missing column, a code the
/// schema does not list, a value out of range) is an error listing them with row, column and
/// value; so is an extract with no respondent in the universe.
pub fn load_extract(extract: Extract, read: &ReadOptions, schema: &Schema) -> Result<Dataset> {
    let (report, source): (LoadReport, String) = match extract {
        Extract::File(p) => (load::load_with_schema(p, read, schema)?, p.display().to_string()),
        Extract::Csv { bytes, display } => {
            (load::load_csv_bytes_with_schema(bytes, display, read, schema)?, display.to_string())
        }
    };
    if !report.violations.is_empty() {
        return Err(crate::error::Error::Data(crate::data::validate::violations_error(
            &source,
            &report.violations,
            schema,
        )));
    }
    if report.dataset.n_rows() == 0 {
        return Err(usage(format!("{source}: no respondent in the analysis universe of the schema {}", schema.path)));
    }
    Ok(report.dataset)
}

/// Where a run of a study reads its data.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// A raw extract in the layout of the study's schema (CSV, Parquet or Stata); `None`: the
    /// study's synthetic extract, simulated in memory.
    pub data: Option<std::path::PathBuf>,
    /// An edited copy of the study's schema; `None`: the embedded one.
    pub schema: Option<std::path::PathBuf>,
    /// How to read a CSV extract (encoding, delimiter).
    pub read: ReadOptions,
}

/// Runs a study: checks the specification (`spec`: the text of an edited copy, `None` the
/// embedded one), loads the extract through the study's schema (the user's file, or without
/// one the synthetic extract the specification names, through the same reader) and runs the
/// specification on it. The one path of `migfit reproduce`, whatever the study.
pub fn reproduce(study: &dyn Study, spec: Option<&str>, inputs: &Inputs) -> Result<Box<dyn Results>> {
    let plan = study.plan(spec)?;
    let schema = match &inputs.schema {
        Some(p) => Schema::from_path(p)?,
        None => Schema::parse(study.schema().text, study.schema().path)?,
    };
    let (ds, source) = match &inputs.data {
        Some(p) => (load_extract(Extract::File(p), &inputs.read, &schema)?, p.display().to_string()),
        None => {
            let Synthetic { n, seed } = plan.synthetic();
            let csv = study.simulate(n, seed).to_csv();
            let source = format!("synthetic extract (migfit simulate --study {} --n {n} --seed {seed})", study.name());
            let ds = load_extract(Extract::Csv { bytes: csv.as_bytes(), display: &source }, &inputs.read, &schema)?;
            (ds, source)
        }
    };
    plan.run(&ds, &source)
}

/// One fitted model with its average marginal effects, and the fit (for what comes after:
/// predictive margins, tests across samples).
pub struct Fitted {
    pub report: ModelReport,
    pub fit: model::Fit,
    pub variance: crate::inference::Variance,
}

impl Fitted {
    /// The AME of `term` (a factor level `scope[across_cities]` or a variable `age`).
    pub fn ame(&self, term: &str) -> Option<&Margin> {
        self.report.margins.iter().find(|m| m.term == term)
    }
}

/// Rows where a numeric column equals 1 (missing = false).
pub fn rows_where_one(ds: &Dataset, col: &str) -> Result<Vec<bool>> {
    match ds.column(col).map(|c| &c.data) {
        Some(ColumnData::Numeric(v)) => Ok(v.iter().map(|x| *x == 1.0).collect()),
        _ => Err(usage(format!("the data has no numeric column '{col}'"))),
    }
}

/// Rows where a factor column is at the level named `level`.
pub fn rows_at_level(ds: &Dataset, col: &str, level: &str) -> Result<Vec<bool>> {
    match ds.column(col).map(|c| &c.data) {
        Some(ColumnData::Categorical(f)) => {
            let l = f.level_index(level).ok_or_else(|| usage(format!("'{col}' has no level '{level}'")))?;
            Ok(f.codes.iter().map(|&c| c != MISSING_CODE && c as usize == l).collect())
        }
        _ => Err(usage(format!("the data has no categorical column '{col}'"))),
    }
}

/// What to fit.
pub struct ModelRequest<'a> {
    pub name: String,
    pub formula: &'a str,
    pub spec: ModelSpec,
    pub restrict: Option<Vec<bool>>,
    /// Analytic weights (calibration: the probability of being in the sample).
    pub aweights: Option<&'a str>,
    pub vce: VceKind,
    pub level: f64,
}

/// Fits one model and computes its AMEs (factor levels as discrete changes, numeric variables
/// as derivatives, averaged over the estimation rows with the estimation weights).
pub fn fit_with_margins(ds: &Dataset, req: ModelRequest) -> Result<Fitted> {
    let formula = Formula::parse(req.formula)?;
    let opts = SampleOptions {
        weights: req.aweights.map(|w| (w.to_string(), WeightType::Analytic)),
        restrict: req.restrict,
        ..Default::default()
    };
    let design = Design::build(ds, &formula, &opts)?;
    let fit = model::fit(design, &req.spec)?;
    let v = vce::compute(&fit, req.vce)?;
    let mut report = ModelReport::new(&req.name, &formula.source, &fit, &v, req.level, false);
    let part = PartEval {
        x: fit.design.x.view(),
        spec: &fit.design.spec,
        beta: &fit.beta,
        link: fit.spec.link,
        eta: Some(&fit.eta),
    };
    let r =
        margins::compute(&[part], Target::Mean(0), fit.design.weights.as_deref(), &At::Average, &v.matrix, req.level)?;
    report.margins_description = Some(r.description);
    // The fit's own notes are in the report already (ModelReport::new).
    report.notes.extend(r.notes);
    report.margins = r.margins;
    Ok(Fitted { report, fit, variance: v })
}

pub fn logit_spec() -> ModelSpec {
    ModelSpec::new(ModelKind::Logit, None, None).expect("valid")
}

/// `a AND b` of two optional row masks.
pub fn and_rows(a: Option<Vec<bool>>, b: Option<Vec<bool>>) -> Option<Vec<bool>> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(a.iter().zip(&b).map(|(x, y)| *x && *y).collect()),
    }
}
