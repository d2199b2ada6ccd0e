//! Refitting a fitted model with other prior weights: the replicates of a bootstrap (weights =
//! the fit's prior weights times a resampling multiplier per row, 0 for rows not drawn) and
//! the delete-one fits of a jackknife.
//!
//! The design is the full sample's (no rows copied): a row left out has weight 0. Newton-Raphson
//! on the observed information (a Fisher step where it is not positive definite, step-halving
//! on the objective) starts from the full-sample estimates and stops on the fit's own rule
//! (`g'H^{-1}g` below 1e-12, divided by the dispersion estimate for families whose dispersion
//! is free). A replicate fails, and says why, rather than return estimates that are not
//! maximum-likelihood estimates of the same model:
//!
//! * a column with no weight left (a factor level or an indicator absent from the replicate):
//!   its coefficient is not identified (Stata reports it as omitted, so the replicate's
//!   coefficient is missing);
//! * for binary models, a 0/1 regressor that predicts the outcome perfectly among the drawn
//!   rows (Stata drops it and the rows it determines: a different model);
//! * a singular information matrix, non-convergence within the fit's iteration limit, or
//!   estimates that are not finite.

use super::engine::{engine, log_link_ln_y, Info, Pass};
use super::Fit;
use crate::linalg::spd_solve;
use crate::model::ModelKind;

/// Why a replicate fit failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefitFailure {
    /// A column (a factor level, an indicator) has no weight in the replicate.
    EmptyColumn,
    /// A 0/1 regressor predicts the binary outcome perfectly in the replicate (or the outcome
    /// does not vary).
    Separation,
    /// The information matrix is singular.
    Singular,
    /// No convergence within the iteration limit (or estimates not finite).
    NotConverged,
}

impl RefitFailure {
    pub fn describe(self) -> &'static str {
        match self {
            RefitFailure::EmptyColumn => "a regressor or factor level absent from the replicate",
            RefitFailure::Separation => "perfect prediction (by an indicator, or fitted probabilities at 0 or 1)",
            RefitFailure::Singular => "singular information matrix",
            RefitFailure::NotConverged => "not converged",
        }
    }
}

/// A fitted model prepared for refitting with other weights (what does not depend on the
/// weights computed once).
pub struct Refitter<'a> {
    fit: &'a Fit,
    ln_y: Option<Vec<f64>>,
    /// Columns holding only 0 and 1 (not the intercept), for the separation check of binary
    /// models.
    indicators: Vec<usize>,
    binary: bool,
    /// Per resampled unit, the first iteration's sums (see [`Refitter::with_units`]).
    units: Option<UnitSums>,
}

/// Per unit `g` (a cluster or PSU), at the full-sample estimates `b0` and with the fit's prior
/// weights: the observed information `H_g`, score `s_g` and deviance `D_g` of its rows, the sums
/// `sum w |x_j|` of the column checks and the separation tally. A replicate whose weights are
/// the prior weights times one multiplier `m_g` per unit has, at `b0`, information
/// `sum_g m_g H_g`, score `sum_g m_g s_g` and deviance `sum_g m_g D_g`: the first Newton
/// iteration costs O(G K^2) instead of a pass over the rows. The sums are taken in unit order
/// (rows in row order within a unit), the same on any number of threads; they differ from a
/// pass's chunked sums by rounding only.
struct UnitSums {
    k: usize,
    /// `H_g` (K x K, row-major), `s_g`, `D_g`, `sum_{i in g} w_i |x_ij|`.
    h: Vec<f64>,
    g: Vec<f64>,
    dev: Vec<f64>,
    colabs: Vec<f64>,
    /// Per unit: which (indicator value, outcome) pairs occur for each indicator, and which
    /// outcomes occur.
    tally: Vec<[[bool; 2]; 2]>,
    outcomes: Vec<[bool; 2]>,
}

