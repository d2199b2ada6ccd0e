//! The stacked variance of several models fitted on disjoint parts of one dataset (Stata's
//! `suest` after fitting the model in each group, as `--by`; [R] suest, Methods and
//! formulas), so that estimates of different groups can be compared with one Wald test.
//!
//! With `H_g` the observed information of group `g`'s model, `s_i` the score of row `i` on the
//! linear-index scale and `x_i` its regressors, the stacked score of a row of group `g` is
//! `g_i = (0, ..., s_i x_i, ..., 0)` (group `g`'s block), and
//!
//! ```text
//! V = D (sum_u G_u G_u') D * c,   D = blockdiag(H_1^{-1}, ..., H_G^{-1})
//! ```
//!
//! * robust (rows as units): `G_u = g_i`, each term `c_i g_i g_i'` with `c_i = 1/f_i` under
//!   frequency weights, factor `c = N/(N-1)` with `N` the observations of all groups (the sum
//!   of fweights). The groups' rows are disjoint, so `V` is block-diagonal: each block is the
//!   group's own robust sandwich, with the factor of the whole sample.
//! * cluster (clusters as units): `G_u` sums the stacked scores of the cluster's rows over
//!   every group; a cluster with rows in two groups links their blocks. Factor `G/(G-1)` with
//!   `G` the clusters of all groups together.
//!
//! suest is always robust: a model-based request (OIM, EIM) gives the robust form, as Stata's
//! suest does. Inference is normal (z), as suest's.

use super::{vce, Variance, VceKind};
use crate::error::{FitError, Result};
use crate::linalg::{self, block_diag, spd_inverse};
use crate::model::Fit;
use ndarray::{s, Array2};

/// The stacked variance of the groups' estimates (`joint`, the groups' coefficients in order)
/// and each group's diagonal block (what its column of the table shows).
#[derive(Debug, Clone)]
pub struct Stacked {
    pub joint: Variance,
    pub blocks: Vec<Variance>,
    /// Where each group's coefficients start in `joint`.
    pub offsets: Vec<usize>,
}

/// The clusters of the groups' rows, numbered over all groups together (`ids[g][i]`: the
/// cluster of row `i` of group `g`'s design), with their count and variable.
#[derive(Debug, Clone)]
pub struct Clusters {
    pub ids: Vec<Vec<u32>>,
    pub count: usize,
    pub var: String,
}

/// The stacked sandwich of `fits` (models fitted on disjoint rows of one dataset): robust,
/// or cluster-robust with `clusters`.
pub fn stacked(fits: &[&Fit], clusters: Option<&Clusters>) -> Result<Stacked> {
    assert!(!fits.is_empty(), "at least one group");
    let ks: Vec<usize> = fits.iter().map(|f| f.beta.len()).collect();
    let offsets: Vec<usize> = ks
        .iter()
        .scan(0, |acc, k| {
            let o = *acc;
            *acc += k;
            Some(o)
        })
        .collect();
    let k_total: usize = ks.iter().sum();
    let mut breads = Vec::with_capacity(fits.len());
    for f in fits {
        breads.push(spd_inverse(&f.oim).ok_or_else(|| {
            FitError::Numerical(
                "a group's observed information matrix is not positive definite at the estimates; standard errors cannot be computed"
                    .into(),
            )
        })?);
    }
    let (meat, factor, description, n_clusters) = match clusters {
        None => {
            // Disjoint rows: the meat is block-diagonal, each block the group's own.
            let blocks: Vec<Array2<f64>> = fits.iter().map(|f| vce::meat(f, false)).collect();
            let refs: Vec<&Array2<f64>> = blocks.iter().collect();
            let n: f64 = fits.iter().map(|f| f.n_obs).sum();
            if n <= 1.0 {
                return Err(FitError::Numerical("robust variance needs more than one observation".into()).into());
            }
            let num = crate::data::format_number;
            (
                block_diag(&refs),
                n / (n - 1.0),
                format!(
                    "Stacked robust sandwich of the {} groups' models (as Stata's suest), observed information as bread, small-sample factor N/(N-1) = {}/{} over all groups.",
                    fits.len(),
                    num(n),
                    num(n - 1.0)
                ),
                None,
            )
        }
        Some(cl) => {
            assert_eq!(cl.ids.len(), fits.len(), "cluster ids for every group");
            let g = cl.count;
            if g < 2 {
                return Err(FitError::Numerical(format!(
                    "cluster-robust variance needs at least 2 clusters; '{}' has {g}",
                    cl.var
                ))
                .into());
            }
            let mut sums = Array2::<f64>::zeros((g, k_total));
            for (gi, f) in fits.iter().enumerate() {
                let x = &f.design.x;
                assert_eq!(cl.ids[gi].len(), x.nrows(), "a cluster id per row");
                for (i, (&c, &sc)) in cl.ids[gi].iter().zip(&f.score_eta).enumerate() {
                    let mut row = sums.slice_mut(s![c as usize, offsets[gi]..offsets[gi] + ks[gi]]);
                    row.scaled_add(sc, &x.row(i));
                }
            }
            let gf = g as f64;
            (
                linalg::xtwx(sums.view(), &vec![1.0; g]),
                gf / (gf - 1.0),
                format!(
                    "Stacked cluster-robust sandwich of the {} groups' models (as Stata's suest) with {g} clusters in {} over all groups, observed information as bread, small-sample factor G/(G-1) = {g}/{}.",
                    fits.len(),
                    cl.var,
                    g - 1
                ),
                Some(g),
            )
        }
    };
    let refs: Vec<&Array2<f64>> = breads.iter().collect();
    let d = block_diag(&refs);
    let mut v = d.dot(&meat).dot(&d) * factor;
    linalg::symmetrize(&mut v);
    let kind = if clusters.is_some() { VceKind::Cluster } else { VceKind::Robust };
    let joint = Variance { kind, matrix: v, description, factor, n_clusters, df: None, satterthwaite: None };
    let blocks = offsets
        .iter()
        .zip(&ks)
        .map(|(&o, &k)| Variance {
            kind,
            matrix: joint.matrix.slice(s![o..o + k, o..o + k]).to_owned(),
            description: format!("This group's block of the stacked variance. {}", joint.description),
            factor: 1.0,
            n_clusters,
            df: None,
            satterthwaite: None,
        })
        .collect();
    Ok(Stacked { joint, blocks, offsets })
}
