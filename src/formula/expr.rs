//! Arithmetic expressions: the language inside `I()`, `log()`, a transformed response, and
//! schema-derived variables. Evaluation is generic over [`Num`] so the same code gives values
//! (`f64`) and exact first derivatives ([`Dual`]) for marginal effects.

use std::fmt;

/// The operators are those of data expressions: one lexer and one operator set for both grammars.
pub use crate::data::expr::BinOp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Log,
    Exp,
    Sqrt,
    Abs,
}

impl Func {
    pub fn from_name(name: &str) -> Option<Func> {
        match name {
            "log" | "ln" => Some(Func::Log),
            "exp" => Some(Func::Exp),
            "sqrt" => Some(Func::Sqrt),
            "abs" => Some(Func::Abs),
            _ => None,
        }
    }
}

/// An arithmetic expression over named numeric variables.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Var(String),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Box<Expr>),
}

impl Expr {
    /// Names of the variables the expression reads, in order of first appearance.
    pub fn variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_vars(&mut out);
        out
    }

    fn collect_vars(&self, out: &mut Vec<String>) {
        match self {
            Expr::Num(_) => {}
            Expr::Var(v) => {
                if !out.contains(v) {
                    out.push(v.clone())
                }
            }
            Expr::Neg(e) | Expr::Call(_, e) => e.collect_vars(out),
            Expr::Bin(_, a, b) => {
                a.collect_vars(out);
                b.collect_vars(out);
            }
        }
    }

    /// Evaluates the expression; `var` supplies each variable's value. Undefined results
    /// (log of a non-positive number, division by zero) are NaN, which callers treat as missing.
    pub fn eval<N: Num>(&self, var: &mut impl FnMut(&str) -> N) -> N {
        match self {
            Expr::Num(c) => N::constant(*c),
            Expr::Var(v) => var(v),
            Expr::Neg(e) => e.eval(var).neg(),
            Expr::Call(f, e) => apply_func(*f, e.eval(var)),
            Expr::Bin(op, a, b) => {
                let x = a.eval(var);
                let y = b.eval(var);
                apply_bin(*op, x, y)
            }
        }
    }

    /// Evaluates the expression on whole columns at once (`n` rows): `var` returns a column.
    /// Much faster than row-by-row [`Expr::eval`] on large data.
    pub fn eval_columns<N: Num>(&self, n: usize, var: &mut impl FnMut(&str) -> Vec<N>) -> Vec<N> {
        match self {
            Expr::Num(c) => vec![N::constant(*c); n],
            Expr::Var(v) => var(v),
            Expr::Neg(e) => e.eval_columns(n, var).into_iter().map(Num::neg).collect(),
            Expr::Call(f, e) => e.eval_columns(n, var).into_iter().map(|x| apply_func(*f, x)).collect(),
            Expr::Bin(op, a, b) => {
                let x = a.eval_columns(n, var);
                let y = b.eval_columns(n, var);
                x.into_iter().zip(y).map(|(u, v)| apply_bin(*op, u, v)).collect()
            }
        }
    }
}

/// A function applied to a value.
pub fn apply_func<N: Num>(f: Func, x: N) -> N {
    match f {
        Func::Log => x.ln(),
        Func::Exp => x.exp(),
        Func::Sqrt => x.sqrt(),
        Func::Abs => x.abs(),
    }
}

/// A binary operator applied to two values; comparisons and logic give 0/1 (NaN if either
/// side is missing) with a zero derivative.
pub fn apply_bin<N: Num>(op: BinOp, x: N, y: N) -> N {
    match op {
        BinOp::Add => x.add(y),
        BinOp::Sub => x.sub(y),
        BinOp::Mul => x.mul(y),
        BinOp::Div => x.div(y),
        BinOp::Pow => x.pow(y),
        cmp => {
            let (u, v) = (x.value(), y.value());
            if u.is_nan() || v.is_nan() {
                return N::constant(f64::NAN);
            }
            let t = match cmp {
                BinOp::Gt => u > v,
                BinOp::Ge => u >= v,
                BinOp::Lt => u < v,
                BinOp::Le => u <= v,
                BinOp::Eq => u == v,
                BinOp::Ne => u != v,
                BinOp::And => u != 0.0 && v != 0.0,
                BinOp::Or => u != 0.0 || v != 0.0,
                _ => unreachable!(),
            };
            N::constant(if t { 1.0 } else { 0.0 })
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(c) => write!(f, "{}", crate::data::format_number(*c)),
            Expr::Var(v) => write!(f, "{v}"),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Call(func, e) => {
                let name = match func {
                    Func::Log => "log",
                    Func::Exp => "exp",
                    Func::Sqrt => "sqrt",
                    Func::Abs => "abs",
                };
                write!(f, "{name}({e})")
            }
            Expr::Bin(op, a, b) => {
                let s = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    BinOp::Pow => "^",
                    BinOp::Gt => ">",
                    BinOp::Ge => ">=",
                    BinOp::Lt => "<",
                    BinOp::Le => "<=",
                    BinOp::Eq => "==",
                    BinOp::Ne => "!=",
                    BinOp::And => "&",
                    BinOp::Or => "|",
                };
                write!(f, "({a}{s}{b})")
            }
        }
    }
}

