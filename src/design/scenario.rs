//! Rebuilding design columns under a scenario, and their exact derivatives (dual numbers):
//! what marginal effects are built on.

use super::*;
use crate::data::Level;
use crate::formula::{Dual, Expr, Num};
use ndarray::Array2;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::BTreeMap;

impl DesignSpec {
    /// The spec restricted to the rows `idx` (in that order).
    pub fn select_rows(&self, idx: &[usize]) -> DesignSpec {
        let atoms = self
            .atoms
            .iter()
            .map(|a| match a {
                ResolvedAtom::Factor { text, var, levels, reference, codes } => ResolvedAtom::Factor {
                    text: text.clone(),
                    var: var.clone(),
                    levels: levels.clone(),
                    reference: *reference,
                    codes: gather(codes, idx),
                },
                other => other.clone(),
            })
            .collect();
        DesignSpec { atoms, columns: self.columns.clone(), values: self.values.select_rows(idx), n: idx.len() }
    }

    /// Values (no derivatives) of design column `j` on the rows `rows` under the scenario: a
    /// constant when the column depends only on what the scenario fixes (a factor indicator
    /// with the factor set to a level). Same arithmetic as [`DesignSpec::columns_under_rows`]:
    /// the product of the parts in part order.
    pub fn column_values_rows(&self, j: usize, sc: &Scenario, rows: std::ops::Range<usize>) -> ColumnValues {
        let mut out = ColumnValues::Const(1.0);
        for p in &self.columns[j].parts {
            match p {
                Part::Numeric(a) => {
                    let ResolvedAtom::Numeric { expr, .. } = &self.atoms[*a] else {
                        unreachable!("part and atom kinds agree")
                    };
                    let vals: Cow<[f64]> =
                        match expr {
                            Expr::Var(name) if !sc.numeric.contains_key(name) => self.values.range(name, rows.clone()),
                            _ => Cow::Owned(expr.eval_columns::<f64>(rows.len(), &mut |name: &str| {
                                match sc.numeric.get(name) {
                                    Some(&fixed) => vec![fixed; rows.len()],
                                    None => self.values.range(name, rows.clone()).into_owned(),
                                }
                            })),
                        };
                    out = match out {
                        ColumnValues::Const(c) => ColumnValues::Rows(vals.iter().map(|&x| c * x).collect()),
                        ColumnValues::Rows(mut v) => {
                            v.iter_mut().zip(vals.iter()).for_each(|(o, &x)| *o *= x);
                            ColumnValues::Rows(v)
                        }
                    };
                }
                Part::Level(a, l) => {
                    let ResolvedAtom::Factor { var, codes, .. } = &self.atoms[*a] else {
                        unreachable!("part and atom kinds agree")
                    };
                    let s = match sc.factors.get(var) {
                        None => {
                            let l = *l as u32;
                            let codes = &codes[rows.clone()];
                            out = match out {
                                ColumnValues::Const(c) => ColumnValues::Rows(
                                    codes.iter().map(|&code| if code != l { 0.0 } else { c }).collect(),
                                ),
                                ColumnValues::Rows(mut v) => {
                                    v.iter_mut().zip(codes).for_each(|(o, &code)| {
                                        if code != l {
                                            *o = 0.0;
                                        }
                                    });
                                    ColumnValues::Rows(v)
                                }
                            };
                            continue;
                        }
                        Some(FactorSetting::Level(m)) => f64::from(u8::from(m == l)),
                        Some(FactorSetting::Shares(sh)) => sh[*l],
                    };
                    out = match out {
                        ColumnValues::Const(c) => ColumnValues::Const(c * s),
                        ColumnValues::Rows(mut v) => {
                            v.iter_mut().for_each(|o| *o *= s);
                            ColumnValues::Rows(v)
                        }
                    };
                }
            }
        }
        out
    }

