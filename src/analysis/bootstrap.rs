//! `--vce bootstrap` in the jobs: every replicate refits the model (both parts of a two-part
//! model) with the replicate's weights, starting from the full-sample estimates, and recomputes
//! every reported effect (each part's average effects and the combined `E[y]`'s) in the same
//! fused passes as the full sample. The replicates, their variance and intervals are
//! `inference::bootstrap`'s; this file says what a replicate computes and puts the results in
//! the reports.

use super::Estimation;
use crate::design::Design;
use crate::error::{usage, Result};
use crate::inference::bootstrap::{self, BootstrapSpec, CiMethod, Outcome, Replicates, Units};
use crate::inference::joint::TwoPartVariance;
use crate::inference::survey::SurveyDesign;
use crate::inference::{statistics, Variance, VceKind};
use crate::margins::{self, At, PartEval, Target, TwoPartEval};
use crate::model::fit::Refitter;
use crate::model::twopart::TwoPartFit;
use crate::model::Fit;
use crate::output::{Margin, ModelReport};

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

/// The names of a margins list's statistics: `dydx:age`, `C(g)[2] vs 1:C(g)[2]`.
fn margin_names(prefix: &str, ms: &[Margin]) -> Vec<String> {
    ms.iter().map(|m| format!("{prefix}:{}:{}", m.contrast, m.term)).collect()
}

/// A replicate's effects must be the full sample's, in order (a replicate cannot lose an
/// effect: a column without weight fails before).
fn same_effects(full: &[Margin], rep: &[Margin]) -> std::result::Result<(), String> {
    if full.len() == rep.len() && full.iter().zip(rep).all(|(a, b)| a.term == b.term && a.contrast == b.contrast) {
        Ok(())
    } else {
        Err("an effect could not be computed".into())
    }
}

