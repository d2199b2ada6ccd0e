//! Validated estimation jobs: what a command line (or a batch spec) asks for, checked and
//! resolved, and the one function that turns a dataset into a [`Report`]. The CLI and the
//! batch runner both go through here, so a batch variant is exactly the command it describes.

use crate::data::{Data, Dataset};
use crate::design::{Design, SampleOptions};
use crate::error::{usage, Result};
use crate::formula::Formula;
use crate::inference::convention::Convention;
use crate::inference::linearize::Linearization;
use crate::inference::survey::{SurveyDesign, SurveySpec};
use crate::inference::wald::{Combination, Names, Restrictions, WaldTest};
use crate::inference::wild::{wild_test, WildRequest};
use crate::inference::{Variance, VceKind};
use crate::margins::{self, At, MarginsVce, MarginsVceKind, PartEval, Target, TwoPartEval};
use crate::model::twopart::{TwoPartDesigns, TwoPartRequest};
use crate::model::{self, Fit, LinkKind, ModelKind, ModelSpec};
use crate::output::{Combined, Lincom, ModelReport, Report};

pub mod bootstrap;
pub mod by;
pub mod explain;
pub mod predict;
mod twopart;
pub use bootstrap::BootstrapRun;
pub use by::ByRequest;

/// Options shared by every estimation: variance, sample, inference.
#[derive(Debug, Clone)]
pub struct Estimation {
    /// The variance asked for (`None` = Stata's default for the weights and clusters).
    pub vce: Option<VceKind>,
    /// Whose conventions the variance, log likelihood and df follow (Stata by default).
    pub convention: Convention,
    pub sample: SampleOptions,
    /// Confidence level in percent.
    pub level: f64,
    /// Marginal effects, if requested, and where.
    pub margins: Option<At>,
    /// Predictive margins and contrasts (empty: none).
    pub post: crate::margins::PostRequest,
    /// A survey design: the variance is linearized (Stata's `svy`), with t statistics.
    pub survey: Option<SurveySpec>,
    /// Tests and linear combinations of the coefficients.
    pub hypotheses: PostEstimation,
    /// The bootstrap's replicates, seed, interval and `--save-reps` (`None`: the defaults,
    /// used only with `vce = bootstrap`).
    pub bootstrap: Option<BootstrapRun>,
    /// `--by VAR`: the model fitted in each group, with the stacked (suest) variance.
    pub by: Option<ByRequest>,
}

/// Tests and linear combinations after the fit (`--test`, `--lincom`; Stata's `test`,
/// `testparm`, `lincom`), written with the fit's coefficient names
/// ([`crate::inference::wald`]).
#[derive(Debug, Clone, Default)]
pub struct PostEstimation {
    pub tests: Vec<String>,
    pub lincom: Vec<String>,
    /// `--wild-reps`: each test also by the wild score bootstrap (with the fit's clusters).
    pub wild: Option<WildRequest>,
    /// `--predict FILE`: per-row predictions written there after the fit ([`predict`]).
    pub predict: Option<std::path::PathBuf>,
    /// `--test-margins`, `--lincom-margins`: written with the margins' names
    /// ([`margins::MarginVector`]).
    pub margin_tests: Vec<String>,
    pub margin_lincom: Vec<String>,
}

/// The file format of `--predict`, by the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictFormat {
    Csv,
    Parquet,
}

impl PredictFormat {
    /// `.csv` or `.parquet` (`.pq`); anything else, or an existing folder, is a usage error.
    pub fn of(path: &std::path::Path) -> Result<PredictFormat> {
        if path.is_dir() {
            return Err(usage(format!(
                "--predict: '{}' is a folder; give a file name ending in .csv or .parquet",
                path.display()
            )));
        }
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Ok(PredictFormat::Csv),
            Some("parquet") | Some("pq") => Ok(PredictFormat::Parquet),
            _ => Err(usage(format!(
                "--predict: cannot tell the format of '{}': the name must end in .csv or .parquet",
                path.display()
            ))),
        }
    }
}

impl PostEstimation {
    pub fn is_empty(&self) -> bool {
        self.tests.is_empty() && self.lincom.is_empty()
    }

    /// Whether tests or combinations of margins are asked for.
    pub fn has_margins(&self) -> bool {
        !self.margin_tests.is_empty() || !self.margin_lincom.is_empty()
    }

