//! The wild score bootstrap of a Wald test `H0: R b = r` for ML models with few clusters
//! (Kline and Santos 2012; the score bootstrap of Stata's `boottest`, Roodman, Nielsen,
//! MacKinnon and Webb 2019), restricted: the null is imposed.
//!
//! 1. The restricted fit `b~` maximises the log likelihood subject to `R b = r` (Newton on
//!    the null space of `R`, from the projection of the unrestricted estimates).
//! 2. At `b~`: the cluster score sums `S_g = sum_{i in g} s_i x_i` (score on the linear-index
//!    scale, dispersion 1) and the observed information `H` (dispersion 1; the dispersion
//!    cancels from the statistic). `A = R H^{-1}`.
//! 3. For a weight vector `v` (one weight per cluster):
//!
//!    ```text
//!    S*(v) = sum_g v_g S_g,   Omega*(v) = G/(G-1) sum_g v_g^2 S_g S_g'
//!    W(v)  = (A S*)' (A Omega* A')^{-1} (A S*)
//!    ```
//!
//!    The statistic is `W(1)` (every `v_g = 1`: the cluster-robust score (LM) form of the
//!    Wald statistic at the restricted estimates, which the bootstrap distribution mimics),
//!    the bootstrap draws are `W(v_b)`, the p-value the share of draws with `W(v_b) >= W(1)`
//!    (a randomization-test p-value: under full enumeration the draws include `v = 1` and
//!    `v = -1`, so `p >= 2 / 2^G`),
//!    and the quantiles the draws' empirical quantiles (the smallest draw with at least a
//!    share `p` of the draws at or below it).
//! 4. Weights: Rademacher (+1/-1 with probability 1/2) or Webb's six-point distribution
//!    (+-sqrt(1/2), +-1, +-sqrt(3/2), each 1/6). With Rademacher weights and fewer than 12
//!    clusters every one of the `2^G` sign vectors is used once (`v_g = -1` where bit `g` of
//!    the draw's index is set), so the result is exact and needs no seed. Otherwise the
//!    draws come from one `Pcg64` stream seeded with `seed`, drawn in order (deterministic on
//!    any thread count).
//!
//! The entry points are [`wild_score_bootstrap`] (draws the weights) and [`wild_statistics`]
//! (given weight vectors; what the golden check feeds the same sign vectors as its numpy
//! reference).

use crate::error::{usage, FitError, Result};
use crate::linalg::{self, spd_inverse, symmetric_eigen};
use crate::model::Fit;
use ndarray::Array2;
use serde::Serialize;

/// The bootstrap weight distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WildWeights {
    Rademacher,
    Webb,
}

impl WildWeights {
    pub fn parse(s: &str) -> Result<WildWeights> {
        match s {
            "rademacher" => Ok(WildWeights::Rademacher),
            "webb" => Ok(WildWeights::Webb),
            _ => Err(usage(format!("unknown wild bootstrap weights '{s}' (expected rademacher or webb)"))),
        }
    }
}

/// The result of a wild score bootstrap test.
#[derive(Debug, Clone)]
pub struct WildTest {
    /// `W(1)`.
    pub statistic: f64,
    pub p_value: f64,
    /// Number of draws (`2^G` when enumerated).
    pub reps: usize,
    /// Every Rademacher sign vector was used.
    pub enumerated: bool,
    /// `(p, quantile)` of the draws for p = 0.90, 0.95, 0.99.
    pub quantiles: Vec<(f64, f64)>,
    /// The restricted estimates.
    pub restricted: Vec<f64>,
    /// Every draw's statistic, in draw order.
    pub draws: Vec<f64>,
}

/// The pieces of the statistic at the restricted estimates: `A S_g` per cluster (q-vectors).
pub struct ScorePieces {
    pub restricted: Vec<f64>,
    /// `A S_g`, one row per cluster (G x q).
    pub a_s: Array2<f64>,
}

