//! The CMDS-2018 study of direct settlement and willingness to stay (no published numbers):
//! the logit of stay intention with coefficients, odds ratios and AMEs, on the total sample,
//! by migration scope and by scheme group.

use super::compare::Cell;
use super::registry::{Embedded, Plan, Results, Study, Synthetic};
use super::{fit_with_margins, logit_spec, rows_at_level, Fitted, ModelRequest};
use crate::data::load::ReadOptions;
use crate::data::schema::Schema;
use crate::data::Dataset;
use crate::data::{Column, ColumnData};
use crate::design::{Design, SampleOptions};
use crate::error::usage;
use crate::error::Result;
use crate::formula::Formula;
use crate::model::{self, ModelKind, ModelSpec};
use crate::output::{self, Report};
use crate::simulate::stay2018 as sim;
use crate::simulate::RawTable;
use crate::inference::vce::VceKind;

pub const RHS: &str = "C(direct_settlement) + age + age2 + C(female) + C(married) + education + income_q + C(has_job) + C(rural_hukou) + scheme + scope + duration + region";
pub const DEFAULT_SEED: u64 = 20180501;

/// The schema of a CMDS-2018 extract (embedded; `reproduce --schema` reads an edited copy).
pub const SCHEMA_TOML: &str = include_str!("../../data-schema/cmds2018.toml");
pub const SCHEMA_PATH: &str = "data-schema/cmds2018.toml";

/// The analysis dataset of a raw CMDS-2018 extract held in memory as CSV text, through the
/// embedded schema.
pub fn analysis_from_csv(bytes: &[u8], display: &str) -> Result<Dataset> {
    let schema = Schema::parse(SCHEMA_TOML, SCHEMA_PATH).expect("the embedded schema is valid");
    super::load_extract(super::Extract::Csv { bytes, display }, &ReadOptions::default(), &schema)
}

/// The logit on the total sample and the subgroups.
pub fn estimate(ds: &Dataset) -> Result<Vec<(String, Fitted)>> {
    let formula = format!("stay_intention ~ {RHS}");
    let mut groups: Vec<(String, Option<Vec<bool>>)> = vec![("total".into(), None)];
    for l in ["within_city", "across_cities", "across_provinces"] {
        groups.push((format!("scope={l}"), Some(rows_at_level(ds, "scope", l)?)));
    }
    for l in ["resident", "employee"] {
        groups.push((format!("scheme_group={l}"), Some(rows_at_level(ds, "scheme_group", l)?)));
    }
    groups
        .into_iter()
        .map(|(name, restrict)| {
            let f = fit_with_margins(
                ds,
                ModelRequest {
                    name: name.clone(),
                    formula: &formula,
                    spec: logit_spec(),
                    restrict,
                    aweights: None,
                    vce: VceKind::Oim,
                    level: 95.0,
                },
            )?;
            Ok((name, f))
        })
        .collect()
}

/// The mediator of the stay2018 study and the exposure whose effect it carries.
pub const EXPOSURE: &str = "C(direct_settlement)[1]";
pub const MEDIATOR: &str = "local_utilization";