    /// The tests and combinations of a model's margins (its predictive margins and effects,
    /// already in `m`), appended to its `tests` and `lincom`.
    /// (`boot`: under the bootstrap, the bootstrap covariance of the margins and the replicate
    /// combinations, [`bootstrap::Boot::margin_hypotheses`].)
    fn apply_margins(
        &self,
        m: &mut ModelReport,
        v: &Variance,
        mvce: MarginsVce,
        level: f64,
        boot: Option<&bootstrap::Boot>,
    ) -> Result<()> {
        if !self.has_margins() {
            return Ok(());
        }
        let (tests, lincom) = match boot {
            Some(b) => {
                let (mv, idx) = b.margin_vector(&m.predictions, &m.margins, 0);
                b.margin_hypotheses(&mv, &idx, &self.margin_tests, &self.margin_lincom, level)?
            }
            None => margins::MarginVector::new(&m.predictions, &m.margins, mvce)?.hypotheses(
                &self.margin_tests,
                &self.margin_lincom,
                level,
                v.df,
            )?,
        };
        m.tests.extend(tests);
        m.lincom.extend(lincom);
        if boot.is_some() {
            m.notes.push(bootstrap::BOOT_MARGIN_TESTS.into());
        }
        Ok(())
    }

    /// A two-part model: each hypothesis on the margins of each part and of the combined E[y]
    /// whose margins it names; an error when it names the margins of none.
    fn apply_margins_twopart(
        &self,
        parts: [(&mut ModelReport, &Variance); 2],
        c: &mut Combined,
        joint: &Variance,
        mvce: [MarginsVce; 3],
        level: f64,
        boot: Option<&bootstrap::Boot>,
    ) -> Result<()> {
        let [(m1, v1), (m2, v2)] = parts;
        let lists = [
            (&m1.predictions, &m1.margins, v1),
            (&m2.predictions, &m2.margins, v2),
            (&c.predictions, &c.margins, joint),
        ];
        let vectors: Vec<(margins::MarginVector, Vec<usize>)> = lists
            .iter()
            .enumerate()
            .map(|(s, (p, e, _))| {
                Ok(match boot {
                    Some(b) => b.margin_vector(p, e, s),
                    None => (margins::MarginVector::new(p, e, mvce[s])?, Vec::new()),
                })
            })
            .collect::<Result<_>>()?;
        let dfs = [v1.df, v2.df, joint.df];
        for (which, list) in [(0, &self.margin_tests), (1, &self.margin_lincom)] {
            for t in list {
                let one = std::slice::from_ref(t);
                let none: &[String] = &[];
                let (tests, lincom) = if which == 0 { (one, none) } else { (none, one) };
                let results: Vec<_> = vectors
                    .iter()
                    .zip(dfs)
                    .map(|((mv, idx), df)| match boot {
                        Some(b) => b.margin_hypotheses(mv, idx, tests, lincom, level),
                        None => mv.hypotheses(tests, lincom, level, df),
                    })
                    .collect();
                if results.iter().all(|r| r.is_err()) {
                    // The combined E[y]'s message lists the margins most users test.
                    return results.into_iter().last().expect("three").map(|_| ());
                }
                let [r1, r2, rc]: [_; 3] = results.try_into().ok().expect("three");
                for (tests, lincom, r) in [
                    (&mut m1.tests, &mut m1.lincom, r1),
                    (&mut m2.tests, &mut m2.lincom, r2),
                    (&mut c.tests, &mut c.lincom, rc),
                ] {
                    if let Ok((ts, ls)) = r {
                        tests.extend(ts);
                        lincom.extend(ls);
                    }
                }
            }
        }
        if boot.is_some() {
            c.notes.push(bootstrap::BOOT_MARGIN_TESTS.into());
        }
        Ok(())
    }

    /// The tests and combinations of one model (names resolved against `fit`; an unknown
    /// name is a usage error, an omitted one an estimation error), into its report.
    pub fn apply(&self, m: &mut ModelReport, fit: &Fit, v: &Variance, level: f64) -> Result<()> {
        let (tests, lincom) = self.compute(fit, v, level)?;
        m.tests = tests;
        m.lincom = lincom;
        Ok(())
    }

