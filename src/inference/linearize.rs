//! The linearization of a fit's estimates over its sampling units, for margins whose variance
//! also accounts for the sampling of the covariates (Stata's `margins, vce(unconditional)`).
//!
//! A margin `m = sum_i w_i f_i(b) / W` (`W = sum_i w_i`, `f_i` the row's prediction or effect
//! under a scenario) is a smooth function of weighted totals and of the estimates `b`, which are
//! themselves the solution of the weighted score equations. Linearized jointly (Binder 1983;
//! Korn and Graubard 1999, sec. 3.5; Stata [R] margins, "vce(unconditional)"):
//!
//! ```text
//! z_i = [ w_i (f_i - m) ] / W + J psi_i,     psi_i = H^{-1} s_i x_i,   J = dm/db
//! V_unconditional = design variance of the unit totals  T_j = sum_{i in j} z_i
//! ```
//!
//! with `H` the observed information (the bread of the coefficients' sandwich) and `s_i x_i`
//! row `i`'s weighted score, so that the design variance of the totals of `psi` alone is the
//! coefficients' own linearized (or cluster-robust) variance and `J V J'` (Stata's default
//! `vce(delta)`) is the part of `V_unconditional` that treats the covariates as fixed. The
//! design variance is the one of the coefficients ([`SurveyDesign::between_psu`]): under a
//! survey design the between-PSU variance within strata with `(1 - f_h) n_h / (n_h - 1)` and
//! the single-unit rule; with clusters one stratum of `G` clusters, factor `G/(G-1)`; with a
//! robust variance every row its own unit, `N/(N-1)`. A two-part model's parts are stacked:
//! `psi_i = (psi_1i, psi_2i)` with `psi_2i = 0` for rows outside the second part (the positive
//! outcomes, a subpopulation of the first part's rows), whatever variance the parts' own
//! coefficient tables use.
//!
//! Memory: the unit totals of `psi` (`units x K`) and, per margin, its own unit totals
//! (`units`); nothing per row.

use super::survey::SurveyDesign;
use super::VceKind;
use crate::design::WeightType;
use crate::error::{usage, Error, FitError, Result};
use crate::linalg::spd_inverse;
use crate::model::Fit;
use ndarray::Array2;

/// The sampling units of a fit (or of both parts of a two-part model) and the unit totals of
/// the estimates' influence functions.
#[derive(Debug, Clone)]
pub struct Linearization {
    /// The units' strata, sampling fractions and single-unit rule.
    design: SurveyDesign,
    /// `Psi_j = sum_{i in j} H^{-1} s_i x_i`, units x (all parts' coefficients, stacked).
    psi: Array2<f64>,
    /// Per part: the unit (0..units) of each of its estimation rows.
    units: Vec<Vec<u32>>,
}

/// The variance kinds after which `vce(unconditional)` is defined (Stata: after `vce(robust)`,
/// `vce(cluster)` and `svy` linearization).
pub fn check_kind(kind: VceKind) -> Result<()> {
    match kind {
        VceKind::Robust | VceKind::Cluster | VceKind::Survey => Ok(()),
        other => Err(usage(format!(
            "--margins-vce unconditional needs a robust, cluster or survey (linearized) variance of the coefficients, not vce {} (Stata's margins allows vce(unconditional) only after vce(robust), vce(cluster) or svy)",
            other.name()
        ))),
    }
}

fn bread(fit: &Fit) -> Result<Array2<f64>> {
    spd_inverse(&fit.oim).ok_or_else(|| {
        Error::from(FitError::Numerical(
            "the observed information matrix is not positive definite at the estimates; the unconditional variance of the margins cannot be computed".into(),
        ))
    })
}

impl Linearization {
    /// One model's linearization under its variance `kind` (robust, cluster, or the survey
    /// `design`).
    pub fn single(fit: &Fit, kind: VceKind, design: Option<&SurveyDesign>) -> Result<Linearization> {
        let (design, units) = Self::units(fit, kind, design)?;
        let mut lin = Linearization { psi: Array2::zeros((design.n_psu, fit.design.k())), design, units: vec![units] };
        lin.add_part(fit, 0, 0);
        Ok(lin)
    }

