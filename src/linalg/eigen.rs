//! Symmetric eigen-decomposition by cyclic Jacobi rotations, and the symmetric matrix powers
//! built on it (what `clubSandwich`'s CR2 adjustment matrices need: `G^{-1/2}` of each
//! cluster's `n_g x n_g` block).
//!
//! Jacobi is slow for large matrices (about `10 n^3` flops) but accurate to a few ulps in every
//! eigenvalue, small ones included; the blocks it serves are one cluster's rows.

use ndarray::Array2;

/// Eigenvalues and eigenvectors (columns of the second value) of the symmetric matrix `a`
/// (only its values are read; it is assumed symmetric). Eigenvalues in ascending order.
pub fn symmetric_eigen(a: &Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    assert_eq!(n, a.ncols(), "square matrix");
    let mut m = a.clone();
    let mut v = Array2::<f64>::eye(n);
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..i).map(move |j| (i, j))).map(|(i, j)| m[[i, j]] * m[[i, j]]).sum();
        let diag: f64 = (0..n).map(|i| m[[i, i]] * m[[i, i]]).sum();
        if off <= 1e-32 * diag || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[[q, q]] - m[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let mkp = m[[k, p]];
                    let mkq = m[[k, q]];
                    m[[k, p]] = c * mkp - s * mkq;
                    m[[k, q]] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let mpk = m[[p, k]];
                    let mqk = m[[q, k]];
                    m[[p, k]] = c * mpk - s * mqk;
                    m[[q, k]] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let vkp = v[[k, p]];
                    let vkq = v[[k, q]];
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[[i, i]].total_cmp(&m[[j, j]]));
    let values = order.iter().map(|&i| m[[i, i]]).collect();
    let vectors = Array2::from_shape_fn((n, n), |(r, c)| v[[r, order[c]]]);
    (values, vectors)
}

/// `A^p` of a symmetric positive definite `A` through its eigen-decomposition, or `None`
/// when an eigenvalue is at most `tol` (absolute: the caller knows the matrix's scale; the
/// matrix is then singular or not positive definite).
pub fn symmetric_power(a: &Array2<f64>, p: f64, tol: f64) -> Option<Array2<f64>> {
    let n = a.nrows();
    let (values, vectors) = symmetric_eigen(a);
    if values.iter().any(|&l| !(l > tol)) {
        return None;
    }
    let lp: Vec<f64> = values.iter().map(|&l| l.powf(p)).collect();
    let mut out = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..n).map(|k| vectors[[i, k]] * lp[k] * vectors[[j, k]]).sum();
            out[[i, j]] = s;
            out[[j, i]] = s;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn inverse_square_root_squares_to_the_inverse() {
        let a = array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let s = symmetric_power(&a, -0.5, 1e-12).unwrap();
        let back = s.dot(&a).dot(&s);
        for i in 0..3 {
            for j in 0..3 {
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((back[[i, j]] - e).abs() < 1e-13, "{back}");
            }
        }
    }

    #[test]
    fn eigenvalues_of_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let (l, v) = symmetric_eigen(&array![[2.0, 1.0], [1.0, 2.0]]);
        assert!((l[0] - 1.0).abs() < 1e-15 && (l[1] - 3.0).abs() < 1e-15);
        assert!((v[[0, 1]].abs() - 0.5f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn singular_matrices_have_no_inverse_root() {
        assert!(symmetric_power(&array![[1.0, 1.0], [1.0, 1.0]], -0.5, 1e-12).is_none());
    }
}