impl<'a> Refitter<'a> {
    pub fn new(fit: &'a Fit) -> Refitter<'a> {
        let binary = matches!(fit.spec.kind, ModelKind::Probit | ModelKind::Logit);
        let x = &fit.design.x;
        let indicators = if binary {
            (0..x.ncols())
                .filter(|&j| fit.design.names[j] != "(Intercept)")
                .filter(|&j| x.column(j).iter().all(|&v| v == 0.0 || v == 1.0))
                .collect()
        } else {
            Vec::new()
        };
        Refitter { fit, ln_y: log_link_ln_y(&fit.spec, &fit.y), indicators, binary, units: None }
    }

    /// Prepares the first iteration of [`Refitter::refit_units`] from per-unit sums:
    /// `unit_of_row` gives each row's unit (0..n_units; a unit may have no rows here). Worth it
    /// when units hold many rows (clusters, PSUs), not when each row is its own unit.
    pub fn with_units(mut self, unit_of_row: &[u32], n_units: usize) -> Self {
        let fit = self.fit;
        let (n, k) = (fit.design.n(), fit.design.k());
        assert_eq!(unit_of_row.len(), n, "one unit per row");
        let obs = engine(fit.spec.family, fit.spec.link, &fit.y, &fit.w, self.ln_y.as_deref()).all_obs(&fit.eta);
        let xs = fit.design.x.as_slice().expect("row-major");
        let nd = self.indicators.len();
        let mut u = UnitSums {
            k,
            h: vec![0.0; n_units * k * k],
            g: vec![0.0; n_units * k],
            dev: vec![0.0; n_units],
            colabs: vec![0.0; n_units * k],
            tally: vec![[[false; 2]; 2]; n_units * nd],
            outcomes: vec![[false; 2]; n_units],
        };
        for (i, xi) in xs.chunks_exact(k.max(1)).enumerate().take(n) {
            let gu = unit_of_row[i] as usize;
            let (o, wi) = (&obs[i], fit.w[i]);
            let h = &mut u.h[gu * k * k..(gu + 1) * k * k];
            for a in 0..k {
                let wa = o.w_o * xi[a];
                for b in 0..=a {
                    h[a * k + b] += wa * xi[b];
                }
            }
            for (gj, &v) in u.g[gu * k..(gu + 1) * k].iter_mut().zip(xi) {
                *gj += o.score * v;
            }
            u.dev[gu] += o.dev;
            if wi == 0.0 {
                continue;
            }
            for (c, &v) in u.colabs[gu * k..(gu + 1) * k].iter_mut().zip(xi) {
                *c += wi * v.abs();
            }
            if self.binary {
                let yi = (fit.y[i] == 1.0) as usize;
                u.outcomes[gu][yi] = true;
                for (t, &j) in u.tally[gu * nd..(gu + 1) * nd].iter_mut().zip(&self.indicators) {
                    t[(xi[j] == 1.0) as usize][yi] = true;
                }
            }
        }
        for h in u.h.chunks_exact_mut((k * k).max(1)) {
            for a in 0..k {
                for b in 0..a {
                    h[b * k + a] = h[a * k + b];
                }
            }
        }
        self.units = Some(u);
        self
    }

    /// [`Refitter::refit`] for weights `w` that are the prior weights times `m_unit[g]` on the
    /// rows of unit `g` (as given to [`Refitter::with_units`]): the checks and the first
    /// iteration come from the per-unit sums. Without them, the same as `refit(w)`.
    pub fn refit_units(&self, w: &[f64], m_unit: &[f64]) -> Result<Vec<f64>, RefitFailure> {
        let Some(u) = &self.units else { return self.refit(w) };
        let k = u.k;
        let nd = self.indicators.len();
        let mut colw = vec![0.0f64; k];
        let mut tally = vec![[[false; 2]; 2]; nd];
        let mut outcomes = [false; 2];
        let mut h = vec![0.0; k * k];
        let mut g = vec![0.0; k];
        let mut dev = 0.0;
        for (gu, &m) in m_unit.iter().enumerate() {
            if m == 0.0 {
                continue;
            }
            for (c, v) in colw.iter_mut().zip(&u.colabs[gu * k..(gu + 1) * k]) {
                *c += m * v;
            }
            for (a, b) in h.iter_mut().zip(&u.h[gu * k * k..(gu + 1) * k * k]) {
                *a += m * b;
            }
            for (a, b) in g.iter_mut().zip(&u.g[gu * k..(gu + 1) * k]) {
                *a += m * b;
            }
            dev += m * u.dev[gu];
            if self.binary {
                for (o, &v) in outcomes.iter_mut().zip(&u.outcomes[gu]) {
                    *o |= v;
                }
                for (t, v) in tally.iter_mut().zip(&u.tally[gu * nd..(gu + 1) * nd]) {
                    for (a, b) in t.iter_mut().flatten().zip(v.iter().flatten()) {
                        *a |= *b;
                    }
                }
            }
        }
        self.check(&colw, &tally, outcomes)?;
        let first = Pass {
            h: Some(ndarray::Array2::from_shape_vec((k, k), h).expect("k x k")),
            info: Info::Observed,
            g,
            objective: super::engine::objective(dev),
            determined: 0.0,
        };
        self.newton(w, Some(first))
    }

    /// Empty columns and separation (see the module docs).
    fn check(&self, colw: &[f64], tally: &[[[bool; 2]; 2]], outcomes: [bool; 2]) -> Result<(), RefitFailure> {
        if colw.iter().any(|&c| c == 0.0) {
            return Err(RefitFailure::EmptyColumn);
        }
        // A binary outcome that does not vary, or an indicator whose ones (or zeros) all have
        // the same outcome.
        if (self.binary && outcomes != [true, true]) || tally.iter().any(|t| t[1][0] != t[1][1] || t[0][0] != t[0][1]) {
            return Err(RefitFailure::Separation);
        }
        Ok(())
    }

    pub fn fit(&self) -> &Fit {
        self.fit
    }

    /// The estimates with prior weights `w` (one per row of the fit's design), starting from
    /// the fit's estimates.
    pub fn refit(&self, w: &[f64]) -> Result<Vec<f64>, RefitFailure> {
        let fit = self.fit;
        let design = &fit.design;
        let (n, k) = (design.n(), design.k());
        assert_eq!(w.len(), n, "one weight per row");
        let xs = design.x.as_slice().expect("row-major");
        // Columns with weight, and the separation tally of the indicators, in one read.
        let mut colw = vec![0.0f64; k];
        let nd = self.indicators.len();
        let mut tally = vec![[[false; 2]; 2]; nd];
        let mut outcomes = [false; 2];
        for (i, xi) in xs.chunks_exact(k.max(1)).enumerate() {
            let wi = w[i];
            if wi == 0.0 {
                continue;
            }
            for (c, &v) in colw.iter_mut().zip(xi) {
                *c += wi * v.abs();
            }
            if self.binary {
                let yi = (fit.y[i] == 1.0) as usize;
                outcomes[yi] = true;
                for (t, &j) in tally.iter_mut().zip(&self.indicators) {
                    t[(xi[j] == 1.0) as usize][yi] = true;
                }
            }
        }
        self.check(&colw, &tally, outcomes)?;
        self.newton(w, None)
    }

    /// Newton from the full-sample estimates with weights `w`; `first` is the first pass when
    /// already known.
    fn newton(&self, w: &[f64], first: Option<Pass>) -> Result<Vec<f64>, RefitFailure> {
        let fit = self.fit;
        let design = &fit.design;
        let k = design.k();
        let eng = engine(fit.spec.family, fit.spec.link, &fit.y, w, self.ln_y.as_deref());
        let fixed_dispersion = fit.spec.family.family().fixed_scale();
        let n_obs: f64 = w.iter().sum();
        let crit_scale = |objective: f64| {
            if fixed_dispersion {
                1.0
            } else {
                let df = if n_obs > k as f64 { n_obs - k as f64 } else { n_obs.max(1.0) };
                (-2.0 * objective / df).max(f64::MIN_POSITIVE)
            }
        };
        let mut beta = fit.beta.clone();
        // With the per-unit sums, the information at the full-sample estimates is known without
        // a pass: iterate with it held fixed (gradient-only passes, no `X'WX`) while the steps
        // contract, then finish with Newton.
        if let Some(p) = first {
            if p.objective.is_nan() {
                return Err(RefitFailure::NotConverged);
            }
            match self.chord(&*eng, w, p, &crit_scale)? {
                Chord::Converged(b) => return Ok(b),
                Chord::Stalled(b) => beta = b,
            }
        }
        let mut cur = eng.pass(design, &beta, Info::Observed);
        if cur.objective.is_nan() {
            return Err(RefitFailure::NotConverged);
        }
        for _ in 0..fit.spec.max_iter {
            let h = cur.h.take().expect("information");
            let step = match spd_solve(&h, &cur.g) {
                Some(s) => s,
                None => {
                    let he = eng.pass(design, &beta, Info::Expected).h.expect("information");
                    spd_solve(&he, &cur.g).ok_or(RefitFailure::Singular)?
                }
            };
            let crit: f64 = step.iter().zip(&cur.g).map(|(a, b)| a * b).sum::<f64>() / crit_scale(cur.objective);
            if crit.abs() < 1e-12 {
                // As the fit: the converging step lands on the estimates.
                return self.landed(w, &beta, &step, &cur);
            }
            let mut t = 1.0;
            let mut accepted = None;
            for _ in 0..40 {
                let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + t * s).collect();
                let p = eng.pass(design, &cand, Info::Observed);
                if !p.objective.is_nan() && p.objective >= cur.objective - 1e-12 * cur.objective.abs().max(1.0) {
                    accepted = Some((cand, p));
                    break;
                }
                t *= 0.5;
            }
            match accepted {
                Some((b, p)) => {
                    beta = b;
                    cur = p;
                }
                None if crit.abs() < 1e-8 => return self.landed(w, &beta, &vec![0.0; k], &cur),
                None => return Err(RefitFailure::NotConverged),
            }
            if beta.iter().any(|b| !b.is_finite()) {
                return Err(RefitFailure::NotConverged);
            }
        }
        Err(RefitFailure::NotConverged)
    }

