//! `--vce bootstrap` in the jobs: every replicate refits the model (both parts of a two-part
//! model) with the replicate's weights, starting from the full-sample estimates, and recomputes
//! every reported statistic with its coefficients and weights, estimates only (no Jacobians):
//! each part's average effects and the combined `E[y]`'s (at every `--at` grid point and
//! `--over` group, on the `--margins-scale`), the predictive margins of each part and of
//! `E[y]` and their contrasts. The replicates, their variance and intervals are
//! `inference::bootstrap`'s; this file says what a replicate computes and puts the results in
//! the reports: standard errors are the replicates' standard deviations, intervals the
//! bootstrap's (`--ci`), tests of margins the Wald statistic with the bootstrap covariance of
//! the margins tested (Stata's `test` after `bootstrap`), combinations of margins the
//! combinations of the replicate margins.

use super::Estimation;
use crate::design::Design;
use crate::error::{usage, Result};
use crate::inference::bootstrap::{self, BootstrapSpec, CiMethod, Outcome, Replicates, Units};
use crate::inference::joint::TwoPartVariance;
use crate::inference::survey::SurveyDesign;
use crate::inference::wald::WaldTest;
use crate::inference::{statistics, Variance, VceKind};
use crate::margins::{point_suffix, MarginVector, PartEval, PredictionsResult, TwoPartEval};
use crate::model::fit::Refitter;
use crate::model::twopart::TwoPartFit;
use crate::model::Fit;
use crate::output::{Lincom, Margin, ModelReport, Prediction};

/// What a bootstrap run asks for: the replicates and where to save them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BootstrapRun {
    pub spec: BootstrapSpec,
    /// `--save-reps`: a CSV of every replicate's statistics.
    pub save: Option<std::path::PathBuf>,
    /// `--save-weights`: a CSV of every replicate's row multipliers.
    pub save_weights: Option<std::path::PathBuf>,
}

/// The units resampled for a model estimated on `design`'s rows: the survey design's PSUs
/// within strata, else the clusters, else the rows.
fn units(design: &Design, sd: Option<&SurveyDesign>) -> Result<Units> {
    let units = match sd {
        Some(sd) => {
            let psu_of_row = design
                .rows
                .iter()
                .map(|r| {
                    let i = sd.rows.binary_search(r).expect("fit rows are design rows");
                    sd.psu_of_row[i]
                })
                .collect();
            Units::Strata { psu_of_row, stratum_of_psu: sd.stratum_of_psu.clone(), n_strata: sd.n_strata }
        }
        None => match &design.clusters {
            Some(c) => Units::Clusters {
                of_row: c.clone(),
                n: design.n_clusters,
                name: design.cluster_var.clone().unwrap_or_else(|| "cluster".into()),
            },
            None => Units::Rows(design.n()),
        },
    };
    units.check()?;
    Ok(units)
}

/// What a model reports besides its coefficients, in one set (a model; a two-part model's
/// first part, second part or combined `E[y]`): its effects (every grid point and group), its
/// predictive margins and their contrasts, in report order. The full sample's and each
/// replicate's come from the same estimates-only computation.
#[derive(Debug, Default)]
pub struct SetStats {
    pub effects: Vec<Margin>,
    pub predictions: Vec<Prediction>,
    pub contrasts: Vec<Prediction>,
}

impl SetStats {
    /// The statistics' names: `margin:dydx:age`, `first:2 vs 1:C(g)[2]@(age=30)`,
    /// `combined:predict:C(g)[2]`, `second:contrast:C(g)[2] - C(g)[1]`.
    fn names(&self, prefix: &str) -> Vec<String> {
        let effects = self
            .effects
            .iter()
            .map(|m| format!("{prefix}:{}:{}{}", m.contrast, m.term, point_suffix(m.at.as_deref(), m.over.as_deref())));
        let preds = self
            .predictions
            .iter()
            .map(|p| format!("{prefix}:predict:{}{}", p.term, point_suffix(p.at.as_deref(), None)));
        let contrasts = self
            .contrasts
            .iter()
            .map(|p| format!("{prefix}:contrast:{}{}", p.term, point_suffix(p.at.as_deref(), None)));
        effects.chain(preds).chain(contrasts).collect()
    }

