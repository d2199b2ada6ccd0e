//! The outcome equations of the wang2022 DGP (`examples/wang2022/dgp.toml`) and the draw of a
//! respondent's outcomes.

use super::{lognormal, Person, COMMON_TERMS, DGP_TOML, NC, SCOPE_TERMS};
use crate::error::{usage, Result};
use crate::simulate::{norm_cdf, SimRng};
use rand::RngExt;
use rand_distr::{Beta, Distribution, Gamma};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Parameters of one outcome equation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Equation {
    pub intercept: f64,
    /// Coefficient of each common regressor, by term name.
    pub coef: BTreeMap<String, f64>,
    /// Migration-scope coefficients in the NCMS group.
    pub scope_ncms: BTreeMap<String, f64>,
    /// Migration-scope coefficients in the URBMI+UEBMI group.
    pub scope_urban: BTreeMap<String, f64>,
}

/// Checked equation: coefficients aligned with [`COMMON_TERMS`] and [`SCOPE_TERMS`].
#[derive(Debug, Clone)]
pub struct Eq {
    pub a: f64,
    pub b: [f64; NC],
    pub s: [[f64; 2]; 2],
}

impl Equation {
    pub fn check(&self, what: &str) -> Result<Eq> {
        let get = |m: &BTreeMap<String, f64>, k: &str, part: &str| {
            m.get(k).copied().ok_or_else(|| usage(format!("dgp.toml: [{what}.{part}] has no coefficient for '{k}'")))
        };
        let mut b = [0.0; NC];
        for (j, t) in COMMON_TERMS.iter().enumerate() {
            b[j] = get(&self.coef, t, "coef")?;
        }
        let mut s = [[0.0; 2]; 2];
        for (j, t) in SCOPE_TERMS.iter().enumerate() {
            s[0][j] = get(&self.scope_ncms, t, "scope_ncms")?;
            s[1][j] = get(&self.scope_urban, t, "scope_urban")?;
        }
        Ok(Eq { a: self.intercept, b, s })
    }
    pub fn from_eq(e: &Eq) -> Equation {
        let coef = COMMON_TERMS.iter().zip(e.b).map(|(t, v)| (t.to_string(), v)).collect();
        let sc = |g: usize| SCOPE_TERMS.iter().zip(e.s[g]).map(|(t, v)| (t.to_string(), v)).collect();
        Equation { intercept: e.a, coef, scope_ncms: sc(0), scope_urban: sc(1) }
    }
}

/// The whole DGP file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DgpFile {
    pub about: BTreeMap<String, String>,
    /// Population cut points of per-capita income quintiles (Q1|Q2, ..., Q4|Q5).
    pub income_cuts: Vec<f64>,
    /// Share of recipients whose amount is unusable (paper: 115 of 778).
    pub lost_share: f64,
    /// Gamma shape of log(amount) (dispersion = 1 / shape).
    pub amount_shape: f64,
    /// Dispersion phi of the ratio (variance = phi mu^2).
    pub ratio_dispersion: f64,
    pub received: Equation,
    pub amount: Equation,
    pub ratio: Equation,
    /// Probability limits of the paper's estimators under this DGP (the "true" AMEs the
    /// recovery test compares with): `truth[sample][part][term]`.
    #[serde(default)]
    pub truth: BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>,
}

/// A checked DGP.
#[derive(Debug, Clone)]
pub struct Dgp {
    pub file: DgpFile,
    pub eqs: [Eq; 3],
}

impl Dgp {
    pub fn from_toml(text: &str) -> Result<Dgp> {
        let file: DgpFile = toml::from_str(text).map_err(|e| usage(format!("dgp.toml: {e}")))?;
        Dgp::from_file(file)
    }
    pub fn from_file(file: DgpFile) -> Result<Dgp> {
        if file.income_cuts.len() != 4 {
            return Err(usage("dgp.toml: income_cuts needs 4 values"));
        }
        let eqs = [file.received.check("received")?, file.amount.check("amount")?, file.ratio.check("ratio")?];
        Ok(Dgp { file, eqs })
    }
    /// The DGP shipped with migfit.
    pub fn embedded() -> Dgp {
        Dgp::from_toml(DGP_TOML).expect("the embedded dgp.toml is valid")
    }
    pub fn to_toml(&self) -> String {
        let mut f = self.file.clone();
        f.received = Equation::from_eq(&self.eqs[0]);
        f.amount = Equation::from_eq(&self.eqs[1]);
        f.ratio = Equation::from_eq(&self.eqs[2]);
        toml::to_string(&f).expect("serializable")
    }

    /// Income quintile (0-based) of a respondent, from the population cut points.
    pub fn quintile(&self, p: &Person) -> usize {
        let v = p.income_pc();
        self.file.income_cuts.iter().filter(|&&c| v > c).count()
    }

    /// The common regressors of a respondent.
    pub fn x(&self, p: &Person) -> [f64; NC] {
        let q = self.quintile(p);
        let b = |c: bool| if c { 1.0 } else { 0.0 };
        [
            b(p.scheme == 1),
            b(p.scheme == 2),
            p.age,
            p.age * p.age,
            b(p.female),
            b(p.married),
            b(p.education == 1),
            b(p.education == 2),
            b(p.education == 3),
            b(q == 1),
            b(q == 2),
            b(q == 3),
            b(q == 4),
            b(p.has_job),
            b(p.rural),
            b(p.urban_area),
            b(p.reason == 1),
            b(p.reason == 2),
            b(p.duration == 1),
            b(p.duration == 2),
            b(p.duration == 3),
            b(p.facility == 1),
            b(p.facility == 2),
            b(p.facility == 3),
        ]
    }