/// Karlson-Holm-Breen (KHB) decomposition of the exposure's logit coefficient into a direct
/// part and a part mediated by local utilisation (Karlson, Holm & Breen 2012, Sociological
/// Methodology 42:286-313; Kohler, Karlson & Holm 2011, Stata Journal 11:420-438).
///
/// On the rows where the outcome, exposure, mediator and controls are all observed (the
/// respondents ill in the past year: the mediator is defined only for them):
/// * full model: logit of stay on exposure + mediator + controls; its exposure coefficient is
///   the **direct** effect;
/// * mediator model: OLS of the mediator on exposure + controls; the residual R is the part of
///   the mediator the exposure and controls do not explain;
/// * reduced model: logit of stay on exposure + R + controls. It spans the same columns as the
///   full model (same likelihood, same scale of the latent variable), so its exposure
///   coefficient is the **total** effect on the full model's scale, and
///   indirect = total - direct = b_mediator(full) x gamma_exposure(mediator model).
///
/// The naive reduced model (without the mediator at all) is rescaled by the omitted
/// variance, so its difference from the full model mixes mediation and rescaling; both are
/// reported. The SE of the indirect effect is the delta method over the two independent
/// fits (KHB's default; Sobel's formula for one mediator):
/// Var = gamma^2 Var(b_mediator) + b_mediator^2 Var(gamma).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Khb {
    pub n_obs: f64,
    pub total: f64,
    pub total_se: f64,
    pub direct: f64,
    pub direct_se: f64,
    pub indirect: f64,
    pub indirect_se: f64,
    /// b_mediator in the full model and gamma_exposure in the mediator model.
    pub mediator_coef: f64,
    pub mediator_coef_se: f64,
    pub exposure_on_mediator: f64,
    pub exposure_on_mediator_se: f64,
    /// Exposure coefficient of the naive reduced model (no mediator, no residual).
    pub naive_reduced: f64,
    /// total / direct (KHB's confounding ratio).
    pub conf_ratio: f64,
    /// 100 x indirect / total.
    pub pct_mediated: f64,
    /// Rescaling: naive reduced / total.
    pub rescale_factor: f64,
}

fn coef(f: &Fitted, term: &str) -> Result<(f64, f64)> {
    f.report
        .coefficients
        .iter()
        .find(|c| c.term == term)
        .map(|c| (c.estimate, c.std_error))
        .ok_or_else(|| usage(format!("KHB: the model {} has no coefficient '{term}'", f.report.name)))
}

/// The KHB decomposition of the stay2018 study on the total sample (see [`Khb`]).
pub fn khb(ds: &Dataset) -> Result<Khb> {
    let controls = RHS.strip_prefix("C(direct_settlement) + ").expect("RHS starts with the exposure");
    khb_decompose(ds, "stay_intention", "C(direct_settlement)", EXPOSURE, MEDIATOR, controls)
}

/// The KHB decomposition of a logit (see [`Khb`]): `outcome` on `exposure` (a formula term,
/// whose coefficient is named `exposure_coef`), the numeric `mediator` and `controls` (a
/// formula right-hand side).
pub fn khb_decompose(
    ds: &Dataset,
    outcome: &str,
    exposure: &str,
    exposure_coef: &str,
    mediator: &str,
    controls: &str,
) -> Result<Khb> {
    let full_formula = format!("{outcome} ~ {exposure} + {mediator} + {controls}");
    // The common sample: complete cases of the full model.
    let full_design = Design::build(ds, &Formula::parse(&full_formula)?, &SampleOptions::default())?;
    let mut common = vec![false; ds.n_rows()];
    for &r in &full_design.rows {
        common[r] = true;
    }
    let logit = |ds: &Dataset, name: &str, formula: &str| {
        fit_with_margins(
            ds,
            ModelRequest {
                name: name.into(),
                formula,
                spec: logit_spec(),
                restrict: Some(common.clone()),
                aweights: None,
                vce: VceKind::Oim,
                level: 95.0,
            },
        )
    };
    let full = logit(ds, "khb/full", &full_formula)?;
    // Mediator model: OLS (the gaussian-identity GLM: same estimates, and its default scale
    // Pearson chi2 / (n - k) gives the OLS standard errors).
    let med_formula = format!("{mediator} ~ {exposure} + {controls}");
    let gaussian = ModelSpec::new(ModelKind::Glm, Some("gaussian"), Some("identity"))?;
    let med_opts = SampleOptions { restrict: Some(common.clone()), ..Default::default() };
    let med_fit = model::fit(Design::build(ds, &Formula::parse(&med_formula)?, &med_opts)?, &gaussian)?;
    let mut resid = vec![f64::NAN; ds.n_rows()];
    for (i, &r) in med_fit.design.rows.iter().enumerate() {
        resid[r] = med_fit.y[i] - med_fit.mu[i];
    }
    let med = fit_with_margins(
        ds,
        ModelRequest {
            name: "khb/mediator".into(),
            formula: &med_formula,
            spec: gaussian,
            restrict: Some(common.clone()),
            aweights: None,
            vce: VceKind::Oim,
            level: 95.0,
        },
    )?;
    let mut with_resid = ds.clone();
    with_resid.push(Column {
        name: "khb_mediator_residual".into(),
        data: ColumnData::Numeric(resid),
        label: None,
        label_zh: None,
    });
    let reduced =
        logit(&with_resid, "khb/reduced", &format!("{outcome} ~ {exposure} + khb_mediator_residual + {controls}"))?;
    let naive = logit(ds, "khb/naive", &format!("{outcome} ~ {exposure} + {controls}"))?;
    let (direct, direct_se) = coef(&full, exposure_coef)?;
    let (total, total_se) = coef(&reduced, exposure_coef)?;
    let (b_m, b_m_se) = coef(&full, mediator)?;
    let (g, g_se) = coef(&med, exposure_coef)?;
    let (naive_reduced, _) = coef(&naive, exposure_coef)?;
    let indirect = total - direct;
    Ok(Khb {
        n_obs: full.report.n_obs,
        total,
        total_se,
        direct,
        direct_se,
        indirect,
        indirect_se: (g * g * b_m_se * b_m_se + b_m * b_m * g_se * g_se).sqrt(),
        mediator_coef: b_m,
        mediator_coef_se: b_m_se,
        exposure_on_mediator: g,
        exposure_on_mediator_se: g_se,
        naive_reduced,
        conf_ratio: total / direct,
        pct_mediated: 100.0 * indirect / total,
        rescale_factor: naive_reduced / total,
    })
}

