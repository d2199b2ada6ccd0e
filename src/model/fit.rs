//! The fitting engine, written once against the [`Family`] and [`Link`] traits.
//!
//! Every iteration is one fused pass over the rows (linear index, mean, score, weights and
//! the weighted cross-product together) followed by a K x K solve: `beta += H^{-1} g`, where
//! `H` is the expected information (Fisher scoring, i.e. IRLS) in the first iterations and the
//! observed information (Newton-Raphson) afterwards, with step-halving. Per observation, on
//! the scale of the linear index `eta` with `mu = h(eta)` and prior weight `w`:
//!
//! * score `s = w (y - mu) h'(eta) / V(mu)`
//! * expected-information weight `w_e = w h'(eta)^2 / V(mu)`
//! * observed-information weight `w_o = w_e - w (y - mu) (h'' V - h'^2 V') / V^2`
//!
//! (all with dispersion 1; the dispersion multiplies the model-based variance afterwards).
//! When `w_e` does not depend on the estimates (gamma with log link, gaussian with identity)
//! the expected information is factored once and Fisher iterations cost one gradient pass.

use super::{Family, FamilyKind, Link, LinkKind, ModelKind, ModelSpec, Scale};
use crate::design::{Design, WeightType};
use crate::error::{FitError, Result};
use crate::linalg::{self, spd_solve};
use ndarray::Array2;

/// A coefficient dropped before estimation, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Omitted {
    pub term: String,
    pub reason: String,
}

/// One line of the iteration log.
#[derive(Debug, Clone)]
pub struct Iteration {
    pub iteration: usize,
    pub objective: f64,
    /// `g'H^{-1}g` of the log likelihood: of -deviance/2 divided by the dispersion estimate
    /// deviance/(N-K) for families whose dispersion is free (gaussian, gamma, inverse
    /// gaussian), so that it does not depend on the units of the response. Convergence: below
    /// 1e-12 for a Newton step (the next step's error is then of order 1e-24), 1e-20 for a
    /// Fisher step (linear convergence).
    pub criterion: f64,
    pub method: &'static str,
}

/// A fitted model: estimates plus what every variance estimator and marginal effect needs.
#[derive(Debug, Clone)]
pub struct Fit {
    pub spec: ModelSpec,
    /// The design actually used (collinear columns and perfectly predicted rows removed).
    pub design: Design,
    pub beta: Vec<f64>,
    pub eta: Vec<f64>,
    pub mu: Vec<f64>,
    /// Response as modelled (binary models: 1 for any non-zero value, as Stata).
    pub y: Vec<f64>,
    /// Prior weights (1 without weights).
    pub w: Vec<f64>,
    pub log_likelihood: f64,
    /// Log likelihood of the intercept-only model (binary models with an intercept).
    pub ll_null: Option<f64>,
    pub deviance: f64,
    pub pearson_chi2: f64,
    /// Dispersion used for model-based variances (1 for binomial and Poisson by default).
    pub dispersion: f64,
    /// Number of observations as Stata counts them (sum of fweights, else rows).
    pub n_obs: f64,
    pub df_resid: f64,
    /// Observed information at the estimates, with dispersion 1.
    pub oim: Array2<f64>,
    /// Expected information at the estimates, with dispersion 1: see [`Fit::eim`]. Filled by
    /// the fit when it costs nothing (canonical links, constant expected information), else
    /// on first use (one pass over the rows), since only `--vce eim` needs it.
    eim: std::sync::OnceLock<Array2<f64>>,
    /// Score of each observation on the linear-index scale, `dl_i/deta_i` (dispersion 1,
    /// prior weight included).
    pub score_eta: Vec<f64>,
    pub converged: bool,
    pub iterations: usize,
    pub history: Vec<Iteration>,
    pub omitted: Vec<Omitted>,
    pub notes: Vec<String>,
}

impl Fit {
    /// The expected information `X' W_e X` at the estimates (dispersion 1). Computed on first
    /// call when the fit did not need it; the sums are those the fit's last pass would have
    /// made (same weights, same kernel, same order), so the value does not depend on when it
    /// is computed.
    pub fn eim(&self) -> &Array2<f64> {
        self.eim.get_or_init(|| {
            let eng = engine(self.spec.family, self.spec.link, &self.y, &self.w, None);
            let w_e: Vec<f64> = eng.all_obs(&self.eta).iter().map(|o| o.w_e).collect();
            linalg::xtwx(self.design.x.view(), &w_e)
        })
    }
}

/// Per-observation quantities at a given linear index.
#[derive(Clone, Copy)]
struct Obs {
    mu: f64,
    mu_c: f64,
    score: f64,
    w_e: f64,
    w_o: f64,
    dev: f64,
    pearson: f64,
}

