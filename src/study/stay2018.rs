//! The CMDS-2018 study of direct settlement and willingness to stay (no published numbers):
//! the logit of stay intention with coefficients, odds ratios and AMEs, on the total sample,
//! by migration scope and by scheme group.

use super::compare::Cell;
use super::registry::{Embedded, Plan, Results, Study, Synthetic};
use super::{fit_with_margins, logit_spec, rows_at_level, Fitted, ModelRequest};
use crate::data::load::ReadOptions;
use crate::data::schema::Schema;
use crate::data::Dataset;
use crate::error::usage;
use crate::error::Result;
use crate::model::ModelKind;
use crate::output::{self, Report};
use crate::simulate::stay2018 as sim;
use crate::simulate::RawTable;
use crate::analysis::Estimation;
use crate::inference::vce::VceKind;
use crate::mediate::causal::Causal;
use crate::mediate::{Mediation, Method, Request};

pub const DEFAULT_SEED: u64 = 20180501;

/// The specification (embedded; `reproduce stay2018 --spec` reads an edited copy).
pub const SPEC_TOML: &str = include_str!("../../examples/stay2018/spec.toml");
pub const SPEC_PATH: &str = "examples/stay2018/spec.toml";

/// The study's specification: the logit's outcome, exposure and controls, the synthetic
/// extract, and the mediators of the KHB decomposition.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub study: StudySpec,
    pub mediation: MediationSpec,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    pub name: String,
    pub outcome: String,
    /// One formula term.
    pub exposure: String,
    pub controls: String,
    pub n: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediationSpec {
    pub mediators: Vec<String>,
    /// Also the natural direct and indirect effects (`migfit mediate --method causal`; one
    /// mediator).
    #[serde(default)]
    pub causal: bool,
}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec> {
        let spec: Spec = toml::from_str(text).map_err(|e| usage(format!("spec: {e}")))?;
        if spec.study.name != "stay2018" {
            return Err(usage(format!("spec: [study] name is '{}', but this is the stay2018 study", spec.study.name)));
        }
        let req = spec.request(Method::Khb);
        req.check()?;
        if spec.mediation.causal {
            spec.request(Method::Causal).check()?;
        }
        if spec.study.n == 0 {
            return Err(usage("spec: [study] n must be at least 1"));
        }
        Ok(spec)
    }

    pub fn embedded() -> Spec {
        Spec::parse(SPEC_TOML).expect("the embedded spec is valid")
    }

    /// The right-hand side of the logit: the exposure and the controls.
    pub fn rhs(&self) -> String {
        format!("{} + {}", self.study.exposure, self.study.controls)
    }

    /// The mediation request of the specification (OIM, 95%).
    pub fn request(&self, method: Method) -> Request {
        Request {
            outcome: self.study.outcome.clone(),
            controls: self.study.controls.clone(),
            treatment: self.study.exposure.clone(),
            mediators: self.mediation.mediators.clone(),
            model: ModelKind::Logit,
            method,
            ape: false,
            interaction: false,
            est: Estimation { vce: Some(VceKind::Oim), convention: Default::default(), sample: Default::default(), level: 95.0, margins: None, survey: None, post: Default::default(), hypotheses: Default::default(), bootstrap: None },
            max_iter: 100,
        }
    }
}

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
pub fn estimate(ds: &Dataset, spec: &Spec) -> Result<Vec<(String, Fitted)>> {
    let formula = format!("{} ~ {}", spec.study.outcome, spec.rhs());
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

/// The KHB decomposition of the exposure's logit coefficient as the study reports it (the
/// first column of the exposure; see [`crate::mediate::khb`] for the method):
/// * total: the reduced model's coefficient (mediators residualised), on the full model's
///   scale; direct: the full model's; indirect = total - direct;
/// * with one mediator, `indirect = mediator_coef x exposure_on_mediator` (the full model's
///   mediator coefficient times the exposure's OLS coefficient on the mediator) and its SE is
///   Sobel's; with several, `components` gives each mediator's part.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Khb {
    pub n_obs: f64,
    pub total: f64,
    pub total_se: f64,
    pub direct: f64,
    pub direct_se: f64,
    pub indirect: f64,
    pub indirect_se: f64,
    /// b_mediator in the full model and gamma_exposure in the mediator model (the first
    /// mediator's).
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
    /// Each mediator column's part of the indirect effect (several mediators).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<crate::mediate::khb::Component>,
    /// The exposure, the mediators (for the text).
    #[serde(skip)]
    pub exposure: String,
    /// The exposure's reported column, e.g. `C(direct_settlement)[1]`.
    #[serde(skip)]
    pub term: String,
    #[serde(skip)]
    pub mediators: Vec<String>,
}