/// The bootstrap of a job: the variance of the coefficients and the replicates of every
/// reported statistic, laid out as [coefficients of each part, effects of each set].
pub struct Boot {
    pub reps: Replicates,
    /// Start of each block of statistics (coefficients of each part, then each margins set).
    pub coef_at: Vec<usize>,
    pub margins_at: Vec<usize>,
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
    }

    /// Puts the bootstrap standard errors, z statistics and intervals in margins set `s`.
    pub fn apply_margins(&self, ms: &mut [Margin], s: usize, level: f64) {
        let at = self.margins_at[s];
        for (j, m) in ms.iter_mut().enumerate() {
            let se = self.reps.std_error(at + j);
            let (z, p, _, _) = statistics(m.estimate, se, level, None);
            let (lo, hi) = self.reps.interval(at + j, level, self.reps.spec.ci);
            (m.std_error, m.statistic, m.p_value, m.conf_low, m.conf_high) = (se, z, p, lo, hi);
        }
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

/// The bootstrap of one model (coefficients, and its effects when `at` is given).
pub fn fit(
    est: &Estimation,
    run: &BootstrapRun,
    fit: &Fit,
    sd: Option<&SurveyDesign>,
    full_margins: Option<&[Margin]>,
) -> Result<Boot> {
    let units = units(&fit.design, sd)?;
    let k = fit.beta.len();
    let start = UnitStart::new(&units, k);
    let refit = refitter(fit, start.as_ref(), None);
    let mut names = fit.design.names.clone();
    let mut estimates = fit.beta.clone();
    if let Some(ms) = full_margins {
        names.extend(margin_names("margin", ms));
        estimates.extend(ms.iter().map(|m| m.estimate));
    }
    let at = est.margins.as_ref();
    let stat = |m: &[f64]| -> Outcome {
        let w: Vec<f64> = fit.w.iter().zip(m).map(|(a, b)| a * b).collect();
        let beta = match &start {
            Some((us, _)) => refit.refit_units(&w, &us.multipliers(m)),
            None => refit.refit(&w),
        }
        .map_err(|e| e.describe().to_string())?;
        let mut out = beta.clone();
        if let (Some(at), Some(full)) = (at, full_margins) {
            let part = PartEval {
                x: fit.design.x.view(),
                spec: &fit.design.spec,
                beta: &beta,
                link: fit.spec.link,
                eta: None,
            };
            let r = margins::estimates(&[part], Target::Mean(0), Some(&w), at).map_err(|e| e.to_string())?;
            same_effects(full, &r.margins)?;
            out.extend(r.margins.iter().map(|m| m.estimate));
        }
        Ok(out)
    };
    let reps = replicate(run, &units, names, estimates, stat)?;
    let boot = Boot { reps, coef_at: vec![0], margins_at: vec![k], n_clusters: n_clusters(&units) };
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

/// The full-sample effects of a two-part model (estimates only), in the three sets of
/// [`margins::compute_twopart`].
pub fn twopart_margins(tp: &TwoPartFit, at: &At) -> Result<[Vec<Margin>; 3]> {
    let [a, b, c] = margins::twopart_estimates(&TwoPartEval::of(tp), at)?;
    Ok([a.margins, b.margins, c.margins])
}

/// The bootstrap of a two-part model: both parts refitted in every replicate (the second on the
/// first part's replicate weights of its rows), and every effect of both parts and of the
/// combined `E[y]` recomputed.
pub fn twopart(
    est: &Estimation,
    run: &BootstrapRun,
    tp: &TwoPartFit,
    sd: Option<&SurveyDesign>,
) -> Result<(Boot, TwoPartVariance)> {
    let units = units(&tp.first.design, sd)?;
    let (k1, k2) = (tp.first.beta.len(), tp.second.beta.len());
    let start = UnitStart::new(&units, k1.max(k2));
    let r1 = refitter(&tp.first, start.as_ref(), None);
    let r2 = refitter(&tp.second, start.as_ref(), Some(&tp.second_rows_in_first));
    let full = est.margins.as_ref().map(|at| twopart_margins(tp, at)).transpose()?;
    let mut names: Vec<String> = tp.first.design.names.iter().map(|n| format!("first:{n}")).collect();
    names.extend(tp.second.design.names.iter().map(|n| format!("second:{n}")));
    let mut estimates: Vec<f64> = tp.first.beta.iter().chain(&tp.second.beta).copied().collect();
    let mut margins_at = Vec::new();
    if let Some(sets) = &full {
        for (prefix, ms) in ["first", "second", "combined"].iter().zip(sets) {
            margins_at.push(names.len());
            names.extend(margin_names(prefix, ms));
            estimates.extend(ms.iter().map(|m| m.estimate));
        }
    }
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
        if let (Some(at), Some(full)) = (est.margins.as_ref(), &full) {
            let parts = TwoPartEval {
                first: part(&tp.first, &tp.first.design, &b1),
                second: part(&tp.second, &tp.second.design, &b2),
                second_on_all: part(&tp.second, on_all, &b2),
                second_rows: &tp.second_rows_in_first,
                weights1: Some(&w1),
                weights2: Some(&w2),
            };
            let sets = margins::twopart_estimates(&parts, at).map_err(|e| e.to_string())?;
            for (f, r) in full.iter().zip(&sets) {
                same_effects(f, &r.margins)?;
                out.extend(r.margins.iter().map(|m| m.estimate));
            }
        }
        Ok(out)
    };
    let reps = replicate(run, &units, names, estimates, stat)?;
    let boot = Boot { reps, coef_at: vec![0, k1], margins_at, n_clusters: n_clusters(&units) };
    boot.save(run, &units, &tp.first.design.lines)?;
    let level = est.level;
    let tv = TwoPartVariance {
        first: boot.variance(0..k1, level),
        second: boot.variance(k1..k1 + k2, level),
        joint: boot.variance(0..k1 + k2, level),
    };
    Ok((boot, tv))
}
