//! Wang et al. (2022): Tables 1-4 from an analysis dataset, beside the published numbers.
//!
//! The specification is `examples/wang2022/spec.toml` (embedded; `--spec` reads an edited
//! copy); the published numbers are `examples/wang2022/published/table{1,2,3,4}.csv`, copied
//! from the paper. `tables.rs` compares them with the reproduced ones, `text.rs` prints the
//! comparison, `calibrate.rs` fits the synthetic extract's DGP to them.

pub mod calibrate;
mod tables;
mod text;

pub use super::compare::{Cell, Reproduction};
pub use tables::{compare_effects, compare_table1, compare_table2};
pub use text::to_text;

use super::registry::{Embedded, Plan, Results, Study, Synthetic};
use super::{and_rows, fit_with_margins, rows_at_level, rows_where_one, Fitted, ModelRequest};
use crate::data::load::ReadOptions;
use crate::data::schema::Schema;
use crate::data::Dataset;
use crate::error::{usage, Result};
use crate::model::{ModelKind, ModelSpec};
use crate::output::{self, Report};
use crate::simulate::wang2022 as sim;
use crate::simulate::RawTable;
use crate::inference::vce::VceKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SPEC_TOML: &str = include_str!("../../../examples/wang2022/spec.toml");
pub const SPEC_PATH: &str = "examples/wang2022/spec.toml";
pub const TABLE1_CSV: &str = include_str!("../../../examples/wang2022/published/table1.csv");
pub const TABLE2_CSV: &str = include_str!("../../../examples/wang2022/published/table2.csv");
pub const TABLE3_CSV: &str = include_str!("../../../examples/wang2022/published/table3.csv");
pub const TABLE4_CSV: &str = include_str!("../../../examples/wang2022/published/table4.csv");
/// The schema of a CMDS-2014 extract (embedded; `reproduce --schema` reads an edited copy).
pub const SCHEMA_TOML: &str = include_str!("../../../data-schema/cmds2014.toml");
pub const SCHEMA_PATH: &str = "data-schema/cmds2014.toml";

/// The published tables, as shipped.
const PUBLISHED: [Embedded; 4] = [
    Embedded { text: TABLE1_CSV, path: "examples/wang2022/published/table1.csv" },
    Embedded { text: TABLE2_CSV, path: "examples/wang2022/published/table2.csv" },
    Embedded { text: TABLE3_CSV, path: "examples/wang2022/published/table3.csv" },
    Embedded { text: TABLE4_CSV, path: "examples/wang2022/published/table4.csv" },
];

/// The study in the registry.
pub struct Wang2022;

impl Study for Wang2022 {
    fn name(&self) -> &'static str {
        "wang2022"
    }
    fn title(&self) -> &'static str {
        "Wang et al. (2022): migration scope and insurance benefits, CMDS 2014 (data-schema/cmds2014.toml); published Tables 1-4"
    }
    fn schema(&self) -> Embedded {
        Embedded { text: SCHEMA_TOML, path: SCHEMA_PATH }
    }
    fn spec(&self) -> Option<Embedded> {
        Some(Embedded { text: SPEC_TOML, path: SPEC_PATH })
    }
    fn published(&self) -> &'static [Embedded] {
        &PUBLISHED
    }
    fn default_n(&self) -> usize {
        sim::PUBLISHED_N
    }
    fn default_seed(&self) -> u64 {
        sim::DEFAULT_SEED
    }
    fn simulate(&self, n: usize, seed: u64) -> RawTable {
        sim::simulate(&sim::Dgp::embedded(), n, seed)
    }
    fn plan(&self, text: Option<&str>) -> Result<Box<dyn Plan>> {
        Ok(Box::new(match text {
            Some(t) => Spec::parse(t)?,
            None => Spec::embedded(),
        }))
    }
}

impl Plan for Spec {
    fn synthetic(&self) -> Synthetic {
        Synthetic { n: self.study.n, seed: self.study.seed }
    }
    fn run(&self, ds: &Dataset, source: &str) -> Result<Box<dyn Results>> {
        let (comparison, fits) = reproduce(ds, self)?;
        Ok(Box::new(Reproduced { spec: self.clone(), source: source.to_string(), comparison, fits }))
    }
}

/// The reproduction of Tables 1-4 with the fits behind Tables 3 and 4.
pub struct Reproduced {
    pub spec: Spec,
    pub source: String,
    pub comparison: Reproduction,
    pub fits: Vec<SampleFits>,
}

