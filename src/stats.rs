//! Distribution functions used by estimators and reports.
//!
//! The normal CDF and density come from one function, [`norm_tails`]: one exponential
//! `exp(-x^2/2)` (with the rounding error of `x^2` corrected, so it is as accurate as `exp`
//! itself in the tails) serves the density and, for |x| >= 1.77, both tails, which there are
//! W. J. Cody's rational Chebyshev approximations of `erfc` (Cody 1969, "Rational Chebyshev
//! approximations for the error function", Mathematics of Computation 23, 631-637; the
//! coefficient sets for about 18 significant digits) times that exponential; nearer zero the
//! tails are `libm::erfc`, which needs no exponential there. Against 50-digit values from mpmath
//! (`tests/reference/normal_tails/`, `tests/normal_tails.rs`) the largest relative error is
//! 4.1 units in the last place in both tails out to |x| = 37.5 and 1.4 in the density. The
//! earlier `erfc(x / sqrt(2)) / 2` through `libm::erfc` (a port of the FreeBSD/musl libm, three
//! exponentials per point with the density) lost up to 56 units to the rounding of
//! `x / sqrt(2)` alone; `statrs::function::erf::erfc` is only good to about 1e-11 relative,
//! which would show in the last printed digits of probit estimates. The quantile
//! starts from statrs' `erfc_inv` and takes one Newton step on the accurate CDF.

use libm::erfc;
use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, FisherSnedecor, StudentsT};
use statrs::function::erf::erfc_inv;

const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    let z = x.abs() * std::f64::consts::FRAC_1_SQRT_2;
    if z < 1.25 {
        FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
    } else {
        outer_tail(x, z).1
    }
}

/// Standard normal CDF, accurate in both tails.
pub fn norm_cdf(x: f64) -> f64 {
    norm_tails(x).lower
}

/// Both tails and the density of the standard normal at one point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormalTails {
    /// `Phi(x)`.
    pub lower: f64,
    /// `1 - Phi(x) = Phi(-x)`, computed directly (no cancellation in the upper tail).
    pub upper: f64,
    /// `phi(x)`.
    pub pdf: f64,
}

/// `exp(-x^2 / 2)`. `x^2` is carried as `hi + lo`, its rounded value plus the exact rounding
/// error (Dekker's product with Veltkamp's split), and `exp(-hi/2) * (1 - lo/2)` corrects for
/// it: without the correction the rounding of `x^2` costs up to `x^2 / 2` units in the last
/// place (12 at x = 5).
#[inline]
fn exp_minus_half_square(x: f64) -> f64 {
    let hi = x * x;
    // Veltkamp split: xh has the top 26 significant bits, xl the rest, both exact.
    let c = 134_217_729.0 * x; // 2^27 + 1
    let xh = c - (c - x);
    let xl = x - xh;
    let lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl;
    let e = (-0.5 * hi).exp();
    e - 0.5 * lo * e
}

/// Horner evaluation of `c[0] + c[1] t + ... + c[n] t^n`.
#[inline(always)]
fn poly<const N: usize>(c: &[f64; N], t: f64) -> f64 {
    let mut acc = c[N - 1];
    for &ci in c[..N - 1].iter().rev() {
        acc = acc * t + ci;
    }
    acc
}

// Cody (1969): erfc(z) = exp(-z^2) P(z) / Q(z) for 0.46875 < z <= 4 (used from z = 1.25).
#[allow(clippy::excessive_precision)] // as published
const ERFC_P1: [f64; 9] = [
    1.23033935479799725272e3,
    2.05107837782607146532e3,
    1.71204761263407058314e3,
    8.81952221241769090411e2,
    2.98635138197400131132e2,
    6.61191906371416294775e1,
    8.88314979438837594118e0,
    5.64188496988670089180e-1,
    2.15311535474403846343e-8,
];
#[allow(clippy::excessive_precision)] // as published
const ERFC_Q1: [f64; 9] = [
    1.23033935480374942043e3,
    3.43936767414372163696e3,
    4.36261909014324715820e3,
    3.29079923573345962678e3,
    1.62138957456669018874e3,
    5.37181101862009857509e2,
    1.17693950891312499305e2,
    1.57449261107098347253e1,
    1.0,
];
// erfc(z) = exp(-z^2) / z (1/sqrt(pi) + r P(r) / Q(r)), r = 1/z^2, for z > 4.
#[allow(clippy::excessive_precision)] // as published
const ERFC_P2: [f64; 6] = [
    -6.58749161529837803157e-4,
    -1.60837851487422766278e-2,
    -1.25781726111229246204e-1,
    -3.60344899949804439429e-1,
    -3.05326634961232344035e-1,
    -1.63153871373020978498e-2,
];
#[allow(clippy::excessive_precision)] // as published
const ERFC_Q2: [f64; 6] = [
    2.33520497626869185443e-3,
    6.05183413124413191178e-2,
    5.27905102951428412248e-1,
    1.87295284992346047209e0,
    2.56852019228982242072e0,
    1.0,
];
const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;