    fn len(&self) -> usize {
        self.effects.len() + self.predictions.len() + self.contrasts.len()
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        let e = self.effects.iter().map(|m| m.estimate);
        e.chain(self.predictions.iter().chain(&self.contrasts).map(|p| p.estimate))
    }

    /// A replicate's statistics must be the full sample's, in order (a replicate cannot lose
    /// one: a column without weight fails before).
    fn same_as(&self, full: &SetStats) -> std::result::Result<(), String> {
        let effects = self.effects.len() == full.effects.len()
            && self
                .effects
                .iter()
                .zip(&full.effects)
                .all(|(a, b)| (&a.term, &a.contrast, &a.at, &a.over) == (&b.term, &b.contrast, &b.at, &b.over));
        let preds = |a: &[Prediction], b: &[Prediction]| {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| (&a.term, &a.at) == (&b.term, &b.at))
        };
        if effects && preds(&self.predictions, &full.predictions) && preds(&self.contrasts, &full.contrasts) {
            Ok(())
        } else {
            Err("an effect or predictive margin could not be computed".into())
        }
    }
}

/// Where a set's statistics start among the replicates' statistics.
#[derive(Debug, Clone, Copy)]
pub struct SetAt {
    pub effects: usize,
    pub predictions: usize,
    pub contrasts: usize,
}

/// The note of a report whose predictive margins are bootstrapped.
pub const BOOT_PREDICTIONS: &str =
    "predictive margins and contrasts: bootstrap replicates (standard errors are the replicates' standard deviation, intervals the bootstrap's)";

/// The note of tests and combinations of margins under the bootstrap.
pub const BOOT_MARGIN_TESTS: &str = "tests of margins: Wald chi2 with the bootstrap covariance of the margins tested (Stata's test after bootstrap); combinations of margins: bootstrap replicates of the combination";

/// The note of tests of coefficients under the bootstrap.
pub const BOOT_TESTS: &str =
    "tests of coefficients: Wald chi2 with the bootstrap covariance of the coefficients tested (Stata's test after bootstrap)";

/// The bootstrap of a job: the variance of the coefficients and the replicates of every
/// reported statistic, laid out as [coefficients of each part, then each set's effects,
/// predictive margins and contrasts].
pub struct Boot {
    pub reps: Replicates,
    /// Start of each part's coefficients.
    pub coef_at: Vec<usize>,
    /// Each set's statistics (one for a model; first, second, combined for a two-part model).
    pub sets: Vec<SetAt>,
    pub n_clusters: Option<usize>,
}

impl Boot {
    /// The variance of the statistics `range` (coefficients) as a `Variance`.
    pub fn variance(&self, range: std::ops::Range<usize>, level: f64) -> Variance {
        Variance {
            kind: VceKind::Bootstrap,
            matrix: self.reps.covariance(range),
            description: self.reps.sentence(level),
            factor: 1.0,
            n_clusters: self.n_clusters,
            df: None,
            satterthwaite: None,
        }
    }

    /// Puts the bootstrap intervals of part `p`'s coefficients in its report (the standard
    /// errors are the variance's already).
    pub fn apply_coefficients(&self, m: &mut ModelReport, p: usize, level: f64) {
        let at = self.coef_at[p];
        for (j, c) in m.coefficients.iter_mut().enumerate() {
            let (lo, hi) = self.reps.interval(at + j, level, self.reps.spec.ci);
            (c.conf_low, c.conf_high) = if m.odds_ratios { (lo.exp(), hi.exp()) } else { (lo, hi) };
        }
        m.notes.push(self.note());
        if !m.tests.is_empty() {
            m.notes.push(BOOT_TESTS.into());
        }
    }

