//! Tokenizer and recursive-descent parser for Wilkinson/R-style formulas.
//!
//! Formula level: `+` adds terms, `-` removes them, `:` interacts, `a*b` = `a + b + a:b`,
//! parentheses group, `1`/`0` set the intercept. Atoms are variable names, `C(g)`,
//! `C(g, ref=level)`, `I(expr)` and the functions `log`, `exp`, `sqrt`, `abs`.

use super::expr::{BinOp, Expr, Func};
use crate::data::expr::lex::{self, Tok, Token};
use crate::error::{FormulaError, SyntaxError, SyntaxKind};

/// At most this many parentheses, function calls, unary signs and `^` nest in a formula.
pub const MAX_NESTING: usize = crate::data::expr::MAX_NESTING;

/// The expression trees inside a formula are at most this deep.
pub const MAX_DEPTH: usize = crate::data::expr::MAX_DEPTH;

/// An arithmetic expression and the depth of its tree.
type Node = (Expr, usize);

fn syntax(src: &str, error: SyntaxError) -> FormulaError {
    FormulaError::Syntax { formula: src.to_string(), error }
}

/// One factor of a term, as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// A bare column name: numeric, or a factor if the column is categorical (schema).
    Name(String),
    /// `C(var)` or `C(var, ref=level)`.
    Categorical { var: String, reference: Option<String> },
    /// `I(expr)`, `log(x)` and friends: a numeric expression.
    Expr { expr: Expr },
}

/// A parsed atom plus its display text (whitespace removed), used in term names.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedAtom {
    pub atom: Atom,
    pub text: String,
}

/// Parser output: response, and the right-hand side as a list of terms (each a list of atom
/// indices) plus the intercept flag.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub response: Option<(Expr, String)>,
    pub atoms: Vec<NamedAtom>,
    pub terms: Vec<Vec<usize>>,
    pub intercept: bool,
    /// Terms the formula repeats (`x + x`, `age:age`), each counted once.
    pub notes: Vec<String>,
}

/// Two terms are the same when they have the same atoms, in any order (`a:b` = `b:a`).
pub fn same_term(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    atoms: Vec<NamedAtom>,
    nesting: usize,
    /// Repeated terms, said in a note (issue #19: `x + x`, `C(g):C(g)` and `age:age` were
    /// counted once silently, as R does).
    notes: Vec<String>,
}

/// A set of terms with the intercept state, as R's `terms()` builds it.
#[derive(Debug, Clone, Default)]
struct TermSet {
    terms: Vec<Vec<usize>>,
    /// Some(true) = `+1` seen, Some(false) = `+0`/`-1` seen, None = untouched.
    intercept: Option<bool>,
}

