//! Bias-reduced cluster-robust variances of a GLM, CR2 and CR3, with the Bell-McCaffrey /
//! Satterthwaite degrees of freedom of their t tests: exactly as R's `clubSandwich`
//! (Pustejovsky and Tipton 2018; Bell and McCaffrey 2002) defines them for `glm` objects
//! (`vcovCR(type = "CR2"/"CR3")` with its default, inverse-variance, working model, and
//! `coef_test(test = "Satterthwaite")`).
//!
//! clubSandwich's pieces for a `glm`: the model matrix `X~ = diag(dmu/deta) X`, the weight
//! matrix `W = diag(w / V(mu))` (prior weights over the variance function), the target
//! `Theta = W^{-1}`, response residuals `r = y - mu` and the bread `M = (X~' W X~)^{-1}`, the
//! inverse expected information at dispersion 1 (the dispersion cancels). With `g` a cluster,
//! `H_gg = X~_g M X~_g' W_g` and `D_g = Theta_g^{1/2}` (its Cholesky factor):
//!
//! ```text
//! V     = M (sum_g e_g e_g') M,          e_g = X~_g' W_g A_g r_g
//! CR2:  A_g = D_g (D_g (I - H_gg) Theta_g D_g)^{-1/2} D_g
//! CR3:  A_g = (I - H_gg)^{-1}
//! ```
//!
//! Writing `z_i = (dmu/deta)_i sqrt(w_i / V_i) x_i` the CR2 matrix under the inverse square
//! root is `Theta_g (I - Z_g M Z_g') Theta_g`, and `e_g = (G_g^{-1/2} Z_g)' D_g r_g`. CR3 needs
//! no `n_g x n_g` matrix: `e_g = (I - F_g M)^{-1} s_g` with `F_g = Z_g' Z_g` and `s_g` the
//! cluster's score (push-through identity).
//!
//! Degrees of freedom of a t test of `c'b` (clubSandwich's `get_GH`, `get_P_array`,
//! `Satterthwaite`): with `E_g = X~_g' W_g A_g`, `q_g = c' M E_g Theta_g E_g' M c` and
//! `k_g = (M E_g X~_g)' c`, the `G x G` matrix `P = diag(q_g) - [k_g' M k_h]` gives
//! `df = (tr P)^2 / sum(P^2)`. Effects (AMEs) use their delta-method gradient as `c`.
//!
//! Differences from clubSandwich: where an adjustment matrix is singular (a cluster whose rows
//! the model fits exactly, e.g. a singleton with its own dummy) clubSandwich silently uses a
//! generalised inverse (eigenvalues below 1e-12 set to zero); migfit stops with an error naming
//! the cluster. CR2 works on one `n_g x n_g` matrix per cluster (cost `~ n_g^3`), so clusters
//! are limited to [`MAX_CR2_CLUSTER`] rows. Frequency weights are refused (as in [`super::hc`]).

use super::hc::{expected_bread, no_fweights};
use super::{Variance, VceKind};
use crate::error::{usage, FitError, Result};
use crate::linalg::{self, symmetric_power};
use crate::model::Fit;
use ndarray::Array2;

/// The largest cluster CR2 accepts (rows): its adjustment matrix is `n_g x n_g`.
pub const MAX_CR2_CLUSTER: usize = 800;

/// What the Satterthwaite degrees of freedom of any linear combination `c'b` need: per
/// cluster, `Q_g = M E_g Theta_g E_g' M` and `K_g = M E_g X~_g` (both `k x k`), and `M`.
#[derive(Debug, Clone)]
pub struct Satterthwaite {
    q: Vec<Array2<f64>>,
    k: Vec<Array2<f64>>,
    m: Array2<f64>,
}

