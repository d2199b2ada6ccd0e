//! Distribution functions used by estimators and reports (through `statrs`).

use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};
use statrs::function::erf::{erfc, erfc_inv};

const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Standard normal CDF, accurate in both tails (through `erfc`).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile.
pub fn norm_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p)
}

/// Two-sided normal p-value of a z statistic.
pub fn two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// `ln Γ(x)`.
pub fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_values() {
        assert!((norm_cdf(1.959963984540054) - 0.975).abs() < 1e-15);
        assert!((norm_quantile(0.975) - 1.959963984540054).abs() < 1e-13);
        assert!((norm_cdf(-10.0) - 7.619853024160527e-24).abs() < 1e-36);
        assert!((two_sided_p(1.959963984540054) - 0.05).abs() < 1e-15);
    }
}
