//! Causal mediation for a binary outcome (Imai, Keele & Tingley 2010, *Psychological Methods*
//! 15:309-334; VanderWeele 2015, ch. 2; Stata 18 `mediate`).
//!
//! Models, on the common sample:
//!
//! * outcome: `Pr(Y = 1) = F(b_0 + b_T T + b_M M + b_TM T M + C b_C)` (probit or logit; the
//!   `T M` term only with `--interaction`);
//! * mediator: linear, `M = a_0 + a_T T + C a_C + e`, `e ~ N(0, s^2)`, when the mediator takes
//!   other values than 0 and 1; otherwise `Pr(M = 1) = G(a_0 + a_T T + C a_C)` with the outcome
//!   model's link.
//!
//! The potential outcome `mu(t, t') = E[Y(t, M(t'))]` is averaged over the sample (estimation
//! weights), each respondent's mediator drawn from the mediator model at `T = t'`:
//!
//! * linear mediator, probit outcome (closed form): `Phi(A_i / sqrt(1 + B^2 s^2))` with
//!   `B = b_M + b_TM t`, `A_i = b_0 + b_T t + B m_i(t') + C_i b_C`, `m_i(t') = a_0 + a_T t' +
//!   C_i a_C`;
//! * linear mediator, logit outcome: the same expectation by 64-point Gauss-Hermite
//!   quadrature (no closed form);
//! * binary mediator: `p_i F(A_i1) + (1 - p_i) F(A_i0)` with `p_i = G(a_0 + a_T t' + C_i a_C)`.
//!
//! Effects (Stata's `mediate` and Imai et al.'s definitions, treatment `t1` against `t0`):
//! natural direct `NDE = mu(t1, t0) - mu(t0, t0)`, natural indirect `NIE = mu(t1, t1) -
//! mu(t1, t0)`, total `TE = NDE + NIE`, proportion mediated `NIE / TE`. A 0/1 treatment
//! compares 1 with 0; a continuous one its sample mean plus one with its mean.
//!
//! Standard errors: the delta method (numerical gradient) over the outcome coefficients, the
//! mediator coefficients and, for a linear mediator, `s^2` (the ML estimate, residual sum of
//! squares / N), the three blocks independent (the outcome model conditions on the mediator,
//! so its scores are uncorrelated with the mediator model's). Each model's variance is of the
//! chosen kind; `Var(s^2)` is `2 s^4 / N` for model-based kinds and the (cluster-)robust
//! variance of the mean of the squared residuals otherwise (clustered by the cluster variable
//! or the survey PSU). Averages over the sample are taken as fixed (conditional on the
//! covariates, as `margins` by default).

use super::{gradient, quad, Estimate, Request, Sample};
use crate::design::{Design, SampleOptions};
use crate::error::{usage, Error, Result};
use crate::formula::Formula;
use crate::inference::VceKind;
use crate::model::LinkKind;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Natural direct and indirect effects.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Causal {
    /// `linear`, `probit` or `logit`.
    pub mediator_model: String,
    pub interaction: bool,
    /// The treatment values compared (`treated` against `control`).
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub control: f64,
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub treated: f64,
    /// mu(t0, t0), mu(t1, t0), mu(t1, t1).
    pub potential_outcomes: [f64; 3],
    pub nde: Estimate,
    pub nie: Estimate,
    pub total: Estimate,
    pub proportion_mediated: Estimate,
    /// The linear mediator model's residual variance (ML), when it is linear.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigma2: Option<f64>,
}

/// Gauss-Hermite nodes and weights (`n` points, for `int exp(-x^2) f(x) dx`), by Newton on
/// the Hermite recurrence (Golub-Welsch is not needed at this size).
fn gauss_hermite(n: usize) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(n);
    let pi4 = std::f64::consts::PI.powf(-0.25);
    let mut z = 0.0;
    for i in 0..n.div_ceil(2) {
        z = match i {
            0 => (2.0 * n as f64 + 1.0).sqrt() - 1.85575 * (2.0 * n as f64 + 1.0).powf(-1.0 / 6.0),
            1 => z - 1.14 * (n as f64).powf(0.426) / z,
            2 => 1.86 * z - 0.86 * out[0].0,
            3 => 1.91 * z - 0.91 * out[1].0,
            _ => 2.0 * z - out[i - 2].0,
        };
        let mut pp = 0.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (pi4, 0.0);
            for j in 1..=n {
                let p3 = p2;
                p2 = p1;
                p1 = z * (2.0 / j as f64).sqrt() * p2 - ((j as f64 - 1.0) / j as f64).sqrt() * p3;
            }
            pp = (2.0 * n as f64).sqrt() * p2;
            let dz = p1 / pp;
            z -= dz;
            if dz.abs() < 1e-15 {
                break;
            }
        }
        out.push((z, 2.0 / (pp * pp)));
    }
    let mut all: Vec<(f64, f64)> = out.iter().map(|&(x, w)| (-x, w)).collect();
    all.extend(out.iter().rev().filter(|(x, _)| *x != 0.0).copied());
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    all
}

