//! The small expression language of schemas, `--if` and `--subsample`.
//!
//! ```text
//! expr    := or
//! or      := and (("or" | "|" | "||") and)*
//! and     := not (("and" | "&" | "&&") not)*
//! not     := ("not" | "!") not | cmp
//! cmp     := sum (("==" | "!=" | "<" | "<=" | ">" | ">=") sum)? | sum "in" "(" literal, ... ")"
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/") unary)*
//! unary   := "-" unary | power
//! power   := atom ("^" unary)?                 (right-associative, binds tighter than unary minus
//!                                               on its left: -x^2 = -(x^2), as in Stata)
//! atom    := number | "string" | "." | name | name "(" expr, ... ")" | "(" expr ")"
//! ```
//!
//! Functions: `log`/`ln`, `exp`, `sqrt`, `abs`, `floor`, `missing(x)`, `cond(c, a, b)`,
//! `quantile(x, k)` (Stata's `xtile, nq(k)`), `recode(x, "(1 2 = 1) (3 = 2)")`.
//!
//! Missing values propagate: arithmetic and comparisons with a missing operand are missing
//! (unlike Stata, where `. > 0` is true: a deliberate difference, because it is the classic
//! Stata bug in `gen y = x > 0`). `and`/`or` use three-valued logic (`0 and .` = 0,
//! `1 or .` = 1); a row where a filter is missing is dropped.
//! Categorical variables compare with level names: `scheme == "NCMS"`,
//! `scheme in ("URBMI", "UEBMI")`; a name that is not a level is an error, not an empty sample.

use crate::data::{format_number, Column, ColumnData, Dataset, Factor, Level, MISSING_CODE};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Str(String),
    Missing,
    Var(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

const FUNCTIONS: &[(&str, usize)] = &[
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

/// Words that cannot be variable names.
pub fn is_reserved(name: &str) -> bool {
    matches!(name, "and" | "or" | "not" | "in")
}

/// A syntax error at a byte offset of the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position + 1, self.message)
    }
}

