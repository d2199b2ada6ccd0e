//! Wald tests of linear restrictions `R b = r` and linear combinations `c'b` of the
//! coefficients, under any [`Variance`] (so that a resampling variance reuses them).
//!
//! ```text
//! W = (R b - r)' (R V R')^{-1} (R b - r),   q = rows of R kept
//! normal inference (df = None):  W ~ chi2(q)                                (Stata's test after ML)
//! survey design (df = Some(d)):  F = (d - q + 1) / (d q) W ~ F(q, d - q + 1)  (Stata's svy test,
//!                                the default "adjusted Wald" of [SVY] svy postestimation)
//! ```
//!
//! R's `survey::regTermTest(method = "Wald")` reports the unadjusted `W / q` on `(q, df)` with
//! the model's residual df; `tests/golden/scripts/postestimation.R` takes its `W` and applies
//! Stata's adjustment. Restrictions that are linear combinations of earlier ones (`R V R'`
//! singular) are dropped, as Stata's `test` does ("constraint 2 dropped"), and named in
//! [`WaldTest::dropped`].
//!
//! A linear combination ([`lincom`], Stata's `lincom`): `c'b + c0` with standard error
//! `sqrt(c' V c)`, z or t (with the variance's df) and its interval.
//!
//! Hypotheses are written with the coefficient names of the fit ([`Restrictions::parse`]):
//!
//! * `C(scope)` (or `scope`, or `scheme` for a schema factor): every non-omitted level of that
//!   factor's main effect equals zero (Stata's `testparm i.scope`);
//! * `educ = 0, age = 0`: several equations, jointly; `educ` alone means `educ = 0`;
//! * `a = b`, `2*a - b = 1`: linear equations with numeric factors and constants.
//!
//! `_cons` names the intercept. Commas, `=` and signs inside parentheses or brackets belong to
//! the name (`C(scheme, ref=NCMS)[URBMI]`).

use super::Variance;
use crate::error::{usage, Error, FitError, Result};
use crate::linalg::{collinear_columns, quad_form, spd_solve};
use crate::stats::{chi2_sf, f_sf};
use ndarray::Array2;
use serde::Serialize;

/// The result of a Wald test (JSON `tests[]`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WaldTest {
    /// The hypothesis as written.
    pub test: String,
    /// chi2 (`W`) or the adjusted F.
    pub statistic: f64,
    /// Numerator degrees of freedom: the restrictions kept.
    pub df: f64,
    /// Denominator degrees of freedom of an F test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df_denominator: Option<f64>,
    pub p_value: f64,
    /// `chi2` or `F`.
    pub kind: &'static str,
    /// `LR` for a likelihood-ratio model test; absent for Wald tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    /// The restrictions, one per row, as `coefficient-weighted sum = value`.
    pub restrictions: Vec<String>,
    /// Restrictions dropped as linear combinations of the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
    /// The wild score bootstrap of the same restrictions (`--wild-reps`; [`super::wild`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wild: Option<super::wild::WildReport>,
    /// `margins` for a test of margins (`--test-margins`); absent for coefficients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<&'static str>,
}

/// Linear restrictions `R b = r` on a coefficient vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Restrictions {
    pub label: String,
    /// One row of `R` per restriction, each as long as the coefficient vector.
    pub rows: Vec<Vec<f64>>,
    pub rhs: Vec<f64>,
}

/// A linear combination `c'b + constant`.
#[derive(Debug, Clone, PartialEq)]
pub struct Combination {
    pub label: String,
    pub weights: Vec<f64>,
    pub constant: f64,
}

/// The names a hypothesis is written against: the fitted coefficients and the omitted ones
/// (so that a test of a dropped term can say so), or the margins of a fit
/// ([`Names::margins`]).
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub names: &'a [String],
    pub omitted: &'a [String],
    /// Other spellings of some names, with the index they stand for (`scope[2]` for the
    /// margin `C(scope)[2]`).
    pub aliases: &'a [(String, usize)],
    /// Coefficient names (a bare factor term means all its levels; `_cons` is the intercept)
    /// or margin names (each name one margin).
    pub margins: bool,
}