impl Results for Reproduced {
    fn cells(&self) -> &[Cell] {
        &self.comparison.cells
    }
    fn to_text(&self) -> String {
        to_text(&self.comparison, &self.spec)
    }
    fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct JsonOut<'a> {
            #[serde(flatten)]
            report: Report,
            study: &'a str,
            comparison: &'a Reproduction,
        }
        let models = self.fits.iter().flat_map(|s| s.parts.iter().map(|(_, f)| f.report.clone())).collect();
        output::to_json(&JsonOut {
            report: Report {
                migfit_version: crate::VERSION.to_string(),
                command: "reproduce".into(),
                data: self.source.clone(),
                models,
                combined: None,
                tests: Vec::new(),
                data_sha256: None,
                variables: Vec::new(),
            },
            study: "wang2022",
            comparison: &self.comparison,
        })
    }
}

/// The embedded schema of a CMDS-2014 extract.
pub fn schema() -> Schema {
    Schema::parse(SCHEMA_TOML, SCHEMA_PATH).expect("the embedded schema is valid")
}

/// The analysis dataset of a raw CMDS-2014 extract held in memory as CSV text (a synthetic
/// extract), through the embedded schema: the path `reproduce` takes without `--data`.
pub fn analysis_from_csv(bytes: &[u8], display: &str) -> Result<Dataset> {
    super::load_extract(super::Extract::Csv { bytes, display }, &ReadOptions::default(), &schema())
}

