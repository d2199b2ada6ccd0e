//! Building a [`Design`] from a formula and a dataset (listwise deletion, factor coding,
//! weights and clusters), and taking rows of it.

use super::*;
use crate::data::{ColumnData, Dataset, Factor, Level, MISSING_CODE};
use crate::error::{usage, DataError, Error, FitError, FormulaError, Result};
use crate::formula::{Atom, Expr, Formula};
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::Arc;

pub(super) fn numeric_column<'a>(ds: &'a Dataset, name: &str) -> Result<&'a [f64]> {
    let col = ds.column(name).ok_or_else(|| unknown(ds, name))?;
    match &col.data {
        ColumnData::Numeric(v) => Ok(v),
        ColumnData::Text(values) => Err(not_numeric(ds, name, values)),
        ColumnData::Categorical(_) => Err(Error::Formula(FormulaError::Invalid(format!(
            "'{name}' is categorical and cannot be used in arithmetic; use it as a factor, or give its numeric codes another name"
        )))),
    }
}

pub(super) fn unknown(ds: &Dataset, name: &str) -> Error {
    Error::Formula(FormulaError::UnknownColumn {
        name: name.to_string(),
        hint: ds.closest_name(name).map(str::to_string),
    })
}

pub(super) fn not_numeric(ds: &Dataset, name: &str, values: &[Option<String>]) -> Error {
    let bad: Vec<usize> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.as_deref().is_some_and(|s| crate::data::csv::parse_number(s).is_none()))
        .map(|(i, _)| i)
        .collect();
    let first = bad[0];
    let more = if bad.len() > 1 { format!(" (and {} more non-numeric values)", bad.len() - 1) } else { String::new() };
    Error::Data(DataError::NotNumeric {
        path: ds.source.clone(),
        column: name.to_string(),
        line: ds.line_numbers[first],
        value: values[first].clone().unwrap_or_default(),
        more,
    })
}

/// Evaluates an expression on every row of the dataset (NaN where undefined or missing).
pub fn eval_on_dataset(ds: &Dataset, expr: &Expr) -> Result<Vec<f64>> {
    let vars = expr.variables();
    let cols: Vec<&[f64]> = vars.iter().map(|v| numeric_column(ds, v)).collect::<Result<_>>()?;
    // A bare column is copied; anything else is evaluated column-wise (much faster than one
    // closure call per row). Both give the same values, NaN where undefined.
    if let Expr::Var(_) = expr {
        return Ok(cols[0].to_vec());
    }
    Ok(expr.eval_columns(ds.n_rows(), &mut |name: &str| {
        let k = vars.iter().position(|v| v == name).expect("variable list is complete");
        cols[k].to_vec()
    }))
}

/// A factor on the whole dataset; the codes of a categorical column are borrowed.
pub(super) struct FullFactor<'d> {
    pub(super) codes: Cow<'d, [u32]>,
    pub(super) levels: Vec<Level>,
    pub(super) reference: usize,
}

pub(super) fn resolve_factor<'d>(
    ds: &'d Dataset,
    var: &str,
    reference: Option<&str>,
    wrapped: bool,
) -> Result<FullFactor<'d>> {
    let col = ds.column(var).ok_or_else(|| unknown(ds, var))?;
    let (codes, f) = match &col.data {
        ColumnData::Numeric(v) => {
            let f = Factor::from_numbers(v);
            (Cow::Owned(f.codes), Factor { codes: Vec::new(), ..f })
        }
        ColumnData::Text(v) => {
            let f = Factor::from_strings(v.iter().map(|s| s.as_deref()));
            (Cow::Owned(f.codes), Factor { codes: Vec::new(), ..f })
        }
        ColumnData::Categorical(f) => (
            Cow::Borrowed(f.codes.as_slice()),
            Factor { codes: Vec::new(), levels: f.levels.clone(), reference: f.reference },
        ),
    };
    let mut f = f;
    if let Some(r) = reference {
        let name = if wrapped { format!("C({var})") } else { var.to_string() };
        f.reference = f.level_index(r).ok_or_else(|| {
            let levels: Vec<&str> = f.levels.iter().map(|l| l.name.as_str()).collect();
            Error::Formula(FormulaError::Invalid(format!(
                "reference level '{r}' of {name} not found; its levels are: {}",
                levels.join(", ")
            )))
        })?;
    }
    Ok(FullFactor { codes, levels: f.levels, reference: f.reference })
}

