//! Dense linear algebra for small symmetric systems (K x K, K up to a few hundred) and the
//! one large operation of every fit: weighted cross-products `X' diag(w) X` over N rows.
//!
//! The cross-product is computed in fixed chunks of rows, each chunk's partial sum with a
//! SIMD matrix kernel (`matrixmultiply`, runtime CPU detection), chunks in parallel (rayon),
//! and the partials added in chunk order: the result is bit-identical for any thread count.
//!
//! Files: `pass` (the fused passes and cross-products), `kernel` (their row kernels and all
//! the `unsafe` code), `dense` (K x K factorisations and solves), `blocks` (block-diagonal
//! assembly and quadratic forms), `eigen` (symmetric eigen-decomposition and matrix powers).

mod blocks;
mod dense;
mod eigen;
mod kernel;
mod pass;

pub use blocks::{block_diag, quad_form};
pub use dense::*;
pub use eigen::{symmetric_eigen, symmetric_power};
pub use kernel::{fused_pass_block, fused_pass_live, weighted_lower_into, xt_mat, xtwx_lower_into};
pub use pass::{centered_xtwx, fused_pass, fused_pass_rows, xbeta, xbeta_where, xtwx, PassOutput};

/// Rows per chunk: the unit of parallel work and of the fixed-order reduction.
pub const CHUNK: usize = 1024;

/// Rows per sub-block within a chunk: 64 rows of K = 30 are 15 KB, so the rows just read for
/// the per-row work are still in L1 when the cross-product kernel reads them again.
pub const SUB_ROWS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    #[test]
    fn inverse_of_spd() {
        let a = array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let inv = spd_inverse(&a).unwrap();
        let prod = a.dot(&inv);
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((prod[[i, j]] - want).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn xtwx_matches_naive_and_is_chunk_invariant() {
        let n = 2500;
        let k = 5;
        let x = Array2::from_shape_fn((n, k), |(i, j)| ((i * 7 + j * 13) % 17) as f64 / 3.0 - 2.0);
        let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 5) as f64).collect();
        let h = xtwx(x.view(), &w);
        for a in 0..k {
            for b in 0..k {
                let naive: f64 = (0..n).map(|i| w[i] * x[[i, a]] * x[[i, b]]).sum();
                assert!((h[[a, b]] - naive).abs() <= 1e-9 * naive.abs().max(1.0));
            }
        }
    }

    /// Every shape the tiled kernel distinguishes (K below 4, multiples of 4 and not, the last
    /// tile overlapping the previous one), against a naive sum.
    #[test]
    fn weighted_lower_matches_naive_for_every_k() {
        for k in 1..=13 {
            let rows = 37;
            let x: Vec<f64> = (0..rows * k).map(|t| ((t * 7919) % 23) as f64 / 5.0 - 2.0).collect();
            let w: Vec<f64> = (0..rows).map(|r| 0.25 + (r % 3) as f64).collect();
            let mut h = vec![0.5; k * k];
            weighted_lower_into(&x, &w, k, &mut h);
            for i in 0..k {
                for j in 0..=i {
                    let naive: f64 = 0.5 + (0..rows).map(|r| x[r * k + i] * w[r] * x[r * k + j]).sum::<f64>();
                    assert!((h[i * k + j] - naive).abs() <= 1e-12 * naive.abs().max(1.0), "k {k} ({i}, {j})");
                }
            }
        }
    }

    /// A pass over the live rows only gives the bits of the pass over every row when the
    /// skipped rows' terms are zeros, whatever the pattern of skipped rows (none, some, whole
    /// sub-blocks, all).
    #[test]
    fn live_rows_pass_equals_the_full_pass() {
        let (n, k) = (3000, 7);
        let x = Array2::from_shape_fn((n, k), |(i, j)| ((i * 31 + j * 17) % 29) as f64 / 7.0 - 2.0);
        let beta: Vec<f64> = (0..k).map(|j| 0.1 * j as f64 - 0.2).collect();
        let patterns: [fn(usize) -> f64; 4] =
            [|_| 1.0, |i| ((i * 7) % 5 != 0) as u8 as f64 * 2.0, |i| ((i / 64) % 3 != 1) as u8 as f64, |_| 0.0];
        for w in patterns {
            let w: Vec<f64> = (0..n).map(w).collect();
            let f =
                |i: usize, eta: f64, _: ()| ([w[i] * eta.exp()], w[i] * (eta - 0.3), [w[i] * eta, 0.0, 0.0, 0.0], ());
            let all = fused_pass_block::<(), _, _, _, 1>(x.view(), Some(&beta), |_, _| {}, f);
            let live = fused_pass_live::<(), _, _, _, 1>(x.view(), Some(&beta), Some(&w), |_, _| {}, f);
            assert_eq!(all.h[0], live.h[0]);
            assert_eq!(all.g, live.g);
            assert_eq!(all.scalars, live.scalars);
        }
    }

    #[test]
    fn detects_exact_collinearity() {
        // columns: 1, a, b, a + b
        let n = 50;
        let x = Array2::from_shape_fn((n, 4), |(i, j)| {
            let a = (i % 7) as f64;
            let b = ((i * 3) % 11) as f64;
            match j {
                0 => 1.0,
                1 => a,
                2 => b,
                _ => a + b,
            }
        });
        let c = x.t().dot(&x);
        assert_eq!(collinear_columns(&c, 1e-10), vec![3]);
    }
}