    fn compute(&self, fit: &Fit, v: &Variance, level: f64) -> Result<(Vec<WaldTest>, Vec<Lincom>)> {
        let omitted: Vec<String> = fit.omitted.iter().map(|o| o.term.clone()).collect();
        let names = Names::coefficients(&fit.design.names, &omitted);
        let mut tests = Vec::new();
        for t in &self.tests {
            let h = Restrictions::parse(t, names)?;
            let mut test = h.test(&fit.beta, &fit.design.names, v)?;
            if let Some(req) = &self.wild {
                let (_, keep, _) = h.split(&v.matrix);
                test.wild = Some(wild_test(fit, &h.rows, &h.rhs, &keep, req)?);
            }
            tests.push(test);
        }
        let mut lincom = Vec::new();
        for t in &self.lincom {
            let c = Combination::parse(t, names)?;
            let (estimate, std_error) = c.estimate(&fit.beta, &v.matrix);
            lincom.push(Lincom::new(c.label, estimate, std_error, v.statistics(estimate, std_error, level), None));
        }
        Ok((tests, lincom))
    }

    /// A two-part model: each hypothesis in each part whose coefficients it names (bare names
    /// may belong to one part only when the parts have different regressors); an error when it
    /// fits neither part.
    fn apply_twopart(&self, parts: [(&mut ModelReport, &Fit, &Variance); 2], level: f64) -> Result<()> {
        let [(m1, f1, v1), (m2, f2, v2)] = parts;
        for (which, list) in [(0, &self.tests), (1, &self.lincom)] {
            for t in list {
                let one = |f: &Fit, v: &Variance| {
                    let p = if which == 0 {
                        PostEstimation { tests: vec![t.clone()], wild: self.wild, ..Default::default() }
                    } else {
                        PostEstimation { lincom: vec![t.clone()], ..Default::default() }
                    };
                    p.compute(f, v, level)
                };
                let (mut a, mut b) = (one(f1, v1), one(f2, v2));
                // With the wild bootstrap, a test whose names fit a part but whose bootstrap
                // fails there is an error, not a hypothesis of the other part only.
                if self.wild.is_some() && which == 0 {
                    for (f, r) in [(f1, &mut a), (f2, &mut b)] {
                        let omitted: Vec<String> = f.omitted.iter().map(|o| o.term.clone()).collect();
                        let names = Names::coefficients(&f.design.names, &omitted);
                        if r.is_err() && Restrictions::parse(t, names).is_ok() {
                            std::mem::replace(r, Ok((Vec::new(), Vec::new())))?;
                        }
                    }
                }
                if a.is_err() && b.is_err() {
                    return a.map(|_| ());
                }
                for (m, r) in [(&mut *m1, a), (&mut *m2, b)] {
                    if let Ok((ts, ls)) = r {
                        m.tests.extend(ts);
                        m.lincom.extend(ls);
                    }
                }
            }
        }
        Ok(())
    }
}

impl Estimation {
    pub fn check(&self) -> Result<()> {
        if !(self.level > 10.0 && self.level < 99.99) {
            return Err(usage(format!("the confidence level must be between 10 and 99.99, not {}", self.level)));
        }
        let kind = self.vce_kind()?;
        if self.post.vce == MarginsVceKind::Unconditional {
            self.check_unconditional(kind)?;
        }
        Ok(())
    }

    /// Where `--margins-vce unconditional` is defined (Stata's `vce(unconditional)`: after
    /// robust, cluster or svy linearization, with sampling weights or none).
    fn check_unconditional(&self, kind: VceKind) -> Result<()> {
        crate::inference::linearize::check_kind(kind)?;
        if self.convention != Convention::Stata {
            return Err(usage(format!(
                "--margins-vce unconditional is Stata's vce(unconditional); it has no --convention {} profile (drop --convention)",
                self.convention.name()
            )));
        }
        if self.by.is_some() {
            return Err(usage(
                "--margins-vce unconditional with --by: the groups' stacked (suest) variance is conditional; use --over VAR for effects within groups",
            ));
        }
        if matches!(self.margins, Some(At::Means)) {
            return Err(usage(
                "--margins-vce unconditional averages over the sampled rows; effects at the means (--margins-at means) are conditional on those means: use --margins-vce delta",
            ));
        }
        if let Some((v, t)) = &self.sample.weights {
            if *t != crate::design::WeightType::Probability {
                return Err(usage(format!(
                    "--margins-vce unconditional treats each row (or cluster, or PSU) as a sampled unit: it takes sampling weights (pweight) or none, not {} weights ('{v}')",
                    t.as_str()
                )));
            }
        }
        Ok(())
    }