impl Satterthwaite {
    /// Degrees of freedom of the t test of `c'b`.
    pub fn df(&self, c: &[f64]) -> f64 {
        let p = c.len();
        let mut trace = 0.0;
        let mut sum_q2 = 0.0;
        let mut cross = 0.0;
        let mut a = Array2::<f64>::zeros((p, p));
        for (q, kg) in self.q.iter().zip(&self.k) {
            let qg = linalg::quad_form(c, q);
            // k_g = K_g' c
            let kv: Vec<f64> = (0..p).map(|j| (0..p).map(|i| kg[[i, j]] * c[i]).sum()).collect();
            let kk = linalg::quad_form(&kv, &self.m);
            trace += qg - kk;
            sum_q2 += qg * qg;
            cross += qg * kk;
            for i in 0..p {
                for j in 0..p {
                    a[[i, j]] += kv[i] * kv[j];
                }
            }
        }
        // sum_{g,h} (k_g' M k_h)^2 = tr((M A)^2), A = sum_g k_g k_g'.
        let ma = self.m.dot(&a);
        let tr2: f64 = (0..p).map(|i| (0..p).map(|j| ma[[i, j]] * ma[[j, i]]).sum::<f64>()).sum();
        let sum_p2 = sum_q2 - 2.0 * cross + tr2;
        trace * trace / sum_p2
    }

    /// Degrees of freedom of each coefficient's t test.
    pub fn coefficient_df(&self, j: usize) -> f64 {
        let mut c = vec![0.0; self.m.nrows()];
        c[j] = 1.0;
        self.df(&c)
    }
}

/// CR2 or CR3 (`kind`) of a fit with cluster ids.
pub fn cr(fit: &Fit, kind: VceKind) -> Result<Variance> {
    let cr2 = match kind {
        VceKind::Cr2 => true,
        VceKind::Cr3 => false,
        _ => unreachable!("cr() serves CR2 and CR3"),
    };
    no_fweights(fit, kind)?;
    let d = &fit.design;
    let cluster_var = d.cluster_var.clone().unwrap_or_default();
    let Some(ids) = d.clusters.as_ref() else {
        return Err(usage(format!("vce {} needs a cluster variable (--cluster)", kind.name())));
    };
    let g_count = d.n_clusters;
    if g_count < 2 {
        return Err(FitError::Numerical(format!(
            "vce {} needs at least 2 clusters; '{cluster_var}' has {g_count}",
            kind.name()
        ))
        .into());
    }
    let p = d.k();
    let m = expected_bread(fit)?;
    let link = fit.spec.link.link();
    let fam = fit.spec.family.family();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); g_count];
    for (i, &c) in ids.iter().enumerate() {
        members[c as usize].push(i);
    }
    let mut meat = Array2::<f64>::zeros((p, p));
    let mut qs = Vec::with_capacity(g_count);
    let mut ks = Vec::with_capacity(g_count);
    for rows in &members {
        let n_g = rows.len();
        // z_i, Theta_i and D_i r_i of the cluster's rows.
        let mut z = Array2::<f64>::zeros((n_g, p));
        let mut theta = vec![0.0; n_g];
        let mut dr = vec![0.0; n_g];
        for (a, &i) in rows.iter().enumerate() {
            let eta = fit.eta[i];
            let dmu = link.d_inverse(eta);
            let v = fam.variance(fit.mu[i], link.inverse_complement(eta));
            let w = fit.w[i];
            let s = dmu * (w / v).sqrt();
            for j in 0..p {
                z[[a, j]] = s * d.x[[i, j]];
            }
            theta[a] = v / w;
            dr[a] = theta[a].sqrt() * (fit.y[i] - fit.mu[i]);
        }
        let f = z.t().dot(&z);
        let (e, e_theta_e, e_x) = if cr2 {
            if n_g > MAX_CR2_CLUSTER {
                return Err(usage(format!(
                    "vce cr2: cluster {} of '{cluster_var}' has {n_g} rows; CR2's adjustment matrices are n_g x n_g and are limited to {MAX_CR2_CLUSTER} rows (use vce cr3, jackknife or cluster)",
                    cluster_label(fit, rows[0])
                )));
            }
            // G = Theta (I - Z M Z') Theta.
            let zm = z.dot(&m);
            let mut gm = Array2::<f64>::zeros((n_g, n_g));
            for a in 0..n_g {
                for b in 0..=a {
                    let h: f64 = (0..p).map(|j| zm[[a, j]] * z[[b, j]]).sum();
                    let val = theta[a] * theta[b] * (if a == b { 1.0 } else { 0.0 } - h);
                    gm[[a, b]] = val;
                    gm[[b, a]] = val;
                }
            }
            // G is Theta (I - P) Theta with P a projection block: its scale is Theta^2, and it
            // is singular when the model fits the cluster exactly (an eigenvalue of I - P is 0).
            let scale = theta.iter().fold(0.0f64, |m, t| m.max(t * t));
            let s = symmetric_power(&gm, -0.5, 1e-12 * scale).ok_or_else(|| singular(fit, kind, rows[0], n_g))?;
            let c = s.dot(&z); // n_g x p
            let e: Vec<f64> = (0..p).map(|j| (0..n_g).map(|a| c[[a, j]] * dr[a]).sum()).collect();
            let mut tc = c.clone();
            for a in 0..n_g {
                for j in 0..p {
                    tc[[a, j]] *= theta[a];
                }
            }
            // E Theta E' = (Theta C)'(Theta C);  E X~ = C' Theta Z.
            let mut tz = z.clone();
            for a in 0..n_g {
                for j in 0..p {
                    tz[[a, j]] *= theta[a];
                }
            }
            (e, tc.t().dot(&tc), c.t().dot(&tz))
        } else {
            // (I - F M)^{-1}
            let mut a = Array2::<f64>::eye(p) - f.dot(&m);
            let inv = general_inverse(&mut a).ok_or_else(|| singular(fit, kind, rows[0], n_g))?;
            let mut sg = vec![0.0; p];
            for &i in rows {
                for j in 0..p {
                    sg[j] += fit.score_eta[i] * d.x[[i, j]];
                }
            }
            let e: Vec<f64> = (0..p).map(|j| (0..p).map(|l| inv[[j, l]] * sg[l]).sum()).collect();
            let ex = inv.dot(&f);
            let ete = ex.dot(&inv.t());
            (e, ete, ex)
        };
        for a in 0..p {
            for b in 0..p {
                meat[[a, b]] += e[a] * e[b];
            }
        }
        qs.push(m.dot(&e_theta_e).dot(&m));
        ks.push(m.dot(&e_x));
    }
    let mut v = m.dot(&meat).dot(&m);
    linalg::symmetrize(&mut v);
    let (name, what) =
        if cr2 { ("CR2", "Bell-McCaffrey bias-reduced linearization") } else { ("CR3", "approximate jackknife") };
    Ok(Variance {
        kind,
        matrix: v,
        description: format!(
            "{name} cluster-robust ({what}, as R's clubSandwich::vcovCR for glm with its inverse-variance working model) with {g_count} clusters in {cluster_var}, expected information as bread; t tests with Bell-McCaffrey/Satterthwaite degrees of freedom for each coefficient and effect."
        ),
        factor: 1.0,
        n_clusters: Some(g_count),
        df: None,
        satterthwaite: Some(std::sync::Arc::new(Satterthwaite { q: qs, k: ks, m })),
    })
}