/// `Phi(x)`, `1 - Phi(x)` and `phi(x)` with one exponential, the density's: with
/// `z = |x| / sqrt(2)`, `Phi(-|x|) = erfc(z) / 2`. For `z >= 1.25` (|x| >= 1.77) Cody's
/// approximations write `erfc(z)` as `exp(-z^2) = exp(-x^2/2)` times a rational function of
/// `z`, so the density's exponential serves the tail too (`libm::erfc` would take two more);
/// below that `libm::erfc` uses rational functions without an exponential. The smaller tail is
/// computed directly and the larger one is one minus it (at least 1/2, so correctly rounded up
/// to one unit in the last place).
#[inline]
pub fn norm_tails(x: f64) -> NormalTails {
    let z = x.abs() * std::f64::consts::FRAC_1_SQRT_2;
    let (small, pdf) = if z < 1.25 {
        // libm's erfc needs no exponential here (its erf-type rational functions up to
        // z = 1.25); the rounding of z costs at most 2 z^2 = 3 units in the last place, and
        // the rounding of x^2 at most 1.6 in the density.
        (0.5 * erfc(z), FRAC_1_SQRT_2PI * (-0.5 * x * x).exp())
    } else {
        outer_tail(x, z)
    };
    let large = 1.0 - small;
    if x >= 0.0 {
        NormalTails { lower: large, upper: small, pdf }
    } else {
        NormalTails { lower: small, upper: large, pdf }
    }
}

/// The smaller tail and the density for `z = |x| / sqrt(2) >= 1.25` (or NaN): Cody's `erfc`
/// times the density's exponential, with the rounding of `x^2` corrected. Kept out of line:
/// most linear predictors of a probit are nearer zero.
#[inline(never)]
fn outer_tail(x: f64, z: f64) -> (f64, f64) {
    if z <= 4.0 {
        let e = exp_minus_half_square(x);
        (0.5 * e * poly(&ERFC_P1, z) / poly(&ERFC_Q1, z), FRAC_1_SQRT_2PI * e)
    } else if z <= 40.0 {
        let e = exp_minus_half_square(x);
        let r = 1.0 / (z * z);
        (0.5 * e / z * (FRAC_1_SQRT_PI + r * poly(&ERFC_P2, r) / poly(&ERFC_Q2, r)), FRAC_1_SQRT_2PI * e)
    } else if z > 40.0 {
        // Beyond |x| = 56 both are 0 in double precision (the split would overflow).
        (0.0, 0.0)
    } else {
        (f64::NAN, f64::NAN)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_values() {
        assert!((norm_cdf(1.959963984540054) - 0.975).abs() < 1e-15);
        assert!((norm_quantile(0.975) - 1.959963984540054).abs() < 1e-13);
        assert!((norm_cdf(-10.0) / 7.619853024160527e-24 - 1.0).abs() < 1e-14);
        // mpmath at 17 digits; `tests/normal_tails.rs` checks 3,513 points to 5 ulp.
        let eps = f64::EPSILON;
        assert!((norm_cdf(1.0) / 8.41344746068542926e-01 - 1.0).abs() < 5.0 * eps);
        assert!((norm_cdf(-3.0) / 1.34989803163009328e-03 - 1.0).abs() < 5.0 * eps);
        assert!((norm_cdf(-20.0) / 2.7536241186062337e-89 - 1.0).abs() < 5.0 * eps);
        assert!((norm_quantile(0.025) + 1.95996398454005405).abs() < 1e-15);
        assert!((ln_gamma(10.0) - 12.801827480081469).abs() < 1e-14);
        assert!((two_sided_p(1.959963984540054) - 0.05).abs() < 1e-15);
    }
}
