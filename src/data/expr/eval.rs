//! Evaluation of data expressions on whole columns, with missing values propagating.

use super::ast::{BinOp, Expr};
use super::functions::call;
use crate::data::{format_number, Column, ColumnData, Dataset, Factor, MISSING_CODE};
use crate::error::ExprError;

/// The value of an expression: a column or a constant.
#[derive(Debug, Clone)]
pub enum Value {
    Num(Vec<f64>),
    Cat(Factor),
    Text(Vec<Option<String>>),
    Scalar(f64),
    ScalarStr(String),
}

impl Value {
    /// Turns the value into column data for `n` rows.
    pub fn into_column(self, n: usize) -> ColumnData {
        match self {
            Value::Num(v) => ColumnData::Numeric(v),
            Value::Cat(f) => ColumnData::Categorical(f),
            Value::Text(t) => ColumnData::Text(t),
            Value::Scalar(x) => ColumnData::Numeric(vec![x; n]),
            Value::ScalarStr(s) => ColumnData::Text(vec![Some(s); n]),
        }
    }
}

/// Evaluates `e` on every row of `ds`.
pub fn eval(e: &Expr, ds: &Dataset) -> Result<Value, ExprError> {
    let n = ds.n_rows();
    Ok(match e {
        Expr::Num(v) => Value::Scalar(*v),
        Expr::Missing => Value::Scalar(f64::NAN),
        Expr::Str(s) => Value::ScalarStr(s.clone()),
        Expr::Var(name) => {
            let col = ds.column(name).ok_or_else(|| ExprError::UnknownVariable {
                name: name.clone(),
                hint: ds.closest_name(name).map(str::to_string),
            })?;
            match &col.data {
                ColumnData::Numeric(v) => Value::Num(v.clone()),
                ColumnData::Categorical(f) => Value::Cat(f.clone()),
                ColumnData::Text(t) => Value::Text(t.clone()),
            }
        }
        Expr::Neg(a) => map1(eval(a, ds)?, "-", |x| -x, e)?,
        Expr::Not(a) => map1(truth(eval(a, ds)?, e)?, "not", |x| if x.is_nan() { x } else { f64::from(x == 0.0) }, e)?,
        Expr::Bin(op, a, b) => {
            let (va, vb) = (eval(a, ds)?, eval(b, ds)?);
            match op {
                BinOp::Add => arith(va, vb, n, e, |x, y| x + y)?,
                BinOp::Sub => arith(va, vb, n, e, |x, y| x - y)?,
                BinOp::Mul => arith(va, vb, n, e, |x, y| x * y)?,
                BinOp::Div => arith(va, vb, n, e, |x, y| x / y)?,
                BinOp::Pow => arith(va, vb, n, e, f64::powf)?,
                BinOp::And => arith(truth(va, e)?, truth(vb, e)?, n, e, |x, y| {
                    if x == 0.0 || y == 0.0 {
                        0.0
                    } else if x.is_nan() || y.is_nan() {
                        f64::NAN
                    } else {
                        1.0
                    }
                })?,
                BinOp::Or => arith(truth(va, e)?, truth(vb, e)?, n, e, |x, y| {
                    if x == 1.0 || y == 1.0 {
                        1.0
                    } else if x.is_nan() || y.is_nan() {
                        f64::NAN
                    } else {
                        0.0
                    }
                })?,
                _ => compare(*op, va, vb, n, e)?,
            }
        }
        Expr::In(a, list) => {
            let va = eval(a, ds)?;
            let mut acc: Option<Vec<f64>> = None;
            for item in list {
                let vb = eval(item, ds)?;
                let Value::Num(eq) = to_vec(compare(BinOp::Eq, va.clone(), vb, n, e)?, n) else { unreachable!() };
                acc = Some(match acc {
                    None => eq,
                    Some(prev) => prev
                        .iter()
                        .zip(&eq)
                        .map(|(p, q)| {
                            if *p == 1.0 || *q == 1.0 {
                                1.0
                            } else if p.is_nan() || q.is_nan() {
                                f64::NAN
                            } else {
                                0.0
                            }
                        })
                        .collect(),
                });
            }
            Value::Num(acc.unwrap_or_else(|| vec![0.0; n]))
        }
        Expr::Call(name, args) => call(name, args, ds, e)?,
    })
}

/// Columns at least this long are computed element-wise in parallel (same values, any thread count).
const PAR_MIN: usize = 1 << 15;

fn pmap(x: &[f64], f: impl Fn(f64) -> f64 + Sync + Send) -> Vec<f64> {
    use rayon::prelude::*;
    if x.len() >= PAR_MIN {
        x.par_iter().map(|&v| f(v)).collect()
    } else {
        x.iter().map(|&v| f(v)).collect()
    }
}

fn pmap2(x: &[f64], y: &[f64], f: impl Fn(f64, f64) -> f64 + Sync + Send) -> Vec<f64> {
    use rayon::prelude::*;
    if x.len() >= PAR_MIN {
        x.par_iter().zip(y).map(|(&a, &b)| f(a, b)).collect()
    } else {
        x.iter().zip(y).map(|(&a, &b)| f(a, b)).collect()
    }
}