/// The per-row arithmetic of a (family, link) pair. Generic so that the hot loops are compiled
/// once per common pair with the family and link calls inlined (and what a pass does not use,
/// such as the observed-information weight in a gradient-only pass, optimised away); other
/// pairs use `F = dyn Family`, `L = dyn Link`. Inlining changes no arithmetic (Rust neither
/// reassociates nor contracts floating-point operations), so every path gives the same bits.
struct Engine<'a, F: ?Sized, L: ?Sized> {
    fam: &'a F,
    link: &'a L,
    y: &'a [f64],
    w: &'a [f64],
    /// `ln(y)` when the link is log and the family's deviance has a `ln(y / mu)` term (gamma):
    /// see [`super::Family::unit_deviance_log_link`].
    ln_y: Option<&'a [f64]>,
}

impl<F: super::Family + ?Sized, L: super::Link + ?Sized> Engine<'_, F, L> {
    /// The link's values for a block of rows of a pass (vectorised for probit).
    #[inline(always)]
    fn block(&self, eta: &[f64], out: &mut [super::link::LinkValues]) {
        self.link.eval_block(eta, out)
    }
    #[inline(always)]
    fn obs(&self, i: usize, eta: f64) -> Obs {
        self.obs_at(i, eta, self.link.eval(eta))
    }
    /// [`Engine::obs`] with the link's values at `eta` given (from [`Engine::block`]).
    #[inline(always)]
    fn obs_at(&self, i: usize, eta: f64, lv: super::link::LinkValues) -> Obs {
        let (y, w) = (self.y[i], self.w[i]);
        let super::link::LinkValues { mu, mu_c, d1: h1, d2: h2 } = lv;
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
trait Rows: Sync {
    fn pass(&self, design: &Design, beta: &[f64], info: Info) -> Pass;
    fn final_pass(&self, design: &Design, beta: &[f64]) -> (Pass, Final);
    /// Every row's quantities at the given linear indices.
    fn all_obs(&self, eta: &[f64]) -> Vec<Obs>;
}

impl<F: super::Family + ?Sized, L: super::Link + ?Sized> Rows for Engine<'_, F, L> {
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
fn engine<'a>(
    family: FamilyKind,
    link: LinkKind,
    y: &'a [f64],
    w: &'a [f64],
    ln_y: Option<&'a [f64]>,
) -> Box<dyn Rows + 'a> {
    use super::family as f;
    use super::link as l;
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
enum Info {
    Expected,
    Observed,
    None,
}

struct Pass {
    /// The information matrix of kind `info` (none for `Info::None`).
    h: Option<Array2<f64>>,
    info: Info,
    g: Vec<f64>,
    /// -deviance / 2 (the objective; NaN if a mean left the family's domain).
    objective: f64,
}

