//! Exponential families: variance function, unit deviance, log-likelihood, valid responses.
//!
//! Each method receives `mu` and `mu_c = 1 - mu` as computed accurately by the link; only the
//! binomial family uses `mu_c` (it keeps probit and logit exact far in the tails).

use super::LinkKind;
use crate::stats::ln_gamma;

pub trait Family: Send + Sync {
    fn name(&self) -> &'static str;
    /// `V(mu)`.
    fn variance(&self, mu: f64, mu_c: f64) -> f64;
    /// `V'(mu)`.
    fn variance_deriv(&self, mu: f64) -> f64;
    /// Unit deviance `d(y, mu)`; the deviance is `sum w_i d(y_i, mu_i)`.
    fn unit_deviance(&self, y: f64, mu: f64, mu_c: f64) -> f64;
    /// The unit deviance under a log link (`mu = exp(eta)`), given `ln_y = ln(y)` as well:
    /// a family whose deviance has a `ln(y / mu)` term uses `ln_y - eta` for it, which saves a
    /// logarithm per row and pass (the fitting loop computes `ln(y)` once). The default is
    /// [`Family::unit_deviance`].
    fn unit_deviance_log_link(&self, y: f64, ln_y: f64, eta: f64, mu: f64, mu_c: f64) -> f64 {
        let _ = (ln_y, eta);
        self.unit_deviance(y, mu, mu_c)
    }
    /// Log-likelihood of one observation with prior (variance) weight `w` and dispersion `phi`.
    fn loglik(&self, y: f64, mu: f64, mu_c: f64, w: f64, phi: f64) -> f64;
    /// Starting value for `mu` (as R's `initialize`).
    fn start_mu(&self, y: f64, ybar: f64) -> f64;
    /// Whether `y` is in the family's support.
    fn valid_y(&self, y: f64) -> bool;
    /// What the support is, for messages.
    fn support(&self) -> &'static str;
    /// True for families whose dispersion is fixed at one (binomial, Poisson).
    fn fixed_scale(&self) -> bool;
    /// The canonical link (θ = g(μ), where the observed and expected information agree), or
    /// `None` when migfit does not offer it.
    fn canonical_link(&self) -> Option<LinkKind>;
    /// The link used when none is named (Stata's and R's default): the canonical one.
    fn default_link(&self) -> LinkKind {
        self.canonical_link().expect("a family without an offered canonical link names its default link")
    }
    /// `p` when the variance function is `V(μ) = μ^p` (gaussian 0, Poisson 1, gamma 2,
    /// inverse gaussian 3); `None` for other variance functions (binomial).
    fn variance_power(&self) -> Option<f64>;
    /// Whether the reported log likelihood is taken at the maximum-likelihood dispersion,
    /// deviance / N (gaussian, as Stata's `glm`), rather than at dispersion 1.
    fn loglik_at_ml_dispersion(&self) -> bool {
        false
    }
    /// Whether [`Family::unit_deviance_log_link`] uses `ln_y` (so the fit computes `ln(y)` once
    /// under the log link).
    fn log_link_uses_ln_y(&self) -> bool {
        false
    }
}

/// The families migfit knows, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FamilyKind {
    Gaussian,
    Binomial,
    Poisson,
    Gamma,
    #[serde(rename = "igaussian")]
    InverseGaussian,
}

impl FamilyKind {
    pub fn parse(s: &str) -> Option<FamilyKind> {
        Some(match s {
            "gaussian" | "normal" => FamilyKind::Gaussian,
            "binomial" => FamilyKind::Binomial,
            "poisson" => FamilyKind::Poisson,
            "gamma" => FamilyKind::Gamma,
            "igaussian" | "inverse_gaussian" | "inverse-gaussian" => FamilyKind::InverseGaussian,
            _ => return None,
        })
    }

    pub fn family(self) -> &'static dyn Family {
        match self {
            FamilyKind::Gaussian => &Gaussian,
            FamilyKind::Binomial => &Binomial,
            FamilyKind::Poisson => &Poisson,
            FamilyKind::Gamma => &Gamma,
            FamilyKind::InverseGaussian => &InverseGaussian,
        }
    }

    pub fn name(self) -> &'static str {
        self.family().name()
    }

    /// The default link (see [`Family::default_link`]).
    pub fn default_link(self) -> LinkKind {
        self.family().default_link()
    }
}