#[derive(Debug, Clone, Deserialize)]
pub struct Spec {
    pub study: StudySection,
    pub part: Vec<PartSpec>,
    pub sample: Vec<SampleSpec>,
    pub terms: BTreeMap<String, String>,
    pub table1: BTreeMap<String, String>,
    pub table2: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StudySection {
    pub name: String,
    pub title: String,
    pub citation: String,
    pub rhs: String,
    pub vce: String,
    pub level: f64,
    pub n: usize,
    pub seed: u64,
}

/// One part of the two-part model: `model` is probit, logit or glm; a glm takes `family`
/// and `link`. The link is fitted as written; without one a gamma GLM is the paper's
/// gamma-log and every other model takes its usual link (the family's canonical link).
#[derive(Debug, Clone, Deserialize)]
pub struct PartSpec {
    pub name: String,
    pub label: String,
    pub model: String,
    pub family: Option<String>,
    pub link: Option<String>,
    pub response: String,
    pub recipients_only: bool,
}

impl PartSpec {
    /// The model this part fits. In [`Mode::Expected`] (outcomes replaced by their
    /// conditional means, which are fractional) a probit or logit is fitted as the binomial
    /// GLM with the same link, which solves the same score equations.
    pub fn model_spec(&self, mode: Mode) -> Result<ModelSpec> {
        let bad = |what: String| usage(format!("spec: [[part]] '{}': {what}", self.name));
        let kind = ModelKind::parse(&self.model).map_err(|e| bad(e.to_string()))?;
        match kind {
            ModelKind::Probit | ModelKind::Logit => {
                if let Some(f) = self.family.as_deref().filter(|f| *f != "binomial") {
                    return Err(bad(format!(
                        "family = \"{f}\" does not apply to model = \"{}\" (use model = \"glm\")",
                        self.model
                    )));
                }
                if let Some(l) = self.link.as_deref().filter(|l| *l != kind.name()) {
                    return Err(bad(format!(
                        "link = \"{l}\" does not apply to model = \"{m}\" (a {m} has the {m} link; for another link use model = \"glm\" with family = \"binomial\")",
                        m = self.model
                    )));
                }
                match mode {
                    Mode::Observed => ModelSpec::new(kind, None, None),
                    Mode::Expected => ModelSpec::new(ModelKind::Glm, Some("binomial"), Some(kind.name())),
                }
            }
            ModelKind::Glm => {
                let link = match (self.link.as_deref(), self.family.as_deref()) {
                    (None, Some("gamma")) => Some("log"),
                    (link, _) => link,
                };
                ModelSpec::new(kind, self.family.as_deref(), link).map_err(|e| bad(e.to_string()))
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SampleSpec {
    pub name: String,
    pub label: String,
    pub column: Option<String>,
    pub level: Option<String>,
}

impl Spec {
    /// Parses a specification and checks that every part names a model migfit can fit.
    pub fn parse(text: &str) -> Result<Spec> {
        let spec: Spec = toml::from_str(text).map_err(|e| usage(format!("spec: {e}")))?;
        for p in &spec.part {
            p.model_spec(Mode::Observed)?;
        }
        Ok(spec)
    }
    pub fn embedded() -> Spec {
        Spec::parse(SPEC_TOML).expect("the embedded spec is valid")
    }
}

/// The fits of one sample: one per part, in the spec's order.
pub struct SampleFits {
    pub sample: String,
    pub parts: Vec<(String, Fitted)>,
}

/// How the parts are fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The paper's estimators on observed outcomes.
    Observed,
    /// Probability limits: outcomes replaced by their conditional means, second parts
    /// weighted by `w_recipient` (see `simulate::wang2022::expected_dataset`).
    Expected,
}

/// Fits every part on every sample.
pub fn estimate(ds: &Dataset, spec: &Spec, mode: Mode) -> Result<Vec<SampleFits>> {
    let vce = VceKind::parse(&spec.study.vce)?;
    let mut out = Vec::new();
    for s in &spec.sample {
        let sub = match (&s.column, &s.level) {
            (Some(c), Some(l)) => Some(rows_at_level(ds, c, l)?),
            _ => None,
        };
        let mut parts = Vec::new();
        for p in &spec.part {
            let formula = format!("{} ~ {}", p.response, spec.study.rhs);
            let model_spec = p.model_spec(mode)?;
            let (restrict, aweights) = if p.recipients_only {
                match mode {
                    Mode::Observed => (and_rows(sub.clone(), Some(rows_where_one(ds, "received")?)), None),
                    Mode::Expected => (sub.clone(), Some("w_recipient")),
                }
            } else {
                (sub.clone(), None)
            };
            let f = fit_with_margins(
                ds,
                ModelRequest {
                    name: format!("{}/{}", s.name, p.name),
                    formula: &formula,
                    spec: model_spec,
                    restrict,
                    aweights,
                    vce,
                    level: spec.study.level,
                },
            )?;
            parts.push((p.name.clone(), f));
        }
        out.push(SampleFits { sample: s.name.clone(), parts });
    }
    Ok(out)
}

/// Runs Tables 1-4.
pub fn reproduce(ds: &Dataset, spec: &Spec) -> Result<(Reproduction, Vec<SampleFits>)> {
    let fits = estimate(ds, spec, Mode::Observed)?;
    let mut cells = compare_table1(spec, ds)?;
    cells.extend(compare_table2(spec, ds)?);
    cells.extend(compare_effects(spec, &fits)?);
    Ok((Reproduction::new(spec.study.name.clone(), ds.source.clone(), cells), fits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FamilyKind, LinkKind};

    fn part(model: &str, family: Option<&str>, link: Option<&str>) -> PartSpec {
        PartSpec {
            name: "p".into(),
            label: "p".into(),
            model: model.into(),
            family: family.map(String::from),
            link: link.map(String::from),
            response: "y".into(),
            recipients_only: false,
        }
    }

    #[test]
    fn a_parts_link_is_honoured() {
        let s = part("glm", Some("gamma"), Some("inverse")).model_spec(Mode::Observed).unwrap();
        assert_eq!((s.family, s.link), (FamilyKind::Gamma, LinkKind::Inverse));
        // Without a link a gamma GLM is the paper's gamma-log; other families take their
        // canonical link.
        let s = part("glm", Some("gamma"), None).model_spec(Mode::Observed).unwrap();
        assert_eq!(s.link, LinkKind::Log);
        let s = part("glm", Some("poisson"), None).model_spec(Mode::Observed).unwrap();
        assert_eq!(s.link, LinkKind::Log);
        let s = part("glm", Some("binomial"), None).model_spec(Mode::Expected).unwrap();
        assert_eq!(s.link, LinkKind::Logit);
    }

    #[test]
    fn probit_in_expected_mode_is_the_binomial_glm_with_its_link() {
        let s = part("probit", None, Some("probit")).model_spec(Mode::Expected).unwrap();
        assert_eq!((s.kind, s.family, s.link), (ModelKind::Glm, FamilyKind::Binomial, LinkKind::Probit));
        let s = part("probit", None, None).model_spec(Mode::Observed).unwrap();
        assert_eq!((s.kind, s.link), (ModelKind::Probit, LinkKind::Probit));
    }

    #[test]
    fn a_link_or_family_the_model_cannot_take_is_refused() {
        for mode in [Mode::Observed, Mode::Expected] {
            let e = part("probit", None, Some("logit")).model_spec(mode).unwrap_err().to_string();
            assert!(e.contains("[[part]] 'p'") && e.contains("link = \"logit\""), "{e}");
            assert!(part("logit", Some("gamma"), None).model_spec(mode).is_err());
            assert!(part("glm", Some("gamma"), Some("nosuch")).model_spec(mode).is_err());
            assert!(part("tobit", None, None).model_spec(mode).is_err());
        }
    }

    #[test]
    fn the_embedded_spec_fits_the_papers_models() {
        let spec = Spec::embedded();
        let kinds: Vec<(ModelKind, FamilyKind, LinkKind)> = spec
            .part
            .iter()
            .map(|p| p.model_spec(Mode::Observed).map(|s| (s.kind, s.family, s.link)).unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                (ModelKind::Probit, FamilyKind::Binomial, LinkKind::Probit),
                (ModelKind::Glm, FamilyKind::Gamma, LinkKind::Log),
                (ModelKind::Glm, FamilyKind::Gamma, LinkKind::Log)
            ]
        );
    }
}
