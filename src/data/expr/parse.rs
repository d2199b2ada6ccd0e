//! The recursive-descent parser of data expressions (grammar in the module docs).

use super::ast::{is_reserved, BinOp, Expr};
use super::functions::{parse_recode, FUNCTIONS};
use super::lex::{self, Tok as LexTok};
use crate::data::format_number;
use crate::error::{SyntaxError, SyntaxKind};

/// At most this many parentheses, function calls, `not`, unary `-` and `^` nest in one
/// expression (each is one level of the parser's recursion).
pub const MAX_NESTING: usize = 200;

/// The tree an expression builds is at most this deep (a chain `x + x + ... + x` is as deep as
/// it is long): evaluation, printing and freeing walk the tree recursively.
pub const MAX_DEPTH: usize = 1000;

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

/// An expression and the depth of its tree.
type Node = (Expr, usize);

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(Tok, usize, String)>,
    pos: usize,
    nesting: usize,
}

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, SyntaxError> {
    let mut toks: Vec<(Tok, usize, String)> = lex::lex(src, &lex::DATA)?
        .into_iter()
        .map(|t| {
            let tok = match t.tok {
                LexTok::Num(v, _) => Tok::Num(v),
                LexTok::Str(s) => Tok::Str(s),
                LexTok::Ident(s) => Tok::Ident(s),
                LexTok::Dot => Tok::Dot,
                LexTok::Op("(") => Tok::LParen,
                LexTok::Op(")") => Tok::RParen,
                LexTok::Op(",") => Tok::Comma,
                LexTok::Op(o) => Tok::Op(o),
            };
            (tok, t.start, src[t.start..t.end].to_string())
        })
        .collect();
    toks.push((Tok::End, src.len(), String::new()));
    let mut p = Parser { src, toks, pos: 0, nesting: 0 };
    if p.peek() == &Tok::End {
        return Err(p.error_at(0, "the expression is empty"));
    }
    let (e, _) = p.or()?;
    if p.peek() != &Tok::End {
        return Err(p.error(format!("unexpected {}", p.describe())));
    }
    Ok(e)
}