fn objective(dev: f64) -> f64 {
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
fn pass<F: super::Family + ?Sized, L: super::Link + ?Sized>(
    design: &Design,
    beta: &[f64],
    eng: &Engine<F, L>,
    info: Info,
) -> Pass {
    let x = design.x.view();
    let block = |eta: &[f64], out: &mut [super::link::LinkValues]| eng.block(eta, out);
    if info == Info::None {
        let out = linalg::fused_pass_block::<(), _, _, _, 0>(x, Some(beta), block, |i, eta, lv| {
            let o = eng.obs_at(i, eta, lv);
            ([], o.score, [o.dev, 0.0, 0.0, 0.0], ())
        });
        return Pass { h: None, info, g: out.g, objective: objective(out.scalars[0]) };
    }
    let out = linalg::fused_pass_block::<(), _, _, _, 1>(x, Some(beta), block, |i, eta, lv| {
        let o = eng.obs_at(i, eta, lv);
        let wt = if info == Info::Expected { o.w_e } else { o.w_o };
        ([wt], o.score, [o.dev, 0.0, 0.0, 0.0], ())
    });
    let [h] = out.h;
    Pass { h: Some(h), info, g: out.g, objective: objective(out.scalars[0]) }
}

/// What the last pass keeps besides its [`Pass`] (whose information is the observed one):
/// every row's linear index and quantities, in row order.
struct Final {
    rows: Vec<(f64, Obs)>,
}

/// The pass of the last iteration, at what will be the estimates: score and objective (to
/// accept the step), the observed information and every row's linear index and quantities,
/// so nothing is left to compute over the rows afterwards (the expected information, when it
/// is neither the observed one nor constant, is left to [`Fit::eim`]). The sums are the same,
/// in the same order, as those of [`pass`], `xtwx` and `xbeta`.
#[inline(always)]
fn final_pass<F: super::Family + ?Sized, L: super::Link + ?Sized>(
    design: &Design,
    beta: &[f64],
    eng: &Engine<F, L>,
) -> (Pass, Final) {
    let x = design.x.view();
    let block = |eta: &[f64], out: &mut [super::link::LinkValues]| eng.block(eta, out);
    let out = linalg::fused_pass_block::<_, _, _, _, 1>(x, Some(beta), block, |i, eta, lv| {
        let o = eng.obs_at(i, eta, lv);
        ([o.w_o], o.score, [o.dev, 0.0, 0.0, 0.0], (eta, o))
    });
    let [oim] = out.h;
    (
        Pass { h: Some(oim), info: Info::Observed, g: out.g, objective: objective(out.scalars[0]) },
        Final { rows: out.rows },
    )
}

/// `ln(y)` for the families whose deviance uses it under the log link (gamma), computed once
/// per fit instead of a `ln(y / mu)` per row and pass.
fn log_link_ln_y(spec: &ModelSpec, y: &[f64]) -> Option<Vec<f64>> {
    (spec.family.family().log_link_uses_ln_y() && spec.link == LinkKind::Log).then(|| {
        use rayon::prelude::*;
        y.par_iter().map(|v| v.ln()).collect()
    })
}

/// Whether the expected information weight `w h'(eta)^2 / V(mu)` is `w`, free of the
/// estimates. A power link `mu^lambda` (log: lambda = 0) has `h' = mu^(1 - lambda) / lambda`
/// (log: `mu`), so with `V = mu^p` the weight is constant when `p = 2 - 2 lambda`, and equal
/// to `w` when moreover lambda is 0 or ±1: gaussian-identity and gamma-log.
fn constant_eim(family: &dyn Family, link: &dyn Link) -> bool {
    match (family.variance_power(), link.power()) {
        (Some(p), Some(l)) => p == 2.0 - 2.0 * l && (l == 0.0 || l.abs() == 1.0),
        _ => false,
    }
}

/// Whether the link is the family's canonical link (then the observed and expected
/// information are the same matrix).
fn is_canonical(family: &dyn Family, link: LinkKind) -> bool {
    family.canonical_link() == Some(link)
}

/// Rows listed as file lines, for messages: "lines 5, 9, 17 and 3 more".
fn some_lines(design: &Design, bad: &[usize]) -> String {
    let shown: Vec<String> = bad.iter().take(5).map(|&i| design.lines[i].to_string()).collect();
    let more = if bad.len() > 5 { format!(" and {} more", bad.len() - 5) } else { String::new() };
    format!("line{} {}{}", if bad.len() > 1 { "s" } else { "" }, shown.join(", "), more)
}

/// Fits `spec` on `design`.
pub fn fit(design: Design, spec: &ModelSpec) -> Result<Fit> {
    let checks = Checks::of(&design, spec);
    fit_checked(design, spec, checks)
}

/// What [`fit`] checks on a design as built, before it changes it: the collinearity of the
/// columns and, for binary models, which indicators predict the outcome perfectly. Computed
/// from a borrowed design, so that a caller can run the checks while it prepares something
/// else (the two-part model checks its first part while it gathers the positive rows).
pub struct Checks {
    collinear: Collinear,
    /// Per column, the perfect-prediction tally of binary models ([`indicator_tally`]).
    tally: Option<Vec<Option<[[usize; 2]; 2]>>>,
}

impl Checks {
    pub fn of(design: &Design, spec: &ModelSpec) -> Checks {
        let binary = matches!(spec.kind, ModelKind::Probit | ModelKind::Logit);
        Checks { collinear: collinear_check(design), tally: binary.then(|| indicator_tally(design)) }
    }
}

/// [`fit`] with the [`Checks`] of `design` already made.
pub fn fit_checked(mut design: Design, spec: &ModelSpec, checks: Checks) -> Result<Fit> {
    assert_eq!(checks.collinear.xtwx.nrows(), design.k(), "checks of this design");
    let fam = spec.family.family();
    let link = spec.link.link();
    let mut notes = design.notes.clone();
    let mut omitted = Vec::new();

    // Response as modelled.
    let binary = matches!(spec.kind, ModelKind::Probit | ModelKind::Logit);
    if binary {
        // Stata: any non-zero value of the outcome is a positive outcome.
        design.y.iter_mut().for_each(|v| *v = if *v != 0.0 { 1.0 } else { 0.0 });
        let ones = design.y.iter().filter(|&&v| v == 1.0).count();
        if ones == 0 || ones == design.n() {
            return Err(FitError::ConstantResponse(
                design.response.clone(),
                format!("every one of the {} observations is {}", design.n(), if ones == 0 { "0" } else { "non-zero" }),
            )
            .into());
        }
    } else {
        let bad: Vec<usize> = (0..design.n()).filter(|&i| !fam.valid_y(design.y[i])).collect();
        if !bad.is_empty() {
            return Err(FitError::InvalidResponse(format!(
                "the {} family needs a response that is {}: {} of {} observations of '{}' are not ({}; first value {})",
                fam.name(),
                fam.support(),
                bad.len(),
                design.n(),
                design.response,
                some_lines(&design, &bad),
                crate::data::format_number(design.y[bad[0]])
            ))
            .into());
        }
        let y0 = design.y[0];
        if design.y.iter().all(|&v| v == y0) {
            return Err(FitError::ConstantResponse(
                design.response.clone(),
                format!("every one of the {} observations equals {}", design.n(), crate::data::format_number(y0)),
            )
            .into());
        }
    }
    if binary && design.weight_type == Some(WeightType::Analytic) {
        return Err(crate::error::usage(format!(
            "aweights are not allowed with {} (as in Stata); use fweight or pweight, or --model glm",
            spec.kind.name()
        )));
    }

    let Checks { collinear, tally } = checks;
    let kept = collinear.kept(design.k());
    let mut xtwx_prior = drop_collinear(&mut design, collinear, &mut omitted, &mut notes);
    if binary {
        let n_omitted = omitted.len();
        // Each column's tally depends on that column alone: those of the kept columns.
        let tally = tally.map(|t| kept.iter().map(|&j| t[j]).collect());
        drop_perfect_predictors(&mut design, &mut omitted, &mut notes, tally)?;
        // Dropping rows can make columns collinear; nothing dropped, nothing to recheck.
        if omitted.len() > n_omitted {
            let again = collinear_check(&design);
            xtwx_prior = drop_collinear(&mut design, again, &mut omitted, &mut notes);
        }
    }
    let n = design.n();
    let k = design.k();
    let w: Vec<f64> = design.weights.clone().unwrap_or_else(|| vec![1.0; n]);
    let y = design.y.clone();
    let ln_y = log_link_ln_y(spec, &y);
    let eng = engine(spec.family, spec.link, &y, &w, ln_y.as_deref());

    // Starting values: one IRLS step from mu = start_mu(y).
    let wsum: f64 = w.iter().sum();
    let ybar = y.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() / wsum;
    let start = |yi: f64| {
        let mu0 = fam.start_mu(yi, ybar);
        let eta0 = link.link(mu0);
        (mu0, eta0, link.d_inverse(eta0), fam.variance(mu0, 1.0 - mu0))
    };
    // A binary response takes two values: evaluate the link there once, not once per row
    // (the probit link is a normal quantile).
    let start_binary = binary.then(|| [start(0.0), start(1.0)]);
    let canonical = is_canonical(fam, spec.link);
    let const_eim = constant_eim(fam, link);
    // When the starting weight `we / w` is the same for every row (binary models: the two
    // starting means 1/4 and 3/4 are symmetric; gamma-log and gaussian-identity: `we = w`),
    // X' diag(we) X is that constant times the X' diag(w) X of the collinearity check, and
    // the starting values need only a gradient pass.
    let start_scale = match &start_binary {
        Some([(_, _, h0, v0), (_, _, h1, v1)]) => {
            let (c0, c1) = (h0 * h0 / v0, h1 * h1 / v1);
            ((c0 - c1).abs() <= 1e-14 * c0.abs()).then_some(c0)
        }
        None if const_eim => Some(1.0),
        None => None,
    };
    let start_row = |i: usize| {
        let (mu0, eta0, h1, v) = match &start_binary {
            Some(s) => s[(y[i] == 1.0) as usize],
            None => start(y[i]),
        };
        let we = w[i] * h1 * h1 / v;
        let z = eta0 + (y[i] - mu0) / h1;
        (we, we * z)
    };
    let (h0, g0) = match start_scale {
        Some(c) => {
            let out =
                linalg::fused_pass_rows::<(), _, 0>(design.x.view(), None, |i, _| ([], start_row(i).1, [0.0; 4], ()));
            (xtwx_prior.clone() * c, out.g)
        }
        None => {
            let (h0, g0, _) = linalg::fused_pass(design.x.view(), None, |i, _| {
                let (we, s) = start_row(i);
                (we, s, [0.0; 4])
            });
            (h0, g0)
        }
    };
    let mut beta = spd_solve(&h0, &g0).ok_or_else(|| {
        FitError::Numerical(
            "the starting values could not be computed (singular X'WX): check for columns with no variation".into(),
        )
    })?;

    // A constant expected information is X' diag(w) X, known from the collinearity check.
    let (fixed_eim, mut cur) = if const_eim {
        (Some(xtwx_prior), eng.pass(&design, &beta, Info::None))
    } else {
        (None, eng.pass(&design, &beta, Info::Expected))
    };
    let n_obs = design.n_obs();
    let fixed_dispersion = fam.fixed_scale();
    let crit_scale = |objective: f64| {
        if fixed_dispersion {
            1.0
        } else {
            let df = if n_obs > k as f64 { n_obs - k as f64 } else { n_obs.max(1.0) };
            (-2.0 * objective / df).max(f64::MIN_POSITIVE)
        }
    };
    let mut history = Vec::new();
    let mut converged = false;
    let mut iterations = 0;
    let mut fisher_steps = 0;
    let mut last: Option<Final> = None;
    if cur.objective.is_nan() {
        return Err(FitError::Numerical(format!(
            "the starting values give means outside the domain of the {} family with the {} link",
            fam.name(),
            link.name()
        ))
        .into());
    }
    while iterations < spec.max_iter {
        iterations += 1;
        // Choose the information matrix for this step.
        let (h, method, info_used) = if const_eim {
            (fixed_eim.clone().expect("constant EIM"), "fisher", Info::Expected)
        } else if canonical || fisher_steps < 2 {
            (cur.h.clone().unwrap(), if canonical { "newton" } else { "fisher" }, Info::Expected)
        } else {
            (cur.h.clone().unwrap(), "newton", Info::Observed)
        };
        let step = match spd_solve(&h, &cur.g) {
            Some(s) => s,
            None if info_used == Info::Observed => {
                // Observed information not positive definite here: take a Fisher step.
                let he = eng.pass(&design, &beta, Info::Expected).h.unwrap();
                spd_solve(&he, &cur.g)
                    .ok_or_else(|| FitError::Numerical("the information matrix is singular".into()))?
            }
            None => return Err(FitError::Numerical("the information matrix is singular".into()).into()),
        };
        // g'H^{-1} g of the log likelihood: the objective is -deviance/2 at dispersion 1, so
        // divide by the dispersion (estimated from the current deviance where it is free).
        // Without this the criterion scales with the square of the response's units: a
        // gaussian model of amounts in yuan never reached the threshold (rounding noise of
        // 3e-17 against 1e-20) and one of small numbers stopped early.
        let crit: f64 = step.iter().zip(&cur.g).map(|(a, b)| a * b).sum::<f64>() / crit_scale(cur.objective);
        history.push(Iteration { iteration: iterations, objective: cur.objective, criterion: crit, method });
        if method == "fisher" {
            fisher_steps += 1;
        }
        let newton = method == "newton";
        // Quadratic convergence: once g'H^{-1}g < 1e-12, the next Newton step leaves an error
        // of order 1e-24; Fisher scoring converges linearly, so it must get further.
        let done = if newton { crit.abs() < 1e-12 } else { crit.abs() < 1e-20 };
        let next_info = if const_eim {
            Info::None
        } else if canonical || fisher_steps < 2 {
            Info::Expected
        } else {
            Info::Observed
        };
        // Step-halving on the objective. The step that converges lands on the estimates, so
        // its pass also computes everything the fit result needs there.
        let mut t = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + t * s).collect();
            let (p, fin) = if done {
                let (p, fin) = eng.final_pass(&design, &cand);
                (p, Some(fin))
            } else {
                (eng.pass(&design, &cand, next_info), None)
            };
            if !p.objective.is_nan() && p.objective >= cur.objective - 1e-12 * cur.objective.abs().max(1.0) {
                accepted = Some((cand, p, fin));
                break;
            }
            t *= 0.5;
        }
        match accepted {
            Some((b, p, fin)) => {
                beta = b;
                cur = p;
                last = fin;
            }
            None => {
                if crit.abs() < 1e-8 {
                    // No improvement possible within rounding: at the maximum.
                    converged = true;
                    break;
                }
                if !spec.keep_going {
                    return Err(not_converged(iterations, &history));
                }
                break;
            }
        }
        if done {
            converged = true;
            break;
        }
    }
    if !converged && !spec.keep_going {
        return Err(not_converged(iterations, &history));
    }
    if beta.iter().any(|b| !b.is_finite()) {
        return Err(FitError::Numerical("the estimates are not finite".into()).into());
    }

    // Final quantities at the estimates. The observed information is that of the last pass
    // when that pass computed it (Newton finishes at the estimates); the expected information
    // is constant for some models and equal to the observed one for canonical links.
    let rows: Vec<(f64, Obs)> = match last {
        Some(fin) => fin.rows,
        None => {
            let eta = linalg::xbeta(design.x.view(), &beta);
            let obs = eng.all_obs(&eta);
            eta.into_iter().zip(obs).collect()
        }
    };
    let obs = || rows.iter().map(|(_, o)| o);
    let oim = match cur.h.take() {
        Some(h) if cur.info == Info::Observed => h,
        _ => linalg::xtwx(design.x.view(), &obs().map(|o| o.w_o).collect::<Vec<_>>()),
    };
    let eim = std::sync::OnceLock::new();
    if canonical {
        eim.set(oim.clone()).expect("empty");
    } else if let Some(h) = fixed_eim {
        eim.set(h).expect("empty");
    }
    // Both sums in one read of the rows, each in row order.
    let (deviance, pearson_chi2) = obs().fold((-0.0, -0.0), |(d, p), o| (d + o.dev, p + o.pearson));
    let df_resid = n_obs - k as f64;
    let dispersion = match spec.scale_rule() {
        Scale::Pearson => pearson_chi2 / df_resid,
        Scale::Deviance => deviance / df_resid,
        Scale::Fixed(v) => v,
    };
    // The per-row vectors the fit keeps, each gathered from the rows in parallel.
    let column = |f: fn(&(f64, Obs)) -> f64| -> Vec<f64> {
        use rayon::prelude::*;
        rows.par_iter().map(f).collect()
    };
    let mu = column(|(_, o)| o.mu);
    let log_likelihood = log_likelihood(spec, &y, &rows, &w, n_obs);
    let ll_null = if binary && design.names.iter().any(|s| s == "(Intercept)") {
        let p = ybar_weighted(&y, &w);
        let (ln1, ln0) = (p.ln(), (1.0 - p).ln());
        Some(y.iter().zip(&w).map(|(&yi, &wi)| wi * if yi == 1.0 { ln1 } else { ln0 }).sum())
    } else {
        None
    };
    if binary {
        let determined = mu.iter().filter(|&&m| !(1e-12..=1.0 - 1e-12).contains(&m)).count();
        if determined > 0 {
            notes.push(format!(
                "{determined} observations completely determined (fitted probability within 1e-12 of 0 or 1); standard errors may be questionable"
            ));
        }
    }
    // The engine borrows y and w: done with it, they move into the fit (no copies).
    drop(eng);
    Ok(Fit {
        spec: spec.clone(),
        beta,
        eta: column(|&(e, _)| e),
        mu,
        y,
        w,
        log_likelihood,
        ll_null,
        deviance,
        pearson_chi2,
        dispersion,
        n_obs,
        df_resid,
        oim,
        eim,
        score_eta: column(|(_, o)| o.score),
        converged,
        iterations,
        history,
        omitted,
        notes,
        design,
    })
}