    /// The unconditional linearization of one fit, when `--margins-vce unconditional` asks for it.
    fn linearization(&self, fit: &Fit, design: Option<&SurveyDesign>) -> Result<Option<Linearization>> {
        if self.post.vce != MarginsVceKind::Unconditional {
            return Ok(None);
        }
        Ok(Some(Linearization::single(fit, self.vce_kind()?, design)?))
    }

    pub fn vce_kind(&self) -> Result<VceKind> {
        if self.bootstrap.is_some() && self.vce != Some(VceKind::Bootstrap) {
            return Err(usage(
                "the bootstrap options (reps, seed, bootstrap, ci, save_reps, save_weights) need vce bootstrap",
            ));
        }
        if self.survey.is_some() {
            if self.vce == Some(VceKind::Bootstrap) {
                // The survey bootstrap resamples PSUs within strata (Rao-Wu).
                if self.sample.cluster.is_some() {
                    return Err(usage(
                        "with a survey design the PSU is the cluster: give it as the PSU, not as a cluster variable",
                    ));
                }
                return Ok(VceKind::Bootstrap);
            }
            if let Some(k) = self.vce.filter(|&k| k != VceKind::Survey) {
                return Err(usage(format!(
                    "a survey design takes the linearized variance (vce svy) or the bootstrap, not vce {}",
                    k.name()
                )));
            }
            if self.sample.cluster.is_some() {
                return Err(usage(
                    "with a survey design the PSU is the cluster: give it as the PSU, not as a cluster variable",
                ));
            }
            if let Some((v, t)) = &self.sample.weights {
                if *t != crate::design::WeightType::Probability {
                    return Err(usage(format!(
                        "a survey design takes sampling weights (pweight), but '{v}' was given as {}",
                        t.as_str()
                    )));
                }
            }
            return Ok(VceKind::Survey);
        }
        VceKind::resolve(self.vce, self.sample.weights.as_ref().map(|w| w.1), self.sample.cluster.is_some())
    }

    /// The variance of `kind` under the convention profile (Stata's: [`Variance::compute`]),
    /// with the notes of an explicit option that overrode the profile.
    pub fn profile_variance(
        &self,
        fit: &Fit,
        kind: VceKind,
        design: Option<&SurveyDesign>,
    ) -> Result<crate::inference::convention::ProfileVariance> {
        self.convention.profile().variance(fit, kind, self.vce.is_some(), design)
    }

    /// A model report under the convention profile: its log likelihood (and AIC/BIC) as the
    /// profile's package reports it, and the notes.
    pub fn apply_convention(&self, m: &mut ModelReport, fit: &Fit, v: &Variance, notes: Vec<String>) {
        m.notes.extend(notes);
        if self.convention == Convention::Stata {
            return;
        }
        let p = self.convention.profile();
        m.log_likelihood = p.log_likelihood(fit);
        if let Some(n) = p.loglik_note(fit) {
            m.notes.push(n);
        }
        if crate::output::information_criteria(fit, v).is_some() {
            let k = p.aic_parameters(fit);
            m.aic = Some(-2.0 * m.log_likelihood + 2.0 * k);
            m.bic = Some(-2.0 * m.log_likelihood + k * fit.n_obs.ln());
        }
    }

    /// The bootstrap run asked for, or the defaults (999 replicates, seed 1, percentile).
    pub fn boot_run(&self) -> BootstrapRun {
        self.bootstrap.clone().unwrap_or_default()
    }