/// One side of an equation: `sum_j w_j b_j + constant`.
#[derive(Debug, Clone, Default)]
struct Linear {
    terms: Vec<(f64, String)>,
    constant: f64,
}

/// Splits `s` at `sep` characters outside parentheses and brackets.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + ch.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn is_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || !t.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Parses `2*educ - age + 1` (signs and `*` outside parentheses and brackets; a number with
/// an exponent such as `1e-3` stays whole).
fn parse_linear(text: &str, whole: &str) -> Result<Linear> {
    let bad = |msg: String| usage(format!("cannot read the hypothesis '{whole}': {msg}"));
    let mut pieces: Vec<(f64, String)> = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    let mut sign = 1.0;
    let chars: Vec<char> = text.chars().collect();
    for (i, &ch) in chars.iter().enumerate() {
        match ch {
            '(' | '[' => {
                depth += 1;
                cur.push(ch);
            }
            ')' | ']' => {
                depth -= 1;
                cur.push(ch);
            }
            '+' | '-' if depth == 0 => {
                let t = cur.trim();
                // 1e-3: the sign belongs to the exponent.
                let exponent = (t.ends_with('e') || t.ends_with('E'))
                    && t.len() > 1
                    && t[..t.len() - 1].parse::<f64>().is_ok()
                    && i + 1 < chars.len()
                    && chars[i + 1].is_ascii_digit();
                if exponent {
                    cur.push(ch);
                    continue;
                }
                if !t.is_empty() {
                    pieces.push((sign, t.to_string()));
                } else if !pieces.is_empty() || sign != 1.0 {
                    return Err(bad("two signs in a row".into()));
                }
                sign = if ch == '-' { -1.0 } else { 1.0 };
                cur.clear();
            }
            _ => cur.push(ch),
        }
    }
    if depth != 0 {
        return Err(bad("unbalanced parentheses or brackets".into()));
    }
    let t = cur.trim();
    if t.is_empty() {
        return Err(bad("a term is missing".into()));
    }
    pieces.push((sign, t.to_string()));
    let mut out = Linear::default();
    for (sign, p) in pieces {
        let factors = split_top(&p, '*');
        let mut coef = sign;
        let mut name: Option<String> = None;
        for f in factors {
            let f = f.trim();
            if f.is_empty() {
                return Err(bad(format!("a factor is missing in '{p}'")));
            }
            if let Some(x) = is_number(f) {
                coef *= x;
            } else if name.is_none() {
                name = Some(f.to_string());
            } else {
                return Err(bad(format!("'{p}' multiplies two coefficients: the hypothesis must be linear")));
            }
        }
        match name {
            Some(n) => out.terms.push((coef, n)),
            None => out.constant += coef,
        }
    }
    Ok(out)
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

impl<'a> Names<'a> {
    /// The coefficients of a fit and its omitted (collinear) terms.
    pub fn coefficients(names: &'a [String], omitted: &'a [String]) -> Names<'a> {
        Names { names, omitted, aliases: &[], margins: false }
    }

    /// The margins of a fit (`--test-margins`, `--lincom-margins`): each name one margin,
    /// with other spellings in `aliases`.
    pub fn margins(names: &'a [String], aliases: &'a [(String, usize)]) -> Names<'a> {
        Names { names, omitted: &[], aliases, margins: true }
    }

    /// The index of a coefficient name (`_cons` is the intercept; spaces do not matter).
    fn index(&self, name: &str, whole: &str) -> Result<usize> {
        let want = if name == "_cons" && !self.margins { "(Intercept)".to_string() } else { squash(name) };
        if let Some(i) = self.names.iter().position(|n| squash(n) == want) {
            return Ok(i);
        }
        if let Some((_, i)) = self.aliases.iter().find(|(n, _)| squash(n) == want) {
            return Ok(*i);
        }
        if self.omitted.iter().any(|n| squash(n) == want) {
            return Err(dropped_term(name, whole));
        }
        if self.margins {
            return Err(usage(format!(
                "unknown margin '{name}' in '{whole}' (the margins: {})",
                if self.names.is_empty() {
                    "none; ask for them with --predict-margins or --margins".to_string()
                } else {
                    self.names.join(", ")
                }
            )));
        }
        Err(usage(format!(
            "unknown coefficient '{name}' in '{whole}' (the model's coefficients: {})",
            self.names.join(", ")
        )))
    }

    /// The main-effect levels of a factor written as `C(var)`, `C(var, ref=..)` or `var`: the
    /// indices of the fitted ones and the number of omitted ones.
    fn factor_levels(&self, term: &str) -> (Vec<usize>, usize) {
        let t = squash(term);
        let var = t.strip_prefix("C(").and_then(|r| r.strip_suffix(')')).map(|v| v.split(',').next().unwrap_or(v));
        let matches = |n: &str| -> bool {
            let n = squash(n);
            if n.contains(':') || !n.ends_with(']') {
                return false;
            }
            let Some(open) = n.rfind('[') else { return false };
            let prefix = &n[..open];
            if prefix == t {
                return true;
            }
            let inner = prefix.strip_prefix("C(").and_then(|r| r.strip_suffix(')'));
            let pvar = inner.map(|v| v.split(',').next().unwrap_or(v));
            match (pvar, var) {
                (Some(p), Some(v)) => p == v,
                (Some(p), None) => p == t,
                _ => false,
            }
        };
        let fitted = self.names.iter().enumerate().filter(|(_, n)| matches(n)).map(|(i, _)| i).collect();
        let omitted = self.omitted.iter().filter(|n| matches(n)).count();
        (fitted, omitted)
    }
}