fn ybar_weighted(y: &[f64], w: &[f64]) -> f64 {
    y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / w.iter().sum::<f64>()
}

/// The log likelihood Stata reports for `glm` (and `probit`/`logit`):
///
/// * gamma and inverse gaussian: evaluated at dispersion 1 (Stata's `e(ll)`; R's `logLik`
///   uses the estimated dispersion instead, so the two differ by a constant);
/// * gaussian: at the maximum-likelihood variance, deviance / N;
/// * binomial and Poisson: the full log likelihood (Poisson includes `-log y!`).
///
/// Every weight type multiplies each observation's log likelihood (with pweights this is
/// Stata's log pseudolikelihood; aweights are already rescaled to sum to N).
/// Evidence: Stata results stored in statsmodels' test suite; see tests/golden/CONVENTIONS.md.
fn log_likelihood(spec: &ModelSpec, y: &[f64], rows: &[(f64, Obs)], w: &[f64], n_obs: f64) -> f64 {
    use rayon::prelude::*;
    let fam = spec.family.family();
    let phi_ll = if fam.loglik_at_ml_dispersion() {
        let dev: f64 = y.iter().zip(rows).zip(w).map(|((yi, (_, o)), wi)| wi * (yi - o.mu) * (yi - o.mu)).sum();
        dev / n_obs
    } else {
        1.0
    };
    // Each row's term in parallel (a logarithm or more per row), then added in row order: the
    // same sum, bit for bit, as a serial loop.
    let terms: Vec<f64> =
        (y, rows, w).into_par_iter().map(|(&yi, (_, o), &wi)| wi * fam.loglik(yi, o.mu, o.mu_c, 1.0, phi_ll)).collect();
    terms.iter().sum()
}

