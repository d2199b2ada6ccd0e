//! The variance of a two-part model's coefficients together, `(b_1, b_2)`: what the combined
//! prediction `E[y] = Pr(y > 0) E[y | y > 0]` needs for its delta-method standard errors.
//!
//! * Block-diagonal (the default, as Stata's `twopm`): each part's own variance of the chosen
//!   kind, the parts taken as independent, `V = blockdiag(V_1, V_2)`.
//! * Stacked (`--joint-vce`, as `twopm ..., suest`; Stata [R] suest): one sandwich of the
//!   stacked scores `g_i = (s_1i x_1i, s_2i x_2i)`, with a zero second block for the rows with
//!   `y = 0`:
//!
//!   ```text
//!   V = D (sum_i c_i g_i g_i') D * N/(N-1),   D = blockdiag(H_1^{-1}, H_2^{-1})
//!   ```
//!
//!   (`c_i = 1 / f_i` with frequency weights, else 1), or with cluster sums
//!   `sum_g G_g G_g'` and `G/(G-1)`. suest is always robust: OIM and EIM requests give the
//!   robust form. Under a survey design the score totals of both parts are stacked per PSU
//!   (`suest` after `svy`, [`survey::joint_linearized`]) and inference keeps the design's t.
//!
//! Each part's reported variance is then its diagonal block of `V`, with the joint sentence.

use super::{survey, Variance, VceKind};
use crate::design::WeightType;
use crate::error::{FitError, Result};
use crate::linalg::block_diag;
use crate::linalg::{self, spd_inverse};
use crate::model::twopart::TwoPartFit;
use crate::model::Fit;
use ndarray::Array2;

/// The variances of a two-part model: each part's (what its coefficient table shows) and both
/// parts' together (what the combined effects use).
#[derive(Debug, Clone)]
pub struct TwoPartVariance {
    pub first: Variance,
    pub second: Variance,
    /// `(k_1 + k_2)` square, first part's coefficients first.
    pub joint: Variance,
}

/// Each part's own variance (computed side by side; the first part's error is reported
/// first), independent parts.
pub(super) fn block_diagonal(
    tp: &TwoPartFit,
    compute: impl Fn(&Fit) -> Result<Variance> + Sync,
) -> Result<TwoPartVariance> {
    let (first, second) = rayon::join(|| compute(&tp.first), || compute(&tp.second));
    let (first, second) = (first?, second?);
    let joint = Variance {
        kind: first.kind,
        matrix: block_diag(&[&first.matrix, &second.matrix]),
        description: format!(
            "Block-diagonal: the parts are independent (as twopm). First part: {} Second part: {}",
            first.description, second.description
        ),
        factor: 1.0,
        n_clusters: first.n_clusters,
        df: first.df,
        satterthwaite: None,
    };
    Ok(TwoPartVariance { first, second, joint })
}

/// One robust (`clustered = false`) or cluster-robust sandwich of both parts' stacked scores.
pub(super) fn stacked_sandwich(tp: &TwoPartFit, clustered: bool) -> Result<TwoPartVariance> {
    let f1 = &tp.first;
    let f2 = &tp.second;
    let (k1, k2) = (f1.beta.len(), f2.beta.len());
    let k = k1 + k2;
    let n = f1.design.n();
    // Stacked scores, one row per observation of the first part.
    let mut g = Array2::<f64>::zeros((n, k));
    for i in 0..n {
        let s = f1.score_eta[i];
        for j in 0..k1 {
            g[[i, j]] = s * f1.design.x[[i, j]];
        }
    }
    for (i2, &i) in tp.second_rows_in_first.iter().enumerate() {
        let s = f2.score_eta[i2];
        for j in 0..k2 {
            g[[i, k1 + j]] = s * f2.design.x[[i2, j]];
        }
    }
    let (meat, factor, description) = if clustered {
        let cl = f1.design.clusters.as_ref().expect("clusters");
        let gcount = f1.design.n_clusters;
        if gcount < 2 {
            return Err(FitError::Numerical("cluster-robust variance needs at least 2 clusters".into()).into());
        }
        let mut sums = Array2::<f64>::zeros((gcount, k));
        for i in 0..n {
            let c = cl[i] as usize;
            for j in 0..k {
                sums[[c, j]] += g[[i, j]];
            }
        }
        let gf = gcount as f64;
        (
            linalg::xtwx(sums.view(), &vec![1.0; gcount]),
            gf / (gf - 1.0),
            format!(
                "Joint cluster-robust sandwich of both parts (stacked scores, as Stata's suest) with {gcount} clusters in {}, small-sample factor G/(G-1) = {gcount}/{}.",
                f1.design.cluster_var.clone().unwrap_or_default(),
                gcount - 1
            ),
        )
    } else {
        let fw = f1.design.weight_type == Some(WeightType::Frequency);
        let c: Vec<f64> = (0..n).map(|i| if fw { 1.0 / f1.w[i] } else { 1.0 }).collect();
        let nn = f1.n_obs;
        (
            linalg::xtwx(g.view(), &c),
            nn / (nn - 1.0),
            format!(
                "Joint robust sandwich of both parts (stacked scores, as Stata's suest), small-sample factor N/(N-1) = {}/{}.",
                crate::data::format_number(nn),
                crate::data::format_number(nn - 1.0)
            ),
        )
    };
    let b1 =
        spd_inverse(&f1.oim).ok_or_else(|| FitError::Numerical("first part: singular information matrix".into()))?;
    let b2 =
        spd_inverse(&f2.oim).ok_or_else(|| FitError::Numerical("second part: singular information matrix".into()))?;
    let d = block_diag(&[&b1, &b2]);
    let mut v = d.dot(&meat).dot(&d) * factor;
    linalg::symmetrize(&mut v);
    let kind = if clustered { VceKind::Cluster } else { VceKind::Robust };
    let n_clusters = f1.design.clusters.as_ref().map(|_| f1.design.n_clusters);
    Ok(split(tp, Variance { kind, matrix: v, description, factor, n_clusters, df: None, satterthwaite: None }))
}

/// The linearized variance of both parts' stacked PSU score totals (Stata's `suest` under
/// `svy`); the second part is a subpopulation of the first's design.
pub(super) fn stacked_survey(tp: &TwoPartFit, design: &survey::SurveyDesign) -> Result<TwoPartVariance> {
    let m = survey::joint_linearized(&[&tp.first, &tp.second], design)?;
    let description = format!(
        "Joint {} (stacked scores of both parts, as Stata's suest under svy).",
        design.description("block-diagonal inverse observed information").trim_end_matches('.')
    );
    Ok(split(
        tp,
        Variance {
            kind: VceKind::Survey,
            matrix: m,
            description,
            factor: 1.0,
            n_clusters: Some(design.n_psu),
            df: Some(design.df()),
            satterthwaite: None,
        },
    ))
}

/// Each part's diagonal block of a joint variance, with the joint sentence. (The blocks
/// report a factor of 1: the joint matrix already carries it.)
fn split(tp: &TwoPartFit, joint: Variance) -> TwoPartVariance {
    let k1 = tp.first.beta.len();
    let block = |a: usize, b: usize, part: &str| Variance {
        kind: joint.kind,
        matrix: joint.matrix.slice(ndarray::s![a..b, a..b]).to_owned(),
        description: format!("{part} block of the joint variance. {}", joint.description),
        factor: 1.0,
        n_clusters: joint.n_clusters,
        df: joint.df,
        satterthwaite: None,
    };
    let first = block(0, k1, "First-part");
    let second = block(k1, joint.matrix.nrows(), "Second-part");
    TwoPartVariance { first, second, joint }
}
