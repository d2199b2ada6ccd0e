//! Separation in binary-response models, detected before the fit with the linear program of
//! Konis (2007, *Linear programming algorithms for detecting separated data in binary logistic
//! regression models*, DPhil thesis, Oxford, ch. 4), as R's `detectseparation::detect_separation`
//! solves it.
//!
//! With `s_i = +1` for a success and `-1` for a failure, the maximum likelihood estimates of a
//! binomial model (any link) exist and are finite exactly when no direction `b != 0` has
//! `s_i x_i'b >= 0` for every row (the data overlap). The program
//!
//! ```text
//! maximise  sum_i s_i x_i'b   subject to  s_i x_i'b >= 0 (every row),  -1 <= b_j <= 1
//! ```
//!
//! has the optimum 0 at `b = 0` under overlap; otherwise its solution is a separating
//! direction, and each coefficient with `b_j != 0` is infinite in the direction of the sign of
//! `b_j` (detectseparation's `+Inf`/`-Inf` table). Rows with `s_i x_i'b > 0` are the rows the
//! direction determines (their fitted probabilities go to 0 or 1); when every row is, the
//! separation is complete, else quasi-complete. A row whose outcome lies strictly between 0
//! and 1 (a binomial proportion) counts once as each outcome (as detectseparation splits it),
//! that is, `x_i'b = 0`. Rows with weight 0 do not enter.
//!
//! Differences from detectseparation, none of which changes which data are separated: the
//! columns are scaled to a largest absolute value of 1 before solving (so a variable in yuan
//! and an indicator have comparable coefficients in the program: the solver's tolerances are
//! absolute), identical rows enter once, and the solver is the pure-Rust simplex of `microlp`
//! instead of lpSolve. Where the separating direction is not unique the program's solution is
//! one of them, as with detectseparation.

use crate::design::Design;

/// A separating direction found by the linear program.
#[derive(Debug, Clone, PartialEq)]
pub struct Separation {
    /// The terms whose estimates are infinite, with their direction (+1: `+Inf`, -1: `-Inf`),
    /// in the design's column order.
    pub terms: Vec<(String, f64)>,
    /// The rows (design positions) whose fitted probability the direction sends to 0 or 1.
    pub determined: Vec<usize>,
    /// Every row is determined.
    pub complete: bool,
}

/// Coefficients of the program's solution smaller than this (on the scaled columns, where the
/// bounds are ±1) are zero: detectseparation's `beta_tolerance` is `sqrt(eps)` on a program
/// solved to lpSolve's 1e-9; microlp's feasibility tolerance is 1e-7.
const BETA_TOL: f64 = 1e-6;

/// Runs the linear program on the design's rows (outcome `design.y` in [0, 1]). `None` when the
/// data overlap; an error only if the solver fails (reported, not guessed).
pub fn detect(design: &Design) -> Result<Option<Separation>, String> {
    use microlp::{ComparisonOp, OptimizationDirection, Problem};
    let (n, k) = (design.n(), design.k());
    if k == 0 {
        return Ok(None);
    }
    let scale: Vec<f64> = (0..k)
        .map(|j| {
            let m = design.x.column(j).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if m > 0.0 && m.is_finite() {
                m
            } else {
                1.0
            }
        })
        .collect();
    let weight = |i: usize| design.weights.as_ref().map_or(1.0, |w| w[i]);
    // Each row's signed, scaled coefficients (sign 0: a proportion, an equality), identical
    // rows once.
    let mut objective = vec![0.0; k];
    let mut seen = std::collections::HashSet::new();
    let mut rows: Vec<(i8, Vec<f64>)> = Vec::new();
    for i in 0..n {
        if weight(i) == 0.0 {
            continue;
        }
        let y = design.y[i];
        let s: i8 = if y == 1.0 {
            1
        } else if y == 0.0 {
            -1
        } else {
            0
        };
        let xi: Vec<f64> = (0..k).map(|j| design.x[[i, j]] / scale[j]).collect();
        for (o, v) in objective.iter_mut().zip(&xi) {
            *o += f64::from(s) * v;
        }
        let key: Vec<u64> = std::iter::once(s as u64).chain(xi.iter().map(|v| v.to_bits())).collect();
        if seen.insert(key) {
            rows.push((s, xi));
        }
    }
    if overlap(k, &rows)? {
        return Ok(None);
    }
    let mut lp = Problem::new(OptimizationDirection::Maximize);
    let vars: Vec<_> = objective.iter().map(|&c| lp.add_var(c, (-1.0, 1.0))).collect();
    for (s, xi) in &rows {
        let expr: Vec<_> = vars.iter().zip(xi).filter(|(_, &v)| v != 0.0).map(|(&var, &v)| (var, v)).collect();
        if expr.is_empty() {
            continue;
        }
        match s {
            1 => lp.add_constraint(&expr[..], ComparisonOp::Ge, 0.0),
            -1 => {
                let neg: Vec<_> = expr.iter().map(|&(var, v)| (var, -v)).collect();
                lp.add_constraint(&neg[..], ComparisonOp::Ge, 0.0)
            }
            _ => lp.add_constraint(&expr[..], ComparisonOp::Eq, 0.0),
        }
    }
    let solution = lp
        .solve()
        .map_err(|e| format!("the separation check's linear program failed: {e}"))?
        .into_solution()
        .map_err(|_| "the separation check's linear program was interrupted".to_string())?;
    let b: Vec<f64> = vars.iter().map(|&v| solution.var_value(v)).collect();
    if solution.objective() <= BETA_TOL || b.iter().all(|v| v.abs() <= BETA_TOL) {
        return Ok(None);
    }
    let terms: Vec<(String, f64)> =
        (0..k).filter(|&j| b[j].abs() > BETA_TOL).map(|j| (design.names[j].clone(), b[j].signum())).collect();
    let determined = determined_rows(design, &scale, &rows, &weight)?;
    let used = (0..n).filter(|&i| weight(i) != 0.0).count();
    let complete = determined.len() == used;
    Ok(Some(Separation { terms, determined, complete }))
}

