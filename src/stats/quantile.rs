//! Stata's empirical quantiles (`_pctile`, `centile`'s default, `xtile`).
//!
//! With `n` sorted non-missing values x₍₁₎ ≤ … ≤ x₍ₙ₎ and a proportion p, let P = n p. The
//! p-quantile is (x₍P₎ + x₍P+1₎) / 2 when P is a whole number and x₍⌈P⌉₎ otherwise (Stata's
//! default definition, not `altdef`; R's `quantile(type = 2)`; Hyndman and Fan 1996,
//! definition 2). `xtile newvar = x, nq(q)` cuts at the quantiles i/q, i = 1 … q - 1, and puts
//! a value in group j when cut_{j-1} < x ≤ cut_j, so a value equal to a cut point goes to the
//! lower group. Stata Base Reference Manual, `pctile`, Methods and formulas.

/// The p-quantile of sorted values, `p` a proportion in [0, 1] given as a float. P = n p is
/// taken as whole when it lies less than 1e-12 above a whole number, so that `p = 0.99` at
/// `n = 100` averages the 99th and 100th values however `n p` rounds. Panics on an empty
/// slice.
pub fn pctile_sorted(sorted: &[f64], p: f64) -> f64 {
    let np = sorted.len() as f64 * p;
    let whole = (np - np.floor()).abs() < 1e-12;
    order_stat(sorted, np.floor() as usize, whole)
}

/// The value at position P of the sorted values: P = `j` when `whole`, else j < P < j + 1.
/// Positions outside 1 … n take the first or last value.
fn order_stat(s: &[f64], j: usize, whole: bool) -> f64 {
    let n = s.len();
    if whole && j >= 1 && j < n {
        (s[j - 1] + s[j]) / 2.0
    } else {
        let ceil = if whole { j } else { j + 1 };
        s[ceil.clamp(1, n) - 1]
    }
}

/// The `q - 1` cut points of `xtile, nq(q)` over the non-missing values of `x` (NaN cuts when
/// all are missing). P = n i / q is computed in integers, so "whole" is exact.
pub fn xtile_cuts(x: &[f64], q: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    {
        use rayon::prelude::*;
        // Stable, and equal keys under total_cmp are the same bits: the same order as sort_by.
        sorted.par_sort_by(f64::total_cmp);
    }
    let n = sorted.len();
    if n == 0 {
        return vec![f64::NAN; q.saturating_sub(1)];
    }
    (1..q).map(|i| order_stat(&sorted, n * i / q, (n * i) % q == 0)).collect()
}

/// `xtile, nq(q)`: each value's 0-based group, `None` for a missing (NaN) value.
pub fn xtile(x: &[f64], q: usize) -> Vec<Option<usize>> {
    let cuts = xtile_cuts(x, q);
    x.iter().map(|&v| if v.is_nan() { None } else { Some(cuts.iter().filter(|&&c| v > c).count()) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtile_matches_stata_rule() {
        // Stata: xtile over 1..10 with nq(5): cuts at 2.5, 4.5, 6.5, 8.5.
        let x: Vec<f64> = (1..=10).map(|v| v as f64).collect();
        assert_eq!(xtile_cuts(&x, 5), vec![2.5, 4.5, 6.5, 8.5]);
        let g: Vec<usize> = xtile(&x, 5).into_iter().map(|g| g.unwrap()).collect();
        assert_eq!(g, vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
        // nq(4) on 1..10: cuts 3, 5.5, 8.
        assert_eq!(xtile_cuts(&x, 4), vec![3.0, 5.5, 8.0]);
        // Ties at a cut point go to the lower group; missing stays missing.
        let x = [1.0, 2.0, f64::NAN, 2.0, 2.0, 3.0];
        assert_eq!(xtile(&x, 2), vec![Some(0), Some(0), None, Some(0), Some(0), Some(1)]);
        assert!(xtile_cuts(&[f64::NAN], 3).iter().all(|c| c.is_nan()));
    }

    #[test]
    fn pctile_of_sorted_values() {
        let x: Vec<f64> = (1..=100).map(|v| v as f64).collect();
        // n p = 99 (whole): the average of the 99th and 100th values.
        assert_eq!(pctile_sorted(&x, 0.99), 99.5);
        assert_eq!(pctile_sorted(&x, 0.995), 100.0);
        assert_eq!(pctile_sorted(&x, 0.0), 1.0);
        assert_eq!(pctile_sorted(&x, 1.0), 100.0);
        assert_eq!(pctile_sorted(&x[..5], 0.5), 3.0);
    }
}
