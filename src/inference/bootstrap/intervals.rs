//! What is read from the replicates (see the parent module's formulas): the bootstrap
//! variance, the percentile, normal and BCa intervals with `boot`'s `norm.inter` quantiles,
//! the sentence, and `--save-reps`.

use super::{BootstrapSpec, CiMethod, Outcome};
use crate::error::{FitError, Result};
use crate::stats::{norm_cdf, norm_quantile};
use ndarray::Array2;

/// A named linear combination of statistics: `(name, [(index, weight)], constant)`.
pub type LinearCombination = (String, Vec<(usize, f64)>, f64);

/// The replicates of a set of statistics and what is read from them.
#[derive(Debug, Clone)]
pub struct Replicates {
    /// Name of each statistic (for `--save-reps`).
    pub names: Vec<String>,
    /// The full-sample estimates.
    pub estimates: Vec<f64>,
    /// Each replicate's statistics, in replicate order (`Err`: failed, with the reason).
    pub outcomes: Vec<Outcome>,
    /// The delete-one jackknife estimates (BCa), in unit order, with each unit's factor
    /// `J_j - 1`.
    pub jackknife: Option<Vec<(f64, Vec<f64>)>>,
    pub spec: BootstrapSpec,
    /// The unit resampled, for the sentence.
    pub scheme: String,
}

impl Replicates {
    /// Collects the outcomes; an error (estimation, exit 3) when fewer than two replicates
    /// succeeded, or when BCa's jackknife failed for some unit.
    pub fn new(
        names: Vec<String>,
        estimates: Vec<f64>,
        outcomes: Vec<Outcome>,
        jackknife: Option<Vec<(f64, Outcome)>>,
        spec: BootstrapSpec,
        scheme: String,
    ) -> Result<Replicates> {
        let r = Replicates { names, estimates, outcomes, jackknife: None, spec, scheme };
        if r.used() < 2 {
            return Err(FitError::Numerical(format!(
                "the bootstrap failed: {} of {} replicates could be estimated ({}); at least 2 are needed",
                r.used(),
                r.spec.reps,
                r.failure_summary()
            ))
            .into());
        }
        let jackknife = match jackknife {
            None => None,
            Some(jk) => {
                let mut out = Vec::with_capacity(jk.len());
                for (j, (factor, o)) in jk.into_iter().enumerate() {
                    out.push((
                        factor,
                        o.map_err(|e| {
                            FitError::Numerical(format!(
                                "BCa intervals need the jackknife with each unit deleted, but the fit without unit {} \
                             failed ({e}); use --ci percentile or normal",
                                j + 1
                            ))
                        })?,
                    ));
                }
                Some(out)
            }
        };
        Ok(Replicates { jackknife, ..r })
    }

    pub fn used(&self) -> usize {
        self.outcomes.iter().filter(|o| o.is_ok()).count()
    }

    /// "2 perfect prediction (by an indicator, or fitted probabilities at 0 or 1), 1 not converged" (reasons in order of first
    /// appearance).
    pub fn failure_summary(&self) -> String {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for e in self.outcomes.iter().filter_map(|o| o.as_ref().err()) {
            match counts.iter_mut().find(|(r, _)| *r == e.as_str()) {
                Some(c) => c.1 += 1,
                None => counts.push((e.as_str(), 1)),
            }
        }
        counts.iter().map(|(r, c)| format!("{c} {r}")).collect::<Vec<_>>().join(", ")
    }

    /// The values of statistic `j` over the replicates used, in replicate order.
    pub fn column(&self, j: usize) -> Vec<f64> {
        self.outcomes.iter().filter_map(|o| o.as_ref().ok()).map(|t| t[j]).collect()
    }

    /// `1/(R_u - 1) sum (t_r - tbar)(t_r - tbar)'` of the statistics `range`.
    pub fn covariance(&self, range: std::ops::Range<usize>) -> Array2<f64> {
        self.covariance_of(&range.collect::<Vec<_>>())
    }

    /// [`Replicates::covariance`] of the statistics `idx` (in that order).
    pub fn covariance_of(&self, idx: &[usize]) -> Array2<f64> {
        let p = idx.len();
        let used: Vec<&Vec<f64>> = self.outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        let r = used.len() as f64;
        let mean: Vec<f64> = idx.iter().map(|&j| used.iter().map(|t| t[j]).sum::<f64>() / r).collect();
        let mut v = Array2::zeros((p, p));
        for t in &used {
            for a in 0..p {
                let da = t[idx[a]] - mean[a];
                for b in 0..=a {
                    v[[a, b]] += da * (t[idx[b]] - mean[b]);
                }
            }
        }
        for a in 0..p {
            for b in 0..=a {
                let x = v[[a, b]] / (r - 1.0);
                v[[a, b]] = x;
                v[[b, a]] = x;
            }
        }
        v
    }

