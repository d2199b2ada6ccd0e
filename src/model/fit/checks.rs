//! The checks a fit makes on its design before estimating: collinear columns (dropped, as
//! Stata's "omitted because of collinearity") and, for binary models, indicators that predict
//! the outcome perfectly (dropped with the rows they determine).

use super::Omitted;
use crate::design::Design;
use crate::error::{FitError, Result};
use crate::linalg;
use crate::model::{ModelKind, ModelSpec};
use ndarray::Array2;

/// Rows listed as file lines, for messages: "lines 5, 9, 17 and 3 more".
pub(super) fn some_lines(design: &Design, bad: &[usize]) -> String {
    let shown: Vec<String> = bad.iter().take(5).map(|&i| design.lines[i].to_string()).collect();
    let more = if bad.len() > 5 { format!(" and {} more", bad.len() - 5) } else { String::new() };
    format!("line{} {}{}", if bad.len() > 1 { "s" } else { "" }, shown.join(", "), more)
}

/// What [`fit`] checks on a design as built, before it changes it: the collinearity of the
/// columns and, for binary models, which indicators predict the outcome perfectly. Computed
/// from a borrowed design, so that a caller can run the checks while it prepares something
/// else (the two-part model checks its first part while it gathers the positive rows).
#[derive(Clone)]
pub struct Checks {
    pub(super) collinear: Collinear,
    /// Per column, the perfect-prediction tally of binary models ([`indicator_tally`]).
    pub(super) tally: Option<Vec<Option<[[usize; 2]; 2]>>>,
}

impl Checks {
    pub fn of(design: &Design, spec: &ModelSpec) -> Checks {
        let binary = matches!(spec.kind, ModelKind::Probit | ModelKind::Logit);
        Checks { collinear: collinear_check(design), tally: binary.then(|| indicator_tally(design)) }
    }
}

/// The collinearity check of a design's columns: the uncentred `X' diag(w) X` and the columns
/// to drop.
#[derive(Clone)]
pub(super) struct Collinear {
    pub(super) xtwx: Array2<f64>,
    pub(super) dropped: Vec<usize>,
}

impl Collinear {
    /// The columns that stay, of `k`.
    pub(super) fn kept(&self, k: usize) -> Vec<usize> {
        (0..k).filter(|j| !self.dropped.contains(j)).collect()
    }
}

/// Finds the columns that are linear combinations of earlier ones (prior-weighted, centred when
/// the model has an intercept), like Stata's "omitted because of collinearity".
///
/// Returns them with the uncentred `X' diag(w) X` of all the columns (prior weights `w`;
/// [`drop_collinear`] keeps the rows and columns of the kept ones), which the check computes
/// anyway: with an intercept it is `C + s s' / sum(w)` from the centred `C`
/// and the weighted column sums `s` (adding, not cancelling, so accurate to rounding). The fit
/// uses it for the starting values and as the constant expected information of gamma-log and
/// gaussian models, instead of a further pass over the rows.
pub(super) fn collinear_check(design: &Design) -> Collinear {
    let k = design.k();
    let n = design.n();
    let w: Vec<f64> = design.weights.clone().unwrap_or_else(|| vec![1.0; n]);
    let intercept = design.names.iter().position(|s| s == "(Intercept)");
    let (c, xtwx) = match intercept {
        Some(ic) => {
            let wsum: f64 = w.iter().sum();
            let mut sums = vec![0.0; k];
            let xs = design.x.as_slice().expect("row-major");
            for (xi, &wi) in xs.chunks_exact(k.max(1)).zip(&w) {
                for (m, &v) in sums.iter_mut().zip(xi) {
                    *m += wi * v;
                }
            }
            let means: Vec<f64> = sums.iter().map(|m| m / wsum).collect();
            let mut c = linalg::centered_xtwx(design.x.view(), &w, &means);
            let mut u = c.clone();
            for a in 0..k {
                for b in 0..k {
                    u[[a, b]] = if a == ic && b == ic {
                        wsum
                    } else if a == ic {
                        sums[b]
                    } else if b == ic {
                        sums[a]
                    } else {
                        c[[a, b]] + sums[a] * sums[b] / wsum
                    };
                }
            }
            // The intercept keeps its place first with unit "variance".
            for j in 0..k {
                c[[ic, j]] = 0.0;
                c[[j, ic]] = 0.0;
            }
            c[[ic, ic]] = 1.0;
            (c, u)
        }
        None => {
            let c = linalg::xtwx(design.x.view(), &w);
            (c.clone(), c)
        }
    };
    let dropped = linalg::collinear_columns(&c, 1e-11);
    Collinear { xtwx, dropped }
}

