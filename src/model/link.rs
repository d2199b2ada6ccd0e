//! Link functions `eta = g(mu)`, written through the inverse `mu = h(eta)` and its first two
//! derivatives, which is what scores, observed information and marginal effects need.

use crate::stats::{norm_cdf, norm_pdf, norm_tails};

/// A link function. `inverse_complement` returns `1 - h(eta)` computed without cancellation
/// (needed by binary models far in the tails).
pub trait Link: Send + Sync {
    fn name(&self) -> &'static str;
    /// `g(mu)`.
    fn link(&self, mu: f64) -> f64;
    /// `h(eta) = g^{-1}(eta)`.
    fn inverse(&self, eta: f64) -> f64;
    /// `1 - h(eta)`.
    fn inverse_complement(&self, eta: f64) -> f64 {
        1.0 - self.inverse(eta)
    }
    /// `h'(eta) = dmu/deta`.
    fn d_inverse(&self, eta: f64) -> f64;
    /// `h''(eta)`.
    fn d2_inverse(&self, eta: f64) -> f64;
    /// `λ` when the link is the power link `g(μ) = μ^λ`, with the log link as `λ = 0`
    /// (identity 1, log 0, inverse -1); `None` for other links.
    fn power(&self) -> Option<f64> {
        None
    }
    /// [`Link::eval`] for each element of `eta` (a block of rows of a fit's pass): the same
    /// values; links with a vectorised form (probit) override it.
    fn eval_block(&self, eta: &[f64], out: &mut [LinkValues]) {
        for (o, &e) in out.iter_mut().zip(eta) {
            *o = self.eval(e);
        }
    }
    /// `h`, `1 - h`, `h'` and `h''` at `eta` together: what the fitting loop needs for every
    /// observation in every iteration. Links override it when the four share work (one
    /// exponential instead of four for the log link, one exponential instead of five for probit).
    #[inline]
    fn eval(&self, eta: f64) -> LinkValues {
        LinkValues {
            mu: self.inverse(eta),
            mu_c: self.inverse_complement(eta),
            d1: self.d_inverse(eta),
            d2: self.d2_inverse(eta),
        }
    }
}

/// The inverse link and its derivatives at one linear index (see [`Link::eval`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkValues {
    /// `h(eta)`.
    pub mu: f64,
    /// `1 - h(eta)`, without cancellation.
    pub mu_c: f64,
    /// `h'(eta)`.
    pub d1: f64,
    /// `h''(eta)`.
    pub d2: f64,
}

/// The links migfit knows, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    Identity,
    Log,
    Logit,
    Probit,
    Cloglog,
    Inverse,
}

impl LinkKind {
    pub fn parse(s: &str) -> Option<LinkKind> {
        Some(match s {
            "identity" => LinkKind::Identity,
            "log" => LinkKind::Log,
            "logit" => LinkKind::Logit,
            "probit" => LinkKind::Probit,
            "cloglog" => LinkKind::Cloglog,
            "inverse" | "reciprocal" | "power-1" => LinkKind::Inverse,
            _ => return None,
        })
    }

    pub fn link(self) -> &'static dyn Link {
        match self {
            LinkKind::Identity => &Identity,
            LinkKind::Log => &Log,
            LinkKind::Logit => &Logit,
            LinkKind::Probit => &Probit,
            LinkKind::Cloglog => &Cloglog,
            LinkKind::Inverse => &Inverse,
        }
    }

    pub fn name(self) -> &'static str {
        self.link().name()
    }
}

pub struct Identity;
pub struct Log;
pub struct Logit;
pub struct Probit;
pub struct Cloglog;
pub struct Inverse;

impl Link for Identity {
    fn name(&self) -> &'static str {
        "identity"
    }
    fn power(&self) -> Option<f64> {
        Some(1.0)
    }
    fn link(&self, mu: f64) -> f64 {
        mu
    }
    fn inverse(&self, eta: f64) -> f64 {
        eta
    }
    fn d_inverse(&self, _: f64) -> f64 {
        1.0
    }
    fn d2_inverse(&self, _: f64) -> f64 {
        0.0
    }
}