impl TermSet {
    fn contains(&self, t: &[usize]) -> bool {
        self.terms.iter().any(|u| same_term(u, t))
    }
    fn add(&mut self, other: TermSet) {
        for t in other.terms {
            if !self.contains(&t) {
                self.terms.push(t);
            }
        }
        if other.intercept.is_some() {
            self.intercept = other.intercept;
        }
    }
    fn remove(&mut self, other: TermSet) {
        self.terms.retain(|t| !other.contains(t));
        if let Some(i) = other.intercept {
            self.intercept = Some(!i);
        }
    }
    fn interact(&self, other: &TermSet) -> TermSet {
        let mut out = TermSet::default();
        for a in &self.terms {
            for b in &other.terms {
                let mut t = a.clone();
                for x in b {
                    if !t.contains(x) {
                        t.push(*x);
                    }
                }
                // The typed order is kept (patsy's naming: `nwifeinc:educ` stays so).
                if !out.contains(&t) {
                    out.terms.push(t);
                }
            }
        }
        out
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.src.len(), |t| t.start)
    }

    fn error<T>(&self, at: usize, msg: impl Into<String>) -> Result<T, FormulaError> {
        let found = self.toks.iter().find(|t| t.start == at).map(|t| self.src[t.start..t.end].to_string());
        Err(syntax(self.src, SyntaxError::new(self.src, at, SyntaxKind::Invalid, found, msg)))
    }

    /// Enters one more level of nesting at byte `at` (refused past [`MAX_NESTING`]); the
    /// caller calls [`Parser::leave`] when the nested part is parsed.
    fn enter(&mut self, at: usize) -> Result<(), FormulaError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            let what = "parentheses, function calls, signs and '^'";
            return Err(syntax(self.src, crate::data::expr::too_deep(self.src, at, MAX_NESTING, what)));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting -= 1;
    }

    /// A node whose deepest child is `child` levels deep, built at byte `at`.
    fn node(&self, e: Expr, child: usize, at: usize) -> Result<Node, FormulaError> {
        if child + 1 > MAX_DEPTH {
            return Err(syntax(self.src, crate::data::expr::too_deep(self.src, at, MAX_DEPTH, "operators")));
        }
        Ok((e, child + 1))
    }

    fn bin(&self, op: BinOp, a: Node, b: Node, at: usize) -> Result<Node, FormulaError> {
        self.node(Expr::Bin(op, Box::new(a.0), Box::new(b.0)), a.1.max(b.1), at)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn expect_op(&mut self, op: &str) -> Result<usize, FormulaError> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(self.toks[self.pos - 1].end)
        } else {
            let found = self.describe_here();
            self.error(self.here(), format!("expected '{op}', found {found}"))
        }
    }

    fn describe_here(&self) -> String {
        match self.peek() {
            None => "the end of the formula".into(),
            Some(Tok::Ident(s)) => format!("'{s}'"),
            Some(Tok::Num(_, s)) => format!("'{s}'"),
            Some(Tok::Str(s)) => format!("\"{s}\""),
            Some(Tok::Op(o)) => format!("'{o}'"),
            Some(Tok::Dot) => "'.'".into(),
        }
    }

    /// Display text of the source between two byte offsets, whitespace removed.
    fn text(&self, start: usize, end: usize) -> String {
        self.src[start..end].chars().filter(|c| !c.is_whitespace()).collect()
    }

    fn atom_index(&mut self, atom: Atom, text: String) -> usize {
        if let Some(i) = self.atoms.iter().position(|a| a.text == text) {
            return i;
        }
        self.atoms.push(NamedAtom { atom, text });
        self.atoms.len() - 1
    }

    // ---- formula level ----

    /// A term as typed: its atoms joined by ':'.
    fn term_text(&self, term: &[usize]) -> String {
        term.iter().map(|&i| self.atoms[i].text.as_str()).collect::<Vec<_>>().join(":")
    }

    fn note(&mut self, msg: String) {
        if !self.notes.contains(&msg) {
            self.notes.push(msg);
        }
    }

    fn sum(&mut self) -> Result<TermSet, FormulaError> {
        let mut set = TermSet::default();
        if self.is_op("-") {
            self.pos += 1;
            let t = self.product()?;
            set.remove(t);
        } else {
            set.add(self.product()?);
        }
        loop {
            if self.is_op("+") {
                self.pos += 1;
                let t = self.product()?;
                for term in &t.terms {
                    if set.contains(term) {
                        let name = self.term_text(term);
                        self.note(format!("the term {name} appears more than once in the formula; it is counted once"));
                    }
                }
                set.add(t);
            } else if self.is_op("-") {
                self.pos += 1;
                let t = self.product()?;
                set.remove(t);
            } else {
                return Ok(set);
            }
        }
    }

    fn product(&mut self) -> Result<TermSet, FormulaError> {
        let mut left = self.interaction()?;
        while self.is_op("*") {
            self.pos += 1;
            let right = self.interaction()?;
            let inter = left.interact(&right);
            left.add(right);
            left.add(inter);
        }
        Ok(left)
    }

    fn interaction(&mut self) -> Result<TermSet, FormulaError> {
        let mut left = self.primary()?;
        while self.is_op(":") {
            self.pos += 1;
            let right = self.primary()?;
            if let ([a], [b]) = (&left.terms[..], &right.terms[..]) {
                if b.iter().all(|x| a.contains(x)) {
                    let (ta, tb) = (self.term_text(a), self.term_text(b));
                    self.note(format!(
                        "{ta}:{tb} is the same as {ta}: a variable interacted with itself counts once (for a square, write I(x^2))"
                    ));
                }
            }
            left = left.interact(&right);
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<TermSet, FormulaError> {
        let start = self.here();
        match self.peek().cloned() {
            Some(Tok::Op("(")) => {
                self.pos += 1;
                self.enter(start)?;
                let s = self.sum()?;
                self.leave();
                self.expect_op(")")?;
                Ok(s)
            }
            Some(Tok::Num(v, text)) => {
                self.pos += 1;
                if v == 1.0 {
                    Ok(TermSet { terms: vec![], intercept: Some(true) })
                } else if v == 0.0 {
                    Ok(TermSet { terms: vec![], intercept: Some(false) })
                } else {
                    self.error(
                        start,
                        format!("a number ('{text}') can only be 0 or 1 outside I(): use I() for arithmetic"),
                    )
                }
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                if self.is_op("(") {
                    let idx = self.call(&name, start)?;
                    Ok(TermSet { terms: vec![vec![idx]], intercept: None })
                } else {
                    let idx = self.atom_index(Atom::Name(name.clone()), name);
                    Ok(TermSet { terms: vec![vec![idx]], intercept: None })
                }
            }
            Some(Tok::Op("~")) => self.error(start, "a formula has only one '~'"),
            _ => {
                let found = self.describe_here();
                self.error(start, format!("expected a variable, a function call or '(', found {found}"))
            }
        }
    }

    /// `name(` ... `)` at formula level; returns the atom index.
    fn call(&mut self, name: &str, start: usize) -> Result<usize, FormulaError> {
        self.expect_op("(")?;
        self.enter(start)?;
        let idx = self.call_args(name, start);
        self.leave();
        idx
    }

    fn call_args(&mut self, name: &str, start: usize) -> Result<usize, FormulaError> {
        match name {
            "C" => {
                let var = match self.peek().cloned() {
                    Some(Tok::Ident(v)) => {
                        self.pos += 1;
                        v
                    }
                    _ => {
                        let found = self.describe_here();
                        return self.error(self.here(), format!("C() takes a column name, found {found}"));
                    }
                };
                let mut reference = None;
                if self.is_op(",") {
                    self.pos += 1;
                    match self.peek().cloned() {
                        Some(Tok::Ident(k)) if k == "ref" || k == "base" => self.pos += 1,
                        _ => return self.error(self.here(), "expected 'ref=level' after the comma in C()"),
                    }
                    self.expect_op("=")?;
                    let neg = if self.is_op("-") {
                        self.pos += 1;
                        "-"
                    } else {
                        ""
                    };
                    reference = Some(match self.peek().cloned() {
                        Some(Tok::Ident(s)) | Some(Tok::Str(s)) => format!("{neg}{s}"),
                        Some(Tok::Num(_, t)) => format!("{neg}{t}"),
                        _ => return self.error(self.here(), "expected a level after 'ref='"),
                    });
                    self.pos += 1;
                }
                self.expect_op(")")?;
                Ok(self.atom_index(Atom::Categorical { var: var.clone(), reference }, format!("C({var})")))
            }
            "I" => {
                let (e, _) = self.arith()?;
                let end = self.expect_op(")")?;
                let text = self.text(start, end);
                Ok(self.atom_index(Atom::Expr { expr: e }, text))
            }
            _ => match Func::from_name(name) {
                Some(f) => {
                    let (e, d) = self.arith()?;
                    let (expr, _) = self.node(Expr::Call(f, Box::new(e)), d, start)?;
                    let end = self.expect_op(")")?;
                    let text = self.text(start, end);
                    Ok(self.atom_index(Atom::Expr { expr }, text))
                }
                None => self.error(start, format!("unknown function '{name}' (known: C, I, log, exp, sqrt, abs)")),
            },
        }
    }

    // ---- arithmetic level (inside I() and functions, and the response) ----

    fn arith(&mut self) -> Result<Node, FormulaError> {
        let mut left = self.arith_and()?;
        while self.is_op("|") {
            let at = self.here();
            self.pos += 1;
            let r = self.arith_and()?;
            left = self.bin(BinOp::Or, left, r, at)?;
        }
        Ok(left)
    }

    fn arith_and(&mut self) -> Result<Node, FormulaError> {
        let mut left = self.arith_cmp()?;
        while self.is_op("&") {
            let at = self.here();
            self.pos += 1;
            let r = self.arith_cmp()?;
            left = self.bin(BinOp::And, left, r, at)?;
        }
        Ok(left)
    }

    fn arith_cmp(&mut self) -> Result<Node, FormulaError> {
        let left = self.arith_add()?;
        let op = match self.peek() {
            Some(Tok::Op(">")) => BinOp::Gt,
            Some(Tok::Op(">=")) => BinOp::Ge,
            Some(Tok::Op("<")) => BinOp::Lt,
            Some(Tok::Op("<=")) => BinOp::Le,
            Some(Tok::Op("==")) => BinOp::Eq,
            Some(Tok::Op("!=")) => BinOp::Ne,
            _ => return Ok(left),
        };
        let at = self.here();
        self.pos += 1;
        let right = self.arith_add()?;
        self.bin(op, left, right, at)
    }

    fn arith_add(&mut self) -> Result<Node, FormulaError> {
        let mut left = self.arith_mul()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("+")) => BinOp::Add,
                Some(Tok::Op("-")) => BinOp::Sub,
                _ => return Ok(left),
            };
            let at = self.here();
            self.pos += 1;
            let r = self.arith_mul()?;
            left = self.bin(op, left, r, at)?;
        }
    }

    fn arith_mul(&mut self) -> Result<Node, FormulaError> {
        let mut left = self.arith_unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("*")) => BinOp::Mul,
                Some(Tok::Op("/")) => BinOp::Div,
                _ => return Ok(left),
            };
            let at = self.here();
            self.pos += 1;
            let r = self.arith_unary()?;
            left = self.bin(op, left, r, at)?;
        }
    }

    fn arith_unary(&mut self) -> Result<Node, FormulaError> {
        if self.is_op("-") || self.is_op("+") {
            let at = self.here();
            let minus = self.is_op("-");
            self.pos += 1;
            self.enter(at)?;
            let (e, d) = self.arith_unary()?;
            self.leave();
            return match e {
                _ if !minus => Ok((e, d)),
                Expr::Num(v) => Ok((Expr::Num(-v), d)),
                e => self.node(Expr::Neg(Box::new(e)), d, at),
            };
        }
        self.arith_pow()
    }

    fn arith_pow(&mut self) -> Result<Node, FormulaError> {
        let base = self.arith_atom()?;
        if self.is_op("^") {
            let at = self.here();
            self.pos += 1;
            self.enter(at)?;
            let exp = self.arith_unary()?;
            self.leave();
            return self.bin(BinOp::Pow, base, exp, at);
        }
        Ok(base)
    }

    fn arith_atom(&mut self) -> Result<Node, FormulaError> {
        let start = self.here();
        match self.peek().cloned() {
            Some(Tok::Num(v, _)) => {
                self.pos += 1;
                Ok((Expr::Num(v), 1))
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                if self.is_op("(") {
                    self.pos += 1;
                    let f = match Func::from_name(&name) {
                        Some(f) => Some(f),
                        None if name == "I" => None,
                        None => {
                            return self.error(start, format!("unknown function '{name}' (known: log, exp, sqrt, abs)"))
                        }
                    };
                    self.enter(start)?;
                    let (e, d) = self.arith()?;
                    self.leave();
                    self.expect_op(")")?;
                    match f {
                        Some(f) => self.node(Expr::Call(f, Box::new(e)), d, start),
                        None => Ok((e, d)),
                    }
                } else {
                    Ok((Expr::Var(name), 1))
                }
            }
            Some(Tok::Op("(")) => {
                self.pos += 1;
                self.enter(start)?;
                let e = self.arith()?;
                self.leave();
                self.expect_op(")")?;
                Ok(e)
            }
            _ => {
                let found = self.describe_here();
                self.error(start, format!("expected a number, a variable or '(', found {found}"))
            }
        }
    }
}

