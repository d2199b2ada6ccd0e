//! Distribution functions used by estimators and reports.
//!
//! The normal CDF and density come from [`norm_tails`] (module `normal`): one exponential
//! serves the density and both tails (Cody's rational approximations of `erfc`), with a
//! vectorised batch form for margins; within a few units in the last place of 50-digit
//! values (`tests/numbers/normal_tails.rs`). `libm::erfc(x / sqrt(2))` lost up to 56 units to the
//! rounding of `x / sqrt(2)`; `statrs::function::erf::erfc` is only good to about 1e-11
//! relative, which would show in the last printed digits of probit estimates. The quantile
//! starts from statrs' `erfc_inv` and takes one Newton step on the accurate CDF.

use libm::erfc;
use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, FisherSnedecor, StudentsT};
use statrs::function::erf::erfc_inv;

mod hypothesis;
mod normal;
mod quantile;
pub use hypothesis::{anova, chi2_binary_groups, chi2_test, Test};
pub use normal::{norm_cdf, norm_pdf, norm_tails, norm_tails_batch, NormalTails};
pub use quantile::{pctile_sorted, xtile, xtile_cuts};

/// Standard normal quantile.
pub fn norm_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let x = -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p);
    // One Newton step on the accurate CDF (working with the smaller tail).
    let d = norm_pdf(x);
    if d > 0.0 {
        let err = if x < 0.0 { norm_cdf(x) - p } else { (1.0 - p) - norm_cdf(-x) };
        x - if x < 0.0 { err / d } else { -err / d }
    } else {
        x
    }
}

/// Two-sided normal p-value of a z statistic.
pub fn two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom:
/// `I_{df/(df+t^2)}(df/2, 1/2)` (the regularized incomplete beta function).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || !(df > 0.0) {
        return f64::NAN;
    }
    statrs::function::beta::beta_reg(df / 2.0, 0.5, df / (df + t * t))
}

/// Quantile of Student's t with `df` degrees of freedom (statrs' inverse, then Newton steps
/// on the CDF so the last digits are right).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let Ok(d) = StudentsT::new(0.0, 1.0, df) else { return f64::NAN };
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let mut x = d.inverse_cdf(p);
    for _ in 0..4 {
        let f = d.pdf(x);
        if !(f > 0.0) {
            break;
        }
        // Work with the smaller tail for accuracy.
        let err = if x < 0.0 { d.cdf(x) - p } else { (1.0 - p) - d.sf(x) };
        let step = if x < 0.0 { err / f } else { -err / f };
        x -= step;
        if step.abs() <= 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

/// `ln Γ(x)`.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// Upper tail of the chi-square distribution.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    match ChiSquared::new(df) {
        Ok(d) => d.sf(x),
        Err(_) => f64::NAN,
    }
}

/// Upper tail of the F distribution.
pub fn f_sf(x: f64, df1: f64, df2: f64) -> f64 {
    match FisherSnedecor::new(df1, df2) {
        Ok(d) => d.sf(x),
        Err(_) => f64::NAN,
    }
}

/// A logit coefficient as an odds ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OddsRatio {
    pub estimate: f64,
    pub std_error: f64,
    pub conf_low: f64,
    pub conf_high: f64,
}

/// The odds-ratio transform of a coefficient `b` with standard error `se` and confidence
/// interval [`conf_low`, `conf_high`], as Stata's `logit, or`: exp(b), the delta-method SE
/// exp(b) se, and the interval exp(conf_low), exp(conf_high) (the coefficient's interval
/// transformed, not exp(b) ± z SE, so it stays inside (0, ∞)). The test statistic and p-value
/// stay those of `b`.
pub fn odds_ratio(b: f64, se: f64, conf_low: f64, conf_high: f64) -> OddsRatio {
    let e = b.exp();
    OddsRatio { estimate: e, std_error: e * se, conf_low: conf_low.exp(), conf_high: conf_high.exp() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_values() {
        assert!((norm_cdf(1.959963984540054) - 0.975).abs() < 1e-15);
        assert!((norm_quantile(0.975) - 1.959963984540054).abs() < 1e-13);
        assert!((norm_cdf(-10.0) / 7.619853024160527e-24 - 1.0).abs() < 1e-14);
        // mpmath at 17 digits; `tests/numbers/normal_tails.rs` checks 3,513 points to 5 ulp.
        let eps = f64::EPSILON;
        assert!((norm_cdf(1.0) / 8.41344746068542926e-01 - 1.0).abs() < 5.0 * eps);
        assert!((norm_cdf(-3.0) / 1.34989803163009328e-03 - 1.0).abs() < 5.0 * eps);
        assert!((norm_cdf(-20.0) / 2.7536241186062337e-89 - 1.0).abs() < 5.0 * eps);
        assert!((norm_quantile(0.025) + 1.95996398454005405).abs() < 1e-15);
        assert!((ln_gamma(10.0) - 12.801827480081469).abs() < 1e-14);
        assert!((two_sided_p(1.959963984540054) - 0.05).abs() < 1e-15);
    }
}