/// The KHB table as text.
pub fn khb_text(k: &Khb) -> String {
    let mut s = format!(
        "\nMediation through local utilisation (KHB decomposition, logit coefficients of direct settlement;\nrespondents ill in the past year, N = {})\n",
        k.n_obs
    );
    s.push_str(&format!("{:<44} {:>9} {:>8}\n", "", "coef", "(SE)"));
    for (label, v, se) in [
        ("total (reduced model, mediator residualised)", k.total, Some(k.total_se)),
        ("direct (full model)", k.direct, Some(k.direct_se)),
        ("indirect = total - direct", k.indirect, Some(k.indirect_se)),
        ("naive reduced model (no mediator)", k.naive_reduced, None),
    ] {
        s.push_str(&format!("{:<44} {:>9.4} {:>8}\n", label, v, se.map(|e| format!("({e:.4})")).unwrap_or_default()));
    }
    s.push_str(&format!(
        "indirect = b(utilisation | full) {:.4} x b(direct settlement -> utilisation, OLS) {:.4}\n",
        k.mediator_coef, k.exposure_on_mediator
    ));
    s.push_str(&format!(
        "confounding ratio (total / direct) {:.3}; mediated {:.1}%; rescaling (naive / total) {:.3}\n",
        k.conf_ratio, k.pct_mediated, k.rescale_factor
    ));
    s
}

/// The study in the registry.
pub struct Stay2018;

impl Study for Stay2018 {
    fn name(&self) -> &'static str {
        "stay2018"
    }
    fn title(&self) -> &'static str {
        "Direct settlement and willingness to stay, CMDS 2018 (data-schema/cmds2018.toml); no published numbers"
    }
    fn schema(&self) -> Embedded {
        Embedded { text: SCHEMA_TOML, path: SCHEMA_PATH }
    }
    fn spec(&self) -> Option<Embedded> {
        None
    }
    fn published(&self) -> &'static [Embedded] {
        &[]
    }
    fn default_n(&self) -> usize {
        sim::DEFAULT_N
    }
    fn default_seed(&self) -> u64 {
        DEFAULT_SEED
    }
    fn simulate(&self, n: usize, seed: u64) -> RawTable {
        sim::simulate(n, seed)
    }
    fn plan(&self, text: Option<&str>) -> Result<Box<dyn Plan>> {
        if text.is_some() {
            return Err(usage("the study stay2018 has no specification to edit: its models are fixed"));
        }
        Ok(Box::new(Stay2018))
    }
}

