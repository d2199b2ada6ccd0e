//! The bootstrap: replicate weights, the replicates run in parallel in a fixed order, and
//! what is read from them (variance, standard errors, percentile, normal and BCa intervals).
//!
//! A replicate is the estimation repeated with each row's prior weight multiplied by a
//! resampling multiplier `m_i` (0 for a row not drawn): the full-sample design is reused, no
//! row is copied. The unit resampled follows the model:
//!
//! * **rows** (no clusters): `n` draws with replacement from the `n` rows, `m_i` = times row
//!   `i` was drawn (Stata's `bootstrap`, R's `boot` with `stype = "i"`);
//! * **clusters** (`--cluster`): `G` draws with replacement from the `G` clusters, every row of
//!   a cluster drawn `k` times has `m_i = k` (Stata's `bootstrap, cluster()`);
//! * **survey PSUs within strata** (a survey design): the Rao-Wu rescaling bootstrap with
//!   `m_h = n_h - 1` draws with replacement from the `n_h` PSUs of stratum `h`, and multiplier
//!   `m_i = n_h / (n_h - 1) x (times the PSU was drawn)` (Rao, Wu and Yue 1992; R survey's
//!   `as.svrepdesign(type = "subbootstrap")`, Stata's `bsweights` with `n(-1)`); a stratum
//!   with a single PSU cannot be resampled and is an error. The finite-population correction
//!   is not applied (as `subbootstrap`).
//! * **Bayesian bootstrap** (`--bootstrap bayes`, Rubin 1981): each unit (row, cluster or PSU)
//!   gets `m = E / mean(E)` with `E ~ Exp(1)` independently (Dirichlet weights scaled to the
//!   number of units; within each stratum under a survey design). No unit has weight 0, so no
//!   replicate loses a factor level.
//!
//! Determinism: replicate `r` draws from its own `Pcg64` stream (`rand_pcg`'s `Lcg128Xsl64`,
//! a fixed algorithm) with state `seed` and stream (increment) `r`, so its weights do not
//! depend on which thread runs it or on the other replicates; results are collected and reduced
//! in replicate order. The same seed gives the same bits on any number of threads.
//!
//! From the `R_u` replicates used (failed ones are counted and reported, never used):
//!
//! ```text
//! V = 1/(R_u - 1) sum_r (t_r - tbar)(t_r - tbar)'             (Stata's bootstrap variance)
//! normal:      t0 -/+ z_{1-alpha/2} sqrt(V_jj)                (Stata's normal interval, no bias correction)
//! percentile:  [t_(alpha/2), t_(1-alpha/2)]
//! BCa:         [t_(a1), t_(a2)],  a_k = Phi(z0 + (z0 + z_k) / (1 - a (z0 + z_k))),  z_k = z_{alpha/2}, z_{1-alpha/2}
//!              z0 = Phi^{-1}(#{t_r < t0} / R_u)
//!              a  = sum_j L_j^3 / (6 (sum_j L_j^2)^{3/2}),  L_j = (J_j - 1)(t0 - t_(j))
//! ```
//!
//! with `t_(j)` the estimate with unit `j` deleted (a jackknife over the same units: rows,
//! clusters, or PSUs with the other PSUs of the stratum reweighted by `n_h / (n_h - 1)`) and
//! `J_j` the number of units (of unit `j`'s stratum). These are `boot`'s jackknife empirical
//! influence values (`empinf(type = "jack")`, `boot:::usual.jack`), centred at the full-sample
//! estimate `t0`; Efron and Tibshirani (1993, eq. 14.15) centre at the jackknife mean instead,
//! which differs by a term of order 1/J. The quantile `t_(p)` of the `R_u` sorted replicates is `boot`'s
//! `norm.inter`: the `(R_u + 1) p`-th order statistic when that is a whole number, else
//! interpolated between the neighbouring order statistics on the normal quantile scale (so
//! that with `R = 999` and 95% the ends are the 25th and 975th order statistics, as
//! `boot::boot.ci(type = c("perc", "bca"))`). `boot.ci`'s own `L` defaults to a regression
//! estimate from the replicates; migfit's is the jackknife (`empinf(type = "jack")`), which
//! the golden test passes to `boot.ci`. `boot`'s normal interval subtracts the bootstrap bias
//! estimate; migfit's, as Stata's, does not.
//!
//! Reference: Efron and Tibshirani (1993), An Introduction to the Bootstrap, ch. 14; Davison
//! and Hinkley (1997), Bootstrap Methods and their Application, sec. 5.3; Rao, Wu and Yue
//! (1992), Survey Methodology 18(2).