impl Khb {
    /// The study's view of the library's decomposition (its first exposure column).
    pub fn from_mediation(m: &Mediation) -> Khb {
        let k = m.khb.as_ref().expect("a KHB result");
        let e = &k.effects[0];
        let c0 = &e.components[0];
        Khb {
            n_obs: m.n_obs,
            total: e.reduced.estimate,
            total_se: e.reduced.std_error,
            direct: e.full.estimate,
            direct_se: e.full.std_error,
            indirect: e.difference.estimate,
            indirect_se: e.difference.std_error,
            mediator_coef: c0.mediator_coef.estimate,
            mediator_coef_se: c0.mediator_coef.std_error,
            exposure_on_mediator: c0.treatment_on_mediator.estimate,
            exposure_on_mediator_se: c0.treatment_on_mediator.std_error,
            naive_reduced: e.naive.estimate,
            conf_ratio: e.conf_ratio,
            pct_mediated: e.conf_pct,
            rescale_factor: e.rescale_factor,
            components: if e.components.len() > 1 { e.components.clone() } else { Vec::new() },
            exposure: m.treatment.clone(),
            term: e.term.clone(),
            mediators: m.mediators.clone(),
        }
    }
}

/// The KHB decomposition of the study's specification on the rows where every mediator is
/// observed (the mediator is defined only for the respondents ill in the past year).
pub fn khb(ds: &Dataset, spec: &Spec) -> Result<Khb> {
    Ok(Khb::from_mediation(&spec.request(Method::Khb).run(ds)?))
}

/// The KHB decomposition of a logit: `outcome` on the formula term `exposure`, the
/// `mediator` and `controls` (a formula right-hand side); `exposure_coef` names the
/// exposure's column that is reported.
pub fn khb_decompose(
    ds: &Dataset,
    outcome: &str,
    exposure: &str,
    exposure_coef: &str,
    mediator: &str,
    controls: &str,
) -> Result<Khb> {
    let spec = Spec {
        study: StudySpec {
            name: "stay2018".into(),
            outcome: outcome.into(),
            exposure: exposure.into(),
            controls: controls.into(),
            n: 1,
            seed: 0,
        },
        mediation: MediationSpec { mediators: vec![mediator.into()], causal: false },
    };
    let m = spec.request(Method::Khb).run(ds)?;
    let k = m.khb.as_ref().expect("a KHB result");
    if k.effects[0].term != exposure_coef {
        return Err(usage(format!("KHB: the exposure's first column is '{}', not '{exposure_coef}'", k.effects[0].term)));
    }
    Ok(Khb::from_mediation(&m))
}