/// Parses a whole formula, `response ~ rhs` (or `~ rhs` when `need_response` is false).
pub fn parse_formula(src: &str, need_response: bool) -> Result<Parsed, FormulaError> {
    let toks = lex::lex(src, &lex::FORMULA).map_err(|e| syntax(src, e))?;
    let tilde = toks.iter().position(|t| t.tok == Tok::Op("~"));
    let mut p = Parser { src, toks, pos: 0, atoms: Vec::new(), nesting: 0, notes: Vec::new() };
    let response = match tilde {
        None => {
            return p
                .error(src.len(), "a formula needs '~' between the response and the regressors, e.g. 'y ~ x1 + x2'");
        }
        Some(0) => {
            if need_response {
                return p.error(0, "the formula has no response on the left of '~'");
            }
            None
        }
        Some(t) => {
            let start = p.here();
            let (e, _) = p.arith()?;
            if p.pos != t {
                let found = p.describe_here();
                return p.error(p.here(), format!("unexpected {found} in the response"));
            }
            let end = p.toks[t - 1].end;
            Some((e, p.text(start, end)))
        }
    };
    p.pos = tilde.unwrap() + 1;
    if p.pos == p.toks.len() {
        return p.error(src.len(), "nothing on the right of '~' (use '1' for an intercept-only model)");
    }
    let set = p.sum()?;
    if p.pos != p.toks.len() {
        let found = p.describe_here();
        return p.error(p.here(), format!("unexpected {found}"));
    }
    let mut terms = set.terms;
    // R orders terms by their order of interaction, keeping the typed order within an order.
    terms.sort_by_key(|t| t.len());
    Ok(Parsed { response, atoms: p.atoms, terms, intercept: set.intercept.unwrap_or(true), notes: p.notes })
}