fn not_converged(iterations: usize, history: &[Iteration]) -> crate::Error {
    let mut h =
        String::from("iteration history (objective = -deviance/2, criterion = g'H^-1 g / dispersion estimate):\n");
    for it in history.iter().rev().take(10).collect::<Vec<_>>().into_iter().rev() {
        h.push_str(&format!(
            "  iteration {:>3} ({}): objective = {:.10e}, criterion = {:.3e}\n",
            it.iteration, it.method, it.objective, it.criterion
        ));
    }
    h.push_str("use --max-iter to allow more iterations, or --keep-going to report the last estimates");
    FitError::NotConverged { iterations, history: h }.into()
}

/// The collinearity check of a design's columns: the uncentred `X' diag(w) X` and the columns
/// to drop.
struct Collinear {
    xtwx: Array2<f64>,
    dropped: Vec<usize>,
}

impl Collinear {
    /// The columns that stay, of `k`.
    fn kept(&self, k: usize) -> Vec<usize> {
        (0..k).filter(|j| !self.dropped.contains(j)).collect()
    }
}

/// Finds the columns that are linear combinations of earlier ones (prior-weighted, centred when
/// the model has an intercept), like Stata's "omitted because of collinearity".
///
/// Returns them with the uncentred `X' diag(w) X` of all the columns (prior weights `w`;
/// [`drop_collinear`] keeps the rows and columns of the kept ones), which the check computes
/// anyway: with an intercept it is `C + s s' / sum(w)` from the centred `C`
/// and the weighted column sums `s` (adding, not cancelling, so accurate to rounding). The fit
/// uses it for the starting values and as the constant expected information of gamma-log and
/// gaussian models, instead of a further pass over the rows.
fn collinear_check(design: &Design) -> Collinear {
    let k = design.k();
    let n = design.n();
    let w: Vec<f64> = design.weights.clone().unwrap_or_else(|| vec![1.0; n]);
    let intercept = design.names.iter().position(|s| s == "(Intercept)");
    let (c, xtwx) = match intercept {
        Some(ic) => {
            let wsum: f64 = w.iter().sum();
            let mut sums = vec![0.0; k];
            let xs = design.x.as_slice().expect("row-major");
            for (xi, &wi) in xs.chunks_exact(k.max(1)).zip(&w) {
                for (m, &v) in sums.iter_mut().zip(xi) {
                    *m += wi * v;
                }
            }
            let means: Vec<f64> = sums.iter().map(|m| m / wsum).collect();
            let mut c = linalg::centered_xtwx(design.x.view(), &w, &means);
            let mut u = c.clone();
            for a in 0..k {
                for b in 0..k {
                    u[[a, b]] = if a == ic && b == ic {
                        wsum
                    } else if a == ic {
                        sums[b]
                    } else if b == ic {
                        sums[a]
                    } else {
                        c[[a, b]] + sums[a] * sums[b] / wsum
                    };
                }
            }
            // The intercept keeps its place first with unit "variance".
            for j in 0..k {
                c[[ic, j]] = 0.0;
                c[[j, ic]] = 0.0;
            }
            c[[ic, ic]] = 1.0;
            (c, u)
        }
        None => {
            let c = linalg::xtwx(design.x.view(), &w);
            (c.clone(), c)
        }
    };
    let dropped = linalg::collinear_columns(&c, 1e-11);
    Collinear { xtwx, dropped }
}