fn dropped_term(name: &str, whole: &str) -> Error {
    Error::Fit(FitError::Numerical(format!(
        "cannot test '{whole}': the coefficient '{name}' was omitted from the model (collinear), so it was not estimated"
    )))
}

impl Restrictions {
    /// Parses a hypothesis (see the module docs) against the fit's coefficient names.
    pub fn parse(text: &str, names: Names) -> Result<Restrictions> {
        let whole = text.trim();
        if whole.is_empty() {
            return Err(usage("an empty --test hypothesis"));
        }
        let k = names.names.len();
        let mut rows = Vec::new();
        let mut rhs = Vec::new();
        for item in split_top(whole, ',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(usage(format!("cannot read the hypothesis '{whole}': an empty equation between commas")));
            }
            let sides = split_top(item, '=');
            let (lhs, rside) = match sides.as_slice() {
                [l] => (*l, None),
                [l, r] => (*l, Some(*r)),
                _ => return Err(usage(format!("cannot read the hypothesis '{whole}': '{item}' has two '=' signs"))),
            };
            if rside.is_none() {
                // A bare factor term: all its levels (testparm).
                let single = !names.margins
                    && split_top(lhs.trim(), '*').len() == 1
                    && !lhs.trim().starts_with(['-', '+'])
                    && names.index(lhs.trim(), whole).is_err();
                if single {
                    let (levels, n_omitted) = names.factor_levels(lhs);
                    if !levels.is_empty() {
                        for i in levels {
                            let mut row = vec![0.0; k];
                            row[i] = 1.0;
                            rows.push(row);
                            rhs.push(0.0);
                        }
                        continue;
                    }
                    if n_omitted > 0 {
                        return Err(dropped_term(lhs.trim(), whole));
                    }
                }
            }
            let l = parse_linear(lhs, whole)?;
            let r = match rside {
                Some(r) => parse_linear(r, whole)?,
                None => Linear::default(),
            };
            let mut row = vec![0.0; k];
            for (w, n) in &l.terms {
                row[names.index(n, whole)?] += w;
            }
            for (w, n) in &r.terms {
                row[names.index(n, whole)?] -= w;
            }
            if row.iter().all(|&v| v == 0.0) {
                return Err(usage(format!("cannot test '{whole}': '{item}' involves no coefficient")));
            }
            rows.push(row);
            rhs.push(r.constant - l.constant);
        }
        Ok(Restrictions { label: whole.to_string(), rows, rhs })
    }

    /// Every slope equals zero (all coefficients but the intercept): the model test.
    pub fn all_slopes(names: &[String]) -> Restrictions {
        let k = names.len();
        let mut rows = Vec::new();
        for (i, n) in names.iter().enumerate() {
            if n != "(Intercept)" {
                let mut row = vec![0.0; k];
                row[i] = 1.0;
                rows.push(row);
            }
        }
        let q = rows.len();
        Restrictions { label: "all slopes = 0".into(), rows, rhs: vec![0.0; q] }
    }

    fn describe_row(&self, i: usize, names: &[String]) -> String {
        let mut s = String::new();
        for (w, n) in self.rows[i].iter().zip(names) {
            if *w == 0.0 {
                continue;
            }
            let sign = if *w < 0.0 {
                "- "
            } else if s.is_empty() {
                ""
            } else {
                "+ "
            };
            let a = w.abs();
            let num = if a == 1.0 { String::new() } else { format!("{}*", crate::data::format_number(a)) };
            s.push_str(&format!("{sign}{num}{n} "));
        }
        format!("{}= {}", s, crate::data::format_number(self.rhs[i]))
    }

    /// `R V R'`, the rows kept and the rows dropped as linear combinations of earlier ones
    /// (`R V R'` singular), as the Wald test keeps them.
    pub fn split(&self, v: &Array2<f64>) -> (Array2<f64>, Vec<usize>, Vec<usize>) {
        let k = v.nrows();
        assert!(self.rows.iter().all(|r| r.len() == k), "restriction rows have k entries");
        let q_all = self.rows.len();
        let vr: Vec<Vec<f64>> =
            self.rows.iter().map(|r| (0..k).map(|i| (0..k).map(|j| v[[i, j]] * r[j]).sum::<f64>()).collect()).collect();
        let mut rvr = Array2::<f64>::zeros((q_all, q_all));
        for a in 0..q_all {
            for b in 0..q_all {
                rvr[[a, b]] = crate::linalg::dot(&self.rows[a], &vr[b]);
            }
        }
        let drop = collinear_columns(&rvr, 1e-12);
        let keep = (0..q_all).filter(|i| !drop.contains(i)).collect();
        (rvr, keep, drop)
    }

    /// The Wald test of these restrictions at `beta` under `v` (chi2, or Stata's adjusted F
    /// with the variance's design df).
    pub fn test(&self, beta: &[f64], names: &[String], v: &Variance) -> Result<WaldTest> {
        wald(self, beta, names, &v.matrix, v.df)
    }
}

