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
//!
//! Files: `engine` (per-row arithmetic and passes), `checks` (collinearity and perfect
//! prediction), `result` (the [`Fit`]).

mod checks;
mod engine;
mod firth;
mod refit;
mod result;
pub mod separation;

pub use checks::Checks;
pub use refit::{RefitFailure, Refitter};
pub use result::{Fit, Iteration, Omitted};

use super::{ModelKind, ModelSpec, Scale};
use crate::design::{Design, WeightType};
use crate::error::{FitError, Result};
use crate::linalg::{self, spd_solve};
use checks::*;
use engine::*;

/// Fits `spec` on `design`.
pub fn fit(design: Design, spec: &ModelSpec) -> Result<Fit> {
    let checks = Checks::of(&design, spec);
    fit_checked(design, spec, checks)
}

/// [`fit`] with the [`Checks`] of `design` already made.
///
/// Separation (Konis's linear program, [`separation`]) costs more than the fit itself on a
/// large sample (1.5 s and 195 MB on 200,000 rows in a debug build), while a fit that converges
/// to finite estimates with no fitted probability at 0 or 1 proves that the data overlap (the
/// maximum-likelihood estimate exists exactly when no separating direction does: Albert and
/// Anderson 1984). So the program runs before the fit only with `--firth` (whose note names the
/// separation), and otherwise after a binomial fit that fails or leaves observations
/// completely determined: then a separation found is the error reported, named.
pub fn fit_checked(design: Design, spec: &ModelSpec, checks: Checks) -> Result<Fit> {
    let mut slot = Some(design);
    if spec.family != super::FamilyKind::Binomial || spec.firth {
        return fit_inner(&mut slot, spec, checks, true);
    }
    match fit_inner(&mut slot, spec, checks, false) {
        Ok(f) if f.notes.iter().any(|n| n.contains(DETERMINED)) => match separation_error(&f.design)? {
            Some(e) => Err(e),
            None => Ok(f),
        },
        Ok(f) => Ok(f),
        // A failed fit leaves its design as checked (recoded, columns and rows dropped).
        Err(e) => match slot.as_ref() {
            Some(d) if matches!(e, crate::Error::Fit(FitError::Numerical(_) | FitError::NotConverged { .. })) => {
                Err(separation_error(d)?.unwrap_or(e))
            }
            _ => Err(e),
        },
    }
}

/// The named error of a separated design, if it is separated.
fn separation_error(design: &Design) -> Result<Option<crate::Error>> {
    Ok(separation::detect(design)
        .map_err(FitError::Numerical)?
        .map(|sep| FitError::Separation(separation::message(design, &sep)).into()))
}

/// The wording of the note on completely determined observations (what makes [`fit_checked`]
/// look for separation after the fit).
const DETERMINED: &str = "observations completely determined";

