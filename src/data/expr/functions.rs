//! The functions of data expressions: the table the parser checks calls against, their
//! evaluation, Stata's `xtile` and `recode`.

use super::ast::Expr;
use super::eval::{eval, map1, num_operand, to_vec, truth, Value};
use crate::data::{format_number, Dataset, Factor, Level, MISSING_CODE};
use crate::error::ExprError;

/// Function names and their number of arguments.
pub(super) const FUNCTIONS: &[(&str, usize)] = &[
    ("log", 1),
    ("ln", 1),
    ("exp", 1),
    ("sqrt", 1),
    ("abs", 1),
    ("floor", 1),
    ("missing", 1),
    ("cond", 3),
    ("quantile", 2),
    ("recode", 2),
];

/// Parses recode rules `(1 2 = 1) (3 = 2)` into (old values, new value) pairs.
pub fn parse_recode(spec: &str) -> Result<Vec<(Vec<String>, String)>, String> {
    let mut rules = Vec::new();
    let mut rest = spec.trim();
    if rest.is_empty() {
        return Err("recode rules are empty; write them as \"(1 2 = 1) (3 = 2)\"".into());
    }
    while !rest.is_empty() {
        let Some(r) = rest.strip_prefix('(') else {
            return Err(format!("recode rules look like \"(1 2 = 1) (3 = 2)\"; found '{rest}'"));
        };
        let Some(close) = r.find(')') else {
            return Err("a recode rule is missing its ')'".into());
        };
        let body = &r[..close];
        let Some((from, to)) = body.split_once('=') else {
            return Err(format!("recode rule '({body})' has no '='"));
        };
        let from: Vec<String> = from.split_whitespace().map(str::to_string).collect();
        let to = to.trim().to_string();
        if from.is_empty() || to.is_empty() || to.contains(char::is_whitespace) {
            return Err(format!("recode rule '({body})' needs old values, '=' and one new value"));
        }
        rules.push((from, to));
        rest = r[close + 1..].trim_start();
    }
    Ok(rules)
}

pub(super) fn call(name: &str, args: &[Expr], ds: &Dataset, e: &Expr) -> Result<Value, ExprError> {
    let n = ds.n_rows();
    match name {
        "log" | "ln" => map1(eval(&args[0], ds)?, name, f64::ln, e),
        "exp" => map1(eval(&args[0], ds)?, name, f64::exp, e),
        "sqrt" => map1(eval(&args[0], ds)?, name, f64::sqrt, e),
        "abs" => map1(eval(&args[0], ds)?, name, f64::abs, e),
        "floor" => map1(eval(&args[0], ds)?, name, f64::floor, e),
        "missing" => Ok(match eval(&args[0], ds)? {
            Value::Num(x) => Value::Num(x.iter().map(|x| f64::from(x.is_nan())).collect()),
            Value::Scalar(x) => Value::Scalar(f64::from(x.is_nan())),
            Value::Cat(f) => Value::Num(f.codes.iter().map(|&c| f64::from(c == MISSING_CODE)).collect()),
            Value::Text(t) => Value::Num(t.iter().map(|v| f64::from(v.is_none())).collect()),
            Value::ScalarStr(_) => Value::Scalar(0.0),
        }),
        "cond" => {
            let Value::Num(c) = to_vec(truth(eval(&args[0], ds)?, e)?, n) else { unreachable!() };
            let a = to_vec(num_operand(eval(&args[1], ds)?, e)?, n);
            let b = to_vec(num_operand(eval(&args[2], ds)?, e)?, n);
            let (Value::Num(a), Value::Num(b)) = (a, b) else { unreachable!() };
            Ok(Value::Num(
                c.iter()
                    .zip(a.iter().zip(&b))
                    .map(|(c, (a, b))| {
                        if c.is_nan() {
                            f64::NAN
                        } else if *c == 1.0 {
                            *a
                        } else {
                            *b
                        }
                    })
                    .collect(),
            ))
        }
        "quantile" => {
            let Expr::Num(k) = args[1] else { unreachable!() };
            let Value::Num(x) = to_vec(num_operand(eval(&args[0], ds)?, e)?, n) else {
                return Err(ExprError::Argument {
                    expr: e.to_string(),
                    function: "quantile",
                    needs: "a numeric variable",
                });
            };
            Ok(Value::Cat(xtile(&x, k as usize)))
        }
        "recode" => {
            let Expr::Str(spec) = &args[1] else { unreachable!() };
            let rules = parse_recode(spec).map_err(|message| ExprError::Recode { expr: e.to_string(), message })?;
            recode(eval(&args[0], ds)?, &rules, n, e)
        }
        _ => unreachable!("the parser admits only the functions of FUNCTIONS, not '{name}'"),
    }
}