pub struct Gaussian;
pub struct Binomial;
pub struct Poisson;
pub struct Gamma;
pub struct InverseGaussian;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// `y ln(y/mu)` with the limit 0 at y = 0.
fn ylogy(y: f64, mu: f64) -> f64 {
    if y == 0.0 {
        0.0
    } else {
        y * (y / mu).ln()
    }
}

impl Family for Gaussian {
    fn name(&self) -> &'static str {
        "gaussian"
    }
    fn variance(&self, _: f64, _: f64) -> f64 {
        1.0
    }
    fn variance_deriv(&self, _: f64) -> f64 {
        0.0
    }
    fn unit_deviance(&self, y: f64, mu: f64, _: f64) -> f64 {
        (y - mu) * (y - mu)
    }
    fn loglik(&self, y: f64, mu: f64, _: f64, w: f64, phi: f64) -> f64 {
        -0.5 * (w * (y - mu) * (y - mu) / phi + (phi / w).ln() + LN_2PI)
    }
    fn start_mu(&self, y: f64, _: f64) -> f64 {
        y
    }
    fn valid_y(&self, y: f64) -> bool {
        y.is_finite()
    }
    fn support(&self) -> &'static str {
        "any real number"
    }
    fn fixed_scale(&self) -> bool {
        false
    }
    fn canonical_link(&self) -> Option<LinkKind> {
        Some(LinkKind::Identity)
    }
    fn variance_power(&self) -> Option<f64> {
        Some(0.0)
    }
    fn loglik_at_ml_dispersion(&self) -> bool {
        true
    }
}

impl Family for Binomial {
    fn name(&self) -> &'static str {
        "binomial"
    }
    fn variance(&self, mu: f64, mu_c: f64) -> f64 {
        mu * mu_c
    }
    fn variance_deriv(&self, mu: f64) -> f64 {
        1.0 - 2.0 * mu
    }
    fn unit_deviance(&self, y: f64, mu: f64, mu_c: f64) -> f64 {
        2.0 * (ylogy(y, mu) + ylogy(1.0 - y, mu_c))
    }
    fn loglik(&self, y: f64, mu: f64, mu_c: f64, w: f64, _: f64) -> f64 {
        let a = if y > 0.0 { y * mu.ln() } else { 0.0 };
        let b = if y < 1.0 { (1.0 - y) * mu_c.ln() } else { 0.0 };
        w * (a + b)
    }
    fn start_mu(&self, y: f64, _: f64) -> f64 {
        (y + 0.5) / 2.0
    }
    fn valid_y(&self, y: f64) -> bool {
        (0.0..=1.0).contains(&y)
    }
    fn support(&self) -> &'static str {
        "between 0 and 1"
    }
    fn fixed_scale(&self) -> bool {
        true
    }
    fn canonical_link(&self) -> Option<LinkKind> {
        Some(LinkKind::Logit)
    }
    fn variance_power(&self) -> Option<f64> {
        None
    }
}

impl Family for Poisson {
    fn name(&self) -> &'static str {
        "poisson"
    }
    fn variance(&self, mu: f64, _: f64) -> f64 {
        mu
    }
    fn variance_deriv(&self, _: f64) -> f64 {
        1.0
    }
    /// NaN for a negative mean (outside the family's domain; the deviance formula itself stays
    /// finite there when y = 0), so the fit rejects such a step or start instead of going on
    /// with negative variances.
    fn unit_deviance(&self, y: f64, mu: f64, _: f64) -> f64 {
        if mu < 0.0 {
            return f64::NAN;
        }
        2.0 * (ylogy(y, mu) - (y - mu))
    }
    fn loglik(&self, y: f64, mu: f64, _: f64, w: f64, _: f64) -> f64 {
        w * (y * mu.ln() - mu - ln_gamma(y + 1.0))
    }
    fn start_mu(&self, y: f64, _: f64) -> f64 {
        y + 0.1
    }
    fn valid_y(&self, y: f64) -> bool {
        y >= 0.0
    }
    fn support(&self) -> &'static str {
        "non-negative"
    }
    fn fixed_scale(&self) -> bool {
        true
    }
    fn canonical_link(&self) -> Option<LinkKind> {
        Some(LinkKind::Log)
    }
    fn variance_power(&self) -> Option<f64> {
        Some(1.0)
    }
}

