//! Which variance the margins' standard errors are read from (`--margins-vce`).
//!
//! * `delta` (Stata's default `vce(delta)`): `J V J'`, conditional on the covariates, with the
//!   model's variance `V` of the coefficients.
//! * `unconditional` (Stata's `vce(unconditional)`): the design variance of the unit totals of
//!   `z_i = w_i (f_i - m) / W + J psi_i` ([`crate::inference::linearize`]), so that the
//!   sampling of the covariates counts too. The passes over the rows that compute a margin
//!   also add up its own part, `sum_{i in j} w_i f_i` per unit `j` (one value per unit and
//!   margin, accumulated chunk by chunk: nothing per row is kept), and [`own_linearization`]
//!   centres and scales it; contrasts and differences of effects are the same differences of
//!   these totals, so every linear map of the margins (contrasts, `--lincom-margins`,
//!   `--test-margins`) reads the same covariance.

use crate::error::{usage, Result};
use crate::inference::linearize::Linearization;
use ndarray::Array2;

/// `--margins-vce`: the delta method (conditional) or the unconditional linearization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MarginsVceKind {
    #[default]
    Delta,
    Unconditional,
}

impl MarginsVceKind {
    pub fn parse(s: &str) -> Result<MarginsVceKind> {
        match s {
            "delta" => Ok(MarginsVceKind::Delta),
            "unconditional" => Ok(MarginsVceKind::Unconditional),
            other => Err(usage(format!("unknown --margins-vce '{other}' (expected delta or unconditional)"))),
        }
    }
}

/// The variance of one set of margins.
#[derive(Clone, Copy)]
pub enum MarginsVce<'a> {
    /// `J V J'` with the variance `V` of the coefficients the Jacobians cover.
    Delta(&'a Array2<f64>),
    /// The unconditional linearization: the Jacobians cover the coefficients from `start` on
    /// of `lin`'s stacked parts; `units` is the unit of each evaluation row.
    Unconditional { lin: &'a Linearization, start: usize, units: &'a [u32] },
}

impl<'a> From<&'a Array2<f64>> for MarginsVce<'a> {
    fn from(v: &'a Array2<f64>) -> Self {
        MarginsVce::Delta(v)
    }
}

impl<'a> MarginsVce<'a> {
    /// The unit of each evaluation row, and the number of units (unconditional only).
    pub(super) fn units(&self) -> Option<(&'a [u32], usize)> {
        match *self {
            MarginsVce::Delta(_) => None,
            MarginsVce::Unconditional { lin, units, .. } => Some((units, lin.n_units())),
        }
    }

    /// The standard error of a margin with Jacobian `jac` and own linearization `own`.
    pub fn se(&self, jac: &[f64], own: &[f64]) -> Result<f64> {
        match *self {
            MarginsVce::Delta(v) => Ok(crate::linalg::quad_form(jac, v).max(0.0).sqrt()),
            MarginsVce::Unconditional { lin, start, .. } => {
                let t = lin.totals(own, jac, start);
                let c = lin.covariance(&Array2::from_shape_vec((t.len(), 1), t).expect("units x 1"))?;
                Ok(c[[0, 0]].max(0.0).sqrt())
            }
        }
    }

    /// The covariance of margins given by their Jacobians and own linearizations.
    pub fn covariance(&self, jac: &[&[f64]], own: &[&[f64]]) -> Result<Array2<f64>> {
        let n = jac.len();
        match *self {
            MarginsVce::Delta(v) => {
                let k = v.nrows();
                assert!(jac.iter().all(|j| j.len() == k), "each margin's Jacobian covers the variance's coefficients");
                let mut jm = Array2::<f64>::zeros((n, k));
                for (i, j) in jac.iter().enumerate() {
                    jm.row_mut(i).assign(&ndarray::ArrayView1::from(*j));
                }
                Ok(jm.dot(v).dot(&jm.t()))
            }
            MarginsVce::Unconditional { lin, start, .. } => {
                let mut t = Array2::<f64>::zeros((lin.n_units(), n));
                for (c, (j, o)) in jac.iter().zip(own).enumerate() {
                    t.column_mut(c).assign(&ndarray::Array1::from(lin.totals(o, j, start)));
                }
                lin.covariance(&t)
            }
        }
    }
}

/// Per-unit sums of row values on a chunk of rows, as runs (rows of one unit are often
/// adjacent): at most one entry per row, added to the per-unit totals in chunk order.
#[derive(Default)]
pub(super) struct UnitRuns(Vec<(u32, f64)>);

impl UnitRuns {
    pub(super) fn push(&mut self, unit: u32, v: f64) {
        match self.0.last_mut() {
            Some((u, s)) if *u == unit => *s += v,
            _ => self.0.push((unit, v)),
        }
    }

    pub(super) fn add_into(&self, totals: &mut [f64]) {
        for &(u, s) in &self.0 {
            totals[u as usize] += s;
        }
    }
}

/// A margin's own linearization per unit, `(sum_{i in j} w_i f_i - m W_j) / W`, from its
/// per-unit sums `sums` of `w_i f_i`, its estimate `m` and the averaging weights on the
/// evaluation rows.
pub(super) fn own_linearization(mut sums: Vec<f64>, m: f64, units: &[u32], w: &[f64], wsum: f64) -> Vec<f64> {
    let mut wj = vec![0.0; sums.len()];
    for (&u, &wi) in units.iter().zip(w) {
        wj[u as usize] += wi;
    }
    for (s, wj) in sums.iter_mut().zip(wj) {
        *s = (*s - m * wj) / wsum;
    }
    sums
}