    /// Linear index of equation `e` (0 received, 1 amount, 2 ratio).
    pub fn eta(&self, e: usize, p: &Person, x: &[f64; NC]) -> f64 {
        let eq = &self.eqs[e];
        let mut v = eq.a;
        for j in 0..NC {
            v += eq.b[j] * x[j];
        }
        if p.scope > 0 {
            v += eq.s[p.urban as usize][p.scope - 1];
        }
        v
    }

    /// The three conditional means: Pr(received), E[log amount | received],
    /// E[ratio | received].
    pub fn means(&self, p: &Person) -> [f64; 3] {
        let x = self.x(p);
        [norm_cdf(self.eta(0, p, &x)), self.eta(1, p, &x).exp(), self.eta(2, p, &x).exp()]
    }

    /// Upper bound of the ratio mean for which the Beta draw exists.
    pub fn ratio_mean_bound(&self) -> f64 {
        1.0 / (1.0 + self.file.ratio_dispersion)
    }
}

/// Outcomes of one respondent as drawn.
#[derive(Debug, Clone)]
pub struct Outcomes {
    pub received: bool,
    /// `None` = lost (amount written as missing or 0).
    pub amount: Option<f64>,
    pub ratio: f64,
    pub total: f64,
    /// The ratio mean had to be capped below 1/(1+phi).
    pub capped: bool,
}

/// Draws the outcomes of a respondent.
pub fn draw_outcomes(dgp: &Dgp, p: &Person, rng: &mut SimRng) -> Outcomes {
    let [pr, mu_a, mu_r] = dgp.means(p);
    let received = rng.random::<f64>() < pr;
    if !received {
        // Non-recipients: expenditure log-normal with Table 1's mean and SD.
        let total = lognormal(rng, 10366.05, 17549.73);
        return Outcomes { received, amount: None, ratio: f64::NAN, total, capped: false };
    }
    let lost = rng.random::<f64>() < dgp.file.lost_share;
    let k = dgp.file.amount_shape;
    let y: f64 = Gamma::new(k, mu_a / k).unwrap().sample(rng);
    let amount = y.exp();
    let phi = dgp.file.ratio_dispersion;
    let bound = 0.98 * dgp.ratio_mean_bound();
    let capped = mu_r > bound;
    let mu = mu_r.min(bound);
    let c = (1.0 - mu) / (phi * mu) - 1.0;
    let ratio: f64 = Beta::new(mu * c, (1.0 - mu) * c).unwrap().sample(rng);
    let ratio = ratio.clamp(1e-4, 1.0);
    let total = (amount / ratio).min(5_000_000.0);
    Outcomes { received, amount: if lost { None } else { Some(amount) }, ratio, total, capped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::wang2022::population;

    /// The Beta draw of the ratio needs mu < 1/(1+phi); the DGP caps the mean at 98% of that
    /// bound. The worst covariate combination exceeds it, but it is rare: the share of
    /// respondents whose ratio mean is capped must stay negligible (docs/calibration.md).
    #[test]
    fn ratio_mean_is_rarely_capped() {
        let dgp = Dgp::embedded();
        let people = population(100_000, 99);
        let bound = 0.98 * dgp.ratio_mean_bound();
        let capped = people.iter().filter(|p| dgp.means(p)[2] > bound).count();
        eprintln!("capped ratio means: {capped} of 100000");
        assert!(capped < 100, "{capped} of 100000 capped");
    }

    #[test]
    fn embedded_dgp_has_truth_for_every_sample_and_part() {
        let dgp = Dgp::embedded();
        for s in ["total", "ncms", "urban"] {
            for p in ["probit", "amount", "ratio"] {
                for t in SCOPE_TERMS {
                    assert!(dgp.file.truth[s][p].contains_key(t), "{s} {p} {t}");
                }
            }
        }
    }
}

#[cfg(test)]
mod truth_check {
    use super::*;
    use crate::simulate::wang2022::population;

    /// Within the NCMS group the amount GLM is correctly specified, so the recorded limit of
    /// its scope AME must equal the DGP's population AME computed directly.
    #[test]
    fn ncms_amount_scope_truth_matches_direct_computation() {
        let dgp = Dgp::embedded();
        let people = population(200_000, 7);
        let (mut num, mut den) = (0.0, 0.0);
        for p in people.iter().filter(|p| !p.urban) {
            let w = dgp.means(p)[0];
            let mut a = p.clone();
            a.scope = 2;
            let mut b = p.clone();
            b.scope = 0;
            num += w * (dgp.means(&a)[1] - dgp.means(&b)[1]);
            den += w;
        }
        let direct = num / den;
        let recorded = dgp.file.truth["ncms"]["amount"]["scope[across_provinces]"];
        eprintln!("direct {direct} recorded {recorded}");
        assert!((direct - recorded).abs() < 0.003, "direct {direct} recorded {recorded}");
    }
}