/// Stata's `xtile newvar = x, nq(k)` as a factor ([`crate::stats::xtile`]): levels `Q1` …
/// `Qk` with `Q1` the reference.
pub fn xtile(x: &[f64], k: usize) -> Factor {
    let codes = crate::stats::xtile(x, k).into_iter().map(|g| g.map_or(MISSING_CODE, |g| g as u32)).collect();
    Factor { codes, levels: (1..=k).map(|j| Level::new(format!("Q{j}"))).collect(), reference: 0 }
}

fn recode(v: Value, rules: &[(Vec<String>, String)], n: usize, e: &Expr) -> Result<Value, ExprError> {
    // Values not named in a rule keep their value (Stata's recode).
    let lookup = |s: &str| -> Option<&str> {
        let num = crate::data::csv::parse_number(s);
        rules
            .iter()
            .find(|(from, _)| {
                from.iter().any(|f| f == s || (num.is_some() && crate::data::csv::parse_number(f) == num))
            })
            .map(|r| r.1.as_str())
    };
    // Each row's value as text, through the distinct values: `keys[i]` indexes `distinct`
    // (in order of first appearance), or is MISSING_CODE.
    let (keys, distinct): (Vec<u32>, Vec<String>) = match to_vec(v, n) {
        Value::Num(x) => {
            let mut index: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
            let mut distinct = Vec::new();
            let keys = x
                .iter()
                .map(|v| {
                    if v.is_nan() {
                        return MISSING_CODE;
                    }
                    *index.entry(v.to_bits()).or_insert_with(|| {
                        distinct.push(format_number(*v));
                        distinct.len() as u32 - 1
                    })
                })
                .collect();
            (keys, distinct)
        }
        Value::Cat(f) => {
            // Only the levels some row takes count (as if each row's level name were written out).
            let mut slot = vec![MISSING_CODE; f.levels.len()];
            let mut distinct = Vec::new();
            let keys = f
                .codes
                .iter()
                .map(|&c| {
                    if c == MISSING_CODE {
                        return MISSING_CODE;
                    }
                    let s = &mut slot[c as usize];
                    if *s == MISSING_CODE {
                        distinct.push(f.levels[c as usize].name.clone());
                        *s = distinct.len() as u32 - 1;
                    }
                    *s
                })
                .collect();
            (keys, distinct)
        }
        Value::Text(t) => {
            let mut index: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
            let mut distinct: Vec<String> = Vec::new();
            let keys = t
                .iter()
                .map(|s| match s {
                    None => MISSING_CODE,
                    Some(s) => *index.entry(s.as_str()).or_insert_with(|| {
                        distinct.push(s.clone());
                        distinct.len() as u32 - 1
                    }),
                })
                .collect();
            (keys, distinct)
        }
        _ => return Err(ExprError::Argument { expr: e.to_string(), function: "recode", needs: "a variable" }),
    };
    let out: Vec<String> = distinct.into_iter().map(|s| lookup(&s).map(str::to_string).unwrap_or(s)).collect();
    let nums: Option<Vec<f64>> = out.iter().map(|s| crate::data::csv::parse_number(s)).collect();
    if let Some(nums) = nums {
        return Ok(Value::Num(
            keys.iter().map(|&k| if k == MISSING_CODE { f64::NAN } else { nums[k as usize] }).collect(),
        ));
    }
    // Levels in the order the rules name them, then the remaining values in sorted order.
    let mut names: Vec<String> = Vec::new();
    for (_, to) in rules {
        if !names.contains(to) && out.contains(to) {
            names.push(to.clone());
        }
    }
    let mut rest: Vec<&String> = out.iter().filter(|s| !names.contains(s)).collect();
    rest.sort();
    rest.dedup();
    let rest: Vec<String> = rest.into_iter().cloned().collect();
    names.extend(rest);
    let code_of: Vec<u32> = out.iter().map(|s| names.iter().position(|n| n == s).unwrap_or(0) as u32).collect();
    let codes = keys.iter().map(|&k| if k == MISSING_CODE { MISSING_CODE } else { code_of[k as usize] }).collect();
    Ok(Value::Cat(Factor { codes, levels: names.into_iter().map(Level::new).collect(), reference: 0 }))
}
