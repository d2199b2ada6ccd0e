//! The per-row arithmetic of IRLS and Newton-Raphson and the passes over the rows, for any
//! (family, link) pair (see the module doc of `fit` for the formulas), and the per-pair facts
//! the fit uses, read from the [`Family`] and [`Link`] traits.

use crate::design::Design;
use crate::linalg;
use crate::model::{Family, FamilyKind, Link, LinkKind, ModelSpec};
use ndarray::Array2;

/// Per-observation quantities at a given linear index.
#[derive(Clone, Copy)]
pub(super) struct Obs {
    pub(super) mu: f64,
    pub(super) mu_c: f64,
    pub(super) score: f64,
    pub(super) w_e: f64,
    pub(super) w_o: f64,
    pub(super) dev: f64,
    pub(super) pearson: f64,
}

/// The per-row arithmetic of a (family, link) pair. Generic so that the hot loops are compiled
/// once per common pair with the family and link calls inlined (and what a pass does not use,
/// such as the observed-information weight in a gradient-only pass, optimised away); other
/// pairs use `F = dyn Family`, `L = dyn Link`. Inlining changes no arithmetic (Rust neither
/// reassociates nor contracts floating-point operations), so every path gives the same bits.
pub(super) struct Engine<'a, F: ?Sized, L: ?Sized> {
    pub(super) fam: &'a F,
    pub(super) link: &'a L,
    pub(super) y: &'a [f64],
    pub(super) w: &'a [f64],
    /// `ln(y)` when the link is log and the family's deviance has a `ln(y / mu)` term (gamma):
    /// see [`crate::model::Family::unit_deviance_log_link`].
    pub(super) ln_y: Option<&'a [f64]>,
}

impl<F: crate::model::Family + ?Sized, L: crate::model::Link + ?Sized> Engine<'_, F, L> {
    /// The link's values for a block of rows of a pass (vectorised for probit).
    #[inline(always)]
    pub(super) fn block(&self, eta: &[f64], out: &mut [crate::model::link::LinkValues]) {
        self.link.eval_block(eta, out)
    }
    #[inline(always)]
    pub(super) fn obs(&self, i: usize, eta: f64) -> Obs {
        self.obs_at(i, eta, self.link.eval(eta))
    }
    /// [`Engine::obs`] with the link's values at `eta` given (from [`Engine::block`]).
    #[inline(always)]
    pub(super) fn obs_at(&self, i: usize, eta: f64, lv: crate::model::link::LinkValues) -> Obs {
        let (y, w) = (self.y[i], self.w[i]);
        let crate::model::link::LinkValues { mu, mu_c, d1: h1, d2: h2 } = lv;
        let v = self.fam.variance(mu, mu_c);
        let dv = self.fam.variance_deriv(mu);
        // y - mu, exact when y = 1 and mu is close to 1 (binary models).
        let r = if y == 1.0 { mu_c } else { y - mu };
        let w_e = w * h1 * h1 / v;
        let w_o = w_e - w * r * (h2 * v - h1 * h1 * dv) / (v * v);
        Obs {
            mu,
            mu_c,
            score: w * r * h1 / v,
            w_e,
            w_o,
            dev: w * match self.ln_y {
                Some(ln_y) => self.fam.unit_deviance_log_link(y, ln_y[i], eta, mu, mu_c),
                None => self.fam.unit_deviance(y, mu, mu_c),
            },
            pearson: w * r * r / v,
        }
    }
}

/// The passes over the rows, with the (family, link) pair chosen once per pass rather than
/// once per row (see [`engine`]).
pub(super) trait Rows: Sync {
    fn pass(&self, design: &Design, beta: &[f64], info: Info) -> Pass;
    fn final_pass(&self, design: &Design, beta: &[f64]) -> (Pass, Final);
    /// Every row's quantities at the given linear indices.
    fn all_obs(&self, eta: &[f64]) -> Vec<Obs>;
}

impl<F: crate::model::Family + ?Sized, L: crate::model::Link + ?Sized> Rows for Engine<'_, F, L> {
    fn pass(&self, design: &Design, beta: &[f64], info: Info) -> Pass {
        pass(design, beta, self, info)
    }
    fn final_pass(&self, design: &Design, beta: &[f64]) -> (Pass, Final) {
        final_pass(design, beta, self)
    }
    fn all_obs(&self, eta: &[f64]) -> Vec<Obs> {
        use rayon::prelude::*;
        (0..eta.len()).into_par_iter().map(|i| Engine::obs(self, i, eta[i])).collect()
    }
}

/// The engine of `family` with `link`: compiled for the pair when it is a common one,
/// else through the traits' dynamic dispatch (same arithmetic, same results).
pub(super) fn engine<'a>(
    family: FamilyKind,
    link: LinkKind,
    y: &'a [f64],
    w: &'a [f64],
    ln_y: Option<&'a [f64]>,
) -> Box<dyn Rows + 'a> {
    use crate::model::family as f;
    use crate::model::link as l;
    macro_rules! pairs {
        ($(($fam:ident, $link:ident)),* $(,)?) => {
            match (family, link) {
                $((FamilyKind::$fam, LinkKind::$link) => Box::new(Engine { fam: &f::$fam, link: &l::$link, y, w, ln_y }),)*
                _ => Box::new(Engine { fam: family.family(), link: link.link(), y, w, ln_y }),
            }
        };
    }
    pairs!(
        (Binomial, Probit),
        (Binomial, Logit),
        (Binomial, Cloglog),
        (Poisson, Log),
        (Gamma, Log),
        (Gaussian, Identity),
    )
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Info {
    Expected,
    Observed,
    None,
}