    /// The estimates `beta + step` of a converged refit with weights `w`, unless they are not
    /// finite or, for a binary model whose last pass left drawn rows with fitted probabilities
    /// within 1e-12 of 0 or 1, the linear program of [`super::separation`] finds the drawn
    /// rows separated (by a continuous regressor too, which the indicator tally cannot see):
    /// the likelihood then rises without bound and the point reached is not a maximum
    /// likelihood estimate. The program runs only in that case, as for the full-sample fit.
    fn landed(&self, w: &[f64], beta: &[f64], step: &[f64], last: &Pass) -> Result<Vec<f64>, RefitFailure> {
        let cand: Vec<f64> = beta.iter().zip(step).map(|(b, s)| b + s).collect();
        if !cand.iter().all(|b| b.is_finite()) {
            return Err(RefitFailure::NotConverged);
        }
        if self.binary && last.determined > 0.0 {
            let mut drawn = self.fit.design.clone();
            drawn.weights = Some(w.to_vec());
            match super::separation::detect(&drawn) {
                Ok(None) => {}
                Ok(Some(_)) => return Err(RefitFailure::Separation),
                Err(_) => return Err(RefitFailure::NotConverged),
            }
        }
        Ok(cand)
    }

    /// Iterations with the information `first.h` (at the full-sample estimates, from the
    /// per-unit sums) held fixed: `b <- b + H0^{-1} g(b)`, each step a gradient-only pass
    /// (score and objective, no `X'WX`). The iteration converges to the same estimates (the
    /// score is 0 there) at a linear rate set by how far the replicate's information is from
    /// `H0`; it stops on the fit's rule (`g' H0^{-1} g` below 1e-12, scaled as in
    /// [`Refitter::newton`]) and lands on `b + step` as Newton does. When a step does not
    /// improve the objective, or the criterion falls by less than a factor 100 per step, it
    /// hands the current estimates to Newton.
    fn chord(
        &self,
        eng: &dyn super::engine::Rows,
        w: &[f64],
        first: Pass,
        crit_scale: &dyn Fn(f64) -> f64,
    ) -> Result<Chord, RefitFailure> {
        let design = &self.fit.design;
        let mut first = first;
        let h0 = first.h.take().expect("information");
        let Some(l) = crate::linalg::cholesky(&h0) else { return Ok(Chord::Stalled(self.fit.beta.clone())) };
        let mut beta = self.fit.beta.clone();
        let mut cur = first;
        let mut last = f64::INFINITY;
        for _ in 0..CHORD_MAX_STEPS {
            let step = crate::linalg::cholesky_solve(&l, &cur.g);
            let crit: f64 = step.iter().zip(&cur.g).map(|(a, b)| a * b).sum::<f64>() / crit_scale(cur.objective);
            if crit.abs() < 1e-12 {
                return self.landed(w, &beta, &step, &cur).map(Chord::Converged);
            }
            if !(crit.abs() < last / 100.0) && last.is_finite() {
                break;
            }
            last = crit.abs();
            let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
            let p = eng.pass(design, &cand, Info::None);
            if p.objective.is_nan() || p.objective < cur.objective - 1e-12 * cur.objective.abs().max(1.0) {
                break;
            }
            beta = cand;
            cur = p;
        }
        Ok(Chord::Stalled(beta))
    }
}