/// The dual test (Konis 2007, section 4.4.3; detectseparation's `linear_program = "dual"`,
/// `purpose = "test"`): the data overlap exactly when some weights `l_r >= 0` have
/// `sum_r (1 + l_r) s_r x_r = 0` over the distinct rows (a proportion enters with both signs),
/// a program with one constraint per column instead of one per row. On 200,000 rows and 13
/// columns the primal program took 49 s and 460 MB (microlp), the whole fit 3 s without it;
/// this test decides overlap at a fraction of that, and the primal runs only on separated data.
fn overlap(k: usize, rows: &[(i8, Vec<f64>)]) -> Result<bool, String> {
    use microlp::{ComparisonOp, OptimizationDirection, Problem};
    let mut lp = Problem::new(OptimizationDirection::Minimize);
    let mut cols: Vec<Vec<(microlp::Variable, f64)>> = vec![Vec::new(); k];
    let mut rhs = vec![0.0; k];
    // Divided by the number of weights, `sum_r (1/R + l_r) s_r x_r = 0`: the same test, with a
    // right-hand side of the size of the coefficients.
    let big_r = rows.iter().map(|(s, _)| if *s == 0 { 2.0 } else { 1.0 }).sum::<f64>();
    for (s, xi) in rows {
        for sign in if *s == 0 { vec![1.0, -1.0] } else { vec![f64::from(*s)] } {
            let l = lp.add_var(0.0, (0.0, f64::INFINITY));
            for (j, &v) in xi.iter().enumerate() {
                if v != 0.0 {
                    cols[j].push((l, sign * v));
                    rhs[j] -= sign * v / big_r;
                }
            }
        }
    }
    for (col, r) in cols.into_iter().zip(rhs) {
        if col.is_empty() {
            continue;
        }
        lp.add_constraint(&col[..], ComparisonOp::Eq, r);
    }
    match lp.solve() {
        Ok(_) => Ok(true),
        Err(microlp::Error::Infeasible) => Ok(false),
        Err(e) => Err(format!("the separation check's linear program failed: {e}")),
    }
}