    /// Every dataset variable these options read (weights, cluster, survey design and
    /// subpopulation, --margins-at values), for column projection; `None` when that cannot be
    /// told (a subpopulation expression that does not parse: its error comes later).
    pub fn variables(&self) -> Option<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        out.extend(self.sample.weights.iter().map(|w| w.0.clone()));
        out.extend(self.sample.cluster.iter().cloned());
        out.extend(self.sample.also_require.iter().cloned());
        if let Some(spec) = &self.survey {
            out.extend(spec.columns());
            if let Some(src) = &spec.subpop {
                let e = crate::data::expr::parse(src).ok()?;
                out.extend(e.variables().into_iter().map(str::to_string));
            }
        }
        if let Some(At::Values(vals)) = &self.margins {
            out.extend(vals.iter().map(|(v, _)| v.clone()));
        }
        out.extend(self.post.over.iter().cloned());
        out.extend(self.by.iter().map(|b| b.var.clone()));
        Some(out)
    }

    /// The sample options of the model (restricted to a survey subpopulation, if any) and the
    /// rows of the survey design when they are not the model's own (a subpopulation).
    pub(crate) fn model_sample(&self, ds: &Dataset) -> Result<(SampleOptions, Option<Vec<usize>>)> {
        let mut sample = self.sample.clone();
        let Some(spec) = &self.survey else { return Ok((sample, None)) };
        let Some(mask) = spec.subpop_mask(ds)? else { return Ok((sample, None)) };
        sample.restrict = Some(match sample.restrict.take() {
            Some(r) => r.iter().zip(&mask).map(|(a, b)| *a && *b).collect(),
            None => mask,
        });
        let rows = spec.design_rows(ds, self.sample.weights.as_ref().map(|w| w.0.as_str()))?;
        Ok((sample, Some(rows)))
    }

    /// The survey design of a model fitted on `fit_rows` (`design_rows`: a subpopulation's
    /// full design), if there is one.
    fn survey_design(
        &self,
        ds: &Dataset,
        fit_rows: &[usize],
        design_rows: Option<&[usize]>,
    ) -> Result<Option<SurveyDesign>> {
        match &self.survey {
            None => Ok(None),
            Some(spec) => {
                Ok(Some(SurveyDesign::new(ds, spec, design_rows.unwrap_or(fit_rows))?.with_fit_rows(fit_rows)?))
            }
        }
    }
}

/// One model: probit, logit or GLM.
#[derive(Debug, Clone)]
pub struct FitJob {
    pub formula: Formula,
    pub spec: ModelSpec,
    pub odds_ratios: bool,
    pub est: Estimation,
}

/// A two-part model.
#[derive(Debug, Clone)]
pub struct TwoPartJob {
    pub formula: Formula,
    pub formula2: Option<Formula>,
    pub response2: Option<String>,
    pub first: ModelSpec,
    pub second: ModelSpec,
    pub joint_vce: bool,
    pub est: Estimation,
    /// `response2` parsed, once (for [`TwoPartJob::variables`]).
    response2_expr: Option<crate::formula::Expr>,
}

/// Either job.
#[derive(Debug, Clone)]
pub enum Job {
    Fit(FitJob),
    TwoPart(TwoPartJob),
}

impl Job {
    pub fn run(&self, ds: &Dataset) -> Result<Report> {
        self.run_data(Data::Borrowed(ds))
    }

    /// [`Job::run`] on a dataset that may be handed over: a two-part job frees the columns
    /// once its designs are built.
    pub fn run_data(&self, ds: Data<'_>) -> Result<Report> {
        match self {
            Job::Fit(j) => j.run(&ds),
            Job::TwoPart(j) => j.run_data(ds),
        }
    }

    /// The estimation options (variance, bootstrap, margins) of the job.
    pub fn est(&self) -> &Estimation {
        match self {
            Job::Fit(j) => &j.est,
            Job::TwoPart(j) => &j.est,
        }
    }

    /// Every dataset variable the job reads (see [`FitJob::variables`]).
    pub fn variables(&self) -> Option<Vec<String>> {
        match self {
            Job::Fit(j) => j.variables(),
            Job::TwoPart(j) => j.variables(),
        }
    }
}

/// Appends the names of `more` not yet in `out`.
fn union(out: &mut Vec<String>, more: impl IntoIterator<Item = String>) {
    for v in more {
        if !out.contains(&v) {
            out.push(v);
        }
    }
}

impl FitJob {
    pub fn new(formula: Formula, spec: ModelSpec, odds_ratios: bool, est: Estimation) -> Result<FitJob> {
        est.check()?;
        if odds_ratios && spec.link != LinkKind::Logit {
            return Err(usage("odds ratios need a logit model (logit, or a GLM with the logit link)"));
        }
        Ok(FitJob { formula, spec, odds_ratios, est })
    }

    /// Every dataset variable the job reads (the formula's, the weights, cluster, survey
    /// design and subpopulation), for column projection: a dataset holding these variables
    /// (with the same rows) gives the same report as the full dataset. `None` when that
    /// cannot be told.
    pub fn variables(&self) -> Option<Vec<String>> {
        let mut out = self.formula.variables();
        union(&mut out, self.est.variables()?);
        Some(out)
    }