impl Link for Log {
    fn name(&self) -> &'static str {
        "log"
    }
    fn power(&self) -> Option<f64> {
        Some(0.0)
    }
    fn link(&self, mu: f64) -> f64 {
        mu.ln()
    }
    fn inverse(&self, eta: f64) -> f64 {
        eta.exp()
    }
    fn d_inverse(&self, eta: f64) -> f64 {
        eta.exp()
    }
    fn d2_inverse(&self, eta: f64) -> f64 {
        eta.exp()
    }
    fn eval(&self, eta: f64) -> LinkValues {
        let e = eta.exp();
        LinkValues { mu: e, mu_c: 1.0 - e, d1: e, d2: e }
    }
}

impl Link for Logit {
    fn name(&self) -> &'static str {
        "logit"
    }
    fn link(&self, mu: f64) -> f64 {
        (mu / (1.0 - mu)).ln()
    }
    fn inverse(&self, eta: f64) -> f64 {
        1.0 / (1.0 + (-eta).exp())
    }
    fn inverse_complement(&self, eta: f64) -> f64 {
        1.0 / (1.0 + eta.exp())
    }
    fn d_inverse(&self, eta: f64) -> f64 {
        self.inverse(eta) * self.inverse_complement(eta)
    }
    fn d2_inverse(&self, eta: f64) -> f64 {
        let (p, q) = (self.inverse(eta), self.inverse_complement(eta));
        p * q * (q - p)
    }
    fn eval(&self, eta: f64) -> LinkValues {
        let (p, q) = (self.inverse(eta), self.inverse_complement(eta));
        LinkValues { mu: p, mu_c: q, d1: p * q, d2: p * q * (q - p) }
    }
}

impl Link for Probit {
    fn name(&self) -> &'static str {
        "probit"
    }
    fn link(&self, mu: f64) -> f64 {
        crate::stats::norm_quantile(mu)
    }
    fn inverse(&self, eta: f64) -> f64 {
        norm_cdf(eta)
    }
    fn inverse_complement(&self, eta: f64) -> f64 {
        norm_tails(eta).upper
    }
    fn d_inverse(&self, eta: f64) -> f64 {
        norm_pdf(eta)
    }
    fn d2_inverse(&self, eta: f64) -> f64 {
        -eta * norm_pdf(eta)
    }
    /// One call of [`norm_tails`]: one exponential for the density and both tails (the
    /// same values [`Link::inverse`], [`Link::inverse_complement`] and [`Link::d_inverse`]
    /// return); one density evaluation serves `h'` and `h''`.
    fn eval(&self, eta: f64) -> LinkValues {
        let t = norm_tails(eta);
        LinkValues { mu: t.lower, mu_c: t.upper, d1: t.pdf, d2: -eta * t.pdf }
    }
    /// [`crate::stats::norm_tails_batch`] in pieces of 64: the same bits as [`Link::eval`].
    fn eval_block(&self, eta: &[f64], out: &mut [LinkValues]) {
        const B: usize = 64;
        for (e, o) in eta.chunks(B).zip(out.chunks_mut(B)) {
            let m = e.len();
            let (mut lo, mut up, mut pd) = ([0.0; B], [0.0; B], [0.0; B]);
            crate::stats::norm_tails_batch(e, &mut lo[..m], &mut up[..m], &mut pd[..m]);
            for j in 0..m {
                o[j] = LinkValues { mu: lo[j], mu_c: up[j], d1: pd[j], d2: -e[j] * pd[j] };
            }
        }
    }
}

impl Link for Cloglog {
    fn name(&self) -> &'static str {
        "cloglog"
    }
    fn link(&self, mu: f64) -> f64 {
        (-(-mu).ln_1p()).ln()
    }
    fn inverse(&self, eta: f64) -> f64 {
        -(-eta.exp()).exp_m1()
    }
    fn inverse_complement(&self, eta: f64) -> f64 {
        (-eta.exp()).exp()
    }
    fn d_inverse(&self, eta: f64) -> f64 {
        (eta - eta.exp()).exp()
    }
    fn d2_inverse(&self, eta: f64) -> f64 {
        (eta - eta.exp()).exp() * (1.0 - eta.exp())
    }
    fn eval(&self, eta: f64) -> LinkValues {
        let e = eta.exp();
        let d1 = (eta - e).exp();
        LinkValues { mu: -(-e).exp_m1(), mu_c: (-e).exp(), d1, d2: d1 * (1.0 - e) }
    }
}

