//! Small dense matrices (K x K): dot products, symmetry, Cholesky factor, solves and
//! inverses of symmetric positive definite matrices, and the collinearity rule.

use ndarray::Array2;

#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four accumulators: lets the compiler vectorise without reassociating a single sum.
    let b = &b[..a.len()];
    let mut s = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            s[l] += x[l] * y[l];
        }
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ra.iter().zip(rb) {
        t += x * y;
    }
    t
}

/// Copies the lower triangle of a square matrix onto the upper one.
pub fn mirror_lower(a: &mut Array2<f64>) {
    let k = a.nrows();
    for i in 0..k {
        for j in 0..i {
            a[[j, i]] = a[[i, j]];
        }
    }
}

/// Averages the two triangles (they differ only by rounding in the kernel).
pub fn symmetrize(a: &mut Array2<f64>) {
    let k = a.nrows();
    for i in 0..k {
        for j in 0..i {
            let v = 0.5 * (a[[i, j]] + a[[j, i]]);
            a[[i, j]] = v;
            a[[j, i]] = v;
        }
    }
}

/// Cholesky factor `L` (lower triangular, `A = L L'`) of a symmetric positive definite matrix,
/// or `None` when `A` is not numerically positive definite.
pub fn cholesky(a: &Array2<f64>) -> Option<Array2<f64>> {
    let k = a.nrows();
    let mut l = Array2::<f64>::zeros((k, k));
    for j in 0..k {
        let mut d = a[[j, j]];
        for p in 0..j {
            d -= l[[j, p]] * l[[j, p]];
        }
        if !(d > 0.0) || !d.is_finite() {
            return None;
        }
        let djj = d.sqrt();
        l[[j, j]] = djj;
        for i in j + 1..k {
            let mut s = a[[i, j]];
            for p in 0..j {
                s -= l[[i, p]] * l[[j, p]];
            }
            l[[i, j]] = s / djj;
        }
    }
    Some(l)
}

/// Solves `A x = b` given the Cholesky factor of `A`.
pub fn cholesky_solve(l: &Array2<f64>, b: &[f64]) -> Vec<f64> {
    let k = l.nrows();
    let mut y = b.to_vec();
    for i in 0..k {
        let mut s = y[i];
        for p in 0..i {
            s -= l[[i, p]] * y[p];
        }
        y[i] = s / l[[i, i]];
    }
    for i in (0..k).rev() {
        let mut s = y[i];
        for p in i + 1..k {
            s -= l[[p, i]] * y[p];
        }
        y[i] = s / l[[i, i]];
    }
    y
}

/// Diagonal equilibration `D = diag(1/sqrt(a_ii))`: `D A D` has a unit diagonal, which makes
/// the factorisation of badly scaled information matrices (age and age squared) accurate.
fn equilibrate(a: &Array2<f64>) -> Option<(Array2<f64>, Vec<f64>)> {
    let k = a.nrows();
    let d: Vec<f64> = (0..k).map(|i| 1.0 / a[[i, i]].sqrt()).collect();
    if d.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut s = a.clone();
    for i in 0..k {
        for j in 0..k {
            s[[i, j]] *= d[i] * d[j];
        }
    }
    Some((s, d))
}

/// Inverse of a symmetric positive definite matrix (equilibrated Cholesky).
pub fn spd_inverse(a: &Array2<f64>) -> Option<Array2<f64>> {
    let k = a.nrows();
    let (s, d) = equilibrate(a)?;
    let l = cholesky(&s)?;
    let mut inv = Array2::<f64>::zeros((k, k));
    let mut e = vec![0.0; k];
    for j in 0..k {
        e.iter_mut().for_each(|v| *v = 0.0);
        e[j] = 1.0;
        let col = cholesky_solve(&l, &e);
        for i in 0..k {
            inv[[i, j]] = col[i] * d[i] * d[j];
        }
    }
    symmetrize(&mut inv);
    Some(inv)
}

/// Solves `A x = b` for symmetric positive definite `A` (equilibrated Cholesky).
pub fn spd_solve(a: &Array2<f64>, b: &[f64]) -> Option<Vec<f64>> {
    let (s, d) = equilibrate(a)?;
    let l = cholesky(&s)?;
    let bs: Vec<f64> = b.iter().zip(&d).map(|(v, di)| v * di).collect();
    let y = cholesky_solve(&l, &bs);
    Some(y.iter().zip(&d).map(|(v, di)| v * di).collect())
}

/// Columns that are linear combinations of earlier columns, from a cross-product matrix `C`
/// (centred for all but the intercept when the model has one). Column `j` is dropped when
/// `1 - R²` of its regression on the earlier kept columns is below `tol`; earlier columns win,
/// as in R's `lm` and Stata's `_rmcoll`.
pub fn collinear_columns(c: &Array2<f64>, tol: f64) -> Vec<usize> {
    let k = c.nrows();
    let mut kept: Vec<usize> = Vec::new();
    let mut dropped = Vec::new();
    // Rows of the Cholesky factor of the kept block, in kept order.
    let mut l: Vec<Vec<f64>> = Vec::new();
    for j in 0..k {
        let cjj = c[[j, j]];
        if !(cjj > 0.0) {
            dropped.push(j);
            continue;
        }
        // r solves L r = C[kept, j] (scaled so the diagonal is one).
        let mut r = Vec::with_capacity(kept.len());
        for (a, &i) in kept.iter().enumerate() {
            let mut s = c[[i, j]] / (c[[i, i]] * cjj).sqrt();
            for p in 0..a {
                s -= l[a][p] * r[p];
            }
            r.push(s / l[a][a]);
        }
        let resid = 1.0 - r.iter().map(|v| v * v).sum::<f64>();
        if resid < tol {
            dropped.push(j);
        } else {
            let mut row = r;
            row.push(resid.sqrt());
            l.push(row);
            kept.push(j);
        }
    }
    dropped
}
