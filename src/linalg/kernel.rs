//! The row kernels of the passes over the design, and all of linalg's `unsafe` code: the
//! fused pass's chunk driver (its per-chunk loop compiled for AVX2 when the CPU has it, and
//! the kept per-row values written in place), the `matrixmultiply` calls for the lower
//! triangle of `A' B` and for `X' C`, and the register-tiled AVX2 + FMA kernel of the
//! weighted cross-product. Every `unsafe` block states why it is sound.

use super::{dot, mirror_lower, PassOutput, CHUNK, SUB_ROWS};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// [`fused_pass_rows`] with a block step: for every block of up to [`SUB_ROWS`] rows the
/// linear indices are computed first and `block(etas, values)` fills one value per row (the
/// fits evaluate the link of a whole block at once there, vectorised where the link allows),
/// then `f(i, eta_i, value_i)` runs per row as in [`fused_pass_rows`].
pub fn fused_pass_block<T, V, B, F, const M: usize>(
    x: ArrayView2<f64>,
    beta: Option<&[f64]>,
    block: B,
    f: F,
) -> PassOutput<T, M>
where
    T: Send,
    V: Copy + Default,
    B: Fn(&[f64], &mut [V]) + Sync,
    F: Fn(usize, f64, V) -> ([f64; M], f64, [f64; 4], T) + Sync,
{
    fused_pass_live(x, beta, None, block, f)
}

/// [`fused_pass_block`] over the rows whose `live` entry is not 0 only (a bootstrap
/// replicate's drawn rows, a jackknife's kept rows): the other rows get no linear index, no
/// block value and no call of `f`, and add nothing to the sums. When `f` gives a row of weight
/// 0 nothing but zeros (a score, a deviance and information weights that are multiples of
/// the weight), the sums are those of the pass over every row: the skipped terms are `+ 0`.
/// Keeps no per-row values (`T` is zero-sized).
pub fn fused_pass_live<T, V, B, F, const M: usize>(
    x: ArrayView2<f64>,
    beta: Option<&[f64]>,
    live: Option<&[f64]>,
    block: B,
    f: F,
) -> PassOutput<T, M>
where
    T: Send,
    V: Copy + Default,
    B: Fn(&[f64], &mut [V]) + Sync,
    F: Fn(usize, f64, V) -> ([f64; M], f64, [f64; 4], T) + Sync,
{
    let (n, k) = x.dim();
    let xs = x.as_slice().expect("design matrices are row-major and contiguous");
    if let Some(l) = live {
        assert!(l.len() == n && std::mem::size_of::<T>() == 0, "one live entry per row, no kept values");
    }
    let n_chunks = n.div_ceil(CHUNK).max(1);
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    // The kept values are written in place, each chunk into its own slice of the output
    // (no per-chunk vectors to allocate and copy).
    let keep = std::mem::size_of::<T>() != 0;
    let mut rows: Vec<T> = Vec::with_capacity(if keep { n } else { 0 });
    let slots: Vec<&mut [std::mem::MaybeUninit<T>]> = if keep {
        let mut rest = &mut rows.spare_capacity_mut()[..n];
        (0..n_chunks)
            .map(|c| {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(CHUNK.min(n - c * CHUNK));
                rest = tail;
                head
            })
            .collect()
    } else {
        (0..n_chunks).map(|_| <&mut [std::mem::MaybeUninit<T>]>::default()).collect()
    };
    let partials: Vec<Part<M>> = (0..n_chunks)
        .into_par_iter()
        .zip(slots)
        .map_init(
            || [[0.0; SUB_ROWS]; M],
            |wts, (c, slot)| {
                let lo = c * CHUNK;
                let hi = (lo + CHUNK).min(n);
                #[cfg(target_arch = "x86_64")]
                if avx2 {
                    // SAFETY: the CPU supports AVX2 and FMA (checked above).
                    return unsafe { chunk_avx2(xs, k, lo, hi, beta, live, &block, &f, wts, slot) };
                }
                chunk(xs, k, lo, hi, beta, live, &block, &f, wts, slot)
            },
        )
        .collect();
    if keep {
        // SAFETY: chunk `c` wrote every entry of its slot (rows `c * CHUNK..` up to the next
        // chunk), and the slots cover rows `0..n` of the reserved capacity. A panic in a chunk
        // reaches here only as a panic, so no unwritten entry is ever exposed.
        unsafe { rows.set_len(n) };
    }
    let mut h: [Vec<f64>; M] = std::array::from_fn(|_| vec![0.0; k * k]);
    let mut g = vec![0.0; k];
    let mut scalars = [0.0; 4];
    for p in partials {
        for (total, part) in h.iter_mut().zip(&p.h) {
            for (a, b) in total.iter_mut().zip(part) {
                *a += b;
            }
        }
        for (a, b) in g.iter_mut().zip(&p.g) {
            *a += b;
        }
        for (a, b) in scalars.iter_mut().zip(p.scalars) {
            *a += b;
        }
    }
    let h = h.map(|v| {
        let mut m = Array2::from_shape_vec((k, k), v).expect("k x k");
        mirror_lower(&mut m);
        m
    });
    PassOutput { h, g, scalars, rows }
}