    pub fn run(&self, ds: &Dataset) -> Result<Report> {
        if let Some(by) = &self.est.by {
            return self.run_by(ds, by);
        }
        let kind = self.est.vce_kind()?;
        let (sample, design_rows) = self.est.model_sample(ds)?;
        let design = Design::build(ds, &self.formula, &sample)?;
        let fit = model::fit(design, &self.spec)?;
        let sd = self.est.survey_design(ds, &fit.design.rows, design_rows.as_deref())?;
        let level = self.est.level;
        let boot = if kind == VceKind::Bootstrap {
            let groups = over_groups(ds, self.est.post.over.as_deref(), &fit.design.rows)?;
            let stats = |part: PartEval, w: Option<&[f64]>| self.set_estimates(part, w, &groups);
            Some(bootstrap::fit(&self.est, &self.est.boot_run(), &fit, sd.as_ref(), &stats)?)
        } else {
            None
        };
        let mut notes = Vec::new();
        let v = match &boot {
            Some(b) => b.variance(0..fit.beta.len(), level),
            None => {
                let pv = self.est.profile_variance(&fit, kind, sd.as_ref())?;
                notes = pv.notes;
                pv.variance
            }
        };
        let m = self.model_report(ds, "model", &fit, &v, notes, boot.as_ref(), sd.as_ref())?;
        if let Some(path) = &self.est.hypotheses.predict {
            predict::single(ds, &self.formula, &fit)?.write(path)?;
        }
        Ok(report("fit", ds, vec![m], None, &[&fit.design]))
    }

    /// The report of one fitted model under its variance: coefficients, tests, effects,
    /// predictive margins and contrasts (`notes`: the convention profile's notes on the
    /// variance; `boot`: the bootstrap's replicates, when the variance is the bootstrap's).
    #[allow(clippy::too_many_arguments)]
    fn model_report(
        &self,
        ds: &Dataset,
        name: &str,
        fit: &Fit,
        v: &Variance,
        notes: Vec<String>,
        boot: Option<&bootstrap::Boot>,
        sd: Option<&SurveyDesign>,
    ) -> Result<ModelReport> {
        let level = self.est.level;
        let mut m = ModelReport::new(name, &self.formula.source, fit, v, self.est.level, self.odds_ratios);
        self.est.apply_convention(&mut m, fit, v, notes);
        m.n_strata = sd.map(|d| d.n_strata);
        let lin = self.est.linearization(fit, sd)?;
        let mvce = match &lin {
            Some(l) => MarginsVce::Unconditional { lin: l, start: 0, units: l.units_of_part(0) },
            None => MarginsVce::Delta(&v.matrix),
        };
        self.est.hypotheses.apply(&mut m, fit, v, self.est.level)?;
        if let Some(b) = boot {
            b.apply_coefficients(&mut m, 0, level);
        }
        if self.est.margins.is_some() {
            let groups = over_groups(ds, self.est.post.over.as_deref(), &fit.design.rows)?;
            let r =
                self.est.single_effects(PartEval::of_fit(fit), fit.design.weights.as_deref(), &groups, Some(mvce))?;
            m.margins_description = Some(format!(
                "{} Prediction: {} of {}.{}",
                r.description,
                prediction_name(fit),
                fit.design.response,
                unconditional_sentence(lin.as_ref(), v.kind)
            ));
            m.notes.extend(r.notes);
            m.margins = r.margins;
            crate::output::apply_variance_df(&mut m.margins, self.est.level, v);
            if let Some(b) = boot {
                b.apply_margins(&mut m.margins, 0, level);
                m.margins_description = m.margins_description.map(|d| b.describe_margins(&d));
            }
        }
        if !self.est.post.is_empty() {
            margins::check_variables(&[PartEval::of_fit(fit)], &self.est.post)?;
            let mut r = margins::predictions(
                &[PartEval::of_fit(fit)],
                Target::Mean(0),
                fit.design.weights.as_deref(),
                &self.est.post,
                mvce,
                self.est.level,
                v.df,
            )?;
            if let Some(l) = &lin {
                r.notes.push(l.description(v.kind));
            }
            if let Some(b) = boot {
                b.apply_predictions(&mut r, 0, level);
                m.notes.push(bootstrap::BOOT_PREDICTIONS.into());
            }
            m.predictions = r.predictions;
            m.contrasts = r.contrasts;
            m.notes.extend(r.notes);
        }
        self.est.hypotheses.apply_margins(&mut m, v, mvce, level, boot)?;
        Ok(m)
    }