/// The Wald statistic of `R b = r` with variance `v` (`df`: the design's degrees of freedom,
/// for the adjusted F).
pub fn wald(h: &Restrictions, beta: &[f64], names: &[String], v: &Array2<f64>, df: Option<f64>) -> Result<WaldTest> {
    let k = beta.len();
    assert_eq!(v.nrows(), k, "variance and coefficients agree");
    let (rvr, keep, drop) = h.split(v);
    if keep.is_empty() {
        return Err(FitError::Numerical(format!(
            "cannot test '{}': the restrictions have no variance (every coefficient involved is fixed)",
            h.label
        ))
        .into());
    }
    let q = keep.len();
    let mut m = Array2::<f64>::zeros((q, q));
    for (a, &i) in keep.iter().enumerate() {
        for (b, &j) in keep.iter().enumerate() {
            m[[a, b]] = rvr[[i, j]];
        }
    }
    let d: Vec<f64> = keep.iter().map(|&i| crate::linalg::dot(&h.rows[i], beta) - h.rhs[i]).collect();
    let x = spd_solve(&m, &d).ok_or_else(|| {
        Error::Fit(FitError::Numerical(format!("cannot test '{}': R V R' is not positive definite", h.label)))
    })?;
    let w = crate::linalg::dot(&d, &x);
    let qf = q as f64;
    let (statistic, df_den, p, kind) = match df {
        None => (w, None, chi2_sf(w, qf), "chi2"),
        Some(dd) => {
            let den = dd - qf + 1.0;
            if !(den > 0.0) {
                return Err(FitError::Numerical(format!(
                    "cannot test '{}': {q} restrictions need more than {} design degrees of freedom",
                    h.label,
                    crate::data::format_number(dd)
                ))
                .into());
            }
            let f = (den / (dd * qf)) * w;
            (f, Some(den), f_sf(f, qf, den), "F")
        }
    };
    Ok(WaldTest {
        test: h.label.clone(),
        statistic,
        df: qf,
        df_denominator: df_den,
        p_value: p,
        kind,
        method: None,
        restrictions: keep.iter().map(|&i| h.describe_row(i, names)).collect(),
        dropped: drop.iter().map(|&i| h.describe_row(i, names)).collect(),
        wild: None,
        on: None,
    })
}