/// Numbers an expression can be evaluated over.
pub trait Num: Copy + Send + Sync {
    fn constant(c: f64) -> Self;
    fn value(self) -> f64;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn pow(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn ln(self) -> Self;
    fn exp(self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
}

/// Stata and R return missing for `log(0)`; so do we (NaN rather than -inf).
fn log_or_nan(x: f64) -> f64 {
    if x > 0.0 {
        x.ln()
    } else {
        f64::NAN
    }
}

fn finite_or_nan(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::NAN
    }
}

impl Num for f64 {
    fn constant(c: f64) -> Self {
        c
    }
    fn value(self) -> f64 {
        self
    }
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn sub(self, o: Self) -> Self {
        self - o
    }
    fn mul(self, o: Self) -> Self {
        self * o
    }
    fn div(self, o: Self) -> Self {
        finite_or_nan(self / o)
    }
    fn pow(self, o: Self) -> Self {
        finite_or_nan(self.powf(o))
    }
    fn neg(self) -> Self {
        -self
    }
    fn ln(self) -> Self {
        log_or_nan(self)
    }
    fn exp(self) -> Self {
        finite_or_nan(f64::exp(self))
    }
    fn sqrt(self) -> Self {
        if self >= 0.0 {
            f64::sqrt(self)
        } else {
            f64::NAN
        }
    }
    fn abs(self) -> Self {
        f64::abs(self)
    }
}

/// A dual number `v + d·ε` (ε² = 0): evaluating an expression on it gives the value and the
/// exact derivative with respect to whichever variable was seeded with `d = 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dual {
    pub v: f64,
    pub d: f64,
}

impl Dual {
    pub fn new(v: f64, d: f64) -> Self {
        Dual { v, d }
    }
}

impl Num for Dual {
    fn constant(c: f64) -> Self {
        Dual::new(c, 0.0)
    }
    fn value(self) -> f64 {
        self.v
    }
    fn add(self, o: Self) -> Self {
        Dual::new(self.v + o.v, self.d + o.d)
    }
    fn sub(self, o: Self) -> Self {
        Dual::new(self.v - o.v, self.d - o.d)
    }
    fn mul(self, o: Self) -> Self {
        Dual::new(self.v * o.v, self.d * o.v + self.v * o.d)
    }
    fn div(self, o: Self) -> Self {
        let v = Num::div(self.v, o.v);
        Dual::new(v, (self.d * o.v - self.v * o.d) / (o.v * o.v))
    }
    fn pow(self, o: Self) -> Self {
        let v = Num::pow(self.v, o.v);
        // d(x^c) = c x^(c-1) dx for a constant exponent (also valid for x <= 0 with integer c);
        // the general case adds x^y ln(x) dy.
        let mut d = if self.d != 0.0 { o.v * Num::pow(self.v, o.v - 1.0) * self.d } else { 0.0 };
        if o.d != 0.0 {
            d += v * log_or_nan(self.v) * o.d;
        }
        Dual::new(v, d)
    }
    fn neg(self) -> Self {
        Dual::new(-self.v, -self.d)
    }
    fn ln(self) -> Self {
        Dual::new(log_or_nan(self.v), self.d / self.v)
    }
    fn exp(self) -> Self {
        let e = Num::exp(self.v);
        Dual::new(e, e * self.d)
    }
    fn sqrt(self) -> Self {
        let s = Num::sqrt(self.v);
        Dual::new(s, self.d / (2.0 * s))
    }
    fn abs(self) -> Self {
        Dual::new(self.v.abs(), if self.v < 0.0 { -self.d } else { self.d })
    }
}