impl Link for Inverse {
    fn name(&self) -> &'static str {
        "inverse"
    }
    fn power(&self) -> Option<f64> {
        Some(-1.0)
    }
    fn link(&self, mu: f64) -> f64 {
        1.0 / mu
    }
    fn inverse(&self, eta: f64) -> f64 {
        1.0 / eta
    }
    fn d_inverse(&self, eta: f64) -> f64 {
        -1.0 / (eta * eta)
    }
    fn d2_inverse(&self, eta: f64) -> f64 {
        2.0 / (eta * eta * eta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [LinkKind; 6] =
        [LinkKind::Identity, LinkKind::Log, LinkKind::Logit, LinkKind::Probit, LinkKind::Cloglog, LinkKind::Inverse];

    fn domain(kind: LinkKind, t: f64) -> f64 {
        // Map t in (0,1) into a sensible eta for each link.
        match kind {
            LinkKind::Inverse => 0.2 + 3.0 * t,
            _ => -4.0 + 8.0 * t,
        }
    }

    proptest! {
        #[test]
        fn inverse_round_trips(t in 0.001f64..0.999) {
            for kind in ALL {
                let l = kind.link();
                // mu -> eta -> mu over the whole open range of the mean ...
                let mu = match kind {
                    LinkKind::Logit | LinkKind::Probit | LinkKind::Cloglog => t,
                    _ => 0.1 + 5.0 * t,
                };
                let back = l.inverse(l.link(mu));
                prop_assert!((back - mu).abs() <= 1e-13 * mu, "{} mu {} {}", l.name(), mu, back);
                // ... and eta -> mu -> eta where mu is not within rounding of a bound.
                let eta = domain(kind, t).clamp(-3.0, 3.0);
                let eta = if kind == LinkKind::Cloglog { eta.min(1.5) } else { eta };
                let back = l.link(l.inverse(eta));
                prop_assert!((back - eta).abs() <= 1e-10 * eta.abs().max(1.0), "{} eta {} {}", l.name(), eta, back);
            }
        }

        #[test]
        fn derivatives_match_numerical(t in 0.01f64..0.99) {
            for kind in ALL {
                let l = kind.link();
                let eta = domain(kind, t);
                let h = 1e-5;
                let d1 = (l.inverse(eta + h) - l.inverse(eta - h)) / (2.0 * h);
                let d2 = (l.d_inverse(eta + h) - l.d_inverse(eta - h)) / (2.0 * h);
                prop_assert!((d1 - l.d_inverse(eta)).abs() <= 1e-7 * d1.abs().max(1e-3), "{} h'", l.name());
                prop_assert!((d2 - l.d2_inverse(eta)).abs() <= 1e-6 * d2.abs().max(1e-3), "{} h''", l.name());
                let c = l.inverse_complement(eta);
                prop_assert!((c - (1.0 - l.inverse(eta))).abs() <= 1e-12, "{} complement", l.name());
            }
        }

        /// `eval` gives exactly what the four separate methods give.
        #[test]
        fn eval_matches_separate_methods(eta in -12.0f64..12.0) {
            for kind in ALL {
                let l = kind.link();
                let eta = if kind == LinkKind::Inverse { eta.abs() + 0.1 } else { eta };
                let v = l.eval(eta);
                prop_assert_eq!(v.mu, l.inverse(eta), "{} mu", l.name());
                prop_assert_eq!(v.mu_c, l.inverse_complement(eta), "{} mu_c", l.name());
                prop_assert_eq!(v.d1, l.d_inverse(eta), "{} h'", l.name());
                prop_assert_eq!(v.d2, l.d2_inverse(eta), "{} h''", l.name());
            }
        }
    }
}