impl Expr {
    /// The variable names the expression reads.
    pub fn variables(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Var(n) => {
                if !out.contains(&n.as_str()) {
                    out.push(n)
                }
            }
            Expr::Neg(e) | Expr::Not(e) => e.collect(out),
            Expr::Bin(_, a, b) => {
                a.collect(out);
                b.collect(out)
            }
            Expr::In(a, l) => {
                a.collect(out);
                l.iter().for_each(|e| e.collect(out))
            }
            Expr::Call(_, args) => args.iter().for_each(|e| e.collect(out)),
            Expr::Num(_) | Expr::Str(_) | Expr::Missing => {}
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(v) => write!(f, "{}", format_number(*v)),
            Expr::Str(s) => write!(f, "{s:?}"),
            Expr::Missing => write!(f, "."),
            Expr::Var(n) => write!(f, "{n}"),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Not(e) => write!(f, "not ({e})"),
            Expr::Bin(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Expr::In(a, l) => {
                write!(f, "{a} in (")?;
                for (i, e) in l.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, ")")
            }
            Expr::Call(n, args) => {
                write!(f, "{n}(")?;
                for (i, e) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, ")")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer and parser

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    Dot,
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    End,
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                let mut j = i + 1;
                if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    i = j;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text = &src[start..i];
            let v: f64 = text
                .parse()
                .map_err(|_| ParseError { position: start, message: format!("'{text}' is not a number") })?;
            out.push((Tok::Num(v), start));
            continue;
        }
        if c == b'"' || c == b'\'' {
            let quote = c;
            i += 1;
            let s0 = i;
            while i < b.len() && b[i] != quote {
                i += 1;
            }
            if i >= b.len() {
                return Err(ParseError { position: start, message: "unterminated string".into() });
            }
            out.push((Tok::Str(src[s0..i].to_string()), start));
            i += 1;
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('\0');
        if ch.is_alphabetic() || ch == '_' {
            let mut end = i;
            for (k, ch) in src[i..].char_indices() {
                if ch.is_alphanumeric() || ch == '_' {
                    end = i + k + ch.len_utf8();
                } else {
                    break;
                }
            }
            out.push((Tok::Ident(src[i..end].to_string()), start));
            i = end;
            continue;
        }
        let two = if i + 1 < b.len() { &src.as_bytes()[i..i + 2] } else { &b""[..] };
        let op2 = match two {
            b"==" => Some("=="),
            b"!=" | b"~=" => Some("!="),
            b"<=" => Some("<="),
            b">=" => Some(">="),
            b"&&" => Some("and"),
            b"||" => Some("or"),
            _ => None,
        };
        if let Some(op) = op2 {
            out.push((Tok::Op(op), start));
            i += 2;
            continue;
        }
        let tok = match c {
            b'+' => Tok::Op("+"),
            b'-' => Tok::Op("-"),
            b'*' => Tok::Op("*"),
            b'/' => Tok::Op("/"),
            b'^' => Tok::Op("^"),
            b'<' => Tok::Op("<"),
            b'>' => Tok::Op(">"),
            b'!' | b'~' => Tok::Op("not"),
            b'&' => Tok::Op("and"),
            b'|' => Tok::Op("or"),
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b',' => Tok::Comma,
            b'.' => Tok::Dot,
            b'=' => {
                return Err(ParseError { position: start, message: "'=' is assignment; use '==' to compare".into() })
            }
            _ => {
                return Err(ParseError { position: start, message: format!("unexpected character '{ch}'") });
            }
        };
        out.push((tok, start));
        i += 1;
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0 };
    if p.peek() == &Tok::End {
        return Err(ParseError { position: 0, message: "the expression is empty".into() });
    }
    let e = p.or()?;
    if p.peek() != &Tok::End {
        return Err(p.error(format!("unexpected {}", p.describe())));
    }
    Ok(e)
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }
    fn at(&self) -> usize {
        self.toks[self.pos].1
    }
    fn bump(&mut self) -> Tok {
        let t = self.toks[self.pos].0.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn error(&self, message: String) -> ParseError {
        ParseError { position: self.at(), message }
    }
    fn describe(&self) -> String {
        match self.peek() {
            Tok::Num(v) => format!("number {}", format_number(*v)),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Ident(s) => format!("name '{s}'"),
            Tok::Dot => "'.'".into(),
            Tok::Op(o) => format!("'{o}'"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::End => "end of expression".into(),
        }
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == w) || matches!(self.peek(), Tok::Op(o) if *o == w)
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.and()?;
        while self.is_word("or") {
            self.bump();
            e = Expr::Bin(BinOp::Or, Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.not()?;
        while self.is_word("and") {
            self.bump();
            e = Expr::Bin(BinOp::And, Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }
    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.is_word("not") {
            self.bump();
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, ParseError> {
        let a = self.sum()?;
        if self.is_word("in") {
            self.bump();
            if self.peek() != &Tok::LParen {
                return Err(self.error(format!("expected '(' after 'in', found {}", self.describe())));
            }
            self.bump();
            let mut list = Vec::new();
            loop {
                let at = self.at();
                let item = match self.bump() {
                    Tok::Num(v) => Expr::Num(v),
                    Tok::Str(s) => Expr::Str(s),
                    Tok::Op("-") => match self.bump() {
                        Tok::Num(v) => Expr::Num(-v),
                        _ => return Err(ParseError { position: at, message: "expected a number after '-'".into() }),
                    },
                    _ => {
                        return Err(ParseError {
                            position: at,
                            message: "the list after 'in' holds numbers or \"strings\"".into(),
                        })
                    }
                };
                list.push(item);
                match self.bump() {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    _ => {
                        return Err(ParseError {
                            position: self.toks[self.pos.saturating_sub(1)].1,
                            message: "expected ',' or ')' in the list after 'in'".into(),
                        })
                    }
                }
            }
            return Ok(Expr::In(Box::new(a), list));
        }
        let op = match self.peek() {
            Tok::Op("==") => BinOp::Eq,
            Tok::Op("!=") => BinOp::Ne,
            Tok::Op("<") => BinOp::Lt,
            Tok::Op("<=") => BinOp::Le,
            Tok::Op(">") => BinOp::Gt,
            Tok::Op(">=") => BinOp::Ge,
            _ => return Ok(a),
        };
        self.bump();
        let b = self.sum()?;
        Ok(Expr::Bin(op, Box::new(a), Box::new(b)))
    }
    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.product()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => BinOp::Add,
                Tok::Op("-") => BinOp::Sub,
                _ => return Ok(e),
            };
            self.bump();
            e = Expr::Bin(op, Box::new(e), Box::new(self.product()?));
        }
    }
    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => BinOp::Mul,
                Tok::Op("/") => BinOp::Div,
                _ => return Ok(e),
            };
            self.bump();
            e = Expr::Bin(op, Box::new(e), Box::new(self.unary()?));
        }
    }
    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek() == &Tok::Op("-") {
            self.bump();
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.power()
    }
    fn power(&mut self) -> Result<Expr, ParseError> {
        let base = self.atom()?;
        if self.peek() == &Tok::Op("^") {
            self.bump();
            let exp = self.unary()?;
            return Ok(Expr::Bin(BinOp::Pow, Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }
    fn atom(&mut self) -> Result<Expr, ParseError> {
        let at = self.at();
        match self.peek().clone() {
            Tok::Num(v) => {
                self.bump();
                Ok(Expr::Num(v))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Expr::Str(s))
            }
            Tok::Dot => {
                self.bump();
                Ok(Expr::Missing)
            }
            Tok::LParen => {
                self.bump();
                let e = self.or()?;
                if self.peek() != &Tok::RParen {
                    return Err(self.error(format!("expected ')', found {}", self.describe())));
                }
                self.bump();
                Ok(e)
            }
            Tok::Ident(name) => {
                if is_reserved(&name) {
                    return Err(self.error(format!("unexpected '{name}'")));
                }
                self.bump();
                if self.peek() != &Tok::LParen {
                    return Ok(Expr::Var(name));
                }
                let Some(&(_, arity)) = FUNCTIONS.iter().find(|(f, _)| *f == name) else {
                    let names: Vec<&str> = FUNCTIONS.iter().map(|f| f.0).collect();
                    return Err(ParseError {
                        position: at,
                        message: format!("unknown function '{name}' (known: {})", names.join(", ")),
                    });
                };
                self.bump();
                let mut args = Vec::new();
                if self.peek() != &Tok::RParen {
                    loop {
                        args.push(self.or()?);
                        if self.peek() == &Tok::Comma {
                            self.bump();
                            continue;
                        }
                        break;
                    }
                }
                if self.peek() != &Tok::RParen {
                    return Err(
                        self.error(format!("expected ',' or ')' in the call of {name}, found {}", self.describe()))
                    );
                }
                self.bump();
                if args.len() != arity {
                    return Err(ParseError {
                        position: at,
                        message: format!("{name}() takes {arity} argument(s), not {}", args.len()),
                    });
                }
                match name.as_str() {
                    "quantile" if !matches!(args[1], Expr::Num(k) if k >= 2.0 && k <= 100.0 && k.fract() == 0.0) => {
                        return Err(ParseError {
                            position: at,
                            message: "quantile(x, k) needs a whole number k between 2 and 100".into(),
                        });
                    }
                    "recode" => {
                        let Expr::Str(spec) = &args[1] else {
                            return Err(ParseError {
                                position: at,
                                message: "recode(x, \"(1 2 = 1) (3 = 2)\") takes its rules as a string".into(),
                            });
                        };
                        parse_recode(spec).map_err(|m| ParseError { position: at, message: m })?;
                    }
                    _ => {}
                }
                Ok(Expr::Call(name, args))
            }
            _ => Err(self.error(format!("expected a value, found {}", self.describe()))),
        }
    }
}

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

// ---------------------------------------------------------------------------------------------
// Evaluation

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
pub fn eval(e: &Expr, ds: &Dataset) -> Result<Value, String> {
    let n = ds.n_rows();
    Ok(match e {
        Expr::Num(v) => Value::Scalar(*v),
        Expr::Missing => Value::Scalar(f64::NAN),
        Expr::Str(s) => Value::ScalarStr(s.clone()),
        Expr::Var(name) => {
            let col = ds.column(name).ok_or_else(|| {
                let hint = ds.closest_name(name).map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default();
                format!("unknown variable '{name}'{hint}")
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

fn to_vec(v: Value, n: usize) -> Value {
    match v {
        Value::Scalar(x) => Value::Num(vec![x; n]),
        other => other,
    }
}

fn num_operand(v: Value, e: &Expr) -> Result<Value, String> {
    match v {
        Value::Num(_) | Value::Scalar(_) => Ok(v),
        Value::Cat(_) => Err(format!("in {e}: a categorical variable cannot enter arithmetic; compare it with a level name, e.g. scheme == \"NCMS\"")),
        Value::Text(_) | Value::ScalarStr(_) => Err(format!("in {e}: text cannot enter arithmetic")),
    }
}

fn truth(v: Value, e: &Expr) -> Result<Value, String> {
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

fn map1(v: Value, _what: &str, f: impl Fn(f64) -> f64 + Sync + Send, e: &Expr) -> Result<Value, String> {
    Ok(match num_operand(v, e)? {
        Value::Num(x) => Value::Num(pmap(&x, |x| clean(f(x)))),
        Value::Scalar(x) => Value::Scalar(clean(f(x))),
        _ => unreachable!(),
    })
}

fn arith(a: Value, b: Value, n: usize, e: &Expr, f: impl Fn(f64, f64) -> f64 + Sync + Send) -> Result<Value, String> {
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

fn compare(op: BinOp, a: Value, b: Value, n: usize, e: &Expr) -> Result<Value, String> {
    match (a, b) {
        (Value::Cat(f), Value::ScalarStr(s)) | (Value::ScalarStr(s), Value::Cat(f)) => {
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return Err(format!("in {e}: a categorical variable compares only with == and !="));
            }
            let Some(idx) = f.levels.iter().position(|l| l.name == s) else {
                let names: Vec<&str> = f.levels.iter().map(|l| l.name.as_str()).collect();
                return Err(format!("in {e}: \"{s}\" is not a level (levels: {})", names.join(", ")));
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
                .map_err(|m| format!("{m}; categorical variables compare with level names in quotes"))
        }
        (Value::Text(t), Value::ScalarStr(s)) | (Value::ScalarStr(s), Value::Text(t)) => {
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return Err(format!("in {e}: text compares only with == and !="));
            }
            let want = op == BinOp::Eq;
            Ok(Value::Num(t.iter().map(|v| v.as_ref().map_or(f64::NAN, |v| f64::from((*v == s) == want))).collect()))
        }
        (Value::ScalarStr(a), Value::ScalarStr(b)) => Ok(Value::Scalar(f64::from((a == b) == (op == BinOp::Eq)))),
        (a, b) => arith(a, b, n, e, |x, y| cmp_f(op, x, y)),
    }
}

fn call(name: &str, args: &[Expr], ds: &Dataset, e: &Expr) -> Result<Value, String> {
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
                return Err(format!("in {e}: quantile() needs a numeric variable"));
            };
            Ok(Value::Cat(xtile(&x, k as usize)))
        }
        "recode" => {
            let Expr::Str(spec) = &args[1] else { unreachable!() };
            let rules = parse_recode(spec).map_err(|m| format!("in {e}: {m}"))?;
            recode(eval(&args[0], ds)?, &rules, n, e)
        }
        _ => Err(format!("unknown function '{name}'")),
    }
}

/// Stata's `xtile newvar = x, nq(k)` as a factor ([`crate::stats::xtile`]): levels `Q1` …
/// `Qk` with `Q1` the reference.
pub fn xtile(x: &[f64], k: usize) -> Factor {
    let codes = crate::stats::xtile(x, k).into_iter().map(|g| g.map_or(MISSING_CODE, |g| g as u32)).collect();
    Factor { codes, levels: (1..=k).map(|j| Level::new(format!("Q{j}"))).collect(), reference: 0 }
}

fn recode(v: Value, rules: &[(Vec<String>, String)], n: usize, e: &Expr) -> Result<Value, String> {
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
        _ => return Err(format!("in {e}: recode() needs a variable")),
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

/// Evaluates a filter: rows where it is true (missing counts as false).
pub fn eval_filter(e: &Expr, ds: &Dataset) -> Result<Vec<bool>, String> {
    match to_vec(truth(eval(e, ds)?, e)?, ds.n_rows()) {
        Value::Num(v) => Ok(v.iter().map(|x| *x == 1.0).collect()),
        _ => unreachable!(),
    }
}

/// Evaluates `e` and returns it as a column named `name`.
pub fn eval_column(e: &Expr, ds: &Dataset, name: &str) -> Result<Column, String> {
    Ok(Column { name: name.to_string(), data: eval(e, ds)?.into_column(ds.n_rows()), label: None, label_zh: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds() -> Dataset {
        let mut d = Dataset::new("t", vec![2, 3, 4, 5]);
        d.push(Column {
            name: "x".into(),
            data: ColumnData::Numeric(vec![1.0, 4.0, f64::NAN, 0.0]),
            label: None,
            label_zh: None,
        });
        let mut f = Factor::from_strings(["NCMS", "URBMI", "UEBMI", "NCMS"].map(Some));
        f.levels = vec![Level::new("NCMS"), Level::new("UEBMI"), Level::new("URBMI")];
        d.push(Column { name: "s".into(), data: ColumnData::Categorical(f), label: None, label_zh: None });
        d
    }

    fn num(src: &str) -> Vec<f64> {
        match eval(&parse(src).unwrap(), &ds()).unwrap().into_column(4) {
            ColumnData::Numeric(v) => v,
            other => panic!("{other:?}"),
        }
    }

    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    }

    #[test]
    fn arithmetic_and_precedence() {
        assert!(same(&num("x^2"), &[1.0, 16.0, f64::NAN, 0.0]));
        assert!(same(&num("-x^2 + 1"), &[0.0, -15.0, f64::NAN, 1.0]));
        assert!(same(&num("x / 2 * 4"), &[2.0, 8.0, f64::NAN, 0.0]));
        assert!(same(&num("log(x)"), &[0.0, 4f64.ln(), f64::NAN, f64::NAN]));
        assert!(same(&num("x > 0"), &[1.0, 1.0, f64::NAN, 0.0]));
        assert!(same(&num("missing(x)"), &[0.0, 0.0, 1.0, 0.0]));
        assert!(same(&num("cond(x > 1, x, .)"), &[f64::NAN, 4.0, f64::NAN, f64::NAN]));
    }

    #[test]
    fn three_valued_logic() {
        assert!(same(&num("x > 0 or s == \"NCMS\""), &[1.0, 1.0, f64::NAN, 1.0]));
        assert!(same(&num("x > 0 and s == \"NCMS\""), &[1.0, 0.0, 0.0, 0.0]));
        assert!(same(&num("s in (\"URBMI\", \"UEBMI\")"), &[0.0, 1.0, 1.0, 0.0]));
    }

    #[test]
    fn unknown_level_is_an_error() {
        let e = eval(&parse("s == \"NCSM\"").unwrap(), &ds()).unwrap_err();
        assert!(e.contains("not a level"), "{e}");
    }

    #[test]
    fn syntax_errors_have_positions() {
        assert_eq!(parse("x + * 2").unwrap_err().position, 4);
        assert_eq!(parse("x = 2").unwrap_err().position, 2);
        assert!(parse("foo(x)").unwrap_err().message.contains("unknown function"));
        assert!(parse("quantile(x, 1)").is_err());
        assert!(parse("(x").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn xtile_matches_stata() {
        // Stata: xtile q = x, nq(4) on 1..10 gives cuts 3, 5.5, 8 -> 1 1 1 2 2 3 3 3 4 4.
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        let f = xtile(&x, 4);
        assert_eq!(f.codes, vec![0, 0, 0, 1, 1, 2, 2, 2, 3, 3]);
        // Ties: all equal values go to the first group.
        assert_eq!(xtile(&[5.0; 6], 3).codes, vec![0; 6]);
    }

    #[test]
    fn recode_merges_levels() {
        let v = eval(&parse("recode(s, \"(URBMI UEBMI = urban) (NCMS = rural)\")").unwrap(), &ds()).unwrap();
        let Value::Cat(f) = v else { panic!() };
        assert_eq!(f.levels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), vec!["urban", "rural"]);
        assert_eq!(f.codes, vec![1, 0, 0, 1]);
        assert!(same(&num("recode(x, \"(0 1 = 0) (4 = 1)\")"), &[0.0, 1.0, f64::NAN, 0.0]));
    }
}