/// One chunk's partial sums in a fused pass.
struct Part<const M: usize> {
    h: [Vec<f64>; M],
    g: Vec<f64>,
    scalars: [f64; 4],
}

/// [`chunk`] compiled for AVX2 (wider vectors for the row loop and the closure inlined in it).
/// Rust never contracts `a * b + c` into a fused multiply-add, so the arithmetic, and the
/// result, are the same as [`chunk`]'s.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn chunk_avx2<T, V, B, F, const M: usize>(
    xs: &[f64],
    k: usize,
    lo: usize,
    hi: usize,
    beta: Option<&[f64]>,
    live: Option<&[f64]>,
    block: &B,
    f: &F,
    wts: &mut [[f64; SUB_ROWS]; M],
    slot: &mut [std::mem::MaybeUninit<T>],
) -> Part<M>
where
    V: Copy + Default,
    B: Fn(&[f64], &mut [V]),
    F: Fn(usize, f64, V) -> ([f64; M], f64, [f64; 4], T),
{
    chunk(xs, k, lo, hi, beta, live, block, f, wts, slot)
}

/// Rows `lo..hi` of a fused pass (see [`fused_pass_rows`]). The kept value of row `lo + r`
/// goes to `slot[r]`: `slot` holds `hi - lo` entries, or none when `T` is zero-sized.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn chunk<T, V, B, F, const M: usize>(
    xs: &[f64],
    k: usize,
    lo: usize,
    hi: usize,
    beta: Option<&[f64]>,
    live: Option<&[f64]>,
    block_fn: &B,
    f: &F,
    wts: &mut [[f64; SUB_ROWS]; M],
    slot: &mut [std::mem::MaybeUninit<T>],
) -> Part<M>
where
    V: Copy + Default,
    B: Fn(&[f64], &mut [V]),
    F: Fn(usize, f64, V) -> ([f64; M], f64, [f64; 4], T),
{
    // The caller's `set_len` relies on every entry of a non-empty slot being written here.
    assert_eq!(slot.len(), if std::mem::size_of::<T>() == 0 { 0 } else { hi - lo }, "one slot entry per row");
    let mut part = Part { h: std::array::from_fn(|_| vec![0.0; k * k]), g: vec![0.0; k], scalars: [0.0; 4] };
    let mut compact: (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    // Sub-blocks small enough to stay in L1 between the per-row work and the cross-product
    // kernel, so each pass reads the design from memory once.
    // The live rows of a sub-block, packed, when some of its rows are skipped.
    let mut packed: Vec<f64> = Vec::new();
    let mut index = [0usize; SUB_ROWS];
    let mut s0 = lo;
    while s0 < hi {
        let s1 = (s0 + SUB_ROWS).min(hi);
        let mut block = &xs[s0 * k..s1 * k];
        let mut nr = s1 - s0;
        let mut all = true;
        if let Some(l) = live {
            let mut m = 0;
            for (i, &v) in l[s0..s1].iter().enumerate() {
                index[m] = s0 + i;
                m += (v != 0.0) as usize;
            }
            if m < nr {
                all = false;
                packed.clear();
                for &i in &index[..m] {
                    packed.extend_from_slice(&xs[i * k..(i + 1) * k]);
                }
                block = &packed;
                nr = m;
            }
        }
        let row = |r: usize| if all { s0 + r } else { index[r] };
        let mut etas = [0.0; SUB_ROWS];
        if let Some(b) = beta {
            for (e, xi) in etas.iter_mut().zip(block.chunks_exact(k.max(1))) {
                *e = dot(xi, b);
            }
        }
        let mut values = [V::default(); SUB_ROWS];
        block_fn(&etas[..nr], &mut values[..nr]);
        for (r, xi) in block.chunks_exact(k.max(1)).enumerate() {
            let (w, s, extra, keep) = f(row(r), etas[r], values[r]);
            for (m, &wm) in w.iter().enumerate() {
                wts[m][r] = wm;
            }
            for (g, &v) in part.g.iter_mut().zip(xi) {
                *g += s * v;
            }
            for (a, e) in part.scalars.iter_mut().zip(extra) {
                *a += e;
            }
            if let Some(out) = slot.get_mut(s0 - lo + r) {
                out.write(keep);
            }
        }
        for (h, wm) in part.h.iter_mut().zip(wts.iter()) {
            let wm = &wm[..nr];
            // Rows of weight 0 (a bootstrap replicate's rows not drawn) add nothing: when they
            // are a quarter of the block or more, the others are copied together and only they
            // go through the kernel. Each entry's chain of multiply-adds then skips `+ a * 0`
            // terms, which leave it unchanged: the same result either way.
            let zeros = wm.iter().filter(|&&w| w == 0.0).count();
            if zeros * 4 >= nr && k > 0 {
                let (cx, cw) = &mut compact;
                cx.clear();
                cw.clear();
                for (xi, &wr) in block.chunks_exact(k).zip(wm) {
                    if wr != 0.0 {
                        cx.extend_from_slice(xi);
                        cw.push(wr);
                    }
                }
                weighted_lower_into(cx, cw, k, h);
            } else {
                weighted_lower_into(block, wm, k, h);
            }
        }
        s0 = s1;
    }
    part
}

/// Rows of `H` computed per kernel call in [`xtwx_lower_into`]: the height of the SIMD
/// micro-kernel of `matrixmultiply` for f64 (8), so no call computes padding rows.
const ROW_BLOCK: usize = 8;

/// `h[i][j] += sum_r a[r][i] * b[r][j]` for `j <= i` (and a few entries above the diagonal
/// within each block of [`ROW_BLOCK`] rows), with `a` and `b` row-major `rows x k`.
///
/// The cross-product is symmetric, so only the lower triangle is needed: one kernel call per
/// block of rows of `H`, over the columns up to the block's end, computes about
/// `(k + ROW_BLOCK) / 2k` of the full product (63% for k = 30). Callers mirror the lower
/// triangle once at the end ([`mirror_lower`]).
pub fn xtwx_lower_into(a: &[f64], b: &[f64], rows: usize, k: usize, h: &mut [f64]) {
    assert!(a.len() >= rows * k && b.len() >= rows * k && h.len() == k * k);
    if rows == 0 {
        return;
    }
    let mut i0 = 0;
    while i0 < k {
        let i1 = (i0 + ROW_BLOCK).min(k);
        // H[i0..i1, 0..i1] += A[:, i0..i1]' B[:, 0..i1]
        // SAFETY: every pointer, extent and stride stays inside `a`, `b` and `h` (asserted above).
        unsafe {
            matrixmultiply::dgemm(
                i1 - i0,
                rows,
                i1,
                1.0,
                a.as_ptr().add(i0),
                1,
                k as isize,
                b.as_ptr(),
                k as isize,
                1,
                1.0,
                h.as_mut_ptr().add(i0 * k),
                k as isize,
                1,
            );
        }
        i0 = i1;
    }
}

/// `X' C` for a row-major `n x m` matrix `C` (given as a slice): `k x m`, row-major. Chunked
/// and reduced in chunk order like [`fused_pass`], so the result does not depend on threads.
pub fn xt_mat(x: ArrayView2<f64>, c: &[f64], m: usize) -> Vec<f64> {
    let (n, k) = x.dim();
    assert_eq!(c.len(), n * m);
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let n_chunks = n.div_ceil(CHUNK).max(1);
    let partials: Vec<Vec<f64>> = (0..n_chunks)
        .into_par_iter()
        .map(|ci| {
            let lo = ci * CHUNK;
            let hi = (lo + CHUNK).min(n);
            let mut out = vec![0.0; k * m];
            if hi > lo {
                // SAFETY: pointers and strides describe the slices above exactly.
                unsafe {
                    matrixmultiply::dgemm(
                        k,
                        hi - lo,
                        m,
                        1.0,
                        xs[lo * k..].as_ptr(),
                        1,
                        k as isize,
                        c[lo * m..].as_ptr(),
                        m as isize,
                        1,
                        0.0,
                        out.as_mut_ptr(),
                        m as isize,
                        1,
                    );
                }
            }
            out
        })
        .collect();
    let mut total = vec![0.0; k * m];
    for p in partials {
        for (a, b) in total.iter_mut().zip(&p) {
            *a += b;
        }
    }
    total
}

/// `h[i][j] += sum_r x[r][i] * (w[r] * x[r][j])` for `j <= i` (and possibly some entries
/// above the diagonal, which callers overwrite with [`mirror_lower`]), with `x` row-major
/// `w.len() x k`. With AVX2 and FMA (detected at run time) a register-tiled kernel reads the
/// rows in place; otherwise `w X` is formed and [`xtwx_lower_into`] is used. Either way the
/// result depends only on the rows given, not on threads.
pub fn weighted_lower_into(x: &[f64], w: &[f64], k: usize, h: &mut [f64]) {
    let rows = w.len();
    assert!(x.len() >= rows * k && h.len() == k * k);
    if rows == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if k >= 4 && std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA (checked above); extents asserted above.
            unsafe { avx2::weighted_lower(x, w, k, h) };
            return;
        }
    }
    let mut scaled = vec![0.0; rows * k];
    for ((d, xi), &wr) in scaled.chunks_exact_mut(k.max(1)).zip(x.chunks_exact(k.max(1))).zip(w) {
        for (a, &v) in d.iter_mut().zip(xi) {
            *a = wr * v;
        }
    }
    xtwx_lower_into(x, &scaled, rows, k, h);
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The weighted cross-product kernel for AVX2 + FMA: `H` in tiles of 4 rows x up to 8
    //! columns held in 8 registers while the data rows stream past (no packing, no copy of
    //! `w X`). Each tile entry is one chain of fused multiply-adds over the rows, in row order.
    //! Columns past a multiple of four are covered by a last vector that starts at `k - 4`
    //! (overlapping the previous one; the overlapping lanes are not stored twice), and the last
    //! block of rows of `H` likewise starts at `k - 4`.
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn weighted_lower(x: &[f64], w: &[f64], k: usize, h: &mut [f64]) {
        debug_assert!(k >= 4);
        let n_blocks = k.div_ceil(4);
        for b in 0..n_blocks {
            let i_from = 4 * b;
            let i0 = i_from.min(k - 4);
            let i_end = (i_from + 4).min(k);
            let n_vec = i_end.div_ceil(4);
            let mut v0 = 0;
            while v0 < n_vec {
                // Two vectors: 8 accumulators, enough independent chains to keep both FMA units
                // busy; with three, one accumulator spills to the stack and the loop runs at
                // half speed.
                let nv = (n_vec - v0).min(2);
                match nv {
                    1 => tile::<1>(x, w, k, h, i0, i_from, v0),
                    _ => tile::<2>(x, w, k, h, i0, i_from, v0),
                }
                v0 += nv;
            }
        }
    }

    /// Rows `i0..i0 + 4` of `H` (stored from `i_from` on) by column vectors `v0..v0 + NV`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tile<const NV: usize>(
        x: &[f64],
        w: &[f64],
        k: usize,
        h: &mut [f64],
        i0: usize,
        i_from: usize,
        v0: usize,
    ) {
        let starts: [usize; NV] = std::array::from_fn(|v| (4 * (v0 + v)).min(k - 4));
        let mut acc = [[_mm256_setzero_pd(); NV]; 4];
        let xp = x.as_ptr();
        for (r, &wr) in w.iter().enumerate() {
            // SAFETY: row r has k entries; starts[v] + 4 <= k and i0 + 4 <= k.
            let row = xp.add(r * k);
            let wv = _mm256_set1_pd(wr);
            let mut bv = [_mm256_setzero_pd(); NV];
            for v in 0..NV {
                bv[v] = _mm256_mul_pd(wv, _mm256_loadu_pd(row.add(starts[v])));
            }
            for (ii, acc_i) in acc.iter_mut().enumerate() {
                let a = _mm256_set1_pd(*row.add(i0 + ii));
                for v in 0..NV {
                    acc_i[v] = _mm256_fmadd_pd(a, bv[v], acc_i[v]);
                }
            }
        }
        for (ii, acc_i) in acc.iter().enumerate() {
            let i = i0 + ii;
            if i < i_from {
                continue;
            }
            for v in 0..NV {
                let mut lanes = [0.0; 4];
                _mm256_storeu_pd(lanes.as_mut_ptr(), acc_i[v]);
                let first_new = 4 * (v0 + v);
                for (l, &val) in lanes.iter().enumerate() {
                    let j = starts[v] + l;
                    if j >= first_new {
                        h[i * k + j] += val;
                    }
                }
            }
        }
    }
}
