//! The studies migfit reproduces: their specifications run on an analysis dataset.
//!
//! Each study module fits the paper's models with the library (design -> fit -> variance ->
//! margins), so `reproduce`, the calibration of the synthetic extracts and the recovery tests
//! all estimate exactly the same thing.

pub mod stay2018;
pub mod wang2022;

use crate::data::load::{self, LoadReport, ReadOptions};
use crate::data::schema::Schema;
use crate::data::{ColumnData, Dataset, MISSING_CODE};
use crate::design::{Design, SampleOptions, WeightType};
use crate::error::{usage, Result};
use crate::formula::Formula;
use crate::margins::{self, At, PartEval, Target};
use crate::model::{self, ModelKind, ModelSpec};
use crate::output::{Margin, ModelReport};
use crate::vce::{self, VceKind};

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
        return Err(crate::error::Error::Data(crate::data::validate::violations_error(&source, &report.violations, schema)));
    }
    if report.dataset.n_rows() == 0 {
        return Err(usage(format!("{source}: no respondent in the analysis universe of the schema {}", schema.path)));
    }
    Ok(report.dataset)
}

/// One fitted model with its average marginal effects.
pub struct Fitted {
    pub report: ModelReport,
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
    report.notes.extend(fit.notes.iter().cloned());
    report.notes.extend(r.notes);
    report.margins = r.margins;
    Ok(Fitted { report })
}

/// A probit (or, for fractional outcomes in calibration, the binomial GLM with a probit link,
/// which solves the same score equations).
pub fn probit_spec(fractional: bool) -> ModelSpec {
    if fractional {
        ModelSpec::new(ModelKind::Glm, Some("binomial"), Some("probit")).expect("valid")
    } else {
        ModelSpec::new(ModelKind::Probit, None, None).expect("valid")
    }
}

pub fn logit_spec() -> ModelSpec {
    ModelSpec::new(ModelKind::Logit, None, None).expect("valid")
}

pub fn gamma_log_spec() -> ModelSpec {
    ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).expect("valid")
}

/// `a AND b` of two optional row masks.
pub fn and_rows(a: Option<Vec<bool>>, b: Option<Vec<bool>>) -> Option<Vec<bool>> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(a.iter().zip(&b).map(|(x, y)| *x && *y).collect()),
    }
}