/// Drops the columns of the check, with notes; returns `X' diag(w) X` of the kept columns.
fn drop_collinear(
    design: &mut Design,
    check: Collinear,
    omitted: &mut Vec<Omitted>,
    notes: &mut Vec<String>,
) -> Array2<f64> {
    let k = design.k();
    let keep = check.kept(k);
    let Collinear { xtwx, dropped } = check;
    if dropped.is_empty() {
        return xtwx;
    }
    for &j in &dropped {
        let term = design.names[j].clone();
        notes.push(format!("{term} omitted because of collinearity"));
        omitted.push(Omitted { term, reason: "collinearity".into() });
    }
    design.select_columns(&keep);
    Array2::from_shape_fn((keep.len(), keep.len()), |(a, b)| xtwx[[keep[a], keep[b]]])
}

/// For each column made only of zeros and ones, the number of rows with each value and each
/// outcome (`[value][outcome]`), in one pass over the rows; `None` for other columns.
///
/// Branch-free: each row adds its comparisons `x == 1` and `x == 0` to the counters of its
/// outcome (a column is binary when the two counts cover every row), so indicators whose values
/// alternate unpredictably cost no mispredicted branches and the loop over the columns vectorises.
fn indicator_tally(design: &Design) -> Vec<Option<[[usize; 2]; 2]>> {
    use rayon::prelude::*;
    let k = design.k();
    let xs = design.x.as_slice().expect("row-major");
    // counts[(value * 2 + outcome) * k + j]
    let empty = || vec![0u64; 4 * k];
    let counts = xs
        .par_chunks(k.max(1) * linalg::CHUNK)
        .zip(design.y.par_chunks(linalg::CHUNK))
        .fold(empty, |mut counts, (block, ys)| {
            let (zeros, ones) = counts.split_at_mut(2 * k);
            for (xi, &y) in block.chunks_exact(k.max(1)).zip(ys) {
                // Outcome as binary models code it: non-zero is a success (after the
                // recoding in `fit`, y == 1).
                let o = usize::from(y != 0.0) * k;
                let (z, u) = (&mut zeros[o..o + k], &mut ones[o..o + k]);
                for ((z, u), &v) in z.iter_mut().zip(u.iter_mut()).zip(xi) {
                    *z += u64::from(v == 0.0);
                    *u += u64::from(v == 1.0);
                }
            }
            counts
        })
        .reduce(empty, |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        });
    let n = design.n() as u64;
    let at = |value: usize, outcome: usize, j: usize| counts[(value * 2 + outcome) * k + j] as usize;
    (0..k)
        .map(|j| {
            let total: u64 = (0..4).map(|c| counts[c * k + j]).sum();
            (total == n).then(|| [[at(0, 0, j), at(0, 1, j)], [at(1, 0, j), at(1, 1, j)]])
        })
        .collect()
}