impl Family for Gamma {
    fn name(&self) -> &'static str {
        "gamma"
    }
    fn variance(&self, mu: f64, _: f64) -> f64 {
        mu * mu
    }
    fn variance_deriv(&self, mu: f64) -> f64 {
        2.0 * mu
    }
    fn unit_deviance(&self, y: f64, mu: f64, _: f64) -> f64 {
        2.0 * (-(y / mu).ln() + (y - mu) / mu)
    }
    /// `2 (eta - ln y + (y - mu) / mu)`: `ln(y / mu) = ln y - eta` under the log link.
    fn unit_deviance_log_link(&self, y: f64, ln_y: f64, eta: f64, mu: f64, _: f64) -> f64 {
        2.0 * ((eta - ln_y) + (y - mu) / mu)
    }
    fn loglik(&self, y: f64, mu: f64, _: f64, w: f64, phi: f64) -> f64 {
        let a = w / phi;
        a * (a * y / mu).ln() - a * y / mu - ln_gamma(a) - y.ln()
    }
    fn start_mu(&self, y: f64, _: f64) -> f64 {
        y
    }
    fn valid_y(&self, y: f64) -> bool {
        y > 0.0
    }
    fn support(&self) -> &'static str {
        "strictly positive"
    }
    fn fixed_scale(&self) -> bool {
        false
    }
    fn canonical_link(&self) -> Option<LinkKind> {
        Some(LinkKind::Inverse)
    }
    fn variance_power(&self) -> Option<f64> {
        Some(2.0)
    }
    fn log_link_uses_ln_y(&self) -> bool {
        true
    }
}

impl Family for InverseGaussian {
    fn name(&self) -> &'static str {
        "igaussian"
    }
    fn variance(&self, mu: f64, _: f64) -> f64 {
        mu * mu * mu
    }
    fn variance_deriv(&self, mu: f64) -> f64 {
        3.0 * mu * mu
    }
    /// NaN for a mean that is not positive (the variance mu^3 needs mu > 0; the formula itself
    /// stays finite for negative means).
    fn unit_deviance(&self, y: f64, mu: f64, _: f64) -> f64 {
        if mu <= 0.0 {
            return f64::NAN;
        }
        (y - mu) * (y - mu) / (mu * mu * y)
    }
    fn loglik(&self, y: f64, mu: f64, _: f64, w: f64, phi: f64) -> f64 {
        -0.5 * (w * (y - mu) * (y - mu) / (phi * y * mu * mu) + (phi * y * y * y / w).ln() + LN_2PI)
    }
    fn start_mu(&self, y: f64, _: f64) -> f64 {
        y
    }
    fn valid_y(&self, y: f64) -> bool {
        y > 0.0
    }
    fn support(&self) -> &'static str {
        "strictly positive"
    }
    fn fixed_scale(&self) -> bool {
        false
    }
    /// The canonical link is 1/μ², which migfit does not offer.
    fn canonical_link(&self) -> Option<LinkKind> {
        None
    }
    /// Log, the usual choice (Stata's default is the canonical 1/μ²).
    fn default_link(&self) -> LinkKind {
        LinkKind::Log
    }
    fn variance_power(&self) -> Option<f64> {
        Some(3.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The score of the log-likelihood in mu must be (y - mu) / (phi V(mu)) for every family:
    /// checks loglik and variance against each other numerically.
    #[test]
    fn loglik_derivative_is_score() {
        let cases: [(FamilyKind, f64, f64); 5] = [
            (FamilyKind::Gaussian, 1.3, 0.7),
            (FamilyKind::Binomial, 1.0, 0.3),
            (FamilyKind::Poisson, 3.0, 2.2),
            (FamilyKind::Gamma, 2.5, 1.7),
            (FamilyKind::InverseGaussian, 2.5, 1.7),
        ];
        for (kind, y, mu) in cases {
            let f = kind.family();
            let phi = 1.0;
            let h = 1e-6;
            let ll = |m: f64| f.loglik(y, m, 1.0 - m, 1.0, phi);
            let num = (ll(mu + h) - ll(mu - h)) / (2.0 * h);
            let ana = (y - mu) / (phi * f.variance(mu, 1.0 - mu));
            assert!((num - ana).abs() < 1e-6 * ana.abs().max(1.0), "{}: {num} vs {ana}", f.name());
            // Unit deviance is -2 (ll(y, mu) - ll(y, y)) up to phi, whose mu-derivative gives the
            // same score.
            let dev = |m: f64| f.unit_deviance(y, m, 1.0 - m);
            let num_d = -(dev(mu + h) - dev(mu - h)) / (4.0 * h);
            assert!((num_d - ana).abs() < 1e-6 * ana.abs().max(1.0), "{} deviance", f.name());
        }
    }
}