/// Drops the columns of the check, with notes; returns `X' diag(w) X` of the kept columns.
pub(super) fn drop_collinear(
    design: &mut Design,
    check: Collinear,
    omitted: &mut Vec<Omitted>,
    notes: &mut Vec<String>,
) -> Array2<f64> {
    let k = design.k();
    let keep = check.kept(k);
    let Collinear { xtwx, dropped } = check;
    if dropped.is_empty() {
        return xtwx;
    }
    for &j in &dropped {
        let term = design.names[j].clone();
        notes.push(format!("{term} omitted because of collinearity"));
        omitted.push(Omitted { term, reason: "collinearity".into() });
    }
    design.select_columns(&keep);
    Array2::from_shape_fn((keep.len(), keep.len()), |(a, b)| xtwx[[keep[a], keep[b]]])
}

/// For each column made only of zeros and ones, the number of rows with each value and each
/// outcome (`[value][outcome]`), in one pass over the rows; `None` for other columns.
///
/// Branch-free: each row adds its comparisons `x == 1` and `x == 0` to the counters of its
/// outcome (a column is binary when the two counts cover every row), so indicators whose values
/// alternate unpredictably cost no mispredicted branches and the loop over the columns vectorises.
pub(super) fn indicator_tally(design: &Design) -> Vec<Option<[[usize; 2]; 2]>> {
    use rayon::prelude::*;
    let k = design.k();
    let xs = design.x.as_slice().expect("row-major");
    // counts[(value * 2 + outcome) * k + j]
    let empty = || vec![0u64; 4 * k];
    let counts = xs
        .par_chunks(k.max(1) * linalg::CHUNK)
        .zip(design.y.par_chunks(linalg::CHUNK))
        .fold(empty, |mut counts, (block, ys)| {
            let (zeros, ones) = counts.split_at_mut(2 * k);
            for (xi, &y) in block.chunks_exact(k.max(1)).zip(ys) {
                // Outcome as binary models code it: non-zero is a success (after the
                // recoding in `fit`, y == 1).
                let o = usize::from(y != 0.0) * k;
                let (z, u) = (&mut zeros[o..o + k], &mut ones[o..o + k]);
                for ((z, u), &v) in z.iter_mut().zip(u.iter_mut()).zip(xi) {
                    *z += u64::from(v == 0.0);
                    *u += u64::from(v == 1.0);
                }
            }
            counts
        })
        .reduce(empty, |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        });
    let n = design.n() as u64;
    let at = |value: usize, outcome: usize, j: usize| counts[(value * 2 + outcome) * k + j] as usize;
    (0..k)
        .map(|j| {
            let total: u64 = (0..4).map(|c| counts[c * k + j]).sum();
            (total == n).then(|| [[at(0, 0, j), at(0, 1, j)], [at(1, 0, j), at(1, 1, j)]])
        })
        .collect()
}

/// Stata's check for binary models: an indicator column for which one of its values occurs
/// only with one outcome predicts that outcome perfectly; Stata drops the column and the
/// observations it predicts, with a note. We do the same.
///
/// `first` is the tally of the design as given, when already made ([`Checks`]).
pub(super) fn drop_perfect_predictors(
    design: &mut Design,
    omitted: &mut Vec<Omitted>,
    notes: &mut Vec<String>,
    mut first: Option<Vec<Option<[[usize; 2]; 2]>>>,
) -> Result<()> {
    loop {
        let n = design.n();
        let tally = first.take().unwrap_or_else(|| indicator_tally(design));
        let mut found = None;
        for j in 0..design.k() {
            if design.names[j] == "(Intercept)" {
                continue;
            }
            let Some(counts) = tally[j] else {
                continue;
            };
            for val in [1.0, 0.0] {
                // counts[value][outcome]
                let [n0, n1] = counts[(val == 1.0) as usize];
                if n0 + n1 > 0 && (n0 == 0 || n1 == 0) && n0 + n1 < n {
                    found = Some((j, val, n0 + n1, if n1 == 0 { "failure" } else { "success" }));
                    break;
                }
            }
            if found.is_some() {
                break;
            }
        }
        let Some((j, val, count, outcome)) = found else {
            return Ok(());
        };
        let term = design.names[j].clone();
        let cond = if val == 1.0 { "!= 0" } else { "== 0" };
        notes.push(format!("{term} {cond} predicts {outcome} perfectly; {term} dropped and {count} obs not used"));
        omitted.push(Omitted { term: term.clone(), reason: format!("{term} {cond} predicts {outcome} perfectly") });
        let keep_rows: Vec<bool> = (0..n).map(|i| design.x[[i, j]] != val).collect();
        design.select_rows(&keep_rows);
        let keep_cols: Vec<usize> = (0..design.k()).filter(|&c| c != j).collect();
        design.select_columns(&keep_cols);
        let ones = design.y.iter().filter(|&&v| v == 1.0).count();
        if ones == 0 || ones == design.n() {
            return Err(FitError::Separation(format!(
                "after dropping {term}, the outcome '{}' no longer varies",
                design.response
            ))
            .into());
        }
    }
}
