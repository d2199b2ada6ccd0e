//! Wilkinson/R-style model formulas.
//!
//! `y ~ a + b` adds terms; `C(g)` makes a categorical with treatment coding (reference = the
//! lowest level, or `C(g, ref=level)`); `I(...)` holds arithmetic (`I(a^2)`, `I(y > 0)`);
//! `log`, `exp`, `sqrt`, `abs` transform; `a:b` interacts and `a*b` = `a + b + a:b`;
//! `- 1` or `+ 0` drops the intercept. Terms are ordered as R orders them: main effects
//! first, then two-way interactions, and so on. Term names follow R/patsy: `(Intercept)`,
//! `a`, `I(a^2)`, `a:b`, `C(g)[level]`.

pub mod expr;
pub mod parse;

pub use expr::{Dual, Expr, Num};
pub use parse::{parse_expr, Atom, NamedAtom};

use crate::error::FormulaError;

/// A parsed formula.
#[derive(Debug, Clone)]
pub struct Formula {
    /// The formula as the user typed it.
    pub source: String,
    /// The response expression and its display text (`y`, `log(y)`, `I(y>0)`).
    pub response: Option<(Expr, String)>,
    /// Distinct atoms (variables, `C()` factors, transformations) in order of appearance.
    pub atoms: Vec<NamedAtom>,
    /// Terms: each a list of indices into `atoms` (one for a main effect, more for an
    /// interaction).
    pub terms: Vec<Vec<usize>>,
    pub intercept: bool,
    /// Notes on the formula as typed (repeated terms counted once).
    pub notes: Vec<String>,
}

impl Formula {
    /// Parses `response ~ terms`.
    pub fn parse(source: &str) -> Result<Formula, FormulaError> {
        let p = parse::parse_formula(source, true)?;
        Ok(Formula {
            source: source.to_string(),
            response: p.response,
            atoms: p.atoms,
            terms: p.terms,
            intercept: p.intercept,
            notes: p.notes,
        })
    }

    /// Parses a right-hand side only (`~ a + b`, or `a + b`).
    pub fn parse_rhs(source: &str) -> Result<Formula, FormulaError> {
        let s = if source.contains('~') { source.to_string() } else { format!("~ {source}") };
        let p = parse::parse_formula(&s, false)?;
        Ok(Formula {
            source: source.to_string(),
            response: None,
            atoms: p.atoms,
            terms: p.terms,
            intercept: p.intercept,
            notes: p.notes,
        })
    }

    /// Replaces the response (used by `--response2` and repeated `--response`).
    pub fn with_response(&self, response: &str) -> Result<Formula, FormulaError> {
        let e = parse::parse_expr(response)?;
        let text: String = response.chars().filter(|c| !c.is_whitespace()).collect();
        let mut f = self.clone();
        f.source = match self.source.split_once('~') {
            Some((_, rhs)) => format!("{response} ~{rhs}"),
            None => format!("{response} ~ {}", self.source),
        };
        f.response = Some((e, text));
        Ok(f)
    }

    /// Every column name the formula reads (response first).
    pub fn variables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |v: String| {
            if !out.contains(&v) {
                out.push(v)
            }
        };
        if let Some((e, _)) = &self.response {
            e.variables().into_iter().for_each(&mut push);
        }
        for a in &self.atoms {
            match &a.atom {
                Atom::Name(v) => push(v.clone()),
                Atom::Categorical { var, .. } => push(var.clone()),
                Atom::Expr { expr } => expr.variables().into_iter().for_each(&mut push),
            }
        }
        out
    }
}