/// Evaluates an expression on every row of the dataset, borrowing a bare numeric column.
pub(super) fn eval_cow<'d>(ds: &'d Dataset, expr: &Expr) -> Result<Cow<'d, [f64]>> {
    match expr {
        Expr::Var(v) => Ok(Cow::Borrowed(numeric_column(ds, v)?)),
        _ => Ok(Cow::Owned(eval_on_dataset(ds, expr)?)),
    }
}

impl Design {
    /// Builds the design matrix of `formula` on `ds`.
    pub fn build(ds: &Dataset, formula: &Formula, opts: &SampleOptions) -> Result<Design> {
        let n_all = ds.n_rows();
        let (resp_expr, resp_name) = formula
            .response
            .clone()
            .ok_or_else(|| Error::Formula(FormulaError::Invalid("the formula has no response".into())))?;

        // Resolve atoms on the whole dataset. Bare columns are borrowed, not copied.
        enum Full<'d> {
            Numeric(Expr, Cow<'d, [f64]>),
            Factor(String, FullFactor<'d>),
        }
        // Atoms resolved in parallel (a factor of numbers is coded in two passes over the rows);
        // the first error in formula order is the one reported.
        let resolved: Vec<Result<(String, Full)>> = formula
            .atoms
            .par_iter()
            .map(|a| -> Result<(String, Full)> {
                let r = match &a.atom {
                    Atom::Name(v) => {
                        let col = ds.column(v).ok_or_else(|| unknown(ds, v))?;
                        match &col.data {
                            ColumnData::Categorical(f) => Full::Factor(
                                v.clone(),
                                FullFactor {
                                    codes: Cow::Borrowed(&f.codes),
                                    levels: f.levels.clone(),
                                    reference: f.reference,
                                },
                            ),
                            _ => {
                                let e = Expr::Var(v.clone());
                                let vals = eval_cow(ds, &e)?;
                                Full::Numeric(e, vals)
                            }
                        }
                    }
                    Atom::Categorical { var, reference } => {
                        Full::Factor(var.clone(), resolve_factor(ds, var, reference.as_deref(), true)?)
                    }
                    Atom::Expr { expr } => Full::Numeric(expr.clone(), eval_cow(ds, expr)?),
                };
                Ok((a.text.clone(), r))
            })
            .collect();
        let full: Vec<(String, Full)> = resolved.into_iter().collect::<Result<_>>()?;
        let y_all = eval_cow(ds, &resp_expr)?;
        let w_all = match &opts.weights {
            Some((name, _)) => Some(numeric_column(ds, name)?),
            None => None,
        };
        let cl_all = match &opts.cluster {
            Some(name) => Some(ClusterColumn::of(ds, name)?),
            None => None,
        };
        // Columns whose missing values are already checked through an atom or the response.
        let mut checked: Vec<&str> = Vec::new();
        for (_, a) in &full {
            match a {
                Full::Numeric(Expr::Var(v), _) | Full::Factor(v, _) => checked.push(v),
                Full::Numeric(..) => {}
            }
        }
        if let Expr::Var(v) = &resp_expr {
            checked.push(v);
        }
        let extra: Vec<&ColumnData> = opts
            .also_require
            .iter()
            .map(|n| ds.column(n).map(|c| &c.data).ok_or_else(|| unknown(ds, n)))
            .collect::<Result<_>>()?;
        let extra: Vec<&ColumnData> = extra
            .into_iter()
            .zip(&opts.also_require)
            .filter(|(_, n)| !checked.contains(&n.as_str()))
            .map(|(c, _)| c)
            .collect();

        // Listwise deletion, column by column: `ok[i]` = every variable of row i is usable.
        let mut ok = vec![true; n_all];
        and_mask(&mut ok, &y_all, |y| y.is_finite());
        for (_, a) in &full {
            match a {
                Full::Numeric(_, v) => and_mask(&mut ok, v, |x| x.is_finite()),
                Full::Factor(_, f) => and_mask(&mut ok, &f.codes, |&c| c != MISSING_CODE),
            }
        }
        for c in &extra {
            match c {
                ColumnData::Numeric(v) => and_mask(&mut ok, v, |x| !x.is_nan()),
                ColumnData::Categorical(f) => and_mask(&mut ok, &f.codes, |&c| c != MISSING_CODE),
                ColumnData::Text(v) => and_mask(&mut ok, v, Option::is_some),
            }
        }
        if let Some(c) = &cl_all {
            ok.par_chunks_mut(ROW_BLOCK).enumerate().for_each(|(b, o)| {
                for (r, x) in o.iter_mut().enumerate() {
                    *x &= c.key(b * ROW_BLOCK + r).is_some();
                }
            });
        }
        let mut rows = Vec::with_capacity(n_all);
        let (mut n_missing, mut n_zero_weight, mut n_outside) = (0usize, 0usize, 0usize);
        for i in 0..n_all {
            if opts.restrict.as_ref().is_some_and(|r| !r[i]) {
                n_outside += 1;
                continue;
            }
            let mut ok = ok[i];
            if let Some(w) = w_all {
                let wi = w[i];
                if wi.is_nan() {
                    ok = false;
                } else if ok && wi < 0.0 {
                    let (name, _) = opts.weights.as_ref().unwrap();
                    return Err(Error::Data(DataError::InvalidValue {
                        path: ds.source.clone(),
                        line: ds.line_numbers[i],
                        column: name.clone(),
                        value: crate::data::format_number(wi),
                        expected: "weights must be non-negative".into(),
                    }));
                } else if ok && wi == 0.0 {
                    n_zero_weight += 1;
                    continue;
                }
            }
            if ok {
                rows.push(i);
            } else {
                n_missing += 1;
            }
        }
        let mut notes = formula.notes.clone();
        if n_missing > 0 {
            notes.push(format!("{n_missing} rows dropped because of missing values (or undefined transformations such as log of a non-positive number)"));
        }
        if n_zero_weight > 0 {
            notes.push(format!("{n_zero_weight} rows with zero weight dropped"));
        }
        if rows.is_empty() && n_zero_weight > 0 {
            // Rows with usable values exist, but every one has weight 0 (issue #19: the
            // message used to speak of missing values only).
            let (name, _) = opts.weights.as_ref().expect("zero weights need a weight column");
            return Err(Error::Fit(FitError::EmptySample(format!(
                "every row of {} with values for '{}' has weight 0 in '{name}' ({n_zero_weight} rows with weight 0, \
{n_missing} with missing values, {n_all} rows read{})",
                ds.source,
                formula.source,
                if n_outside > 0 { format!(", {n_outside} outside the subsample") } else { String::new() }
            ))));
        }
        if rows.is_empty() {
            return Err(Error::Fit(FitError::EmptySample(format!(
                "no row of {} has non-missing values for every variable of '{}' ({} rows read{})",
                ds.source,
                formula.source,
                n_all,
                if n_outside > 0 { format!(", {n_outside} outside the subsample") } else { String::new() }
            ))));
        }
        let n = rows.len();

        // Weights.
        let (weights, weight_type) = match (&opts.weights, w_all) {
            (Some((name, wt)), Some(w)) => {
                let mut wv: Vec<f64> = rows.iter().map(|&i| w[i]).collect();
                if *wt == WeightType::Frequency {
                    if let Some(k) = wv.iter().position(|x| x.fract() != 0.0) {
                        return Err(Error::Data(DataError::InvalidValue {
                            path: ds.source.clone(),
                            line: ds.line_numbers[rows[k]],
                            column: name.clone(),
                            value: crate::data::format_number(wv[k]),
                            expected: "frequency weights must be whole numbers".into(),
                        }));
                    }
                }
                if *wt == WeightType::Analytic {
                    // Stata rescales aweights to sum to the number of observations.
                    let s: f64 = wv.iter().sum();
                    let scale = n as f64 / s;
                    wv.iter_mut().for_each(|x| *x *= scale);
                }
                (Some(wv), Some(*wt))
            }
            _ => (None, None),
        };

        // Clusters, numbered in sorted order of their values.
        let (clusters, n_clusters) = match cl_all {
            Some(col) => match col.small_integer_ids(&rows) {
                Some((ids, count)) => (Some(ids), count),
                None => {
                    // Provisional ids in order of appearance (one hash look-up per row), then the
                    // distinct values sorted and the ids renumbered in that order.
                    let mut first_seen: std::collections::HashMap<ClusterKey, u32, FastHash> =
                        std::collections::HashMap::default();
                    let provisional: Vec<u32> = rows
                        .iter()
                        .map(|&i| {
                            let next = first_seen.len() as u32;
                            *first_seen
                                .entry(col.key(i).expect("rows with a missing cluster are dropped"))
                                .or_insert(next)
                        })
                        .collect();
                    let mut distinct: Vec<(ClusterKey, u32)> = first_seen.into_iter().collect();
                    distinct.sort_unstable();
                    let mut renumber = vec![0u32; distinct.len()];
                    for (sorted, (_, p)) in distinct.iter().enumerate() {
                        renumber[*p as usize] = sorted as u32;
                    }
                    let ids = provisional.iter().map(|&p| renumber[p as usize]).collect();
                    (Some(ids), distinct.len())
                }
            },
            None => (None, 0),
        };

        // Atoms on the used rows: every variable gathered once (in parallel over variables).
        let mut names: Vec<String> = Vec::new();
        for (_, a) in &full {
            if let Full::Numeric(expr, _) = a {
                for v in expr.variables() {
                    if !names.contains(&v) {
                        names.push(v);
                    }
                }
            }
        }
        let sources: Vec<&[f64]> = names.iter().map(|v| numeric_column(ds, v)).collect::<Result<_>>()?;
        let gathered: Vec<Arc<[f64]>> = sources.par_iter().map(|col| gather_shared(col, &rows)).collect();
        let values = VariableValues::new(names.into_iter().zip(gathered).collect());
        let mut atoms = Vec::new();
        for (text, a) in full {
            match a {
                Full::Numeric(expr, _) => atoms.push(ResolvedAtom::Numeric { text, expr }),
                Full::Factor(var, f) => {
                    // Every row kept (the rows are increasing): the codes as they are.
                    let codes = if n == n_all { f.codes.into_owned() } else { gather(&f.codes, &rows) };
                    atoms.push(ResolvedAtom::Factor { text, var, levels: f.levels, reference: f.reference, codes });
                }
            }
        }

        // Columns, with R's contrast rule.
        let mut columns = Vec::new();
        if formula.intercept {
            columns.push(ColumnSpec { name: "(Intercept)".into(), parts: vec![] });
        }
        for term in &formula.terms {
            let mut choices: Vec<Vec<Part>> = Vec::new();
            for &a in term {
                match &atoms[a] {
                    ResolvedAtom::Numeric { .. } => choices.push(vec![Part::Numeric(a)]),
                    ResolvedAtom::Factor { levels, reference, .. } => {
                        let margin: Vec<usize> = term.iter().copied().filter(|&b| b != a).collect();
                        let contrasts = if margin.is_empty() {
                            formula.intercept
                        } else {
                            formula.terms.iter().any(|t| crate::formula::parse::same_term(t, &margin))
                        };
                        let lv: Vec<Part> = (0..levels.len())
                            .filter(|&l| !(contrasts && l == *reference))
                            .map(|l| Part::Level(a, l))
                            .collect();
                        choices.push(lv);
                    }
                }
            }
            // Cartesian product, first atom varying fastest (R's order).
            let mut combos: Vec<Vec<Part>> = vec![vec![]];
            for choice in &choices {
                let mut next = Vec::new();
                for c in choice {
                    for prefix in &combos {
                        let mut p = prefix.clone();
                        p.push(*c);
                        next.push(p);
                    }
                }
                combos = next;
            }
            for parts in combos {
                let name = parts
                    .iter()
                    .map(|p| match p {
                        Part::Numeric(a) => atoms[*a].text().to_string(),
                        Part::Level(a, l) => match &atoms[*a] {
                            ResolvedAtom::Factor { text, levels, .. } => {
                                format!("{text}[{}]", levels[*l].name)
                            }
                            _ => unreachable!(),
                        },
                    })
                    .collect::<Vec<_>>()
                    .join(":");
                columns.push(ColumnSpec { name, parts });
            }
        }
        if columns.is_empty() {
            return Err(usage(format!("the formula '{}' has no regressors and no intercept", formula.source)));
        }

        let spec = DesignSpec { atoms, columns, values, n };
        let x = spec.matrix(&Scenario::default());
        let y: Vec<f64> = rows.iter().map(|&i| y_all[i]).collect();
        Ok(Design {
            response: resp_name,
            y,
            names: spec.columns.iter().map(|c| c.name.clone()).collect(),
            x,
            weights,
            weight_type,
            weight_var: opts.weights.as_ref().map(|w| w.0.clone()),
            clusters,
            n_clusters,
            cluster_var: opts.cluster.clone(),
            lines: rows.iter().map(|&i| ds.line_numbers[i]).collect(),
            rows,
            n_dropped: n_all - n,
            notes,
            spec,
        })
    }

    pub fn n(&self) -> usize {
        self.y.len()
    }

    pub fn k(&self) -> usize {
        self.names.len()
    }

    /// Keeps only the design columns in `keep` (used after collinearity checks).
    pub fn select_columns(&mut self, keep: &[usize]) {
        if keep.len() == self.k() && keep.iter().enumerate().all(|(a, &j)| a == j) {
            return;
        }
        self.x = gather_columns(&self.x, keep);
        self.names = keep.iter().map(|&j| self.names[j].clone()).collect();
        self.spec.columns = keep.iter().map(|&j| self.spec.columns[j].clone()).collect();
    }

    /// Keeps only the estimation rows in `keep` (used when perfect predictors are dropped).
    pub fn select_rows(&mut self, keep: &[bool]) {
        let idx: Vec<usize> = (0..self.n()).filter(|&i| keep[i]).collect();
        *self = self.take_rows(&idx);
    }

    /// The design on the estimation rows `idx` (in that order), gathered once: what
    /// [`Design::select_rows`] keeps, without copying the rows that are dropped.
    pub fn take_rows(&self, idx: &[usize]) -> Design {
        let dropped = self.n() - idx.len();
        let (clusters, n_clusters) = match &self.clusters {
            Some(c) => {
                // Renumber the clusters present densely, in the order of their ids (the sorted
                // order of their values): a table from old to new id.
                let (new_id, present) = dense_table(self.n_clusters, idx.iter().map(|&i| c[i] as usize));
                (Some(idx.iter().map(|&i| new_id[c[i] as usize]).collect()), present)
            }
            None => (None, self.n_clusters),
        };
        Design {
            response: self.response.clone(),
            y: gather(&self.y, idx),
            x: gather_rows(&self.x, idx),
            names: self.names.clone(),
            weights: self.weights.as_ref().map(|w| gather(w, idx)),
            weight_type: self.weight_type,
            weight_var: self.weight_var.clone(),
            clusters,
            n_clusters,
            cluster_var: self.cluster_var.clone(),
            rows: gather(&self.rows, idx),
            lines: gather(&self.lines, idx),
            n_dropped: self.n_dropped + dropped,
            notes: self.notes.clone(),
            spec: self.spec.select_rows(idx),
        }
    }

    /// Sum of weights as Stata counts observations: sum of fweights, else the row count.
    pub fn n_obs(&self) -> f64 {
        match (&self.weights, self.weight_type) {
            (Some(w), Some(WeightType::Frequency)) => w.iter().sum(),
            _ => self.n() as f64,
        }
    }
}