/// Steps of [`Refitter::chord`] before Newton takes over.
const CHORD_MAX_STEPS: usize = 8;

/// How [`Refitter::chord`] ended.
enum Chord {
    Converged(Vec<f64>),
    Stalled(Vec<f64>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::csv::{read_csv_bytes, CsvOptions};
    use crate::design::{Design, SampleOptions};
    use crate::formula::Formula;
    use crate::model::{ModelKind, ModelSpec};

    fn design(rows: &[(f64, f64)]) -> Design {
        let text: String = std::iter::once("y,x".to_string())
            .chain(rows.iter().map(|(y, x)| format!("{y},{x}")))
            .collect::<Vec<_>>()
            .join("\n");
        let d = read_csv_bytes(text.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        Design::build(&d, &Formula::parse("y ~ x").unwrap(), &SampleOptions::default()).unwrap()
    }

    /// Unit weights give back the fit's estimates; integer weights give the estimates of the
    /// data with rows repeated (a fit from scratch).
    #[test]
    fn refit_matches_fits_from_scratch() {
        let rows: Vec<(f64, f64)> = (0..60)
            .map(|i| {
                let x = ((i * 37) % 23) as f64 / 7.0 - 1.5;
                (((x * 1.3 + (i % 5) as f64 * 0.4) > 0.9) as u8 as f64, x)
            })
            .collect();
        let spec = ModelSpec::new(ModelKind::Probit, None, None).unwrap();
        let fit = crate::model::fit(design(&rows), &spec).unwrap();
        let r = Refitter::new(&fit);
        let same = r.refit(&[1.0; 60]).unwrap();
        for (a, b) in same.iter().zip(&fit.beta) {
            assert!((a - b).abs() < 1e-10);
        }
        let w: Vec<f64> = (0..60).map(|i| (i % 3) as f64).collect();
        let b = r.refit(&w).unwrap();
        let repeated: Vec<(f64, f64)> = (0..60).flat_map(|i| std::iter::repeat_n(rows[i], i % 3)).collect();
        let f2 = crate::model::fit(design(&repeated), &spec).unwrap();
        for (a, c) in b.iter().zip(&f2.beta) {
            assert!((a - c).abs() < 1e-8, "{a} {c}");
        }
        // Clusters of 6 rows with multipliers per cluster: the per-unit first iteration gives
        // the estimates of the row pass (to rounding), and the same failures.
        let units: Vec<u32> = (0..60).map(|i| (i / 6) as u32).collect();
        let ru = Refitter::new(&fit).with_units(&units, 10);
        let mu: Vec<f64> = (0..10).map(|g| (1 + (g * 7) % 3) as f64).collect();
        let wu: Vec<f64> = units.iter().map(|&g| mu[g as usize]).collect();
        let (a, b) = (r.refit(&wu).unwrap(), ru.refit_units(&wu, &mu).unwrap());
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() < 1e-9 * a.abs().max(1.0), "{a} {b}");
        }
        let mut m1 = vec![0.0; 10];
        m1[0] = 3.0;
        let w1: Vec<f64> = units.iter().map(|&g| m1[g as usize]).collect();
        assert_eq!(ru.refit_units(&w1, &m1), r.refit(&w1));
        assert!(ru.refit_units(&w1, &m1).is_err());
        // Only the rows with y = 0 drawn: the outcome does not vary.
        let w0: Vec<f64> = rows.iter().map(|r| if r.0 == 1.0 { 0.0 } else { 1.0 }).collect();
        assert_eq!(r.refit(&w0), Err(RefitFailure::Separation));
    }
}