/// The fit; the linear program for separation runs before it when `lp_first`. `slot` holds
/// the design: taken into the fit, or left (as checked) when the fit fails.
fn fit_inner(slot: &mut Option<Design>, spec: &ModelSpec, checks: Checks, lp_first: bool) -> Result<Fit> {
    let design: &mut Design = slot.as_mut().expect("a design");
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
            "aweights are not allowed with {} (as in Stata); use fweight or pweight, or the glm model",
            spec.kind.name()
        )));
    }

    let Checks { collinear, tally } = checks;
    let kept = collinear.kept(design.k());
    let mut xtwx_prior = drop_collinear(design, collinear, &mut omitted, &mut notes);
    // With Firth's estimates every column stays (they are finite under separation).
    if binary && !spec.firth {
        let n_omitted = omitted.len();
        // Each column's tally depends on that column alone: those of the kept columns.
        let tally = tally.map(|t| kept.iter().map(|&j| t[j]).collect());
        drop_perfect_predictors(design, &mut omitted, &mut notes, tally)?;
        // Dropping rows can make columns collinear; nothing dropped, nothing to recheck.
        if omitted.len() > n_omitted {
            let again = collinear_check(&design);
            xtwx_prior = drop_collinear(design, again, &mut omitted, &mut notes);
        }
    }
    if spec.family == super::FamilyKind::Binomial && lp_first {
        if let Some(sep) = separation::detect(&design).map_err(FitError::Numerical)? {
            if spec.firth {
                notes.push(format!(
                    "{}; Firth's estimates are finite",
                    separation::message(&design, &sep).split("; drop or recode").next().unwrap_or_default()
                ));
            } else {
                return Err(FitError::Separation(separation::message(&design, &sep)).into());
            }
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

    let firth_fit = if spec.firth {
        if spec.family != super::FamilyKind::Binomial {
            return Err(crate::error::usage(format!(
                "--firth applies to binomial models (probit, logit, glm with the binomial family), not the {} family",
                fam.name()
            )));
        }
        Some(firth::estimate(&design, eng.as_ref(), link, beta.clone(), spec.max_iter)?)
    } else {
        None
    };
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
    // The estimates after each accepted step, for the divergence check.
    let mut path: Vec<Vec<f64>> = vec![beta.clone()];
    if cur.objective.is_nan() {
        return Err(FitError::Numerical(format!(
            "the starting values give means outside the domain of the {} family with the {} link",
            fam.name(),
            link.name()
        ))
        .into());
    }
    if let Some(ff) = &firth_fit {
        beta.clone_from(&ff.beta);
        converged = ff.converged;
        iterations = ff.iterations;
        history.clone_from(&ff.history);
    }
    while firth_fit.is_none() && iterations < spec.max_iter {
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
                path.push(b.clone());
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
    let firth_eim = firth_fit.as_ref().map(|ff| ff.at.eim.clone());
    let rows: Vec<(f64, Obs)> = match (last, firth_fit) {
        (_, Some(ff)) => ff.at.eta.into_iter().zip(ff.at.obs).collect(),
        (Some(fin), None) => fin.rows,
        (None, None) => {
            let eta = linalg::xbeta(design.x.view(), &beta);
            let obs = eng.all_obs(&eta);
            eta.into_iter().zip(obs).collect()
        }
    };
    let obs = || rows.iter().map(|(_, o)| o);
    // Firth's estimates: the variance is the inverse expected information (brglm2, logistf).
    let oim = match (firth_eim.clone(), cur.h.take()) {
        (Some(h), _) => h,
        (None, Some(h)) if cur.info == Info::Observed => h,
        _ => linalg::xtwx(design.x.view(), &obs().map(|o| o.w_o).collect::<Vec<_>>()),
    };
    let eim = std::sync::OnceLock::new();
    if let Some(h) = firth_eim {
        eim.set(h).expect("empty");
    } else if canonical {
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
    if (binary || spec.family == super::FamilyKind::Binomial) && !spec.firth {
        let determined = mu.iter().filter(|&&m| !(1e-12..=1.0 - 1e-12).contains(&m)).count();
        if determined > 0 {
            notes.push(format!(
                "{determined} {DETERMINED} (fitted probability within 1e-12 of 0 or 1); standard errors may be questionable"
            ));
            if let Some(note) = divergence_note(&design.names, &path) {
                notes.push(note);
            }
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
        design: slot.take().expect("a design"),
    })
}

/// The check after the fit: coefficients that grew in absolute value by more than 0.5 in
/// each of the last 4 steps, as they do when the likelihood keeps increasing along a
/// separating direction (the estimates, and their standard errors with them, run off to
/// infinity until the convergence criterion stops the iteration). The linear program before
/// the fit finds separation exactly; this names what it cannot see, near-separation where the
/// program's tolerance says the data overlap.
fn divergence_note(names: &[String], path: &[Vec<f64>]) -> Option<String> {
    const STEPS: usize = 4;
    if path.len() <= STEPS {
        return None;
    }
    let tail = &path[path.len() - STEPS - 1..];
    let growing: Vec<&str> = (0..names.len())
        .filter(|&j| tail.windows(2).all(|w| w[1][j].abs() > w[0][j].abs() + 0.5))
        .map(|j| names[j].as_str())
        .collect();
    (!growing.is_empty()).then(|| {
        format!(
            "suspected quasi-separation: the estimates of {} grew in each of the last {STEPS} iterations; \
             their standard errors are not to be trusted (consider --firth)",
            growing.join(", ")
        )
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
/// Evidence: Stata results stored in statsmodels' test suite; see docs/conventions.md.
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
    h.push_str("raise the iteration limit (max_iter), or keep going (keep_going) to report the last estimates");
    FitError::NotConverged { iterations, history: h }.into()
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
    use crate::model::{FamilyKind, LinkKind};

    const FAMILIES: [FamilyKind; 5] = [
        FamilyKind::Gaussian,
        FamilyKind::Binomial,
        FamilyKind::Poisson,
        FamilyKind::Gamma,
        FamilyKind::InverseGaussian,
    ];
    const LINKS: [LinkKind; 6] =
        [LinkKind::Identity, LinkKind::Log, LinkKind::Logit, LinkKind::Probit, LinkKind::Cloglog, LinkKind::Inverse];

    /// The divergence check names the coefficients that grew in each of the last 4 steps.
    #[test]
    fn divergence_note_names_growing_terms() {
        let names = vec!["(Intercept)".to_string(), "x".to_string()];
        let growing: Vec<Vec<f64>> = (0..6).map(|i| vec![0.3, -1.1 * i as f64]).collect();
        let note = divergence_note(&names, &growing).expect("a note");
        assert!(note.contains("estimates of x grew") && !note.contains("(Intercept)"), "{note}");
        let settled: Vec<Vec<f64>> = (0..6).map(|i| vec![0.3, 2.0 - 1.0 / (1.0 + i as f64)]).collect();
        assert_eq!(divergence_note(&names, &settled), None);
        assert_eq!(divergence_note(&names, &growing[..4]), None);
    }

    /// The per-pair facts the traits give are the pairs the fit was written for.
    #[test]
    fn family_link_facts() {
        use FamilyKind as F;
        use LinkKind as L;
        for f in FAMILIES {
            for l in LINKS {
                let canonical = matches!(
                    (f, l),
                    (F::Gaussian, L::Identity)
                        | (F::Binomial, L::Logit)
                        | (F::Poisson, L::Log)
                        | (F::Gamma, L::Inverse)
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