impl Parser<'_> {
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
    /// An error at the current token, which it names.
    fn error(&self, message: String) -> SyntaxError {
        let (tok, at, text) = &self.toks[self.pos];
        let found = (*tok != Tok::End).then(|| text.clone());
        SyntaxError::new(self.src, *at, SyntaxKind::Invalid, found, message)
    }
    fn error_at(&self, at: usize, message: impl Into<String>) -> SyntaxError {
        let found = self.toks.iter().find(|t| t.1 == at && t.0 != Tok::End).map(|t| t.2.clone());
        SyntaxError::new(self.src, at, SyntaxKind::Invalid, found, message)
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

    /// Enters one more level of nesting at byte `at` (refused past [`MAX_NESTING`]); the
    /// caller calls [`Parser::leave`] when the nested part is parsed.
    fn enter(&mut self, at: usize) -> Result<(), SyntaxError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(too_deep(self.src, at, MAX_NESTING, "parentheses, function calls, 'not', '-' and '^'"));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.nesting -= 1;
    }
    /// A node whose deepest child is `child` levels deep, built at byte `at`.
    fn node(&self, e: Expr, child: usize, at: usize) -> Result<Node, SyntaxError> {
        if child + 1 > MAX_DEPTH {
            return Err(too_deep(self.src, at, MAX_DEPTH, "operators"));
        }
        Ok((e, child + 1))
    }
    fn bin(&self, op: BinOp, a: Node, b: Node, at: usize) -> Result<Node, SyntaxError> {
        self.node(Expr::Bin(op, Box::new(a.0), Box::new(b.0)), a.1.max(b.1), at)
    }

    fn or(&mut self) -> Result<Node, SyntaxError> {
        let mut e = self.and()?;
        while self.is_word("or") {
            let at = self.at();
            self.bump();
            let b = self.and()?;
            e = self.bin(BinOp::Or, e, b, at)?;
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Node, SyntaxError> {
        let mut e = self.not()?;
        while self.is_word("and") {
            let at = self.at();
            self.bump();
            let b = self.not()?;
            e = self.bin(BinOp::And, e, b, at)?;
        }
        Ok(e)
    }
    fn not(&mut self) -> Result<Node, SyntaxError> {
        if self.is_word("not") {
            let at = self.at();
            self.bump();
            self.enter(at)?;
            let (e, d) = self.not()?;
            self.leave();
            return self.node(Expr::Not(Box::new(e)), d, at);
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Node, SyntaxError> {
        let a = self.sum()?;
        if self.is_word("in") {
            let at_in = self.at();
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
                        _ => return Err(self.error_at(at, "expected a number after '-'")),
                    },
                    _ => return Err(self.error_at(at, "the list after 'in' holds numbers or \"strings\"")),
                };
                list.push(item);
                match self.bump() {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    _ => {
                        let at = self.toks[self.pos.saturating_sub(1)].1;
                        return Err(self.error_at(at, "expected ',' or ')' in the list after 'in'"));
                    }
                }
            }
            return self.node(Expr::In(Box::new(a.0), list), a.1, at_in);
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
        let at = self.at();
        self.bump();
        let b = self.sum()?;
        self.bin(op, a, b, at)
    }
    fn sum(&mut self) -> Result<Node, SyntaxError> {
        let mut e = self.product()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => BinOp::Add,
                Tok::Op("-") => BinOp::Sub,
                _ => return Ok(e),
            };
            let at = self.at();
            self.bump();
            let b = self.product()?;
            e = self.bin(op, e, b, at)?;
        }
    }
    fn product(&mut self) -> Result<Node, SyntaxError> {
        let mut e = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => BinOp::Mul,
                Tok::Op("/") => BinOp::Div,
                _ => return Ok(e),
            };
            let at = self.at();
            self.bump();
            let b = self.unary()?;
            e = self.bin(op, e, b, at)?;
        }
    }
    fn unary(&mut self) -> Result<Node, SyntaxError> {
        if self.peek() == &Tok::Op("-") {
            let at = self.at();
            self.bump();
            self.enter(at)?;
            let (e, d) = self.unary()?;
            self.leave();
            return self.node(Expr::Neg(Box::new(e)), d, at);
        }
        self.power()
    }
    fn power(&mut self) -> Result<Node, SyntaxError> {
        let base = self.atom()?;
        if self.peek() == &Tok::Op("^") {
            let at = self.at();
            self.bump();
            self.enter(at)?;
            let exp = self.unary()?;
            self.leave();
            return self.bin(BinOp::Pow, base, exp, at);
        }
        Ok(base)
    }
    fn atom(&mut self) -> Result<Node, SyntaxError> {
        let at = self.at();
        match self.peek().clone() {
            Tok::Num(v) => {
                self.bump();
                Ok((Expr::Num(v), 1))
            }
            Tok::Str(s) => {
                self.bump();
                Ok((Expr::Str(s), 1))
            }
            Tok::Dot => {
                self.bump();
                Ok((Expr::Missing, 1))
            }
            Tok::LParen => {
                self.bump();
                self.enter(at)?;
                let e = self.or()?;
                self.leave();
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
                    return Ok((Expr::Var(name), 1));
                }
                let Some(&(_, arity)) = FUNCTIONS.iter().find(|(f, _)| *f == name) else {
                    let names: Vec<&str> = FUNCTIONS.iter().map(|f| f.0).collect();
                    return Err(self.error_at(at, format!("unknown function '{name}' (known: {})", names.join(", "))));
                };
                self.bump();
                self.enter(at)?;
                let mut args = Vec::new();
                let mut depth = 0;
                if self.peek() != &Tok::RParen {
                    loop {
                        let (a, d) = self.or()?;
                        args.push(a);
                        depth = depth.max(d);
                        if self.peek() == &Tok::Comma {
                            self.bump();
                            continue;
                        }
                        break;
                    }
                }
                self.leave();
                if self.peek() != &Tok::RParen {
                    return Err(
                        self.error(format!("expected ',' or ')' in the call of {name}, found {}", self.describe()))
                    );
                }
                self.bump();
                if args.len() != arity {
                    return Err(self.error_at(at, format!("{name}() takes {arity} argument(s), not {}", args.len())));
                }
                match name.as_str() {
                    "quantile" if !matches!(args[1], Expr::Num(k) if (2.0..=100.0).contains(&k) && k.fract() == 0.0) => {
                        return Err(self.error_at(at, "quantile(x, k) needs a whole number k between 2 and 100"));
                    }
                    "recode" => {
                        let Expr::Str(spec) = &args[1] else {
                            return Err(
                                self.error_at(at, "recode(x, \"(1 2 = 1) (3 = 2)\") takes its rules as a string")
                            );
                        };
                        parse_recode(spec).map_err(|m| self.error_at(at, m))?;
                    }
                    _ => {}
                }
                self.node(Expr::Call(name, args), depth, at)
            }
            _ => Err(self.error(format!("expected a value, found {}", self.describe()))),
        }
    }
}

/// The error for nesting past `limit` at byte `at` (`what` says what counts).
pub(crate) fn too_deep(src: &str, at: usize, limit: usize, what: &str) -> SyntaxError {
    SyntaxError::new(
        src,
        at,
        SyntaxKind::TooDeep { limit },
        None,
        format!("the expression nests deeper than {limit} levels of {what}; simplify it"),
    )
}