    /// The standard error, z, p and interval of statistic `j` at `level`.
    fn stats(&self, j: usize, estimate: f64, level: f64) -> (f64, f64, f64, f64, f64) {
        let se = self.reps.std_error(j);
        let (z, p, _, _) = statistics(estimate, se, level, None);
        let (lo, hi) = self.reps.interval(j, level, self.reps.spec.ci);
        (se, z, p, lo, hi)
    }

    /// Puts the bootstrap standard errors, z statistics and intervals in set `s`'s effects.
    pub fn apply_margins(&self, ms: &mut [Margin], s: usize, level: f64) {
        let at = self.sets[s].effects;
        for (j, m) in ms.iter_mut().enumerate() {
            (m.std_error, m.statistic, m.p_value, m.conf_low, m.conf_high) = self.stats(at + j, m.estimate, level);
        }
    }

    /// Puts the bootstrap standard errors, z statistics and intervals in set `s`'s predictive
    /// margins and contrasts; with `--mcompare`, each family's p-values adjusted and (Bonferroni,
    /// Sidak) its intervals the bootstrap's at the adjusted level.
    pub fn apply_predictions(&self, r: &mut PredictionsResult, s: usize, level: f64) {
        let at = self.sets[s];
        for (list, start) in [(&mut r.predictions, at.predictions), (&mut r.contrasts, at.contrasts)] {
            for (j, p) in list.iter_mut().enumerate() {
                (p.std_error, p.statistic, p.p_value, p.conf_low, p.conf_high) =
                    self.stats(start + j, p.estimate, level);
            }
        }
        if let Some(adj) = r.mcompare {
            for fam in &r.families {
                if let Some(l) = adj.interval_level(level, fam.len()) {
                    for j in fam.clone() {
                        let (lo, hi) = self.reps.interval(at.contrasts + j, l, self.reps.spec.ci);
                        (r.contrasts[j].conf_low, r.contrasts[j].conf_high) = (lo, hi);
                    }
                }
                adj.p_values(&mut r.contrasts[fam.clone()]);
            }
        }
    }

    /// Set `s`'s margins (predictive margins, then effects) as one vector with the bootstrap
    /// covariance of their replicates, and their statistics' indices.
    pub fn margin_vector(
        &self,
        predictions: &[Prediction],
        effects: &[Margin],
        s: usize,
    ) -> (MarginVector, Vec<usize>) {
        let at = self.sets[s];
        let idx: Vec<usize> = (at.predictions..at.predictions + predictions.len())
            .chain(at.effects..at.effects + effects.len())
            .collect();
        (MarginVector::with_covariance(predictions, effects, self.reps.covariance_of(&idx)), idx)
    }

    /// Tests of margins (the Wald statistic with the bootstrap covariance, chi2) and
    /// combinations of margins (the combination of each replicate's margins: its standard
    /// deviation, and the bootstrap's intervals of it).
    pub fn margin_hypotheses(
        &self,
        mv: &MarginVector,
        idx: &[usize],
        tests: &[String],
        lincom: &[String],
        level: f64,
    ) -> Result<(Vec<WaldTest>, Vec<Lincom>)> {
        let (tests, _) = mv.hypotheses(tests, &[], level, None)?;
        let mut out = Vec::new();
        for t in lincom {
            let c = mv.combination(t)?;
            let terms: Vec<(usize, f64)> =
                idx.iter().zip(&c.weights).filter(|(_, w)| **w != 0.0).map(|(&j, &w)| (j, w)).collect();
            let reps = self.reps.combinations(&[(c.label.clone(), terms, c.constant)]);
            let estimate = crate::linalg::dot(&c.weights, &mv.estimates) + c.constant;
            let se = reps.std_error(0);
            let (z, p, _, _) = statistics(estimate, se, level, None);
            let (lo, hi) = reps.interval(0, level, self.reps.spec.ci);
            out.push(Lincom::new(c.label, estimate, se, (z, p, lo, hi), Some("margins")));
        }
        Ok((tests, out))
    }