pub(super) struct Pass {
    /// The information matrix of kind `info` (none for `Info::None`).
    pub(super) h: Option<Array2<f64>>,
    pub(super) info: Info,
    pub(super) g: Vec<f64>,
    /// -deviance / 2 (the objective; NaN if a mean left the family's domain).
    pub(super) objective: f64,
    /// Rows (of positive weight) whose mean is within 1e-12 of 0 or of its complement within
    /// 1e-12 of 0: for binary models, fitted probabilities at 0 or 1 (the replicates' check for
    /// perfect prediction); not counted by the final pass.
    pub(super) determined: f64,
}

pub(super) fn objective(dev: f64) -> f64 {
    let objective = -0.5 * dev;
    if objective.is_finite() {
        objective
    } else {
        f64::NAN
    }
}

/// One iteration's pass: score, objective and the information of kind `info`. A pass without
/// information (`Info::None`) is a gradient-only pass, the cost of a Fisher iteration with a
/// constant information.
#[inline(always)]
pub(super) fn pass<F: crate::model::Family + ?Sized, L: crate::model::Link + ?Sized>(
    design: &Design,
    beta: &[f64],
    eng: &Engine<F, L>,
    info: Info,
) -> Pass {
    let x = design.x.view();
    let block = |eta: &[f64], out: &mut [crate::model::link::LinkValues]| eng.block(eta, out);
    // Rows of weight 0 (a replicate's rows not drawn) are skipped: their score, deviance and
    // information weights are multiples of the weight.
    let live = Some(eng.w);
    if info == Info::None {
        let out = linalg::fused_pass_live::<(), _, _, _, 0>(x, Some(beta), live, block, |i, eta, lv| {
            let o = eng.obs_at(i, eta, lv);
            ([], o.score, [o.dev, determined(&o), 0.0, 0.0], ())
        });
        return Pass { h: None, info, g: out.g, objective: objective(out.scalars[0]), determined: out.scalars[1] };
    }
    let out = linalg::fused_pass_live::<(), _, _, _, 1>(x, Some(beta), live, block, |i, eta, lv| {
        let o = eng.obs_at(i, eta, lv);
        let wt = if info == Info::Expected { o.w_e } else { o.w_o };
        ([wt], o.score, [o.dev, determined(&o), 0.0, 0.0], ())
    });
    let [h] = out.h;
    Pass { h: Some(h), info, g: out.g, objective: objective(out.scalars[0]), determined: out.scalars[1] }
}

/// 1 for a row whose mean or its complement is within 1e-12 of 0 (see [`Pass::determined`]).
#[inline(always)]
fn determined(o: &Obs) -> f64 {
    f64::from(u8::from(o.mu < 1e-12 || o.mu_c < 1e-12))
}

/// What the last pass keeps besides its [`Pass`] (whose information is the observed one):
/// every row's linear index and quantities, in row order.
pub(super) struct Final {
    pub(super) rows: Vec<(f64, Obs)>,
}

/// The pass of the last iteration, at what will be the estimates: score and objective (to
/// accept the step), the observed information and every row's linear index and quantities,
/// so nothing is left to compute over the rows afterwards (the expected information, when it
/// is neither the observed one nor constant, is left to [`Fit::eim`]). The sums are the same,
/// in the same order, as those of [`pass`], `xtwx` and `xbeta`.
#[inline(always)]
pub(super) fn final_pass<F: crate::model::Family + ?Sized, L: crate::model::Link + ?Sized>(
    design: &Design,
    beta: &[f64],
    eng: &Engine<F, L>,
) -> (Pass, Final) {
    let x = design.x.view();
    let block = |eta: &[f64], out: &mut [crate::model::link::LinkValues]| eng.block(eta, out);
    let out = linalg::fused_pass_block::<_, _, _, _, 1>(x, Some(beta), block, |i, eta, lv| {
        let o = eng.obs_at(i, eta, lv);
        ([o.w_o], o.score, [o.dev, 0.0, 0.0, 0.0], (eta, o))
    });
    let [oim] = out.h;
    (
        Pass { h: Some(oim), info: Info::Observed, g: out.g, objective: objective(out.scalars[0]), determined: 0.0 },
        Final { rows: out.rows },
    )
}

/// `ln(y)` for the families whose deviance uses it under the log link (gamma), computed once
/// per fit instead of a `ln(y / mu)` per row and pass.
pub(super) fn log_link_ln_y(spec: &ModelSpec, y: &[f64]) -> Option<Vec<f64>> {
    (spec.family.family().log_link_uses_ln_y() && spec.link == LinkKind::Log).then(|| {
        use rayon::prelude::*;
        y.par_iter().map(|v| v.ln()).collect()
    })
}

/// Whether the expected information weight `w h'(eta)^2 / V(mu)` is `w`, free of the
/// estimates. A power link `mu^lambda` (log: lambda = 0) has `h' = mu^(1 - lambda) / lambda`
/// (log: `mu`), so with `V = mu^p` the weight is constant when `p = 2 - 2 lambda`, and equal
/// to `w` when moreover lambda is 0 or ±1: gaussian-identity and gamma-log.
pub(super) fn constant_eim(family: &dyn Family, link: &dyn Link) -> bool {
    match (family.variance_power(), link.power()) {
        (Some(p), Some(l)) => p == 2.0 - 2.0 * l && (l == 0.0 || l.abs() == 1.0),
        _ => false,
    }
}

/// Whether the link is the family's canonical link (then the observed and expected
/// information are the same matrix).
pub(super) fn is_canonical(family: &dyn Family, link: LinkKind) -> bool {
    family.canonical_link() == Some(link)
}
