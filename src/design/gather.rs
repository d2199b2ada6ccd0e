//! Row and column gathering for building and subsetting designs, in parallel blocks.

use ndarray::Array2;
use rayon::prelude::*;
use std::sync::Arc;

/// `ok[i] &= keep(&col[i])` for every row, in parallel blocks.
pub(super) fn and_mask<T: Sync>(ok: &mut [bool], col: &[T], keep: impl Fn(&T) -> bool + Sync) {
    ok.par_chunks_mut(ROW_BLOCK).zip(col.par_chunks(ROW_BLOCK)).for_each(|(o, c)| {
        o.iter_mut().zip(c).for_each(|(x, v)| *x &= keep(v));
    });
}

/// `src[idx[0]], src[idx[1]], ...`
pub(super) fn gather<T: Copy + Send + Sync>(src: &[T], idx: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len());
    out.extend(idx.iter().map(|&i| src[i]));
    out
}

/// [`gather`] into shared storage (collected in place: the iterator has an exact length).
pub(super) fn gather_shared(src: &[f64], idx: &[usize]) -> Arc<[f64]> {
    idx.iter().map(|&i| src[i]).collect()
}

/// The rows `idx` of a row-major matrix, in that order.
pub(super) fn gather_rows(x: &Array2<f64>, idx: &[usize]) -> Array2<f64> {
    let k = x.ncols();
    let std = x.as_standard_layout();
    let src = std.as_slice().expect("standard layout");
    let mut data = vec![0.0; idx.len() * k];
    if k > 0 {
        data.par_chunks_mut(ROW_BLOCK * k).zip(idx.par_chunks(ROW_BLOCK)).for_each(|(block, rows)| {
            for (out, &i) in block.chunks_exact_mut(k).zip(rows) {
                out.copy_from_slice(&src[i * k..(i + 1) * k]);
            }
        });
    }
    Array2::from_shape_vec((idx.len(), k), data).expect("rows x k values")
}

/// The columns `keep` of a row-major matrix, in that order.
pub(super) fn gather_columns(x: &Array2<f64>, keep: &[usize]) -> Array2<f64> {
    let (n, k, m) = (x.nrows(), x.ncols(), keep.len());
    let std = x.as_standard_layout();
    let src = std.as_slice().expect("standard layout");
    let mut data = vec![0.0; n * m];
    if m > 0 && k > 0 {
        data.par_chunks_mut(ROW_BLOCK * m).zip(src.par_chunks(ROW_BLOCK * k)).for_each(|(out, inp)| {
            for (o, i) in out.chunks_exact_mut(m).zip(inp.chunks_exact(k)) {
                for (v, &j) in o.iter_mut().zip(keep) {
                    *v = i[j];
                }
            }
        });
    }
    Array2::from_shape_vec((n, m), data).expect("n x m values")
}

/// Rows per parallel block when building or gathering design matrices.
pub(super) const ROW_BLOCK: usize = 4096;