    /// Evaluates atom `a` on the rows `rows` under the scenario, with derivatives w.r.t. `wrt`.
    pub(super) fn atom_values(&self, a: usize, sc: &Scenario, rows: std::ops::Range<usize>) -> AtomValues<'_> {
        match &self.atoms[a] {
            ResolvedAtom::Numeric { expr, .. } => {
                let n = rows.len();
                let vals = expr.eval_columns(n, &mut |name: &str| {
                    let d = if sc.wrt.as_deref() == Some(name) { 1.0 } else { 0.0 };
                    match sc.numeric.get(name) {
                        Some(&fixed) => vec![Dual::new(fixed, d); n],
                        None => self.values.range(name, rows.clone()).iter().map(|&v| Dual::new(v, d)).collect(),
                    }
                });
                AtomValues::Numeric(vals)
            }
            ResolvedAtom::Factor { var, codes, levels, .. } => match sc.factors.get(var) {
                None => AtomValues::Codes(&codes[rows.clone()]),
                Some(FactorSetting::Level(l)) => {
                    AtomValues::Fixed((0..levels.len()).map(|j| f64::from(u8::from(j == *l))).collect())
                }
                Some(FactorSetting::Shares(s)) => AtomValues::Fixed(s.clone()),
            },
        }
    }

    /// True when column `j` depends on something the scenario changes.
    pub fn column_affected(&self, j: usize, sc: &Scenario) -> bool {
        self.columns[j].parts.iter().any(|p| match p {
            Part::Numeric(a) => match &self.atoms[*a] {
                ResolvedAtom::Numeric { expr, .. } => {
                    expr.variables().iter().any(|v| sc.numeric.contains_key(v) || sc.wrt.as_deref() == Some(v.as_str()))
                }
                _ => false,
            },
            Part::Level(a, _) => match &self.atoms[*a] {
                ResolvedAtom::Factor { var, .. } => sc.factors.contains_key(var),
                _ => false,
            },
        })
    }

    /// Values (and derivatives w.r.t. `sc.wrt`) of the columns in `cols` under the scenario.
    pub fn columns_under(&self, cols: &[usize], sc: &Scenario) -> Vec<Vec<Dual>> {
        self.columns_under_rows(cols, sc, 0..self.n)
    }

    /// [`DesignSpec::columns_under`] on the rows `rows` only (marginal effects work in row
    /// chunks, so that scratch memory does not grow with N).
    pub fn columns_under_rows(&self, cols: &[usize], sc: &Scenario, rows: std::ops::Range<usize>) -> Vec<Vec<Dual>> {
        assert!(rows.end <= self.n, "row range within the design");
        let mut cache: BTreeMap<usize, AtomValues> = BTreeMap::new();
        cols.iter()
            .map(|&j| {
                let mut out = vec![Dual::new(1.0, 0.0); rows.len()];
                for p in &self.columns[j].parts {
                    let a = match p {
                        Part::Numeric(a) | Part::Level(a, _) => *a,
                    };
                    let values = cache.entry(a).or_insert_with(|| self.atom_values(a, sc, rows.clone()));
                    match (p, &*values) {
                        (Part::Numeric(_), AtomValues::Numeric(v)) => {
                            out.iter_mut().zip(v).for_each(|(o, &f)| *o = o.mul(f));
                        }
                        (Part::Level(_, l), AtomValues::Codes(c)) => {
                            let l = *l as u32;
                            out.iter_mut().zip(c.iter()).for_each(|(o, &code)| {
                                if code != l {
                                    *o = Dual::new(0.0, 0.0);
                                }
                            });
                        }
                        (Part::Level(_, l), AtomValues::Fixed(s)) => {
                            let f = Dual::new(s[*l], 0.0);
                            out.iter_mut().for_each(|o| *o = o.mul(f));
                        }
                        _ => unreachable!("part and atom kinds agree"),
                    }
                }
                out
            })
            .collect()
    }

    /// The full design matrix under a scenario (values only).
    pub fn matrix(&self, sc: &Scenario) -> Array2<f64> {
        let k = self.columns.len();
        if sc.numeric.is_empty() && sc.factors.is_empty() {
            return self.observed_matrix();
        }
        let all: Vec<usize> = (0..k).collect();
        let cols = self.columns_under(&all, sc);
        let mut x = Array2::<f64>::zeros((self.n, k));
        for (j, c) in cols.iter().enumerate() {
            for (i, v) in c.iter().enumerate() {
                x[[i, j]] = v.v;
            }
        }
        x
    }

    /// The design matrix at the observed data, built column by column into row blocks: the
    /// intercept, a variable and a factor indicator are read where they are stored; other
    /// columns (transformations, interactions) are products of their parts in part order, the
    /// same arithmetic as [`DesignSpec::columns_under`].
    pub(super) fn observed_matrix(&self) -> Array2<f64> {
        enum Src<'s> {
            One,
            Values(&'s [f64]),
            Level(&'s [u32], u32),
            Owned(Vec<f64>),
        }
        let (n, k) = (self.n, self.columns.len());
        let mut atom_values: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for c in &self.columns {
            for p in &c.parts {
                if let Part::Numeric(a) = p {
                    if let ResolvedAtom::Numeric { expr, .. } = &self.atoms[*a] {
                        if !matches!(expr, Expr::Var(_)) && !atom_values.contains_key(a) {
                            let v = expr.eval_columns::<f64>(n, &mut |name: &str| self.values.all(name).into_owned());
                            atom_values.insert(*a, v);
                        }
                    }
                }
            }
        }
        // Bare variables as stored (borrowed unless the design is on a subset of the rows).
        let bare: BTreeMap<&str, Cow<[f64]>> = self
            .atoms
            .iter()
            .filter_map(|a| match a {
                ResolvedAtom::Numeric { expr: Expr::Var(v), .. } => Some((v.as_str(), self.values.all(v))),
                _ => None,
            })
            .collect();
        let numeric = |a: usize| -> &[f64] {
            match &self.atoms[a] {
                ResolvedAtom::Numeric { expr: Expr::Var(v), .. } => &bare[v.as_str()],
                ResolvedAtom::Numeric { .. } => &atom_values[&a],
                ResolvedAtom::Factor { .. } => unreachable!("numeric part of a factor atom"),
            }
        };
        let codes = |a: usize| -> &[u32] {
            match &self.atoms[a] {
                ResolvedAtom::Factor { codes, .. } => codes,
                ResolvedAtom::Numeric { .. } => unreachable!("level part of a numeric atom"),
            }
        };
        let srcs: Vec<Src> = self
            .columns
            .iter()
            .map(|c| match c.parts.as_slice() {
                [] => Src::One,
                [Part::Numeric(a)] => Src::Values(numeric(*a)),
                [Part::Level(a, l)] => Src::Level(codes(*a), *l as u32),
                parts => {
                    let mut out = vec![1.0; n];
                    for p in parts {
                        match p {
                            Part::Numeric(a) => out.iter_mut().zip(numeric(*a)).for_each(|(o, &f)| *o *= f),
                            Part::Level(a, l) => {
                                let l = *l as u32;
                                out.iter_mut().zip(codes(*a)).for_each(|(o, &c)| {
                                    if c != l {
                                        *o = 0.0;
                                    }
                                });
                            }
                        }
                    }
                    Src::Owned(out)
                }
            })
            .collect();
        let mut data = vec![0.0; n * k];
        if k > 0 {
            // Column by column within sub-blocks of rows small enough to stay in the L1 cache
            // (a column's strided writes then touch lines the previous column brought in).
            const SUB: usize = 128;
            data.par_chunks_mut(SUB * k).enumerate().for_each(|(b, block)| {
                let lo = b * SUB;
                let rows = block.len() / k;
                for (j, src) in srcs.iter().enumerate() {
                    let out = block[j..].iter_mut().step_by(k);
                    match src {
                        Src::One => out.for_each(|o| *o = 1.0),
                        Src::Values(v) => out.zip(&v[lo..lo + rows]).for_each(|(o, &f)| *o = f),
                        Src::Owned(v) => out.zip(&v[lo..lo + rows]).for_each(|(o, &f)| *o = f),
                        Src::Level(c, l) => {
                            out.zip(&c[lo..lo + rows]).for_each(|(o, &code)| *o = f64::from(u8::from(code == *l)))
                        }
                    }
                }
            });
        }
        Array2::from_shape_vec((n, k), data).expect("n x k values")
    }

    /// Numeric variables that enter the model (through any numeric atom), in order of
    /// appearance: the variables that get derivative-type marginal effects.
    pub fn continuous_variables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.columns {
            for p in &c.parts {
                if let Part::Numeric(a) = p {
                    if let ResolvedAtom::Numeric { expr, .. } = &self.atoms[*a] {
                        for v in expr.variables() {
                            if !out.contains(&v) {
                                out.push(v);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Factor variables that enter the model: (variable, atom text, levels, reference).
    pub fn factor_variables(&self) -> Vec<(String, String, Vec<Level>, usize)> {
        let mut out: Vec<(String, String, Vec<Level>, usize)> = Vec::new();
        for c in &self.columns {
            for p in &c.parts {
                if let Part::Level(a, _) = p {
                    if let ResolvedAtom::Factor { text, var, levels, reference, .. } = &self.atoms[*a] {
                        if !out.iter().any(|o| &o.0 == var) {
                            out.push((var.clone(), text.clone(), levels.clone(), *reference));
                        }
                    }
                }
            }
        }
        out
    }

    /// Level codes of a factor variable on the rows (for sample shares).
    pub fn factor_codes(&self, var: &str) -> Option<&[u32]> {
        self.atoms.iter().find_map(|a| match a {
            ResolvedAtom::Factor { var: v, codes, .. } if v == var => Some(codes.as_slice()),
            _ => None,
        })
    }
}

/// A design column's values on a range of rows: see [`DesignSpec::column_values_rows`].
#[derive(Debug, Clone)]
pub enum ColumnValues {
    Const(f64),
    Rows(Vec<f64>),
}

impl ColumnValues {
    /// The value on row `r` of the range.
    #[inline]
    pub fn at(&self, r: usize) -> f64 {
        match self {
            ColumnValues::Const(c) => *c,
            ColumnValues::Rows(v) => v[r],
        }
    }
}

pub(super) enum AtomValues<'a> {
    Numeric(Vec<Dual>),
    Codes(&'a [u32]),
    Fixed(Vec<f64>),
}