use crate::error::{usage, Result};
use rand::RngExt;
use rand_pcg::Pcg64;
use rayon::prelude::*;

mod intervals;
pub use intervals::{norm_inter, Replicates};

/// How replicate weights are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resampling {
    /// Draws with replacement: frequency weights (Rao-Wu under a survey design).
    Frequency,
    /// Bayesian bootstrap: Exp(1) weights per unit, scaled to mean 1.
    Bayes,
}

/// Which bootstrap interval the reports show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiMethod {
    Percentile,
    Normal,
    Bca,
}

impl CiMethod {
    pub fn parse(s: &str) -> Result<CiMethod> {
        match s {
            "percentile" | "perc" | "p" => Ok(CiMethod::Percentile),
            "normal" | "norm" | "n" => Ok(CiMethod::Normal),
            "bca" | "BCa" => Ok(CiMethod::Bca),
            _ => Err(usage(format!("unknown --ci '{s}' (expected percentile, normal or bca)"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            CiMethod::Percentile => "percentile",
            CiMethod::Normal => "normal",
            CiMethod::Bca => "bca",
        }
    }
}

impl Resampling {
    pub fn parse(s: &str) -> Result<Resampling> {
        match s {
            "frequency" | "classic" | "efron" => Ok(Resampling::Frequency),
            "bayes" | "bayesian" => Ok(Resampling::Bayes),
            _ => Err(usage(format!("unknown --bootstrap '{s}' (expected classic or bayes)"))),
        }
    }
}

/// What `--vce bootstrap` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapSpec {
    pub reps: usize,
    pub seed: u64,
    pub resampling: Resampling,
    pub ci: CiMethod,
}

impl Default for BootstrapSpec {
    fn default() -> Self {
        BootstrapSpec { reps: 999, seed: 1, resampling: Resampling::Frequency, ci: CiMethod::Percentile }
    }
}

/// The units resampled, by row of the estimation sample.
#[derive(Debug, Clone)]
pub enum Units {
    Rows(usize),
    /// Cluster index (0..n) of each row.
    Clusters {
        of_row: Vec<u32>,
        n: usize,
        name: String,
    },
    /// PSU index of each row, stratum of each PSU (0..n_strata).
    Strata {
        psu_of_row: Vec<u32>,
        stratum_of_psu: Vec<u32>,
        n_strata: usize,
    },
}

impl Units {
    pub fn n_rows(&self) -> usize {
        match self {
            Units::Rows(n) => *n,
            Units::Clusters { of_row, .. } => of_row.len(),
            Units::Strata { psu_of_row, .. } => psu_of_row.len(),
        }
    }

    /// Number of resampled units.
    pub fn n_units(&self) -> usize {
        match self {
            Units::Rows(n) => *n,
            Units::Clusters { n, .. } => *n,
            Units::Strata { stratum_of_psu, .. } => stratum_of_psu.len(),
        }
    }

    /// Each row's unit when units are groups of rows (clusters, PSUs); `None` for rows.
    pub fn of_row(&self) -> Option<&[u32]> {
        match self {
            Units::Rows(_) => None,
            Units::Clusters { of_row, .. } => Some(of_row),
            Units::Strata { psu_of_row, .. } => Some(psu_of_row),
        }
    }

    fn unit_of_row(&self, i: usize) -> usize {
        match self {
            Units::Rows(_) => i,
            Units::Clusters { of_row, .. } => of_row[i] as usize,
            Units::Strata { psu_of_row, .. } => psu_of_row[i] as usize,
        }
    }

    /// The strata's units: one group of every unit without strata.
    fn groups(&self) -> Vec<Vec<usize>> {
        match self {
            Units::Strata { stratum_of_psu, n_strata, .. } => {
                let mut g = vec![Vec::new(); *n_strata];
                for (u, &h) in stratum_of_psu.iter().enumerate() {
                    g[h as usize].push(u);
                }
                g.retain(|v| !v.is_empty());
                g
            }
            _ => vec![(0..self.n_units()).collect()],
        }
    }

    /// Checks the units can be resampled: two or more, and two or more PSUs per stratum.
    pub fn check(&self) -> Result<()> {
        let what = match self {
            Units::Rows(_) => "observations".to_string(),
            Units::Clusters { name, .. } => format!("clusters of '{name}'"),
            Units::Strata { .. } => "PSUs".to_string(),
        };
        if self.n_units() < 2 {
            return Err(usage(format!(
                "the bootstrap needs at least 2 {what} to resample, but the estimation sample has {}",
                self.n_units()
            )));
        }
        if let Units::Strata { .. } = self {
            if let Some(g) = self.groups().iter().find(|g| g.len() < 2) {
                return Err(usage(format!(
                    "the Rao-Wu bootstrap draws n_h - 1 PSUs per stratum, but a stratum has {} PSU (PSU index {}): \
                     merge single-PSU strata, or use the linearized variance",
                    g.len(),
                    g[0]
                )));
            }
        }
        Ok(())
    }

    /// The row multipliers of replicate `r` (see the module docs).
    pub fn multipliers(&self, spec: &BootstrapSpec, r: usize) -> Vec<f64> {
        let mut rng = stream(spec.seed, r);
        let mut unit = vec![0.0; self.n_units()];
        for g in self.groups() {
            let nh = g.len();
            match spec.resampling {
                Resampling::Frequency => {
                    let (draws, scale) = match self {
                        Units::Strata { .. } => (nh - 1, nh as f64 / (nh - 1) as f64),
                        _ => (nh, 1.0),
                    };
                    for _ in 0..draws {
                        let k = rng.random_range(0..nh);
                        unit[g[k]] += scale;
                    }
                }
                Resampling::Bayes => {
                    let e: Vec<f64> = (0..nh).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
                    let mean = e.iter().sum::<f64>() / nh as f64;
                    for (&u, v) in g.iter().zip(e) {
                        unit[u] = v / mean;
                    }
                }
            }
        }
        (0..self.n_rows()).map(|i| unit[self.unit_of_row(i)]).collect()
    }

    /// The row multipliers with unit `j` deleted (the jackknife of BCa's acceleration): 0 for
    /// its rows, `n_h / (n_h - 1)` for the other PSUs of its stratum under a survey design,
    /// 1 elsewhere.
    pub fn deleted(&self, j: usize) -> Vec<f64> {
        let mut unit = vec![1.0; self.n_units()];
        if let Units::Strata { stratum_of_psu, .. } = self {
            let h = stratum_of_psu[j];
            let nh = stratum_of_psu.iter().filter(|&&s| s == h).count() as f64;
            for (u, &s) in stratum_of_psu.iter().enumerate() {
                if s == h {
                    unit[u] = nh / (nh - 1.0);
                }
            }
        }
        unit[j] = 0.0;
        (0..self.n_rows()).map(|i| unit[self.unit_of_row(i)]).collect()
    }

    /// `J_j - 1`: the number of units of unit `j`'s stratum (all units without strata), less
    /// one.
    pub fn jack_factor(&self, j: usize) -> f64 {
        match self {
            Units::Strata { stratum_of_psu, .. } => {
                stratum_of_psu.iter().filter(|&&s| s == stratum_of_psu[j]).count() as f64 - 1.0
            }
            _ => self.n_units() as f64 - 1.0,
        }
    }

    /// The unit resampled, for sentences.
    pub fn describe(&self, spec: &BootstrapSpec) -> String {
        let scheme = match (self, spec.resampling) {
            (Units::Rows(n), Resampling::Frequency) => format!("resampling the {n} observations with replacement"),
            (Units::Clusters { n, name, .. }, Resampling::Frequency) => {
                format!("resampling the {n} clusters of {name} with replacement")
            }
            (Units::Strata { n_strata, .. }, Resampling::Frequency) => format!(
                "Rao-Wu rescaling bootstrap: n_h - 1 of the n_h PSUs drawn with replacement in each of {n_strata} strata, \
                 weights scaled by n_h/(n_h - 1)"
            ),
            (Units::Rows(n), Resampling::Bayes) => {
                format!("Bayesian bootstrap: Exp(1) weights scaled to mean 1 on the {n} observations")
            }
            (Units::Clusters { n, name, .. }, Resampling::Bayes) => {
                format!("Bayesian bootstrap: Exp(1) weights scaled to mean 1 on the {n} clusters of {name}")
            }
            (Units::Strata { n_strata, .. }, Resampling::Bayes) => {
                format!("Bayesian bootstrap: Exp(1) weights scaled to mean 1 on the PSUs of each of {n_strata} strata")
            }
        };
        format!("{scheme}, seed {}", spec.seed)
    }
}

/// Replicate `r`'s generator: `Pcg64` (`Lcg128Xsl64`) with state `seed` and stream `r`.
pub fn stream(seed: u64, r: usize) -> Pcg64 {
    // A fixed, documented derivation: the stream selects the LCG increment, so replicates are
    // distinct sequences of the same algorithm. One throw-away draw mixes the state.
    let mut rng = Pcg64::new(((seed as u128) << 64) | 0x9e37_79b9_7f4a_7c15, r as u128);
    let _: u64 = rng.random();
    rng
}

/// The outcome of one replicate: the statistics, or why it failed.
pub type Outcome = std::result::Result<Vec<f64>, String>;

/// Runs `f` on the multipliers of each of `spec.reps` replicates, in parallel, returning the
/// outcomes in replicate order. A progress bar is drawn on stderr when it is a terminal.
pub fn run<F>(units: &Units, spec: &BootstrapSpec, f: F) -> Vec<Outcome>
where
    F: Fn(&[f64]) -> Outcome + Sync,
{
    let progress = Progress::new(spec.reps, "bootstrap replicates");
    let out = (0..spec.reps)
        .into_par_iter()
        .map(|r| {
            let o = f(&units.multipliers(spec, r));
            progress.tick();
            o
        })
        .collect();
    progress.finish();
    out
}

/// The delete-one jackknife over the units (for BCa's acceleration), in unit order, each with
/// its factor `J_j - 1` (units in unit `j`'s stratum, less one).
pub fn jackknife<F>(units: &Units, f: F) -> Vec<(f64, Outcome)>
where
    F: Fn(&[f64]) -> Outcome + Sync,
{
    let n = units.n_units();
    let progress = Progress::new(n, "jackknife (BCa acceleration)");
    let out = (0..n)
        .into_par_iter()
        .map(|j| {
            let o = f(&units.deleted(j));
            progress.tick();
            (units.jack_factor(j), o)
        })
        .collect();
    progress.finish();
    out
}

/// Largest number of jackknife refits BCa makes (one per unit).
pub const BCA_MAX_UNITS: usize = 20_000;

/// A progress bar on stderr (indicatif), only when stderr is a terminal and the run has at
/// least 20 steps: nothing is written otherwise, so logs, pipes and tests see no difference.
/// The bar only counts finished replicates; it changes no result.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(total: usize, label: &'static str) -> Progress {
        use std::io::IsTerminal;
        Progress::with(total, label, std::io::stderr().is_terminal())
    }