pub(super) fn to_vec(v: Value, n: usize) -> Value {
    match v {
        Value::Scalar(x) => Value::Num(vec![x; n]),
        other => other,
    }
}

pub(super) fn num_operand(v: Value, e: &Expr) -> Result<Value, ExprError> {
    match v {
        Value::Num(_) | Value::Scalar(_) => Ok(v),
        Value::Cat(_) => Err(ExprError::CategoricalArithmetic { expr: e.to_string() }),
        Value::Text(_) | Value::ScalarStr(_) => Err(ExprError::TextArithmetic { expr: e.to_string() }),
    }
}

pub(super) fn truth(v: Value, e: &Expr) -> Result<Value, ExprError> {
    let v = num_operand(v, e)?;
    Ok(match v {
        Value::Num(x) => Value::Num(pmap(&x, |x| if x.is_nan() { x } else { f64::from(x != 0.0) })),
        Value::Scalar(x) => Value::Scalar(if x.is_nan() { x } else { f64::from(x != 0.0) }),
        other => other,
    })
}

fn clean(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::NAN
    }
}

pub(super) fn map1(v: Value, _what: &str, f: impl Fn(f64) -> f64 + Sync + Send, e: &Expr) -> Result<Value, ExprError> {
    Ok(match num_operand(v, e)? {
        Value::Num(x) => Value::Num(pmap(&x, |x| clean(f(x)))),
        Value::Scalar(x) => Value::Scalar(clean(f(x))),
        _ => unreachable!(),
    })
}

fn arith(
    a: Value,
    b: Value,
    n: usize,
    e: &Expr,
    f: impl Fn(f64, f64) -> f64 + Sync + Send,
) -> Result<Value, ExprError> {
    let (a, b) = (num_operand(a, e)?, num_operand(b, e)?);
    Ok(match (a, b) {
        (Value::Scalar(x), Value::Scalar(y)) => Value::Scalar(clean(f(x, y))),
        (Value::Num(x), Value::Scalar(y)) => Value::Num(pmap(&x, |x| clean(f(x, y)))),
        (Value::Scalar(x), Value::Num(y)) => Value::Num(pmap(&y, |y| clean(f(x, y)))),
        (Value::Num(x), Value::Num(y)) => {
            debug_assert_eq!(x.len(), n);
            Value::Num(pmap2(&x, &y, |x, y| clean(f(x, y))))
        }
        _ => unreachable!(),
    })
}

fn cmp_f(op: BinOp, x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    f64::from(match op {
        BinOp::Eq => x == y,
        BinOp::Ne => x != y,
        BinOp::Lt => x < y,
        BinOp::Le => x <= y,
        BinOp::Gt => x > y,
        BinOp::Ge => x >= y,
        _ => unreachable!(),
    })
}

fn compare(op: BinOp, a: Value, b: Value, n: usize, e: &Expr) -> Result<Value, ExprError> {
    match (a, b) {
        (Value::Cat(f), Value::ScalarStr(s)) | (Value::ScalarStr(s), Value::Cat(f)) => {
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return Err(ExprError::CategoricalOrder { expr: e.to_string() });
            }
            let Some(idx) = f.levels.iter().position(|l| l.name == s) else {
                let levels = f.levels.iter().map(|l| l.name.clone()).collect();
                return Err(ExprError::NotALevel { expr: e.to_string(), value: s, levels });
            };
            let want = op == BinOp::Eq;
            Ok(Value::Num(
                f.codes
                    .iter()
                    .map(|&c| if c == MISSING_CODE { f64::NAN } else { f64::from((c as usize == idx) == want) })
                    .collect(),
            ))
        }
        (Value::Cat(f), Value::Scalar(x)) | (Value::Scalar(x), Value::Cat(f)) => {
            let name = format_number(x);
            compare(op, Value::Cat(f), Value::ScalarStr(name), n, e)
                .map_err(|m| ExprError::NumberForLevel { inner: Box::new(m) })
        }
        (Value::Text(t), Value::ScalarStr(s)) | (Value::ScalarStr(s), Value::Text(t)) => {
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return Err(ExprError::TextOrder { expr: e.to_string() });
            }
            let want = op == BinOp::Eq;
            Ok(Value::Num(t.iter().map(|v| v.as_ref().map_or(f64::NAN, |v| f64::from((*v == s) == want))).collect()))
        }
        (Value::ScalarStr(a), Value::ScalarStr(b)) => Ok(Value::Scalar(f64::from((a == b) == (op == BinOp::Eq)))),
        (a, b) => arith(a, b, n, e, |x, y| cmp_f(op, x, y)),
    }
}

/// Evaluates a filter: rows where it is true (missing counts as false).
pub fn eval_filter(e: &Expr, ds: &Dataset) -> Result<Vec<bool>, ExprError> {
    match to_vec(truth(eval(e, ds)?, e)?, ds.n_rows()) {
        Value::Num(v) => Ok(v.iter().map(|x| *x == 1.0).collect()),
        _ => unreachable!(),
    }
}

/// Evaluates `e` and returns it as a column named `name`.
pub fn eval_column(e: &Expr, ds: &Dataset, name: &str) -> Result<Column, ExprError> {
    Ok(Column { name: name.to_string(), data: eval(e, ds)?.into_column(ds.n_rows()), label: None, label_zh: None })
}