/// The rows some separating direction determines: the largest such set (the sum of two
/// separating directions is one), from a second program, run only once separation is found:
///
/// ```text
/// maximise sum_r t_r  subject to  s_r x_r'b >= t_r,  0 <= t_r <= 1,  -1e4 <= b_j <= 1e4
/// ```
///
/// over the distinct rows `r`; a row is determined when its `t_r` is positive. (The vertex of
/// the first program can leave a determined row on its boundary: with `y = (x >= 20)` and
/// `x = 1..40` it gives `x = 20` a margin of 0, though every row is separated.)
fn determined_rows(
    design: &Design,
    scale: &[f64],
    rows: &[(i8, Vec<f64>)],
    weight: &dyn Fn(usize) -> f64,
) -> Result<Vec<usize>, String> {
    use microlp::{ComparisonOp, OptimizationDirection, Problem};
    let k = design.k();
    let mut lp = Problem::new(OptimizationDirection::Maximize);
    let vars: Vec<_> = (0..k).map(|_| lp.add_var(0.0, (-1e4, 1e4))).collect();
    let mut ts = Vec::new();
    for (s, xi) in rows {
        if *s == 0 {
            let expr: Vec<_> = vars.iter().zip(xi).map(|(&var, &v)| (var, v)).collect();
            lp.add_constraint(&expr[..], ComparisonOp::Eq, 0.0);
            continue;
        }
        let t = lp.add_var(1.0, (0.0, 1.0));
        let mut expr: Vec<_> =
            vars.iter().zip(xi).filter(|(_, &v)| v != 0.0).map(|(&var, &v)| (var, f64::from(*s) * v)).collect();
        expr.push((t, -1.0));
        lp.add_constraint(&expr[..], ComparisonOp::Ge, 0.0);
        ts.push((*s, xi, t));
    }
    let solution = lp
        .solve()
        .map_err(|e| format!("the separation check's linear program failed: {e}"))?
        .into_solution()
        .map_err(|_| "the separation check's linear program was interrupted".to_string())?;
    let positive: std::collections::HashSet<Vec<u64>> = ts
        .iter()
        .filter(|(_, _, t)| solution.var_value(*t) > 1e-7)
        .map(|(s, xi, _)| std::iter::once(*s as u64).chain(xi.iter().map(|v| v.to_bits())).collect())
        .collect();
    Ok((0..design.n())
        .filter(|&i| {
            let y = design.y[i];
            if weight(i) == 0.0 || (y != 0.0 && y != 1.0) {
                return false;
            }
            let s: i8 = if y == 1.0 { 1 } else { -1 };
            let key: Vec<u64> =
                std::iter::once(s as u64).chain((0..k).map(|j| (design.x[[i, j]] / scale[j]).to_bits())).collect();
            positive.contains(&key)
        })
        .collect())
}

/// The error message for a separation: the terms and their directions, the rows determined,
/// and, when one variable (besides the intercept) separates, its threshold in Stata's words
/// ("x > 19.5 predicts data perfectly").
pub fn message(design: &Design, sep: &Separation) -> String {
    let kind = if sep.complete { "complete" } else { "quasi-complete" };
    let table: Vec<String> =
        sep.terms.iter().map(|(t, d)| format!("{t} {}", if *d > 0.0 { "+Inf" } else { "-Inf" })).collect();
    let mut msg = format!(
        "{kind} separation: outcome '{}' is predicted perfectly by a linear combination of the regressors; \
         the maximum likelihood estimates do not exist (detectseparation's table: {}); \
         {} of {} observations determined",
        design.response,
        table.join(", "),
        sep.determined.len(),
        design.n()
    );
    if let Some(t) = threshold(design, sep) {
        msg.push_str(&format!("; {t}"));
    }
    msg.push_str(
        "; drop or recode the variables named, or use --firth (Firth's penalised likelihood, finite estimates)",
    );
    msg
}

/// Stata's wording for one separating variable: "outcome = x > 19.5 predicts data perfectly"
/// (complete) or "x >= 20 predicts success perfectly" style for quasi-complete separation.
fn threshold(design: &Design, sep: &Separation) -> Option<String> {
    let others: Vec<&(String, f64)> = sep.terms.iter().filter(|(t, _)| t != "(Intercept)").collect();
    let [(term, dir)] = others[..] else {
        return None;
    };
    let j = design.names.iter().position(|n| n == term)?;
    // Values of the variable among successes and failures (binary rows only).
    let (mut lo1, mut hi1, mut lo0, mut hi0) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..design.n() {
        let v = design.x[[i, j]];
        if design.y[i] == 1.0 {
            lo1 = lo1.min(v);
            hi1 = hi1.max(v);
        } else if design.y[i] == 0.0 {
            lo0 = lo0.min(v);
            hi0 = hi0.max(v);
        } else {
            return None;
        }
    }
    let f = crate::data::format_number;
    let y = &design.response;
    if *dir > 0.0 && hi0 < lo1 {
        Some(format!("outcome = {term} > {} predicts data perfectly", f((hi0 + lo1) / 2.0)))
    } else if *dir < 0.0 && hi1 < lo0 {
        Some(format!("outcome = {term} < {} predicts data perfectly", f((hi1 + lo0) / 2.0)))
    } else if *dir > 0.0 && hi0 <= lo1 {
        Some(format!("{term} > {} predicts {y} != 0 perfectly", f(hi0)))
    } else if *dir < 0.0 && hi1 <= lo0 {
        Some(format!("{term} < {} predicts {y} != 0 perfectly", f(lo0)))
    } else {
        None
    }
}