    /// The effects, predictive margins and contrasts of the model `part` averaged with `w`,
    /// estimates only: the full sample's (`PartEval::of_fit`, the estimation weights) and a
    /// bootstrap replicate's (its coefficients and weights), by the same computation.
    fn set_estimates(&self, part: PartEval, w: Option<&[f64]>, groups: &Groups) -> Result<bootstrap::SetStats> {
        let mut out = bootstrap::SetStats::default();
        if self.est.margins.is_some() {
            out.effects = self.est.single_effects(part, w, groups, None)?.margins;
        }
        if !self.est.post.is_empty() {
            margins::check_variables(&[part], &self.est.post)?;
            let r = margins::prediction_estimates(&[part], Target::Mean(0), w, &self.est.post)?;
            (out.predictions, out.contrasts) = (r.predictions, r.contrasts);
        }
        Ok(out)
    }
}

impl Estimation {
    /// A model's effects (`--margins`, on the `--margins-scale`) at every `--at` grid point and
    /// in every `--over` group (`groups`), averaged with `w` (each group's rows only), the
    /// `--dydx` effects kept: with delta-method standard errors under `vcov`, or estimates only
    /// (`None`: the full sample's or a bootstrap replicate's statistics).
    fn single_effects(
        &self,
        part: PartEval,
        w: Option<&[f64]>,
        groups: &Groups,
        vcov: Option<MarginsVce>,
    ) -> Result<margins::MarginsResult> {
        let at = self.margins.as_ref().expect("margins asked for");
        let scale = self.post.scale;
        margins::check_scale_dydx(&[part.spec], &self.post.dydx, scale)?;
        let mut runs = Vec::new();
        for (point, at) in grid_points(at, &self.post.grid) {
            for (tag, wg) in group_weights(groups, w, part.x.nrows()) {
                let r = match vcov {
                    Some(v) => {
                        margins::compute_scaled(&[part], Target::Mean(0), wg.as_deref(), &at, scale, v, self.level)?
                    }
                    None => margins::estimates_scaled(&[part], Target::Mean(0), wg.as_deref(), &at, scale)?,
                };
                runs.push((point.clone(), tag, r));
            }
        }
        let mut r = merge_runs(runs);
        margins::keep_dydx(&mut [&mut r.margins], &[part.spec], &self.post.dydx)?;
        Ok(r)
    }
}

/// Where effects are evaluated: `at` itself, or each point of an at-grid (`--at`, the
/// variables fixed at the point's values, Stata's `at()`).
fn grid_points(at: &At, grid: &[Vec<(String, String)>]) -> Vec<(Vec<(String, String)>, At)> {
    if grid.is_empty() {
        vec![(Vec::new(), at.clone())]
    } else {
        grid.iter().map(|p| (p.clone(), At::Values(p.clone()))).collect()
    }
}

/// The groups of `--over VAR` (Stata's `over()`): each distinct value of the variable on the
/// estimation rows (`rows`, positions in the data), in the variable's order, with its rows.
/// `None`: one group, every row.
type Groups = Option<(String, Vec<(String, Vec<bool>)>)>;

fn over_groups(ds: &Dataset, over: Option<&str>, rows: &[usize]) -> Result<Groups> {
    named_groups(ds, over, rows, "over")
}

/// [`over_groups`] for an option named `option` in its messages (`over`, `by`).
fn named_groups(ds: &Dataset, over: Option<&str>, rows: &[usize], option: &str) -> Result<Groups> {
    use crate::data::ColumnData;
    let Some(var) = over else { return Ok(None) };
    let col = ds.column(var).ok_or_else(|| usage(format!("{option}: '{var}' is not a column of the data")))?;
    let missing = || usage(format!("{option}: '{var}' is missing on some estimation rows; drop them (--if) first"));
    let keys: Vec<(f64, String)> = match &col.data {
        ColumnData::Numeric(v) => rows
            .iter()
            .map(|&r| if v[r].is_nan() { Err(missing()) } else { Ok((v[r], format!("{}", v[r]))) })
            .collect::<Result<_>>()?,
        ColumnData::Categorical(f) => rows
            .iter()
            .map(|&r| {
                let c = f.codes[r];
                f.levels.get(c as usize).map(|l| (c as f64, l.name.clone())).ok_or_else(missing)
            })
            .collect::<Result<_>>()?,
        ColumnData::Text(t) => {
            let mut names: Vec<&str> = rows.iter().filter_map(|&r| t[r].as_deref()).collect();
            names.sort_unstable();
            names.dedup();
            rows.iter()
                .map(|&r| {
                    let s = t[r].as_deref().ok_or_else(missing)?;
                    Ok((names.iter().position(|n| *n == s).expect("listed") as f64, s.to_string()))
                })
                .collect::<Result<_>>()?
        }
    };
    let mut values: Vec<(f64, String)> = keys.clone();
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    values.dedup_by(|a, b| a.0 == b.0);
    if values.len() > 100 {
        return Err(usage(format!("{option}: '{var}' has {} distinct values (at most 100)", values.len())));
    }
    let groups = values.into_iter().map(|(k, name)| (name, keys.iter().map(|x| x.0 == k).collect())).collect();
    Ok(Some((var.to_string(), groups)))
}

