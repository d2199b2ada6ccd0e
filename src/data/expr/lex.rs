//! The one lexer of migfit's two expression grammars: the data expressions of schemas, `if`
//! and subpopulations ([`DATA`]), and model formulas ([`FORMULA`]). Both have numbers (same
//! syntax, parsed by Rust's `f64` parser), quoted strings, names and operators; a [`Dialect`]
//! says where they differ (dotted and backquoted names in formulas, `.` as missing in data
//! expressions, the operator spellings).

use crate::error::{SyntaxError, SyntaxKind};

/// A token, with its text's byte range in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A number and its text as written.
    Num(f64, String),
    /// A quoted string (no escapes: the text between the quotes).
    Str(String),
    /// A name (for a backquoted name, the text between the backquotes).
    Ident(String),
    /// A lone `.`: the missing value (data expressions only).
    Dot,
    /// An operator or punctuation, by its canonical spelling in the dialect.
    Op(&'static str),
}

/// How one grammar spells its tokens.
pub struct Dialect {
    /// Operators as (text, canonical name), longest texts first.
    pub ops: &'static [(&'static str, &'static str)],
    /// Texts that are errors, with the message (checked before `ops`).
    pub refused: &'static [(&'static str, &'static str)],
    /// R names: `a.b`, `.x` are names, and `` `any text` `` is a name.
    pub r_names: bool,
    /// A `.` that does not start a number is the missing value ([`Tok::Dot`]); otherwise a
    /// lone `.` is lexed as a number (and refused as one).
    pub dot_is_missing: bool,
}

/// Schemas, `if`, subpopulations: Stata's spellings are accepted (`~=`, `!`, `&`, `|`).
pub const DATA: Dialect = Dialect {
    ops: &[
        ("==", "=="),
        ("!=", "!="),
        ("~=", "!="),
        ("<=", "<="),
        (">=", ">="),
        ("&&", "and"),
        ("||", "or"),
        ("+", "+"),
        ("-", "-"),
        ("*", "*"),
        ("/", "/"),
        ("^", "^"),
        ("<", "<"),
        (">", ">"),
        ("!", "not"),
        ("~", "not"),
        ("&", "and"),
        ("|", "or"),
        ("(", "("),
        (")", ")"),
        (",", ","),
    ],
    refused: &[("=", "'=' is assignment; use '==' to compare")],
    r_names: false,
    dot_is_missing: true,
};

/// Model formulas (R/patsy).
pub const FORMULA: Dialect = Dialect {
    ops: &[
        (">=", ">="),
        ("<=", "<="),
        ("==", "=="),
        ("!=", "!="),
        ("~", "~"),
        ("+", "+"),
        ("-", "-"),
        ("*", "*"),
        ("/", "/"),
        ("^", "^"),
        (":", ":"),
        ("(", "("),
        (")", ")"),
        (",", ","),
        ("=", "="),
        (">", ">"),
        ("<", "<"),
        ("&", "&"),
        ("|", "|"),
    ],
    refused: &[],
    r_names: true,
    dot_is_missing: false,
};

fn invalid(src: &str, at: usize, message: String) -> SyntaxError {
    SyntaxError::new(src, at, SyntaxKind::Invalid, None, message)
}