/// The score of each row (linear-index scale, dispersion 1) and the observed information at
/// `beta`.
fn score_and_information(fit: &Fit, beta: &[f64]) -> (Vec<f64>, Vec<f64>, Array2<f64>) {
    let d = &fit.design;
    let link = fit.spec.link.link();
    let fam = fit.spec.family.family();
    let eta = linalg::xbeta(d.x.view(), beta);
    let mut s = Vec::with_capacity(d.n());
    let mut w_o = Vec::with_capacity(d.n());
    for (i, &e) in eta.iter().enumerate() {
        let lv = link.eval(e);
        let v = fam.variance(lv.mu, lv.mu_c);
        let dv = fam.variance_deriv(lv.mu);
        let y = fit.y[i];
        // y - mu, exact when y = 1 and mu is close to 1 (as the fit computes it).
        let r = if y == 1.0 { lv.mu_c } else { y - lv.mu };
        let w = fit.w[i];
        s.push(w * r * lv.d1 / v);
        w_o.push(w * lv.d1 * lv.d1 / v - w * r * (lv.d2 * v - lv.d1 * lv.d1 * dv) / (v * v));
    }
    let h = linalg::xtwx(d.x.view(), &w_o);
    (eta, s, h)
}

/// The maximum-likelihood estimates subject to `R b = r`.
pub fn restricted_fit(fit: &Fit, rm: &Array2<f64>, r: &[f64]) -> Result<Vec<f64>> {
    let k = fit.beta.len();
    let q = rm.nrows();
    assert_eq!(rm.ncols(), k, "R has one column per coefficient");
    assert_eq!(r.len(), q, "one r per restriction");
    // Null space of R: eigenvectors of R'R with (relatively) zero eigenvalues.
    let rtr = rm.t().dot(rm);
    let (values, vectors) = symmetric_eigen(&rtr);
    let top = values.last().copied().unwrap_or(0.0).abs();
    let null: Vec<usize> = (0..k).filter(|&j| values[j].abs() <= 1e-10 * top).collect();
    if k - null.len() != q {
        return Err(usage(format!("the {q} restrictions are linearly dependent")));
    }
    let nb = Array2::from_shape_fn((k, null.len()), |(i, j)| vectors[[i, null[j]]]);
    // Start: the unrestricted estimates projected onto R b = r.
    let rrt = rm.dot(&rm.t());
    let rrt_inv = spd_inverse(&rrt).ok_or_else(|| usage("the restrictions are linearly dependent"))?;
    let gap: Vec<f64> = (0..q).map(|a| (0..k).map(|j| rm[[a, j]] * fit.beta[j]).sum::<f64>() - r[a]).collect();
    let corr = rm.t().dot(&rrt_inv.dot(&ndarray::Array1::from(gap)));
    let mut beta: Vec<f64> = (0..k).map(|j| fit.beta[j] - corr[j]).collect();
    for _ in 0..200 {
        let (_, s, h) = score_and_information(fit, &beta);
        let g: Vec<f64> = (0..k).map(|j| (0..fit.design.n()).map(|i| s[i] * fit.design.x[[i, j]]).sum()).collect();
        if null.is_empty() {
            return Ok(beta);
        }
        let nhn = nb.t().dot(&h).dot(&nb);
        let ng: Vec<f64> = (0..null.len()).map(|a| (0..k).map(|j| nb[[j, a]] * g[j]).sum()).collect();
        let step = linalg::spd_solve(&nhn, &ng).ok_or_else(|| {
            FitError::Numerical("the restricted fit: the observed information is not positive definite".into())
        })?;
        let delta: Vec<f64> = (0..k).map(|j| (0..null.len()).map(|a| nb[[j, a]] * step[a]).sum()).collect();
        beta.iter_mut().zip(&delta).for_each(|(b, d)| *b += d);
        if delta.iter().zip(&beta).all(|(d, b)| d.abs() <= 1e-12 * (1.0 + b.abs())) {
            return Ok(beta);
        }
    }
    Err(FitError::Numerical("the restricted fit (null imposed) did not converge".into()).into())
}

/// The restricted fit and `A S_g` of every cluster.
pub fn score_pieces(fit: &Fit, rm: &Array2<f64>, r: &[f64]) -> Result<ScorePieces> {
    let d = &fit.design;
    let ids = d.clusters.as_ref().ok_or_else(|| usage("the wild score bootstrap needs a cluster variable"))?;
    let g = d.n_clusters;
    if g < 2 {
        return Err(usage("the wild score bootstrap needs at least 2 clusters"));
    }
    let k = fit.beta.len();
    let restricted = restricted_fit(fit, rm, r)?;
    let (_, s, h) = score_and_information(fit, &restricted);
    let hinv = spd_inverse(&h).ok_or_else(|| {
        FitError::Numerical("the observed information at the restricted estimates is not positive definite".into())
    })?;
    let a = rm.dot(&hinv);
    let mut sg = Array2::<f64>::zeros((g, k));
    for (i, &c) in ids.iter().enumerate() {
        for j in 0..k {
            sg[[c as usize, j]] += s[i] * d.x[[i, j]];
        }
    }
    Ok(ScorePieces { restricted, a_s: sg.dot(&a.t()) })
}