    /// A margins description with the bootstrap's standard errors in place of the delta
    /// method's.
    pub fn describe_margins(&self, description: &str) -> String {
        description.replace("delta-method standard errors", "bootstrap standard errors and intervals")
    }

    fn note(&self) -> String {
        let r = &self.reps;
        let failed = r.spec.reps - r.used();
        if failed == 0 {
            format!("bootstrap: {} replicates requested, {} used", r.spec.reps, r.used())
        } else {
            format!(
                "bootstrap: {} replicates requested, {} used; {failed} failed ({})",
                r.spec.reps,
                r.used(),
                r.failure_summary()
            )
        }
    }

    fn save(&self, run: &BootstrapRun, units: &Units, lines: &[u64]) -> Result<()> {
        if let Some(path) = &run.save_weights {
            crate::io::write_atomic(path, weights_csv(run, units, lines).as_bytes())?;
        }
        match &run.save {
            Some(path) => crate::io::write_atomic(path, self.reps.to_csv().as_bytes()),
            None => Ok(()),
        }
    }
}

/// `--save-weights`: `line,rep1,...,repR`, one line per estimation row (its line in the data
/// file) with its multiplier in each replicate ([`Units::multipliers`]: the replicate's weight
/// of the row is its estimation weight times the multiplier); numbers in Rust's shortest
/// round-trip form.
fn weights_csv(run: &BootstrapRun, units: &Units, lines: &[u64]) -> String {
    let reps = run.spec.reps;
    let m: Vec<Vec<f64>> = (0..reps).map(|r| units.multipliers(&run.spec, r)).collect();
    let mut s = String::from("line");
    for r in 1..=reps {
        s.push_str(&format!(",rep{r}"));
    }
    s.push('\n');
    for (i, line) in lines.iter().enumerate() {
        s.push_str(&line.to_string());
        for col in &m {
            s.push_str(&format!(",{}", col[i]));
        }
        s.push('\n');
    }
    s
}

/// Runs the replicates (and BCa's jackknife) of `stat` and collects them.
fn replicate<F>(
    run: &BootstrapRun,
    units: &Units,
    names: Vec<String>,
    estimates: Vec<f64>,
    stat: F,
) -> Result<Replicates>
where
    F: Fn(&[f64]) -> Outcome + Sync,
{
    let spec = &run.spec;
    if spec.ci == CiMethod::Bca && units.n_units() > bootstrap::BCA_MAX_UNITS {
        return Err(usage(format!(
            "--ci bca computes its acceleration by a jackknife, one refit per resampled unit, but there are {} units \
             (more than {}): use --ci percentile or normal, or resample clusters (--cluster)",
            units.n_units(),
            bootstrap::BCA_MAX_UNITS
        )));
    }
    let outcomes = bootstrap::run(units, spec, &stat);
    let jackknife = (spec.ci == CiMethod::Bca).then(|| bootstrap::jackknife(units, &stat));
    Replicates::new(names, estimates, outcomes, jackknife, spec.clone(), units.describe(spec))
}

/// A part on `d`'s rows with replicate coefficients `b` (linear index computed).
fn part<'a>(f: &Fit, d: &'a Design, b: &'a [f64]) -> PartEval<'a> {
    PartEval { x: d.x.view(), spec: &d.spec, beta: b, link: f.spec.link, eta: None }
}

/// The statistics a replicate recomputes besides the coefficients of one model: its
/// estimates-only effects, predictive margins and contrasts with coefficients `part.beta` and
/// averaging weights `w` (the full sample's, or a replicate's).
pub type FitStats<'s> = dyn Fn(PartEval, Option<&[f64]>) -> Result<SetStats> + Sync + 's;

