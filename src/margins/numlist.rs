//! The option texts of the post-estimation requests: `--dydx` (which effects to keep) and
//! at-grids (`--at "age=20(10)60; female=0 1"`, Stata numlists).

use crate::design::DesignSpec;
use crate::error::{usage, Result};

/// Keeps the effects of the variables `--dydx` names (Stata's `dydx(varlist)`): a continuous
/// variable's derivative, every level of a factor (named as the data column or as written,
/// `C(g)`). A name that is no variable of `specs` is a usage error.
pub fn keep_dydx(
    margins: &mut [&mut Vec<crate::output::Margin>],
    specs: &[&DesignSpec],
    vars: &[String],
) -> Result<()> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut prefixes: Vec<String> = Vec::new();
    for v in vars {
        let mut found = false;
        for spec in specs {
            if spec.continuous_variables().iter().any(|c| c == v) {
                prefixes.push(v.clone());
                found = true;
            }
            for (var, text, _, _) in spec.factor_variables() {
                if &var == v || &text == v {
                    prefixes.push(format!("{text}["));
                    found = true;
                }
            }
        }
        if !found {
            return Err(usage(format!("dydx: '{v}' is not a variable of the model")));
        }
    }
    for list in margins.iter_mut() {
        list.retain(|m| prefixes.iter().any(|p| if p.ends_with('[') { m.term.starts_with(p) } else { &m.term == p }));
    }
    Ok(())
}

/// Parses `--dydx`: variable names separated by commas or spaces.
pub fn parse_dydx(s: &str) -> Result<Vec<String>> {
    let v: Vec<String> = s.split([',', ' ']).filter(|x| !x.is_empty()).map(str::to_string).collect();
    if v.is_empty() {
        return Err(usage("dydx: no variable given (expected e.g. \"age, educ\")"));
    }
    Ok(v)
}

/// Parses an at-grid, `"age=20(10)60; female=0 1"`: each variable's values as a Stata
/// numlist (`a(b)c`, `a/b`, `a b c`, or factor level names), the grid the product of the
/// variables' values in the order given (the last variable varying fastest).
pub fn parse_grid(s: &str) -> Result<Vec<Vec<(String, String)>>> {
    let mut axes: Vec<(String, Vec<String>)> = Vec::new();
    for item in s.split(';').filter(|i| !i.trim().is_empty()) {
        let (var, list) = item
            .split_once('=')
            .ok_or_else(|| usage(format!("at: expected 'var=numlist' (e.g. age=20(10)60), found '{}'", item.trim())))?;
        let var = var.trim();
        if var.is_empty() || axes.iter().any(|a| a.0 == var) {
            return Err(usage(format!("at: '{}' needs one variable name, given once", item.trim())));
        }
        axes.push((var.to_string(), numlist(list.trim()).map_err(|e| usage(format!("at: {var}: {e}")))?));
    }
    if axes.is_empty() {
        return Err(usage("at: no variable given (expected e.g. \"age=20(10)60; female=0 1\")"));
    }
    let mut grid: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (var, values) in &axes {
        grid = grid
            .into_iter()
            .flat_map(|point| {
                values.iter().map(move |v| {
                    let mut p = point.clone();
                    p.push((var.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    if grid.len() > 10_000 {
        return Err(usage(format!("at: the grid has {} points (at most 10000)", grid.len())));
    }
    Ok(grid)
}

/// A Stata numlist: space-separated elements, each a number, a name (a factor level),
/// `a(d)b` (from a to b by d) or `a/b` (integers from a to b).
pub fn numlist(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    for el in s.split_whitespace() {
        if let Some((a, rest)) = el.split_once('(') {
            let (d, b) = rest.split_once(')').ok_or_else(|| format!("'{el}': expected a(step)b"))?;
            let (a, d, b) = (num(a, el)?, num(d, el)?, num(b, el)?);
            if d == 0.0 || (b - a) / d < 0.0 {
                return Err(format!("'{el}': the step must be non-zero and go from {a} towards {b}"));
            }
            let steps = ((b - a) / d + 1e-9).floor() as usize;
            if steps > 10_000 {
                return Err(format!("'{el}': too many values"));
            }
            out.extend((0..=steps).map(|i| fmt_num(a + d * i as f64)));
        } else if let Some((a, b)) = el.split_once('/') {
            let (a, b) = (num(a, el)?, num(b, el)?);
            if a.fract() != 0.0 || b.fract() != 0.0 || b < a || b - a > 10_000.0 {
                return Err(format!("'{el}': a/b takes integers a <= b"));
            }
            out.extend((a as i64..=b as i64).map(|v| v.to_string()));
        } else if el.contains(')') || el.contains(',') {
            return Err(format!("'{el}' is not a number, a level, a(step)b or a/b"));
        } else {
            out.push(el.to_string());
        }
    }
    if out.is_empty() {
        return Err("no values".into());
    }
    Ok(out)
}

fn num(s: &str, el: &str) -> std::result::Result<f64, String> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| format!("'{el}': '{s}' is not a number"))
}

/// A grid value as text: integers without a decimal point, others rounded to 12 significant
/// digits (so 0.1(0.1)0.3 gives 0.3, not 0.30000000000000004).
fn fmt_num(v: f64) -> String {
    let r: f64 = format!("{v:.12e}").parse().expect("a number");
    if r.fract() == 0.0 && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}