fn cluster_label(fit: &Fit, row: usize) -> String {
    format!("at line {}", fit.design.lines[row])
}

fn singular(fit: &Fit, kind: VceKind, row: usize, n_g: usize) -> crate::error::Error {
    FitError::Numerical(format!(
        "vce {}: the adjustment matrix of the cluster of '{}' {} ({n_g} row{}) is not invertible: the model fits that cluster exactly (e.g. a singleton cluster with its own regressor); use vce cluster or drop the cluster",
        kind.name(),
        fit.design.cluster_var.clone().unwrap_or_default(),
        cluster_label(fit, row),
        if n_g == 1 { "" } else { "s" }
    ))
    .into()
}

/// Inverse of a small general square matrix (Gauss-Jordan with partial pivoting); `None`
/// when a pivot is below `1e-12` times the largest entry or 1 (the matrices here are
/// `I - F M`, of unit scale).
fn general_inverse(a: &mut Array2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let scale = a.iter().fold(1.0f64, |s, v| s.max(v.abs()));
    let mut inv = Array2::<f64>::eye(n);
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[[i, col]].abs().total_cmp(&a[[j, col]].abs()))?;
        if !(a[[piv, col]].abs() > 1e-12 * scale) {
            return None;
        }
        if piv != col {
            for j in 0..n {
                a.swap([piv, j], [col, j]);
                inv.swap([piv, j], [col, j]);
            }
        }
        let pv = a[[col, col]];
        for j in 0..n {
            a[[col, j]] /= pv;
            inv[[col, j]] /= pv;
        }
        for i in 0..n {
            if i != col {
                let fct = a[[i, col]];
                if fct != 0.0 {
                    for j in 0..n {
                        a[[i, j]] -= fct * a[[col, j]];
                        inv[[i, j]] -= fct * inv[[col, j]];
                    }
                }
            }
        }
    }
    Some(inv)
}