impl Plan for Stay2018 {
    fn synthetic(&self) -> Synthetic {
        Synthetic { n: sim::DEFAULT_N, seed: DEFAULT_SEED }
    }
    fn run(&self, ds: &Dataset, source: &str) -> Result<Box<dyn Results>> {
        let fits = estimate(ds)?;
        let mediation = khb(ds)?;
        Ok(Box::new(Estimated { source: source.to_string(), fits, mediation }))
    }
}

/// The logits on the total sample and the subgroups, and the KHB decomposition.
pub struct Estimated {
    pub source: String,
    pub fits: Vec<(String, Fitted)>,
    pub mediation: Khb,
}

impl Results for Estimated {
    fn cells(&self) -> &[Cell] {
        &[]
    }
    fn to_json(&self) -> String {
        #[derive(serde::Serialize)]
        struct JsonOut<'a> {
            #[serde(flatten)]
            report: Report,
            mediation: &'a Khb,
        }
        output::to_json(&JsonOut {
            report: Report {
                migfit_version: crate::VERSION.to_string(),
                command: "reproduce stay2018".into(),
                data: self.source.clone(),
                models: self.fits.iter().map(|(_, f)| f.report.clone()).collect(),
                combined: None,
                data_sha256: None,
                variables: Vec::new(),
            },
            mediation: &self.mediation,
        })
    }
    fn to_text(&self) -> String {
        let fits = &self.fits;
        let mut s = format!("Direct settlement and willingness to stay (CMDS 2018): logit of stay intention\nData: {}\nNo published numbers. Synthetic DGP: direct settlement adds {:.2} to the log-odds directly and more through local utilisation, which this model does not hold fixed (docs/calibration.md).\n", self.source, sim::STAY_DIRECT);
        let (_, total) = &fits[0];
        s.push_str(&format!(
            "\nTotal sample (N = {}): coefficients, odds ratios, average marginal effects\n",
            total.report.n_obs
        ));
        s.push_str(&format!(
            "{:<28} {:>9} {:>8} {:>9} {:>19} {:>9} {:>8}\n",
            "term", "coef", "(SE)", "OR", "OR 95% CI", "AME", "(SE)"
        ));
        for c in total.report.coefficients.iter() {
            let ame = total.ame(&c.term);
            let or = crate::stats::odds_ratio(c.estimate, c.std_error, c.conf_low, c.conf_high);
            s.push_str(&format!(
                "{:<28} {:>9.4} {:>8} {:>9.4} {:>19} {:>9} {:>8}\n",
                c.term,
                c.estimate,
                format!("({:.4})", c.std_error),
                or.estimate,
                format!("[{:.3}, {:.3}]", or.conf_low, or.conf_high),
                ame.map(|m| format!("{:.4}", m.estimate)).unwrap_or_default(),
                ame.map(|m| format!("({:.4})", m.std_error)).unwrap_or_default(),
            ));
        }
        s.push_str("\nDirect settlement by subgroup\n");
        s.push_str(&format!(
            "{:<32} {:>7} {:>9} {:>8} {:>9} {:>9} {:>8}\n",
            "sample", "N", "coef", "(SE)", "OR", "AME", "(SE)"
        ));
        for (name, f) in fits {
            let t = "C(direct_settlement)[1]";
            let c = f.report.coefficients.iter().find(|c| c.term == t);
            let m = f.ame(t);
            if let (Some(c), Some(m)) = (c, m) {
                s.push_str(&format!(
                    "{:<32} {:>7} {:>9.4} {:>8} {:>9.4} {:>9.4} {:>8}\n",
                    name,
                    f.report.n_obs,
                    c.estimate,
                    format!("({:.4})", c.std_error),
                    crate::stats::odds_ratio(c.estimate, c.std_error, c.conf_low, c.conf_high).estimate,
                    m.estimate,
                    format!("({:.4})", m.std_error)
                ));
            }
        }
        s.push_str(&khb_text(&self.mediation));
        s
    }
}