/// The KHB table as text.
pub fn khb_text(k: &Khb) -> String {
    // The study's own words when the spec decomposes what the study decomposes.
    let ours = k.exposure == "C(direct_settlement)" && k.mediators == ["local_utilization"];
    let mut s = if ours {
        format!(
            "\nMediation through local utilisation (KHB decomposition, logit coefficients of direct settlement;\nrespondents ill in the past year, N = {})\n",
            k.n_obs
        )
    } else {
        format!(
            "\nMediation through {} (KHB decomposition, logit coefficients of {};\nrows where every mediator is observed, N = {})\n",
            k.mediators.join(", "),
            k.exposure,
            k.n_obs
        )
    };
    s.push_str(&format!("{:<44} {:>9} {:>8}\n", "", "coef", "(SE)"));
    for (label, v, se) in [
        ("total (reduced model, mediator residualised)", k.total, Some(k.total_se)),
        ("direct (full model)", k.direct, Some(k.direct_se)),
        ("indirect = total - direct", k.indirect, Some(k.indirect_se)),
        ("naive reduced model (no mediator)", k.naive_reduced, None),
    ] {
        s.push_str(&format!("{:<44} {:>9.4} {:>8}\n", label, v, se.map(|e| format!("({e:.4})")).unwrap_or_default()));
    }
    if ours {
        s.push_str(&format!(
            "indirect = b(utilisation | full) {:.4} x b(direct settlement -> utilisation, OLS) {:.4}\n",
            k.mediator_coef, k.exposure_on_mediator
        ));
    } else if k.components.is_empty() {
        s.push_str(&format!(
            "indirect = b({} | full) {:.4} x b({} -> {}, OLS) {:.4}\n",
            k.mediators[0], k.mediator_coef, k.exposure, k.mediators[0], k.exposure_on_mediator
        ));
    } else {
        for c in &k.components {
            s.push_str(&format!(
                "  via {:<30} {:>9.4} {:>8} ({:.1}% of indirect)\n",
                c.mediator,
                c.contribution.estimate,
                format!("({:.4})", c.contribution.std_error),
                c.pct_of_difference
            ));
        }
    }
    s.push_str(&format!(
        "confounding ratio (total / direct) {:.3}; mediated {:.1}%; rescaling (naive / total) {:.3}\n",
        k.conf_ratio, k.pct_mediated, k.rescale_factor
    ));
    s
}

/// The natural direct and indirect effects as text.
pub fn causal_text(c: &Causal, k: &Khb) -> String {
    let mut s = format!(
        "\nCausal mediation through {} (natural effects on Pr(stay), {} mediator model, {} vs {}; N = {})\n",
        k.mediators.join(", "),
        c.mediator_model,
        crate::data::format_number(c.treated),
        crate::data::format_number(c.control),
        k.n_obs
    );
    s.push_str(&format!("{:<44} {:>9} {:>8}\n", "", "effect", "(SE)"));
    for (label, e) in [
        ("natural direct effect", &c.nde),
        ("natural indirect effect", &c.nie),
        ("total effect", &c.total),
        ("proportion mediated", &c.proportion_mediated),
    ] {
        s.push_str(&format!("{:<44} {:>9.4} {:>8}\n", label, e.estimate, format!("({:.4})", e.std_error)));
    }
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
        Some(Embedded { text: SPEC_TOML, path: SPEC_PATH })
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
        let fits = estimate(ds, self)?;
        let mediation = khb(ds, self)?;
        let causal = if self.mediation.causal {
            Some(self.request(Method::Causal).run(ds)?.causal.expect("a causal result"))
        } else {
            None
        };
        Ok(Box::new(Estimated { source: source.to_string(), fits, mediation, causal }))
    }
}

/// The logits on the total sample and the subgroups, and the KHB decomposition.
pub struct Estimated {
    pub source: String,
    pub fits: Vec<(String, Fitted)>,
    pub mediation: Khb,
    /// Natural direct and indirect effects, when the spec asks for them.
    pub causal: Option<Causal>,
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
            #[serde(skip_serializing_if = "Option::is_none")]
            causal_mediation: Option<&'a Causal>,
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
            causal_mediation: self.causal.as_ref(),
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
            let t = self.mediation.term.as_str();
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
        if let Some(c) = &self.causal {
            s.push_str(&causal_text(c, &self.mediation));
        }
        s
    }
}