impl WaldTest {
    /// One sentence: "Wald test of C(scope): chi2(2) = 3.456, p = 0.1776." (`F(q, d)` under a
    /// survey design; "LR test" for a likelihood-ratio model test).
    pub fn sentence(&self) -> String {
        let what = match self.method {
            Some(m) => format!("{m} test"),
            None => "Wald test".to_string(),
        };
        let num = crate::data::format_number;
        let dist = match self.df_denominator {
            Some(d) => format!("F({}, {}) = {:.3}", num(self.df), num(d), self.statistic),
            None => format!("chi2({}) = {:.3}", num(self.df), self.statistic),
        };
        let dropped = if self.dropped.is_empty() {
            String::new()
        } else {
            format!(" ({} redundant restriction(s) dropped)", self.dropped.len())
        };
        let wild = self.wild.as_ref().map(|w| format!(" {}", w.sentence())).unwrap_or_default();
        let of = if self.on == Some("margins") { "margins " } else { "" };
        format!("{what} of {of}{}: {dist}, {}{dropped}.{wild}", self.test, format_p(self.p_value))
    }
}

/// A p-value for sentences: "p = 0.0123" (four decimals), or "p < 0.0001".
pub fn format_p(p: f64) -> String {
    if p < 0.0001 {
        "p < 0.0001".to_string()
    } else {
        format!("p = {p:.4}")
    }
}

impl Combination {
    /// Parses `a - b`, `2*educ + age + 1` against the fit's coefficient names.
    pub fn parse(text: &str, names: Names) -> Result<Combination> {
        let whole = text.trim();
        if whole.is_empty() {
            return Err(usage("an empty --lincom expression"));
        }
        if split_top(whole, '=').len() > 1 || split_top(whole, ',').len() > 1 {
            return Err(usage(format!(
                "--lincom takes one linear expression such as 'educ - age', not an equation or a list: '{whole}'"
            )));
        }
        let l = parse_linear(whole, whole)?;
        let mut weights = vec![0.0; names.names.len()];
        for (w, n) in &l.terms {
            weights[names.index(n, whole)?] += w;
        }
        Ok(Combination { label: whole.to_string(), weights, constant: l.constant })
    }

    /// Estimate `c'b + c0` and standard error `sqrt(c'Vc)`.
    pub fn estimate(&self, beta: &[f64], v: &Array2<f64>) -> (f64, f64) {
        let est = crate::linalg::dot(&self.weights, beta) + self.constant;
        (est, quad_form(&self.weights, v).max(0.0).sqrt())
    }
}