/// Parses a standalone arithmetic expression (used by `--response2`, `--if` and schemas).
pub fn parse_expr(src: &str) -> Result<Expr, FormulaError> {
    let toks = lex::lex(src, &lex::FORMULA).map_err(|e| syntax(src, e))?;
    let mut p = Parser { src, toks, pos: 0, atoms: Vec::new(), nesting: 0, notes: Vec::new() };
    let (e, _) = p.arith()?;
    if p.pos != p.toks.len() {
        let found = p.describe_here();
        return p.error(p.here(), format!("unexpected {found}"));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> (Vec<String>, bool) {
        let p = parse_formula(src, true).unwrap();
        let names =
            p.terms.iter().map(|t| t.iter().map(|&i| p.atoms[i].text.clone()).collect::<Vec<_>>().join(":")).collect();
        (names, p.intercept)
    }

    #[test]
    fn star_expands() {
        assert_eq!(names("y ~ a*b + c").0, vec!["a", "b", "c", "a:b"]);
    }

    #[test]
    fn minus_removes_and_intercept() {
        assert_eq!(names("y ~ a*b - a:b - 1"), (vec!["a".to_string(), "b".to_string()], false));
        assert_eq!(names("y ~ 0 + a"), (vec!["a".to_string()], false));
        assert!(!names("y ~ a + 0").1);
    }

    #[test]
    fn grouping_and_calls() {
        assert_eq!(names("y ~ (a + b):c").0, vec!["a:c", "b:c"]);
        assert_eq!(names("y ~ b + a + a:b + b:a").0, vec!["b", "a", "a:b"]);
        assert_eq!(names("log(y) ~ I(a ^ 2) + C(g, ref = 3) + log(x)").0, vec!["I(a^2)", "C(g)", "log(x)"]);
    }

    #[test]
    fn response_text() {
        let p = parse_formula("I(y > 0) ~ x", true).unwrap();
        assert_eq!(p.response.unwrap().1, "I(y>0)");
    }

    #[test]
    fn error_points_at_character() {
        let e = parse_formula("y ~ a + * b", true).unwrap_err().to_string();
        assert!(e.contains("character 9"), "{e}");
        assert!(e.contains("        ^"), "{e}");
        let e = parse_formula("y ~ a + foo(b)", true).unwrap_err().to_string();
        assert!(e.contains("unknown function 'foo'"), "{e}");
        let e = parse_formula("y + x", true).unwrap_err().to_string();
        assert!(e.contains("'~'"), "{e}");
        let e = parse_formula("y ~ (a + b", true).unwrap_err().to_string();
        assert!(e.contains("expected ')'"), "{e}");
    }

    #[test]
    fn deep_nesting_is_a_syntax_error_with_its_place() {
        let deep = format!("y ~ {}x{}", "I(".repeat(5000), ")".repeat(5000));
        let FormulaError::Syntax { error, .. } = parse_formula(&deep, true).unwrap_err() else { panic!() };
        assert_eq!(error.kind, SyntaxKind::TooDeep { limit: MAX_NESTING });
        assert_eq!(error.column, 5 + 2 * MAX_NESTING);
        for src in [
            format!("y ~ {}x{}", "(".repeat(5000), ")".repeat(5000)),
            format!("y ~ I({}x)", "-".repeat(10_000)),
            format!("y ~ I({}x)", "+".repeat(10_000)),
            format!("y ~ I(x{})", "^x".repeat(10_000)),
            format!("{} ~ x", vec!["y"; 20_000].join("*")),
        ] {
            let FormulaError::Syntax { error, .. } = parse_formula(&src, true).unwrap_err() else { panic!() };
            assert!(matches!(error.kind, SyntaxKind::TooDeep { .. }), "{error}");
        }
        let ok = format!("y ~ {}x{}", "I(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(names(&ok).0, vec![format!("{}x{}", "I(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING))]);
        assert!(parse_expr(&format!("{}y", "-".repeat(MAX_NESTING + 1))).is_err());
    }
}
