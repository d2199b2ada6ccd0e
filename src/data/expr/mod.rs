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
//!
//! The lexer ([`lex`]) is shared with the formula grammar; the parser ([`parse`]) limits
//! nesting to [`MAX_NESTING`] levels and the tree it builds to [`MAX_DEPTH`] levels, so that no
//! input can exhaust the stack of the parser or of the evaluation ([`eval`]).

mod ast;
mod eval;
mod functions;
pub mod lex;
mod parse;

pub use crate::error::{ExprError, SyntaxError as ParseError};
pub use ast::{is_reserved, BinOp, Expr};
pub use eval::{eval, eval_column, eval_filter, Value};
pub use functions::{parse_recode, xtile};
pub(crate) use parse::too_deep;
pub use parse::{parse, MAX_DEPTH, MAX_NESTING};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Column, ColumnData, Dataset, Factor, Level};
    use crate::error::SyntaxKind;

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
        assert!(matches!(&e, ExprError::NotALevel { value, .. } if value == "NCSM"), "{e:?}");
        assert!(e.to_string().contains("not a level"), "{e}");
        let e = eval(&parse("s == 7").unwrap(), &ds()).unwrap_err();
        assert!(matches!(&e, ExprError::NumberForLevel { .. }), "{e:?}");
        let e = eval(&parse("xx > 1").unwrap(), &ds()).unwrap_err();
        assert_eq!(e, ExprError::UnknownVariable { name: "xx".into(), hint: Some("x".into()) });
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

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        for src in [
            format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("{}x", "not ".repeat(10_000)),
            format!("{}x", "-".repeat(10_000)),
            format!("x{}", "^x".repeat(10_000)),
            format!("{}x{}", "log(".repeat(10_000), ")".repeat(10_000)),
            vec!["x"; 100_000].join(" + "),
        ] {
            let e = parse(&src).unwrap_err();
            assert!(matches!(e.kind, SyntaxKind::TooDeep { .. }), "{e}");
            assert!(e.message.contains("nests deeper than"), "{e}");
        }
        // Just inside the limits.
        let ok = format!("{}x{}", "(".repeat(MAX_NESTING - 1), ")".repeat(MAX_NESTING - 1));
        assert_eq!(parse(&ok).unwrap(), Expr::Var("x".into()));
        assert!(parse(&vec!["x"; MAX_DEPTH / 2].join(" + ")).is_ok());
        // The error is where the limit is crossed.
        let e = parse(&format!("{}x", "not ".repeat(MAX_NESTING + 5))).unwrap_err();
        assert_eq!(e.column, 4 * MAX_NESTING + 1);
    }
}