/// `W(v)` for each weight vector (one weight per cluster, in cluster order).
pub fn wild_statistics(pieces: &ScorePieces, weights: &[Vec<f64>]) -> Result<Vec<f64>> {
    let (g, q) = pieces.a_s.dim();
    let factor = g as f64 / (g as f64 - 1.0);
    weights
        .iter()
        .map(|v| {
            assert_eq!(v.len(), g, "one weight per cluster");
            let mut num = vec![0.0; q];
            let mut omega = Array2::<f64>::zeros((q, q));
            for c in 0..g {
                let row = pieces.a_s.row(c);
                for a in 0..q {
                    num[a] += v[c] * row[a];
                    for b in 0..q {
                        omega[[a, b]] += factor * v[c] * v[c] * row[a] * row[b];
                    }
                }
            }
            let x = linalg::spd_solve(&omega, &num).ok_or_else(|| {
                crate::error::Error::from(FitError::Numerical(
                    "the wild bootstrap: the variance of the restricted scores is singular".into(),
                ))
            })?;
            Ok(num.iter().zip(&x).map(|(a, b)| a * b).sum())
        })
        .collect()
}

/// The weight vectors: all `2^G` sign vectors (Rademacher, G < 12), else `reps` draws.
pub fn weight_vectors(g: usize, kind: WildWeights, reps: usize, seed: u64) -> (Vec<Vec<f64>>, bool) {
    use rand::{RngExt, SeedableRng};
    if kind == WildWeights::Rademacher && g < 12 {
        let all =
            (0..1usize << g).map(|b| (0..g).map(|c| if (b >> c) & 1 == 1 { -1.0 } else { 1.0 }).collect()).collect();
        return (all, true);
    }
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let webb = [-(1.5f64.sqrt()), -1.0, -(0.5f64.sqrt()), 0.5f64.sqrt(), 1.0, 1.5f64.sqrt()];
    let draws = (0..reps)
        .map(|_| {
            (0..g)
                .map(|_| match kind {
                    WildWeights::Rademacher => {
                        if rng.random::<bool>() {
                            1.0
                        } else {
                            -1.0
                        }
                    }
                    WildWeights::Webb => webb[rng.random_range(0..6usize)],
                })
                .collect()
        })
        .collect();
    (draws, false)
}

/// The wild score bootstrap test of `R b = r` with the fit's clusters (see the module docs).
pub fn wild_score_bootstrap(
    fit: &Fit,
    rm: &Array2<f64>,
    r: &[f64],
    kind: WildWeights,
    reps: usize,
    seed: u64,
) -> Result<WildTest> {
    if reps == 0 {
        return Err(usage("the wild bootstrap needs at least one replication"));
    }
    let pieces = score_pieces(fit, rm, r)?;
    let g = pieces.a_s.nrows();
    let (vs, enumerated) = weight_vectors(g, kind, reps, seed);
    let statistic = wild_statistics(&pieces, &[vec![1.0; g]])?[0];
    let draws = wild_statistics(&pieces, &vs)?;
    Ok(summarise(statistic, draws, enumerated, pieces.restricted))
}

/// p-value and quantiles of the draws.
pub fn summarise(statistic: f64, draws: Vec<f64>, enumerated: bool, restricted: Vec<f64>) -> WildTest {
    let b = draws.len();
    let p_value = draws.iter().filter(|&&w| w >= statistic).count() as f64 / b as f64;
    let mut sorted = draws.clone();
    sorted.sort_by(f64::total_cmp);
    let quantiles = [0.90, 0.95, 0.99]
        .iter()
        .map(|&p| {
            let idx = ((p * b as f64).ceil() as usize).clamp(1, b) - 1;
            (p, sorted[idx])
        })
        .collect();
    WildTest { statistic, p_value, reps: b, enumerated, quantiles, restricted, draws }
}

/// How many draws: a number, or every sign vector (`--wild-reps all`; Rademacher weights and
/// fewer than 12 clusters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WildReps {
    Draws(usize),
    All,
}

