//! Block-diagonal assembly and quadratic forms: the joint variance of a model's parts.

use ndarray::Array2;

/// `j' V j`, summed row by row of `V` (the delta-method variance of one effect).
pub fn quad_form(j: &[f64], v: &Array2<f64>) -> f64 {
    let k = j.len();
    let mut s = 0.0;
    for a in 0..k {
        let mut t = 0.0;
        for b in 0..k {
            t += v[[a, b]] * j[b];
        }
        s += j[a] * t;
    }
    s
}

/// Block-diagonal joint variance of several parts.
pub fn block_diag(blocks: &[&Array2<f64>]) -> Array2<f64> {
    let k: usize = blocks.iter().map(|b| b.nrows()).sum();
    let mut out = Array2::zeros((k, k));
    let mut o = 0;
    for b in blocks {
        let m = b.nrows();
        out.slice_mut(ndarray::s![o..o + m, o..o + m]).assign(b);
        o += m;
    }
    out
}