/// The effects and the outcome model's variance (its sentence, kind and df label the result).
pub(crate) fn run(req: &Request, s: &Sample) -> Result<(Causal, crate::inference::Variance)> {
    let level = req.est.level;
    let ds = s.ds;
    if s.treatment_cols.len() != 1 {
        return Err(usage(format!(
            "--method causal takes a treatment with one column (numeric or two levels), but '{}' has {}",
            req.treatment,
            s.treatment_cols.len()
        )));
    }
    let m_cols = &s.mediator_cols[0];
    if m_cols.len() != 1 {
        return Err(usage(format!(
            "--method causal takes a numeric mediator (binary 0/1 or continuous), but '{}' has {} columns",
            req.mediators[0],
            m_cols.len()
        )));
    }
    let (t, m) = (s.treatment_cols[0], m_cols[0]);
    let tx: Vec<f64> = s.full.x.column(t).to_vec();
    let mx: Vec<f64> = s.full.x.column(m).to_vec();
    let binary = |v: &[f64]| v.iter().all(|&x| x == 0.0 || x == 1.0);
    let weights = s.average_weights();
    let (t0, t1) = if binary(&tx) {
        (0.0, 1.0)
    } else {
        let mean: f64 = tx.iter().zip(&weights).map(|(a, w)| a * w).sum();
        (mean, mean + 1.0)
    };

    // Outcome model (with the interaction when asked for), on the common sample.
    let spec = req.spec(req.model);
    let (y_fit, vy, tm) = if req.interaction {
        let f = format!(
            "{} ~ {} + {} + {}:{} + {}",
            req.outcome,
            req.treatment,
            req.mediators[0],
            req.treatment,
            req.mediators[0],
            req.controls_text()
        );
        let mut common = vec![false; ds.n_rows()];
        for &r in &s.full.rows {
            common[r] = true;
        }
        let (mut sample, _) = req.est.model_sample(ds)?;
        sample.restrict = Some(common);
        let d = Design::build(ds, &Formula::parse(&f)?, &SampleOptions { ..sample })?;
        let name = format!("{}:{}", s.full.names[t], s.full.names[m]);
        let tm = d.names.iter().position(|n| *n == name).ok_or_else(|| {
            Error::Data(crate::error::DataError::Other(format!("--interaction: the design has no column '{name}'")))
        })?;
        let (fit, v) = s.fit(d, &spec, "outcome")?;
        (fit, v, Some(tm))
    } else {
        let (fit, v) = s.fit(s.full.clone(), &spec, "outcome")?;
        (fit, v, None)
    };
    let ky = y_fit.beta.len();
    let pos = |name: &str| y_fit.design.names.iter().position(|n| n == name).expect("the outcome model has the column");
    let (ty, my) = (pos(&s.full.names[t]), pos(&s.full.names[m]));
    // Mediator model on W = the full design without the mediator.
    let w_cols: Vec<usize> = (0..s.full.k()).filter(|&j| j != m).collect();
    let t_w = w_cols.iter().position(|&j| j == t).expect("the treatment is in W");
    let med_binary = binary(&mx);
    let med_spec = if med_binary { req.spec(req.model) } else { req.gaussian() };
    let (m_fit, vm) = s.fit(s.design(&w_cols, Some((&s.full.names[m], mx.clone()))), &med_spec, "mediator")?;
    let km = m_fit.beta.len();
    let wx = &m_fit.design.x;
    let yx = &y_fit.design.x;
    let n = s.full.n();

    // sigma^2 (ML) and its variance.
    let (sigma2, var_sigma2) = if med_binary {
        (None, 0.0)
    } else {
        let r2: Vec<f64> = (0..n).map(|i| (mx[i] - m_fit.mu[i]).powi(2)).collect();
        let s2: f64 = r2.iter().zip(&weights).map(|(r, w)| r * w).sum();
        let nobs = s.full.n_obs();
        let v = match s.kind {
            VceKind::Oim | VceKind::Eim => 2.0 * s2 * s2 / nobs,
            _ => {
                // The mean of r_i^2 as an estimating equation: sum of squared (cluster) totals.
                let u: Vec<f64> = (0..n).map(|i| weights[i] * (r2[i] - s2)).collect();
                match &s.full.clusters {
                    Some(cl) => {
                        let g = s.full.n_clusters;
                        let mut tot = vec![0.0; g];
                        for i in 0..n {
                            tot[cl[i] as usize] += u[i];
                        }
                        tot.iter().map(|x| x * x).sum::<f64>() * g as f64 / (g as f64 - 1.0).max(1.0)
                    }
                    None => u.iter().map(|x| x * x).sum::<f64>() * nobs / (nobs - 1.0),
                }
            }
        };
        (Some(s2), v)
    };

    let link = req.model_link().link();
    let nodes = gauss_hermite(64);
    let sqrt_pi = std::f64::consts::PI.sqrt();
    // mu(t, t') at the parameters p = (outcome b, mediator a, s^2).
    let pom = |p: &[f64], tv: f64, tp: f64| -> f64 {
        let (b, rest) = p.split_at(ky);
        let (a, s2) = rest.split_at(km);
        let slope = b[my] + tm.map_or(0.0, |j| b[j] * tv);
        let mut total = 0.0;
        for i in 0..n {
            let mut base = 0.0;
            for j in 0..ky {
                if j != ty && j != my && Some(j) != tm {
                    base += b[j] * yx[[i, j]];
                }
            }
            base += b[ty] * tv;
            let mut lin_m = 0.0;
            for j in 0..km {
                lin_m += a[j] * if j == t_w { tp } else { wx[[i, j]] };
            }
            let v = if med_binary {
                let pm = link.inverse(lin_m);
                pm * link.inverse(base + slope) + (1.0 - pm) * link.inverse(base)
            } else {
                let centre = base + slope * lin_m;
                let sd = s2[0].max(0.0).sqrt();
                match req.model_link() {
                    LinkKind::Probit => crate::stats::norm_cdf(centre / (1.0 + slope * slope * sd * sd).sqrt()),
                    _ => {
                        nodes
                            .iter()
                            .map(|&(x, w)| w * link.inverse(centre + slope * std::f64::consts::SQRT_2 * sd * x))
                            .sum::<f64>()
                            / sqrt_pi
                    }
                }
            };
            total += weights[i] * v;
        }
        total
    };
    let mut p: Vec<f64> = y_fit.beta.clone();
    p.extend(&m_fit.beta);
    if let Some(s2) = sigma2 {
        p.push(s2);
    }
    let kp = p.len();
    let mut v = Array2::<f64>::zeros((kp, kp));
    for i in 0..ky {
        for j in 0..ky {
            v[[i, j]] = vy.matrix[[i, j]];
        }
    }
    for i in 0..km {
        for j in 0..km {
            v[[ky + i, ky + j]] = vm.matrix[[i, j]];
        }
    }
    if sigma2.is_some() {
        v[[kp - 1, kp - 1]] = var_sigma2;
    }
    let nde = |p: &[f64]| pom(p, t1, t0) - pom(p, t0, t0);
    let nie = |p: &[f64]| pom(p, t1, t1) - pom(p, t1, t0);
    let te = |p: &[f64]| pom(p, t1, t1) - pom(p, t0, t0);
    let pm = |p: &[f64]| nie(p) / te(p);
    let df = vy.df;
    let est = |f: &dyn Fn(&[f64]) -> f64| {
        let g = gradient(&p, f);
        Estimate::new(f(&p), quad(&g, &v).sqrt(), level, df)
    };
    let out = Causal {
        mediator_model: if med_binary { req.model.name().to_string() } else { "linear".to_string() },
        interaction: req.interaction,
        control: t0,
        treated: t1,
        potential_outcomes: [pom(&p, t0, t0), pom(&p, t1, t0), pom(&p, t1, t1)],
        nde: est(&nde),
        nie: est(&nie),
        total: est(&te),
        proportion_mediated: est(&pm),
        sigma2,
    };
    Ok((out, vy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_hermite_integrates_polynomials_and_the_normal_cdf() {
        let nodes = gauss_hermite(64);
        assert_eq!(nodes.len(), 64);
        let sp = std::f64::consts::PI.sqrt();
        let moment = |k: i32| nodes.iter().map(|&(x, w)| w * (std::f64::consts::SQRT_2 * x).powi(k)).sum::<f64>() / sp;
        assert!((moment(0) - 1.0).abs() < 1e-13);
        assert!((moment(2) - 1.0).abs() < 1e-12);
        assert!((moment(4) - 3.0).abs() < 1e-11);
        // E Phi(a + b Z) = Phi(a / sqrt(1 + b^2)).
        let (a, b) = (0.3, 1.7);
        let q =
            nodes.iter().map(|&(x, w)| w * crate::stats::norm_cdf(a + b * std::f64::consts::SQRT_2 * x)).sum::<f64>()
                / sp;
        assert!((q - crate::stats::norm_cdf(a / (1.0 + b * b).sqrt())).abs() < 1e-10, "{q}");
    }
}