    fn with(total: usize, label: &'static str, terminal: bool) -> Progress {
        let bar = (terminal && total >= 20).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total as u64),
                indicatif::ProgressDrawTarget::stderr_with_hz(10),
            );
            let style = indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})")
                .expect("a valid template")
                .progress_chars("#>-");
            bar.set_style(style);
            bar.set_message(label);
            bar
        });
        Progress { bar }
    }

    fn tick(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::norm_quantile;

    /// No bar (nothing drawn) when stderr is not a terminal or the run is short.
    #[test]
    fn progress_is_silent_off_a_terminal() {
        assert!(Progress::with(999, "bootstrap replicates", false).bar.is_none());
        assert!(Progress::with(10, "bootstrap replicates", true).bar.is_none());
        assert!(Progress::with(999, "bootstrap replicates", true).bar.is_some());
        let p = Progress::with(30, "bootstrap replicates", false);
        p.tick();
        p.finish();
    }

    #[test]
    fn streams_are_fixed_and_distinct() {
        let spec = BootstrapSpec { reps: 3, seed: 42, ..Default::default() };
        let u = Units::Rows(50);
        let a = u.multipliers(&spec, 0);
        assert_eq!(a, u.multipliers(&spec, 0));
        assert_ne!(a, u.multipliers(&spec, 1));
        assert_eq!(a.iter().sum::<f64>(), 50.0);
        let other = BootstrapSpec { seed: 43, ..spec.clone() };
        assert_ne!(a, u.multipliers(&other, 0));
    }

    #[test]
    fn cluster_and_rao_wu_multipliers() {
        let spec = BootstrapSpec::default();
        let c = Units::Clusters { of_row: vec![0, 0, 1, 2, 2, 2], n: 3, name: "c".into() };
        let m = c.multipliers(&spec, 5);
        assert_eq!((m[0], m[3]), (m[1], m[4]));
        // Two strata of 3 and 2 PSUs: 2 and 1 draws, scaled by 3/2 and 2.
        let s = Units::Strata { psu_of_row: vec![0, 1, 2, 3, 4], stratum_of_psu: vec![0, 0, 0, 1, 1], n_strata: 2 };
        for r in 0..20 {
            let m = s.multipliers(&spec, r);
            assert!((m[0] + m[1] + m[2] - 3.0).abs() < 1e-12 && (m[3] + m[4] - 2.0).abs() < 1e-12);
        }
        assert_eq!(s.deleted(3), vec![1.0, 1.0, 1.0, 0.0, 2.0]);
        let single = Units::Strata { psu_of_row: vec![0, 1, 2], stratum_of_psu: vec![0, 0, 1], n_strata: 2 };
        assert!(single.check().is_err());
        assert!(Units::Clusters { of_row: vec![0, 0], n: 1, name: "c".into() }.check().is_err());
    }

    #[test]
    fn bayes_weights_have_mean_one_and_no_zeros() {
        let spec = BootstrapSpec { resampling: Resampling::Bayes, ..Default::default() };
        let m = Units::Rows(40).multipliers(&spec, 7);
        assert!((m.iter().sum::<f64>() - 40.0).abs() < 1e-9);
        assert!(m.iter().all(|&v| v > 0.0));
    }

    /// `norm.inter` as R's boot: whole-number ranks pick an order statistic, others are
    /// interpolated on the normal scale (R: boot:::norm.inter(1:9, c(0.1, 0.25)) gives 1 and
    /// 1 + (qnorm(.25) - qnorm(.2)) / (qnorm(.3) - qnorm(.2)) = 1.5360... for rank 2.5).
    #[test]
    fn norm_inter_follows_boot() {
        let t: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(norm_inter(&t, 0.1), 1.0);
        let want = 2.0 + (norm_quantile(0.25) - norm_quantile(0.2)) / (norm_quantile(0.3) - norm_quantile(0.2));
        assert!((norm_inter(&t, 0.25) - want).abs() < 1e-15);
        assert_eq!(norm_inter(&t, 0.01), 1.0);
        assert_eq!(norm_inter(&t, 0.999), 9.0);
    }

    #[test]
    fn covariance_and_failures() {
        let outcomes: Vec<Outcome> =
            vec![Ok(vec![1.0, 2.0]), Err("not converged".into()), Ok(vec![3.0, 2.0]), Ok(vec![2.0, 5.0])];
        let spec = BootstrapSpec { reps: 4, ..Default::default() };
        let r =
            Replicates::new(vec!["a".into(), "b".into()], vec![2.0, 3.0], outcomes, None, spec, "rows".into()).unwrap();
        assert_eq!(r.used(), 3);
        let v = r.covariance(0..2);
        assert!((v[[0, 0]] - 1.0).abs() < 1e-15 && (v[[1, 1]] - 3.0).abs() < 1e-15);
        assert!((v[[0, 1]] - 0.0).abs() < 1e-15);
        assert!(r.sentence(95.0).contains("3 of 4 replicates; 1 failed and are left out (1 not converged)"));
        let csv = r.to_csv();
        assert_eq!(csv.lines().nth(2), Some("2,not converged,,"));
    }
}
