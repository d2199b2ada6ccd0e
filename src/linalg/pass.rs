//! The fused passes over the rows of the design (one read of X per iteration gives the
//! information, the score and the sums a fit needs), and the cross-products built on them.

use super::{dot, fused_pass_block, mirror_lower, weighted_lower_into, CHUNK, SUB_ROWS};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// One pass over the rows of `x`: for each row i, `f(i, eta_i)` returns `(w_i, s_i, extra)`
/// where `eta_i = x_i' beta`; the pass returns `(X' diag(w) X, X' s, sums of extra)`.
///
/// With `beta = None`, `eta_i` is passed as 0 (for passes that need only the data).
pub fn fused_pass<F>(x: ArrayView2<f64>, beta: Option<&[f64]>, f: F) -> (Array2<f64>, Vec<f64>, [f64; 4])
where
    F: Fn(usize, f64) -> (f64, f64, [f64; 4]) + Sync,
{
    let out = fused_pass_rows::<(), _, 1>(x, beta, |i, eta| {
        let (w, s, extra) = f(i, eta);
        ([w], s, extra, ())
    });
    let [h] = out.h;
    (h, out.g, out.scalars)
}

/// What [`fused_pass_rows`] returns.
pub struct PassOutput<T, const M: usize> {
    /// `X' diag(w_m) X` for each of the `M` weights.
    pub h: [Array2<f64>; M],
    /// `X' s`.
    pub g: Vec<f64>,
    /// Sums of the per-row extras.
    pub scalars: [f64; 4],
    /// The per-row values, in row order.
    pub rows: Vec<T>,
}

/// The general fused pass: for each row i, `f(i, eta_i)` returns `M` weights, the score `s_i`,
/// four values to sum and a value to keep; the pass returns the `M` weighted cross-products,
/// `X' s`, the sums and the kept values. `M = 0` is a gradient-only pass; `T = ()` keeps
/// nothing (and allocates nothing for it).
///
/// Rows are processed in fixed chunks of [`CHUNK`], chunks in parallel, and the partial sums
/// added in chunk order, so the result is bit-identical for any number of threads. Only the
/// lower triangle of each chunk's product is computed (see [`xtwx_lower_into`]) and mirrored
/// at the end. Allocations: one accumulator per chunk (`M` x K x K + K) and `M` x [`SUB_ROWS`]
/// weights per worker thread; nothing grows with N x N.
pub fn fused_pass_rows<T, F, const M: usize>(x: ArrayView2<f64>, beta: Option<&[f64]>, f: F) -> PassOutput<T, M>
where
    T: Send,
    F: Fn(usize, f64) -> ([f64; M], f64, [f64; 4], T) + Sync,
{
    fused_pass_block::<T, (), _, _, M>(x, beta, |_, _| {}, |i, eta, ()| f(i, eta))
}

/// `X' diag(w) X`.
pub fn xtwx(x: ArrayView2<f64>, w: &[f64]) -> Array2<f64> {
    fused_pass(x, None, |i, _| (w[i], 0.0, [0.0; 4])).0
}

/// `(X - 1 m')' diag(w) (X - 1 m')`: the weighted cross-product of centred columns, computed
/// from centred rows (no cancellation), chunked like [`fused_pass`].
pub fn centered_xtwx(x: ArrayView2<f64>, w: &[f64], means: &[f64]) -> Array2<f64> {
    let (n, k) = x.dim();
    let xs = x.as_slice().expect("row-major");
    let n_chunks = n.div_ceil(CHUNK).max(1);
    let partials: Vec<Vec<f64>> = (0..n_chunks)
        .into_par_iter()
        .map_init(
            || vec![0.0; SUB_ROWS * k],
            |centred, c| {
                let lo = c * CHUNK;
                let hi = (lo + CHUNK).min(n);
                let mut h = vec![0.0; k * k];
                let mut s0 = lo;
                while s0 < hi {
                    let s1 = (s0 + SUB_ROWS).min(hi);
                    let rows = s1 - s0;
                    for (ci, xi) in centred.chunks_exact_mut(k.max(1)).zip(xs[s0 * k..s1 * k].chunks_exact(k.max(1))) {
                        for ((d, &v), &m) in ci.iter_mut().zip(xi).zip(means) {
                            *d = v - m;
                        }
                    }
                    weighted_lower_into(&centred[..rows * k], &w[s0..s1], k, &mut h);
                    s0 = s1;
                }
                h
            },
        )
        .collect();
    let mut total = vec![0.0; k * k];
    for p in partials {
        for (a, b) in total.iter_mut().zip(&p) {
            *a += b;
        }
    }
    let mut h = Array2::from_shape_vec((k, k), total).expect("k x k");
    mirror_lower(&mut h);
    h
}

/// `X beta` on the rows where `keep` holds (the same bits as [`xbeta`]), 0 elsewhere.
pub fn xbeta_where(x: ArrayView2<f64>, beta: &[f64], keep: &[bool]) -> Vec<f64> {
    let k = x.ncols();
    let xs = x.as_slice().expect("row-major");
    assert_eq!(keep.len(), x.nrows(), "one flag per row");
    xs.par_chunks(k.max(1) * CHUNK)
        .zip(keep.par_chunks(CHUNK))
        .flat_map_iter(|(block, keep)| {
            block.chunks(k.max(1)).zip(keep).map(|(xi, &kp)| if kp { dot(xi, beta) } else { 0.0 }).collect::<Vec<_>>()
        })
        .collect()
}

/// `X beta` for every row.
pub fn xbeta(x: ArrayView2<f64>, beta: &[f64]) -> Vec<f64> {
    let k = x.ncols();
    let xs = x.as_slice().expect("row-major");
    xs.par_chunks(k.max(1) * CHUNK)
        .flat_map_iter(|block| block.chunks(k.max(1)).map(|xi| dot(xi, beta)).collect::<Vec<_>>())
        .collect()
}