/// Splits `src` into tokens.
pub fn lex(src: &str, d: &Dialect) -> Result<Vec<Token>, SyntaxError> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let byte = |j: usize| chars.get(j).map_or(src.len(), |c| c.0);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let next = chars.get(i + 1).map(|c| c.1);
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let name_start =
            c.is_alphabetic() || c == '_' || d.r_names && c == '.' && next.is_some_and(char::is_alphabetic);
        if name_start {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].1.is_alphanumeric() || chars[j].1 == '_' || d.r_names && chars[j].1 == '.')
            {
                j += 1;
            }
            out.push(Token { tok: Tok::Ident(src[pos..byte(j)].to_string()), start: pos, end: byte(j) });
            i = j;
            continue;
        }
        if c == '`' && d.r_names {
            let Some(k) = chars[i + 1..].iter().position(|c| c.1 == '`') else {
                return Err(invalid(src, pos, "unclosed backquote".into()));
            };
            let close = chars[i + 1 + k].0;
            out.push(Token { tok: Tok::Ident(src[pos + 1..close].to_string()), start: pos, end: close + 1 });
            i += k + 2;
            continue;
        }
        if c == '"' || c == '\'' {
            let Some(k) = chars[i + 1..].iter().position(|q| q.1 == c) else {
                return Err(invalid(src, pos, "unclosed quote".into()));
            };
            let close = chars[i + 1 + k].0;
            out.push(Token { tok: Tok::Str(src[pos + 1..close].to_string()), start: pos, end: close + 1 });
            i += k + 2;
            continue;
        }
        let number = c.is_ascii_digit() || c == '.' && (!d.dot_is_missing || next.is_some_and(|n| n.is_ascii_digit()));
        if number {
            let mut j = i;
            while j < chars.len() && (chars[j].1.is_ascii_digit() || chars[j].1 == '.') {
                j += 1;
            }
            if j < chars.len() && (chars[j].1 == 'e' || chars[j].1 == 'E') {
                let mut k = j + 1;
                if k < chars.len() && (chars[k].1 == '+' || chars[k].1 == '-') {
                    k += 1;
                }
                if k < chars.len() && chars[k].1.is_ascii_digit() {
                    j = k;
                    while j < chars.len() && chars[j].1.is_ascii_digit() {
                        j += 1;
                    }
                }
            }
            let text = &src[pos..byte(j)];
            let v: f64 = text.parse().map_err(|_| invalid(src, pos, format!("'{text}' is not a number")))?;
            out.push(Token { tok: Tok::Num(v, text.to_string()), start: pos, end: byte(j) });
            i = j;
            continue;
        }
        if c == '.' {
            out.push(Token { tok: Tok::Dot, start: pos, end: pos + 1 });
            i += 1;
            continue;
        }
        let rest = &src[pos..];
        if let Some((_, msg)) = d
            .refused
            .iter()
            .find(|(t, _)| rest.starts_with(t) && !d.ops.iter().any(|(o, _)| o.len() > t.len() && rest.starts_with(o)))
        {
            return Err(invalid(src, pos, (*msg).to_string()));
        }
        if let Some((text, op)) = d.ops.iter().find(|(t, _)| rest.starts_with(t)) {
            out.push(Token { tok: Tok::Op(op), start: pos, end: pos + text.len() });
            i += text.chars().count();
            continue;
        }
        return Err(invalid(src, pos, format!("unexpected character '{c}'")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str, d: &Dialect) -> Vec<Tok> {
        lex(src, d).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn dialects_differ_where_the_grammars_do() {
        assert_eq!(
            toks("a.b ~= .", &DATA),
            vec![Tok::Ident("a".into()), Tok::Dot, Tok::Ident("b".into()), Tok::Op("!="), Tok::Dot]
        );
        assert_eq!(
            toks("a.b ~ `x y`", &FORMULA),
            vec![Tok::Ident("a.b".into()), Tok::Op("~"), Tok::Ident("x y".into())]
        );
        assert_eq!(toks("1.5e-3 .5", &DATA), vec![Tok::Num(1.5e-3, "1.5e-3".into()), Tok::Num(0.5, ".5".into())]);
        assert_eq!(lex("x = 1", &DATA).unwrap_err().position, 2);
        assert_eq!(toks("x == 1", &DATA), vec![Tok::Ident("x".into()), Tok::Op("=="), Tok::Num(1.0, "1".into())]);
        assert!(lex("x : y", &DATA).unwrap_err().message.contains("unexpected character ':'"));
        assert!(lex(".", &FORMULA).unwrap_err().message.contains("is not a number"));
    }

    #[test]
    fn positions_are_bytes_and_columns_characters() {
        let e = lex("\"年龄\" + $", &DATA).unwrap_err();
        assert_eq!((e.position, e.column), (11, 8));
        assert!(lex("'abc", &FORMULA).unwrap_err().message.contains("unclosed quote"));
    }
}