/// A wild score bootstrap asked for with the tests (`--wild-reps`, `--wild-weights`,
/// `--wild-seed`), checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WildRequest {
    pub reps: WildReps,
    pub weights: WildWeights,
    pub seed: u64,
}

impl WildWeights {
    pub fn name(self) -> &'static str {
        match self {
            WildWeights::Rademacher => "rademacher",
            WildWeights::Webb => "webb",
        }
    }
}

/// One quantile of the bootstrap statistics.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct WildQuantile {
    pub p: f64,
    pub value: f64,
}

/// The wild score bootstrap of a Wald test, as reported (JSON `tests[].wild`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WildReport {
    /// `score`: Kline and Santos's score bootstrap, the null imposed (restricted).
    pub method: &'static str,
    /// `rademacher` or `webb`.
    pub weights: &'static str,
    /// `W(1)`: the cluster-robust score statistic at the restricted estimates.
    pub statistic: f64,
    /// The share of the draws with `W(v) >= W(1)`.
    pub p_value: f64,
    /// Draws used (`2^clusters` when enumerated).
    pub reps: usize,
    /// Every Rademacher sign vector used once (exact; no seed).
    pub enumerated: bool,
    pub clusters: usize,
    /// The seed of sampled draws (absent when enumerated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The 90%, 95% and 99% quantiles of the draws.
    pub quantiles: Vec<WildQuantile>,
}

impl WildReport {
    /// "Wild score bootstrap (null imposed; Rademacher weights, all 2^6 = 64 sign vectors of
    /// 6 clusters, exact): score statistic 4.806, p = 0.0156; 90/95/99% quantiles 2.431,
    /// 3.030, 4.806."
    pub fn sentence(&self) -> String {
        let weights = match self.weights {
            "webb" => "Webb",
            _ => "Rademacher",
        };
        let draws = if self.enumerated {
            format!(
                "all 2^{} = {} sign vectors of {} clusters, a full enumeration (exact)",
                self.clusters, self.reps, self.clusters
            )
        } else {
            format!("{} draws over {} clusters, seed {}", self.reps, self.clusters, self.seed.unwrap_or_default())
        };
        let ps: Vec<String> = self.quantiles.iter().map(|q| crate::data::format_number(100.0 * q.p)).collect();
        let qs: Vec<String> = self.quantiles.iter().map(|q| format!("{:.3}", q.value)).collect();
        format!(
            "Wild score bootstrap (null imposed; {weights} weights, {draws}): score statistic {:.3}, {}; {}% quantiles of the bootstrap statistics {}.",
            self.statistic,
            super::wald::format_p(self.p_value),
            ps.join("/"),
            qs.join(", ")
        )
    }
}

/// The wild score bootstrap of the rows `keep` of `R b = r` (the rows the Wald test keeps) as
/// asked for: every Rademacher sign vector when there are fewer than 12 clusters, else the
/// asked-for number of draws (`All` with 12 or more clusters is a usage error).
pub fn wild_test(fit: &Fit, rows: &[Vec<f64>], rhs: &[f64], keep: &[usize], req: &WildRequest) -> Result<WildReport> {
    let k = fit.beta.len();
    let rm = Array2::from_shape_fn((keep.len(), k), |(a, j)| rows[keep[a]][j]);
    let r: Vec<f64> = keep.iter().map(|&a| rhs[a]).collect();
    let g = fit.design.n_clusters;
    let reps = match req.reps {
        WildReps::Draws(n) => n,
        WildReps::All if req.weights == WildWeights::Rademacher && g < 12 => 1 << g,
        WildReps::All => {
            return Err(usage(format!(
                "--wild-reps all enumerates the 2^G Rademacher sign vectors, which needs fewer than 12 clusters; there are {g}: give a number of draws"
            )))
        }
    };
    let t = wild_score_bootstrap(fit, &rm, &r, req.weights, reps, req.seed)?;
    Ok(WildReport {
        method: "score",
        weights: req.weights.name(),
        statistic: t.statistic,
        p_value: t.p_value,
        reps: t.reps,
        enumerated: t.enumerated,
        clusters: g,
        seed: (!t.enumerated).then_some(req.seed),
        quantiles: t.quantiles.iter().map(|&(p, value)| WildQuantile { p, value }).collect(),
    })
}