/// The model test of Stata's estimation header: every slope equals zero. A likelihood-ratio
/// chi2 `2 (ll - ll_0)` where Stata reports one (binary models with the model-based OIM/EIM
/// variance and a null log likelihood: `ll_0`), else the Wald test under `v` (chi2; the
/// adjusted F under a survey design). `None` for a model without slopes.
pub fn model_test(names: &[String], beta: &[f64], v: &Variance, ll: f64, ll_null: Option<f64>) -> Option<WaldTest> {
    let h = Restrictions::all_slopes(names);
    if h.rows.is_empty() {
        return None;
    }
    let model_based = matches!(v.kind, super::VceKind::Oim | super::VceKind::Eim);
    if let (true, Some(l0)) = (model_based, ll_null) {
        let q = h.rows.len() as f64;
        let stat = 2.0 * (ll - l0);
        return Some(WaldTest {
            test: h.label.clone(),
            statistic: stat,
            df: q,
            df_denominator: None,
            p_value: chi2_sf(stat, q),
            kind: "chi2",
            method: Some("LR"),
            restrictions: (0..h.rows.len()).map(|i| h.describe_row(i, names)).collect(),
            dropped: Vec::new(),
            wild: None,
            on: None,
        });
    }
    wald(&h, beta, names, &v.matrix, v.df).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["(Intercept)", "C(scope)[2]", "C(scope)[3]", "educ", "age", "I(age^2)", "C(scheme, ref=NCMS)[URBMI]"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn parses_factor_terms_equations_and_constants() {
        let n = names();
        let om = vec!["C(scope)[4]".to_string()];
        let nm = Names::coefficients(&n, &om);
        let r = Restrictions::parse("C(scope)", nm).unwrap();
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.rows[0][1], 1.0);
        assert_eq!(r.rows[1][2], 1.0);
        assert_eq!(Restrictions::parse("scope", nm).unwrap().rows, r.rows);
        let r = Restrictions::parse("educ = 0, age = 0", nm).unwrap();
        assert_eq!(r.rows.len(), 2);
        let r = Restrictions::parse("2*educ - age = 1e-3", nm).unwrap();
        assert_eq!(r.rows[0][3], 2.0);
        assert_eq!(r.rows[0][4], -1.0);
        assert_eq!(r.rhs, vec![1e-3]);
        let r = Restrictions::parse("C(scheme, ref=NCMS)[URBMI] = _cons", nm).unwrap();
        assert_eq!(r.rows[0][6], 1.0);
        assert_eq!(r.rows[0][0], -1.0);
        let r = Restrictions::parse("C(scheme)", nm).unwrap();
        assert_eq!(r.rows.len(), 1);
        assert_eq!(Restrictions::parse("I(age^2)", nm).unwrap().rows[0][5], 1.0);
        let c = Combination::parse("educ - age + 2", nm).unwrap();
        assert_eq!((c.weights[3], c.weights[4], c.constant), (1.0, -1.0, 2.0));
    }

    #[test]
    fn unknown_and_dropped_terms_are_errors() {
        let n = names();
        let om = vec!["C(scope)[4]".to_string(), "kids".to_string()];
        let nm = Names::coefficients(&n, &om);
        assert_eq!(Restrictions::parse("nosuch = 0", nm).unwrap_err().exit_code(), 2);
        assert_eq!(Restrictions::parse("kids", nm).unwrap_err().exit_code(), 3);
        assert_eq!(Restrictions::parse("educ*age = 0", nm).unwrap_err().exit_code(), 2);
        assert_eq!(Restrictions::parse("educ = 0 = 1", nm).unwrap_err().exit_code(), 2);
        assert_eq!(Combination::parse("educ = age", nm).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn chi2_and_adjusted_f_by_hand() {
        let n: Vec<String> = vec!["a".into(), "b".into()];
        let v = ndarray::arr2(&[[0.04, 0.01], [0.01, 0.09]]);
        let beta = [0.3, -0.2];
        let nm = Names::coefficients(&n, &[]);
        let h = Restrictions::parse("a, b", nm).unwrap();
        let t = wald(&h, &beta, &n, &v, None).unwrap();
        // W = d' V^{-1} d with V^{-1} = [[0.09, -0.01], [-0.01, 0.04]] / 0.0035.
        let w = (0.09 * 0.3 * 0.3 + 2.0 * -0.01 * 0.3 * -0.2 + 0.04 * 0.2 * 0.2) / 0.0035;
        assert!((t.statistic - w).abs() < 1e-12 * w, "{} {w}", t.statistic);
        assert_eq!(t.df, 2.0);
        let f = wald(&h, &beta, &n, &v, Some(30.0)).unwrap();
        assert!((f.statistic - (29.0 / 60.0) * w).abs() < 1e-12 * w);
        assert_eq!(f.df_denominator, Some(29.0));
        // A redundant restriction is dropped.
        let h = Restrictions::parse("a = 0, 2*a = 0", nm).unwrap();
        let t = wald(&h, &beta, &n, &v, None).unwrap();
        assert_eq!((t.df, t.dropped.len()), (1.0, 1));
        assert!((t.statistic - 0.09 / 0.04).abs() < 1e-12);
    }
}