/// The same for a two-part model (three sets: first part, second part, combined `E[y]`),
/// from the parts' coefficients and weights in `TwoPartEval`.
pub type TwoPartStats<'s> = dyn Fn(&TwoPartEval) -> Result<[SetStats; 3]> + Sync + 's;

/// Appends a set's names and full-sample values; its start indices.
fn push_set(names: &mut Vec<String>, estimates: &mut Vec<f64>, prefix: &str, set: &SetStats) -> SetAt {
    let e = names.len();
    let at = SetAt {
        effects: e,
        predictions: e + set.effects.len(),
        contrasts: e + set.effects.len() + set.predictions.len(),
    };
    names.extend(set.names(prefix));
    estimates.extend(set.values());
    debug_assert_eq!(names.len(), e + set.len());
    at
}

/// The bootstrap of one model: coefficients, and every effect, predictive margin and contrast
/// `stats` computes.
pub fn fit(
    _est: &Estimation,
    run: &BootstrapRun,
    fit: &Fit,
    sd: Option<&SurveyDesign>,
    stats: &FitStats,
) -> Result<Boot> {
    let units = units(&fit.design, sd)?;
    let k = fit.beta.len();
    let start = UnitStart::new(&units, k);
    let refit = refitter(fit, start.as_ref(), None);
    let mut names = fit.design.names.clone();
    let mut estimates = fit.beta.clone();
    let full = stats(PartEval::of_fit(fit), fit.design.weights.as_deref())?;
    let set = push_set(&mut names, &mut estimates, "margin", &full);
    let stat = |m: &[f64]| -> Outcome {
        let w: Vec<f64> = fit.w.iter().zip(m).map(|(a, b)| a * b).collect();
        let beta = match &start {
            Some((us, _)) => refit.refit_units(&w, &us.multipliers(m)),
            None => refit.refit(&w),
        }
        .map_err(|e| e.describe().to_string())?;
        let mut out = beta.clone();
        if full.len() > 0 {
            let r = stats(part(fit, &fit.design, &beta), Some(&w)).map_err(|e| e.to_string())?;
            r.same_as(&full)?;
            out.extend(r.values());
        }
        Ok(out)
    };
    let reps = replicate(run, &units, names, estimates, stat)?;
    let boot = Boot { reps, coef_at: vec![0], sets: vec![set], n_clusters: n_clusters(&units) };
    boot.save(run, &units, &fit.design.lines)?;
    Ok(boot)
}

/// Per-unit sums for the refits' first iteration ([`Refitter::with_units`]) when the units are
/// groups of rows with, on average, at least as many rows as coefficients; and the first row
/// of each unit, where a replicate's unit multipliers are read from its row multipliers.
struct UnitStart {
    first_row: Vec<usize>,
}

impl UnitStart {
    fn new(units: &Units, k: usize) -> Option<(UnitStart, &[u32])> {
        let of_row = units.of_row()?;
        let n = units.n_units();
        if n.saturating_mul(k) > of_row.len() {
            return None;
        }
        let mut first_row = vec![usize::MAX; n];
        for (i, &u) in of_row.iter().enumerate().rev() {
            first_row[u as usize] = i;
        }
        Some((UnitStart { first_row }, of_row))
    }

    /// The units' multipliers from the rows' (`m` on the rows `units` were built on).
    fn multipliers(&self, m: &[f64]) -> Vec<f64> {
        self.first_row.iter().map(|&i| m[i]).collect()
    }
}

/// Each part's refitter, with per-unit sums when [`UnitStart`] applies (`of_row` of the first
/// part's rows; `rows` maps the part's rows to them).
fn refitter<'a>(f: &'a Fit, start: Option<&(UnitStart, &[u32])>, rows: Option<&[usize]>) -> Refitter<'a> {
    let r = Refitter::new(f);
    match start {
        Some((us, of_row)) => {
            let units: Vec<u32> = match rows {
                Some(rows) => rows.iter().map(|&i| of_row[i]).collect(),
                None => of_row.to_vec(),
            };
            r.with_units(&units, us.first_row.len())
        }
        None => r,
    }
}