/// Stata's check for binary models: an indicator column for which one of its values occurs
/// only with one outcome predicts that outcome perfectly; Stata drops the column and the
/// observations it predicts, with a note. We do the same.
///
/// `first` is the tally of the design as given, when already made ([`Checks`]).
fn drop_perfect_predictors(
    design: &mut Design,
    omitted: &mut Vec<Omitted>,
    notes: &mut Vec<String>,
    mut first: Option<Vec<Option<[[usize; 2]; 2]>>>,
) -> Result<()> {
    loop {
        let n = design.n();
        let tally = first.take().unwrap_or_else(|| indicator_tally(design));
        let mut found = None;
        for j in 0..design.k() {
            if design.names[j] == "(Intercept)" {
                continue;
            }
            let Some(counts) = tally[j] else {
                continue;
            };
            for val in [1.0, 0.0] {
                // counts[value][outcome]
                let [n0, n1] = counts[(val == 1.0) as usize];
                if n0 + n1 > 0 && (n0 == 0 || n1 == 0) && n0 + n1 < n {
                    found = Some((j, val, n0 + n1, if n1 == 0 { "failure" } else { "success" }));
                    break;
                }
            }
            if found.is_some() {
                break;
            }
        }
        let Some((j, val, count, outcome)) = found else {
            return Ok(());
        };
        let term = design.names[j].clone();
        let cond = if val == 1.0 { "!= 0" } else { "== 0" };
        notes.push(format!("{term} {cond} predicts {outcome} perfectly; {term} dropped and {count} obs not used"));
        omitted.push(Omitted { term: term.clone(), reason: format!("{term} {cond} predicts {outcome} perfectly") });
        let keep_rows: Vec<bool> = (0..n).map(|i| design.x[[i, j]] != val).collect();
        design.select_rows(&keep_rows);
        let keep_cols: Vec<usize> = (0..design.k()).filter(|&c| c != j).collect();
        design.select_columns(&keep_cols);
        let ones = design.y.iter().filter(|&&v| v == 1.0).count();
        if ones == 0 || ones == design.n() {
            return Err(FitError::Separation(format!(
                "after dropping {term}, the outcome '{}' no longer varies",
                design.response
            ))
            .into());
        }
    }
}