    /// Linear combinations of the statistics as statistics of their own: each `(name, [(j,
    /// c_j)], c0)` is `sum_j c_j t_j + c0` in the full sample, in every replicate (a failed one
    /// stays failed) and in every jackknife sample, so that its standard error, percentile and
    /// BCa intervals are those of the replicate combinations.
    pub fn combinations(&self, combos: &[LinearCombination]) -> Replicates {
        let apply = |t: &[f64]| -> Vec<f64> {
            combos.iter().map(|(_, c, c0)| c.iter().map(|&(j, w)| w * t[j]).sum::<f64>() + c0).collect()
        };
        Replicates {
            names: combos.iter().map(|c| c.0.clone()).collect(),
            estimates: apply(&self.estimates),
            outcomes: self.outcomes.iter().map(|o| o.as_ref().map(|t| apply(t)).map_err(Clone::clone)).collect(),
            jackknife: self.jackknife.as_ref().map(|jk| jk.iter().map(|(f, t)| (*f, apply(t))).collect()),
            spec: self.spec.clone(),
            scheme: self.scheme.clone(),
        }
    }

    /// The standard deviation of statistic `j` over the replicates used.
    pub fn std_error(&self, j: usize) -> f64 {
        self.covariance(j..j + 1)[[0, 0]].sqrt()
    }

    /// The `level`% interval of statistic `j` by `method`.
    pub fn interval(&self, j: usize, level: f64, method: CiMethod) -> (f64, f64) {
        let t0 = self.estimates[j];
        let alpha = (1.0 - level / 100.0) / 2.0;
        match method {
            CiMethod::Normal => {
                let q = norm_quantile(1.0 - alpha);
                let se = self.std_error(j);
                (t0 - q * se, t0 + q * se)
            }
            CiMethod::Percentile => {
                let mut t = self.column(j);
                t.retain(|v| v.is_finite());
                t.sort_by(f64::total_cmp);
                (norm_inter(&t, alpha), norm_inter(&t, 1.0 - alpha))
            }
            CiMethod::Bca => {
                let mut t = self.column(j);
                t.retain(|v| v.is_finite());
                let below = t.iter().filter(|&&v| v < t0).count() as f64;
                let z0 = norm_quantile(below / t.len() as f64);
                let a = self.acceleration(j);
                let adj = |p: f64| {
                    let z1 = z0 + norm_quantile(p);
                    norm_cdf(z0 + z1 / (1.0 - a * z1))
                };
                t.sort_by(f64::total_cmp);
                (norm_inter(&t, adj(alpha)), norm_inter(&t, adj(1.0 - alpha)))
            }
        }
    }

    /// BCa's acceleration of statistic `j` from the jackknife (NaN without one).
    pub fn acceleration(&self, j: usize) -> f64 {
        let Some(jk) = &self.jackknife else { return f64::NAN };
        let t0 = self.estimates[j];
        let l: Vec<f64> = jk.iter().map(|(f, t)| f * (t0 - t[j])).collect();
        let s2: f64 = l.iter().map(|v| v * v).sum();
        let s3: f64 = l.iter().map(|v| v * v * v).sum();
        s3 / (6.0 * s2.powf(1.5))
    }

    /// The replicates as CSV: `replicate,status,<statistics...>` (status `ok` or the reason it
    /// failed, its statistics empty); numbers in Rust's shortest round-trip form (`1.2345e-3`),
    /// which R, Stata and pandas read back to the same double.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("replicate,status");
        for n in &self.names {
            s.push(',');
            s.push_str(&csv_field(n));
        }
        s.push('\n');
        for (r, o) in self.outcomes.iter().enumerate() {
            match o {
                Ok(t) => {
                    s.push_str(&format!("{},ok", r + 1));
                    for v in t {
                        s.push_str(&format!(",{v:e}"));
                    }
                }
                Err(e) => {
                    s.push_str(&format!("{},{}", r + 1, csv_field(e)));
                    s.push_str(&",".repeat(self.names.len()));
                }
            }
            s.push('\n');
        }
        s
    }

    /// The sentence of the reports: what was resampled, how many replicates were used, and the
    /// interval.
    pub fn sentence(&self, level: f64) -> String {
        let failed = self.spec.reps - self.used();
        let fails = if failed == 0 {
            String::new()
        } else {
            format!("; {failed} failed and are left out ({})", self.failure_summary())
        };
        let ci = match self.spec.ci {
            CiMethod::Percentile => format!("{level}% intervals are bootstrap percentiles"),
            CiMethod::Normal => format!("{level}% intervals are estimate -/+ z x bootstrap SE"),
            CiMethod::Bca => {
                format!(
                    "{level}% intervals are bias-corrected and accelerated (BCa, jackknife acceleration) percentiles"
                )
            }
        };
        format!(
            "Bootstrap ({}): standard errors are the standard deviation of {} of {} replicates{fails}; {ci}; z statistics.",
            self.scheme,
            self.used(),
            self.spec.reps
        )
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `boot`'s `norm.inter`: the `p` quantile of the sorted `t` (see the module docs).
pub fn norm_inter(t: &[f64], p: f64) -> f64 {
    let r = t.len();
    if r == 0 || p.is_nan() {
        return f64::NAN;
    }
    let rk = (r as f64 + 1.0) * p;
    let k = rk.trunc();
    if k == rk && k >= 1.0 && k <= r as f64 {
        return t[k as usize - 1];
    }
    if k <= 0.0 {
        return t[0];
    }
    if k >= r as f64 {
        return t[r - 1];
    }
    let k = k as usize;
    let rr = r as f64 + 1.0;
    let (z, zk, zk1) = (norm_quantile(p), norm_quantile(k as f64 / rr), norm_quantile((k as f64 + 1.0) / rr));
    let (tk, tk1) = (t[k - 1], t[k]);
    tk + (z - zk) / (zk1 - zk) * (tk1 - tk)
}