    /// A two-part model's: both parts' influence functions stacked (first then second) over
    /// the first part's units; `second_rows` the position among the first part's rows of each
    /// of the second part's.
    pub fn twopart(
        first: &Fit,
        second: &Fit,
        second_rows: &[usize],
        kind: VceKind,
        design: Option<&SurveyDesign>,
    ) -> Result<Linearization> {
        let (design, u1) = Self::units(first, kind, design)?;
        let u2: Vec<u32> = second_rows.iter().map(|&i| u1[i]).collect();
        let (k1, k2) = (first.design.k(), second.design.k());
        let mut lin = Linearization { psi: Array2::zeros((design.n_psu, k1 + k2)), design, units: vec![u1, u2] };
        lin.add_part(first, 0, 0);
        lin.add_part(second, 1, k1);
        Ok(lin)
    }

    /// The units of the fit's rows: the survey design's PSUs, the clusters, or the rows.
    fn units(fit: &Fit, kind: VceKind, design: Option<&SurveyDesign>) -> Result<(SurveyDesign, Vec<u32>)> {
        check_kind(kind)?;
        let d = &fit.design;
        match d.weight_type {
            None | Some(WeightType::Probability) => {}
            Some(w) => {
                return Err(usage(format!(
                    "--margins-vce unconditional treats each row (or cluster, or PSU) as a sampled unit: it takes sampling weights (pweight) or none, not {} weights",
                    w.as_str()
                )))
            }
        }
        match (kind, design) {
            (VceKind::Survey, Some(sd)) => {
                let units = sd.units_of(&d.rows)?;
                Ok((sd.clone(), units))
            }
            (VceKind::Survey, None) => Err(usage("--margins-vce unconditional: the survey variance needs its design")),
            (VceKind::Cluster, _) => {
                let ids = d.clusters.clone().ok_or_else(|| usage("vce cluster needs a cluster variable"))?;
                Ok((SurveyDesign::one_stratum(d.n_clusters), ids))
            }
            _ => Ok((SurveyDesign::one_stratum(d.n()), (0..d.n() as u32).collect())),
        }
    }

    fn add_part(&mut self, fit: &Fit, part: usize, offset: usize) {
        let k = fit.design.k();
        let mut raw = Array2::<f64>::zeros((self.design.n_psu, k));
        let xs = fit.design.x.as_slice().expect("row-major design");
        for ((xi, &j), &s) in xs.chunks_exact(k.max(1)).zip(&self.units[part]).zip(&fit.score_eta) {
            for (a, &v) in raw.row_mut(j as usize).iter_mut().zip(xi) {
                *a += s * v;
            }
        }
        // A singular information has already failed the coefficients' variance.
        let h = bread(fit).unwrap_or_else(|_| Array2::from_elem((k, k), f64::NAN));
        self.psi.slice_mut(ndarray::s![.., offset..offset + k]).assign(&raw.dot(&h));
    }

    /// The number of units.
    pub fn n_units(&self) -> usize {
        self.design.n_psu
    }

    /// The unit of each estimation row of part `p` (0 the first or only part).
    pub fn units_of_part(&self, p: usize) -> &[u32] {
        &self.units[p]
    }

    /// The unit totals `T_j = own_j + sum_k jac_k Psi_{j, start + k}` of a margin with its own
    /// linearization `own` (per unit, see the module docs) and Jacobian `jac` in the
    /// coefficients from `start` on.
    pub fn totals(&self, own: &[f64], jac: &[f64], start: usize) -> Vec<f64> {
        assert_eq!(own.len(), self.design.n_psu, "a margin's own linearization per unit");
        assert!(start + jac.len() <= self.psi.ncols());
        own.iter()
            .zip(self.psi.outer_iter())
            .map(|(o, psi)| o + jac.iter().zip(psi.iter().skip(start)).map(|(a, b)| a * b).sum::<f64>())
            .collect()
    }

    /// The design covariance of the margins whose unit totals are the columns of `t`
    /// (units x margins).
    pub fn covariance(&self, t: &Array2<f64>) -> Result<Array2<f64>> {
        self.design.between_psu(t)
    }

    /// The sentence of a margins table's variance.
    pub fn description(&self, kind: VceKind) -> String {
        let units = match kind {
            VceKind::Survey => "PSU totals within strata, as the coefficients' linearized variance",
            VceKind::Cluster => "cluster totals, factor G/(G-1)",
            _ => "each row a unit, factor N/(N-1)",
        };
        format!(
            "Standard errors of the margins: unconditional (linearized over the design: {units}; Stata's margins, vce(unconditional)), the design variance of the unit totals of w_i (f_i - m)/W + J psi_i, psi_i the coefficients' influence function."
        )
    }
}