/// One Newton-Raphson iteration of `spec` on `design` at `beta`, exactly as [`fit`] runs it
/// after its Fisher-scoring start: one fused pass over the rows for the score `X's` and the
/// observed information `X' W_o X` (dispersion 1), then the solve `H^{-1} g`. Returns the step
/// and `-deviance/2` at `beta`. The response is used as given (no 0/1 recoding), and `None`
/// means the observed information is not positive definite at `beta`.
///
/// Exposed for the benchmarks (the cost of an iteration against one `X'WX` product) and for
/// checking analytic derivatives against numerical ones.
pub fn newton_iteration(design: &Design, spec: &ModelSpec, beta: &[f64]) -> Option<(Vec<f64>, f64)> {
    let n = design.n();
    let w: Vec<f64> = design.weights.clone().unwrap_or_else(|| vec![1.0; n]);
    let ln_y = log_link_ln_y(spec, &design.y);
    let eng = engine(spec.family, spec.link, &design.y, &w, ln_y.as_deref());
    let p = eng.pass(design, beta, Info::Observed);
    let step = spd_solve(p.h.as_ref().expect("observed information"), &p.g)?;
    Some((step, p.objective))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILIES: [FamilyKind; 5] = [
        FamilyKind::Gaussian,
        FamilyKind::Binomial,
        FamilyKind::Poisson,
        FamilyKind::Gamma,
        FamilyKind::InverseGaussian,
    ];
    const LINKS: [LinkKind; 6] =
        [LinkKind::Identity, LinkKind::Log, LinkKind::Logit, LinkKind::Probit, LinkKind::Cloglog, LinkKind::Inverse];

    /// The per-pair facts the traits give are the pairs the fit was written for.
    #[test]
    fn family_link_facts() {
        use FamilyKind as F;
        use LinkKind as L;
        for f in FAMILIES {
            for l in LINKS {
                let canonical = matches!(
                    (f, l),
                    (F::Gaussian, L::Identity) | (F::Binomial, L::Logit) | (F::Poisson, L::Log) | (F::Gamma, L::Inverse)
                );
                assert_eq!(is_canonical(f.family(), l), canonical, "{f:?} {l:?}");
                let constant = matches!((f, l), (F::Gamma, L::Log) | (F::Gaussian, L::Identity));
                assert_eq!(constant_eim(f.family(), l.link()), constant, "{f:?} {l:?}");
            }
        }
        // The expected weight h'^2 / V is 1 where it is said to be constant.
        for (f, l) in [(F::Gamma, L::Log), (F::Gaussian, L::Identity)] {
            for eta in [-1.3, 0.2, 2.5] {
                let lv = l.link().eval(eta);
                assert!((lv.d1 * lv.d1 / f.family().variance(lv.mu, lv.mu_c) - 1.0).abs() < 1e-15);
            }
        }
        let fixed: Vec<_> = FAMILIES.into_iter().filter(|f| f.family().fixed_scale()).collect();
        assert_eq!(fixed, [F::Binomial, F::Poisson]);
        assert_eq!(FAMILIES.map(|f| f.default_link()), [L::Identity, L::Logit, L::Log, L::Inverse, L::Log]);
    }
}
