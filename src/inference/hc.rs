//! HC2 and HC3 heteroskedasticity-consistent variances of a GLM, as R's
//! `sandwich::vcovHC(type = "HC2" / "HC3")` defines them for `glm` objects (Zeileis 2004;
//! MacKinnon and White 1985; Long and Ervin 2000):
//!
//! ```text
//! V = M (sum_i c_i s_i^2 x_i x_i') M,   M = (X' W_e X)^{-1},   h_i = w_e,i x_i' M x_i
//! HC2: c_i = 1 / (1 - h_i)       HC3: c_i = 1 / (1 - h_i)^2
//! ```
//!
//! with `s_i` the score on the linear-index scale (the working residual times the working
//! weight, prior weight included), `W_e` the IRLS working weights and `h_i` the hat values of
//! the weighted working regression (R's `hatvalues.glm`). The dispersion cancels. Conventions
//! that differ from migfit's Stata-style `robust`: the bread is the *expected* information
//! (as `sandwich::bread.glm`; the same as the observed one for canonical links such as logit
//! and for gamma-log), and there is no `N/(N-1)` factor. Inference is normal (z), as
//! `lmtest::coeftest` on a `glm`.
//!
//! Frequency weights are refused: R's `glm` treats a weighted row as one observation, Stata
//! as `f` copies, and the leverages of the two readings differ.

use super::{Variance, VceKind};
use crate::design::WeightType;
use crate::error::{usage, FitError, Result};
use crate::linalg::{self, spd_inverse};
use crate::model::Fit;
use ndarray::Array2;

/// The inverse of the expected information at dispersion 1, `(X' W_e X)^{-1}`: the bread of
/// `sandwich` and `clubSandwich` for `glm` objects.
pub(super) fn expected_bread(fit: &Fit) -> Result<Array2<f64>> {
    spd_inverse(fit.eim()).ok_or_else(|| {
        FitError::Numerical(
            "the expected information matrix is not positive definite at the estimates; standard errors cannot be computed"
                .into(),
        )
        .into()
    })
}

/// Refuses frequency weights for the leverage-based variances (see the module docs).
pub(super) fn no_fweights(fit: &Fit, kind: VceKind) -> Result<()> {
    if fit.design.weight_type == Some(WeightType::Frequency) {
        return Err(usage(format!(
            "vce {} is not available with frequency weights (leverages of a weighted row and of its copies differ); use pweights/aweights or expand the data",
            kind.name()
        )));
    }
    Ok(())
}

/// The working weight `w_e,i = w_i (dmu/deta)^2 / V(mu_i)` of every row.
pub(super) fn working_weights(fit: &Fit) -> Vec<f64> {
    let link = fit.spec.link.link();
    let fam = fit.spec.family.family();
    (0..fit.eta.len())
        .map(|i| {
            let d = link.d_inverse(fit.eta[i]);
            let v = fam.variance(fit.mu[i], link.inverse_complement(fit.eta[i]));
            fit.w[i] * d * d / v
        })
        .collect()
}

/// HC2 (`power = 1`) or HC3 (`power = 2`).
pub fn hc(fit: &Fit, kind: VceKind) -> Result<Variance> {
    let power = match kind {
        VceKind::Hc2 => 1,
        VceKind::Hc3 => 2,
        _ => unreachable!("hc() serves HC2 and HC3"),
    };
    no_fweights(fit, kind)?;
    let m = expected_bread(fit)?;
    let we = working_weights(fit);
    let d = &fit.design;
    let mut c = Vec::with_capacity(d.n());
    for (i, xi) in d.x.rows().into_iter().enumerate() {
        let xi: Vec<f64> = xi.to_vec();
        let h = we[i] * linalg::quad_form(&xi, &m);
        if !(h < 1.0 - 1e-12) {
            return Err(FitError::Numerical(format!(
                "vce {}: row {} (line {}) has leverage {} (1 - h is zero), so its residual cannot be rescaled",
                kind.name(),
                d.rows[i] + 1,
                d.lines[i],
                crate::data::format_number(h)
            ))
            .into());
        }
        let s = fit.score_eta[i];
        c.push(s * s / (1.0 - h).powi(power));
    }
    let meat = linalg::xtwx(d.x.view(), &c);
    let mut v = m.dot(&meat).dot(&m);
    linalg::symmetrize(&mut v);
    let name = if power == 1 { "HC2" } else { "HC3" };
    let scaling = if power == 1 { "1/(1-h_i)" } else { "1/(1-h_i)^2" };
    Ok(Variance {
        kind,
        matrix: v,
        description: format!(
            "{name} (as R's sandwich::vcovHC for glm): squared scores scaled by {scaling} with h_i the working-regression hat values, expected information as bread, no further small-sample factor."
        ),
        factor: 1.0,
        n_clusters: None,
        df: None,
        satterthwaite: None,
    })
}