/// Each group's averaging weights (the estimation weights, zero outside the group) and its tag.
fn group_weights(groups: &Groups, w: Option<&[f64]>, n: usize) -> Vec<(Vec<(String, String)>, Option<Vec<f64>>)> {
    match groups {
        None => vec![(Vec::new(), w.map(<[f64]>::to_vec))],
        Some((var, gs)) => gs
            .iter()
            .map(|(name, inside)| {
                let wg = (0..n).map(|i| if inside[i] { w.map_or(1.0, |w| w[i]) } else { 0.0 }).collect();
                (vec![(var.clone(), name.clone())], Some(wg))
            })
            .collect(),
    }
}

/// The effects of every grid point (and `--over` group) in one result, each tagged with its
/// point and group; the notes without repeats, the description of the grid.
#[allow(clippy::type_complexity)]
fn merge_runs(
    runs: Vec<(Vec<(String, String)>, Vec<(String, String)>, margins::MarginsResult)>,
) -> margins::MarginsResult {
    let tagged = runs.len() > 1 || runs.first().is_some_and(|r| !r.0.is_empty());
    let mut out = margins::MarginsResult { margins: Vec::new(), notes: Vec::new(), description: String::new() };
    for (point, group, r) in runs {
        if out.description.is_empty() {
            out.description = if tagged && !point.is_empty() {
                r.description.replacen(
                    "Average marginal effects at ",
                    "Average marginal effects at each point of the grid, e.g. ",
                    1,
                )
            } else {
                r.description
            };
        }
        for n in r.notes {
            if !out.notes.contains(&n) {
                out.notes.push(n);
            }
        }
        for mut m in r.margins {
            if tagged && !point.is_empty() {
                m.at = Some(point.clone());
            }
            if !group.is_empty() {
                m.over = Some(group.clone());
            }
            out.margins.push(m);
        }
    }
    out
}

fn report(
    command: &str,
    ds: &Dataset,
    models: Vec<ModelReport>,
    combined: Option<Combined>,
    designs: &[&crate::design::Design],
) -> Report {
    report_labels(command, &ds.source, &crate::output::ColumnLabels::of(ds), models, combined, designs)
}

/// [`report`] with the dataset's column names and labels taken before its columns were freed.
fn report_labels(
    command: &str,
    source: &str,
    labels: &crate::output::ColumnLabels,
    models: Vec<ModelReport>,
    combined: Option<Combined>,
    designs: &[&crate::design::Design],
) -> Report {
    Report {
        migfit_version: crate::VERSION.to_string(),
        command: command.into(),
        data: source.to_string(),
        data_sha256: None,
        models,
        combined,
        tests: Vec::new(),
        variables: labels.describe(designs),
    }
}

/// What a model's prediction is, for descriptions: a probability or a mean.
pub fn prediction_name(fit: &Fit) -> &'static str {
    if fit.spec.family == model::FamilyKind::Binomial {
        "Pr(y != 0)"
    } else {
        "E[y]"
    }
}

/// The margins description's sentence on the unconditional variance (empty without it).
fn unconditional_sentence(lin: Option<&Linearization>, kind: VceKind) -> String {
    lin.map(|l| format!(" {}", l.description(kind))).unwrap_or_default()
}

fn rhs_text(formula: &str) -> String {
    formula.split_once('~').map(|(_, r)| r.trim().to_string()).unwrap_or_else(|| formula.trim().to_string())
}

impl Report {
    /// Every note of the report (models and combined), for printing on stderr.
    pub fn all_notes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in &self.models {
            for n in &m.notes {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        }
        if let Some(c) = &self.combined {
            out.extend(c.notes.iter().cloned());
        }
        out
    }
}