fn n_clusters(units: &Units) -> Option<usize> {
    match units {
        Units::Rows(_) => None,
        _ => Some(units.n_units()),
    }
}

/// The bootstrap of a two-part model: both parts refitted in every replicate (the second on the
/// first part's replicate weights of its rows), and every effect, predictive margin and contrast
/// of both parts and of the combined `E[y]` that `stats` computes recomputed.
pub fn twopart(
    est: &Estimation,
    run: &BootstrapRun,
    tp: &TwoPartFit,
    sd: Option<&SurveyDesign>,
    stats: &TwoPartStats,
) -> Result<(Boot, TwoPartVariance)> {
    let units = units(&tp.first.design, sd)?;
    let (k1, k2) = (tp.first.beta.len(), tp.second.beta.len());
    let start = UnitStart::new(&units, k1.max(k2));
    let r1 = refitter(&tp.first, start.as_ref(), None);
    let r2 = refitter(&tp.second, start.as_ref(), Some(&tp.second_rows_in_first));
    let full = stats(&TwoPartEval::of(tp))?;
    let mut names: Vec<String> = tp.first.design.names.iter().map(|n| format!("first:{n}")).collect();
    names.extend(tp.second.design.names.iter().map(|n| format!("second:{n}")));
    let mut estimates: Vec<f64> = tp.first.beta.iter().chain(&tp.second.beta).copied().collect();
    let sets: Vec<SetAt> = ["first", "second", "combined"]
        .iter()
        .zip(&full)
        .map(|(prefix, set)| push_set(&mut names, &mut estimates, prefix, set))
        .collect();
    let any = full.iter().any(|s| s.len() > 0);
    let on_all = tp.second_on_all();
    let stat = |m: &[f64]| -> Outcome {
        let w1: Vec<f64> = tp.first.w.iter().zip(m).map(|(a, b)| a * b).collect();
        let w2: Vec<f64> = tp.second.w.iter().zip(&tp.second_rows_in_first).map(|(a, &i)| a * m[i]).collect();
        let mu = start.as_ref().map(|(us, _)| us.multipliers(m));
        let refit = |r: &Refitter, w: &[f64]| match &mu {
            Some(mu) => r.refit_units(w, mu),
            None => r.refit(w),
        };
        let b1 = refit(&r1, &w1).map_err(|e| format!("first part: {}", e.describe()))?;
        let b2 = refit(&r2, &w2).map_err(|e| format!("second part: {}", e.describe()))?;
        let mut out: Vec<f64> = b1.iter().chain(&b2).copied().collect();
        if any {
            let parts = TwoPartEval {
                first: part(&tp.first, &tp.first.design, &b1),
                second: part(&tp.second, &tp.second.design, &b2),
                second_on_all: part(&tp.second, on_all, &b2),
                second_rows: &tp.second_rows_in_first,
                weights1: Some(&w1),
                weights2: Some(&w2),
            };
            let sets = stats(&parts).map_err(|e| e.to_string())?;
            for (f, r) in full.iter().zip(&sets) {
                r.same_as(f)?;
                out.extend(r.values());
            }
        }
        Ok(out)
    };
    let reps = replicate(run, &units, names, estimates, stat)?;
    let boot = Boot { reps, coef_at: vec![0, k1], sets, n_clusters: n_clusters(&units) };
    boot.save(run, &units, &tp.first.design.lines)?;
    let level = est.level;
    let tv = TwoPartVariance {
        first: boot.variance(0..k1, level),
        second: boot.variance(k1..k1 + k2, level),
        joint: boot.variance(0..k1 + k2, level),
    };
    Ok((boot, tv))
}
