//! The formatting every table in migfit shares: numbers, significance stars, escaping per
//! output format, and padding by display width. Regression tables (`report::table`), batch
//! summaries (`batch::render`), descriptive tables (`report::describe`) and the reproduce
//! comparisons all print through these functions, so a star rule, an escape or a number
//! format is written once.
//!
//! Numbers come in three forms:
//! - [`fixed`]: `digits` decimals for display, Stata's `.` for a missing value and no minus
//!   sign on a value that rounds to zero;
//! - [`format_g17`]: C's `%.17g` (17 significant digits), for machine-readable output that
//!   must round-trip (`report` CSV, batch `effects.csv`, the summary listing);
//! - [`shortest`]: the shortest text that reads back as the same `f64` (Rust's `{:?}`), as
//!   `describe --format csv` prints it.
//!
//! Widths are display widths (`unicode-width`): a Chinese character takes two terminal
//! columns, so padding by `chars().count()` misaligns Chinese labels.

use crate::error::{usage, Result};
use unicode_width::UnicodeWidthStr;

pub use crate::output::format_g17;

// ---------------------------------------------------------------------------------------------
// Numbers

/// Fixed-point with `digits` decimals; a value that rounds to zero has no minus sign; a
/// non-finite value is Stata's `.`.
pub fn fixed(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return ".".into();
    }
    let s = format!("{v:.digits$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// [`format_g17`] for a finite value, empty otherwise (a CSV field with no value).
pub fn g17_or_empty(v: f64) -> String {
    if v.is_finite() {
        format_g17(v)
    } else {
        String::new()
    }
}

/// The shortest text that reads back as the same `f64` (at most 17 significant digits);
/// empty for NaN.
pub fn shortest(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x:?}")
    }
}

/// A p-value as tables print it: three decimals, `<0.001` below.
pub fn p_value(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

// ---------------------------------------------------------------------------------------------
// Significance stars

/// Significance stars: `p < thresholds[i]` earns `thresholds.len() - i` stars (ascending order).
#[derive(Debug, Clone, PartialEq)]
pub struct Stars {
    thresholds: Vec<f64>,
}

impl Default for Stars {
    /// The reference study's: ** p<0.01, * p<0.05.
    fn default() -> Stars {
        Stars { thresholds: vec![0.01, 0.05] }
    }
}

impl Stars {
    /// Parses `"0.01,0.05"` (any order); `""` or `"none"` means no stars.
    pub fn parse(s: &str) -> Result<Stars> {
        let s = s.trim();
        if s.is_empty() || s == "none" {
            return Ok(Stars { thresholds: vec![] });
        }
        let mut thresholds = Vec::new();
        for part in s.split(',') {
            let t: f64 = part
                .trim()
                .parse()
                .map_err(|_| usage(format!("the stars take p-value thresholds such as \"0.01,0.05\", not '{part}'")))?;
            if !(t > 0.0 && t < 1.0) {
                return Err(usage(format!("star thresholds must be between 0 and 1, not {t}")));
            }
            thresholds.push(t);
        }
        thresholds.sort_by(f64::total_cmp);
        thresholds.dedup();
        Ok(Stars { thresholds })
    }

    /// The stars `p` earns (none for a missing p-value).
    pub fn mark(&self, p: f64) -> String {
        let n = self.thresholds.len();
        match self.thresholds.iter().position(|&t| p < t) {
            Some(i) if p.is_finite() => "*".repeat(n - i),
            _ => String::new(),
        }
    }

    /// The most stars a cell can have.
    pub fn max_len(&self) -> usize {
        self.thresholds.len()
    }

    /// `** p<0.01, * p<0.05`, or `None` without stars.
    pub fn legend(&self) -> Option<String> {
        self.legend_with(|t| format!("p<{t}"))
    }

    /// The legend with each threshold written by `cond` (given the threshold as text), e.g.
    /// `$p<0.01$` for LaTeX.
    pub fn legend_with(&self, cond: impl Fn(&str) -> String) -> Option<String> {
        if self.thresholds.is_empty() {
            return None;
        }
        let n = self.thresholds.len();
        Some(
            self.thresholds
                .iter()
                .enumerate()
                .map(|(i, t)| format!("{} {}", "*".repeat(n - i), cond(&crate::data::format_number(*t))))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Escaping, per format

/// Escapes LaTeX's special characters; a few non-ASCII symbols become commands so that the
/// English output also compiles with pdflatex (`<`, `>` and `|` print as `¡`, `¿` and an
/// em dash in the default OT1 encoding, so they become commands too).
pub fn latex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '<' => out.push_str("\\textless{}"),
            '>' => out.push_str("\\textgreater{}"),
            '|' => out.push_str("\\textbar{}"),
            '²' => out.push_str("\\textsuperscript{2}"),
            '×' => out.push_str("$\\times$"),
            _ => out.push(ch),
        }
    }
    out
}

/// A number with its stars as a LaTeX superscript (`0.375$^{**}$`); the number is printed
/// as is (numbers need no escaping).
pub fn latex_starred(number: &str, stars: &str) -> String {
    if stars.is_empty() {
        number.to_string()
    } else {
        format!("{number}$^{{{stars}}}$")
    }
}

/// Escapes text for HTML (and SVG / XML) element content and attribute values.
pub fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Escapes text for a Markdown table cell so that it prints literally: the cell delimiter
/// and the emphasis characters.
pub fn markdown(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('*', "\\*").replace('_', "\\_")
}

/// Escapes only the cell delimiter `|`, for table cells whose text may carry Markdown (or
/// where the emphasis characters are known not to matter: `age_squared` is not emphasis).
pub fn markdown_pipe(s: &str) -> String {
    s.replace('|', "\\|")
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes
/// doubled. (Whole records are written with the `csv` crate where the table is built row by
/// row; this is the same rule for hand-assembled lines.)
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Display width

/// Terminal columns `s` takes (a Chinese character takes two).
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Whether a character is Chinese, Japanese or Korean (or a full-width form).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FA1F)
}

/// `s` followed by spaces up to `w` display columns.
pub fn pad_right(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

/// Spaces up to `w` display columns, then `s`.
pub fn pad_left(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(width(s))))
}

/// `s` centred in `w` display columns (the extra space on the right when odd).
pub fn center(s: &str, w: usize) -> String {
    let extra = w.saturating_sub(width(s));
    let left = extra / 2;
    format!("{}{s}{}", " ".repeat(left), " ".repeat(extra - left))
}

/// Wraps text to `w` display columns, at spaces, or anywhere in a run without spaces that is
/// too long (Chinese text has no spaces).
pub fn wrap(text: &str, w: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let sep = usize::from(!cur.is_empty());
        if width(&cur) + sep + width(word) <= w {
            if sep == 1 {
                cur.push(' ');
            }
            cur.push_str(word);
            continue;
        }
        if !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
        }
        for ch in word.chars() {
            let mut buf = [0u8; 4];
            let s: &str = ch.encode_utf8(&mut buf);
            if width(&cur) + width(s) > w && !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// How a column of a plain text table is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Column widths (in display columns) of a plain table: the widest cell of each column,
/// heading included.
pub fn column_widths(head: &[String], body: &[Vec<String>]) -> Vec<usize> {
    (0..head.len())
        .map(|j| std::iter::once(&head[j]).chain(body.iter().map(|r| &r[j])).map(|s| width(s)).max().unwrap_or(0))
        .collect()
}

/// One line of a plain text table: each cell padded to its column's display width, cells
/// separated by `gap` spaces; trailing spaces are kept (each line is the full table width).
pub fn text_line(cells: &[String], widths: &[usize], align: &[Align], gap: usize) -> String {
    let mut out = String::new();
    for (j, c) in cells.iter().enumerate() {
        if j > 0 {
            out.push_str(&" ".repeat(gap));
        }
        match align[j] {
            Align::Left => out.push_str(&pad_right(c, widths[j])),
            Align::Right => out.push_str(&pad_left(c, widths[j])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_follow_thresholds() {
        let s = Stars::default();
        assert_eq!(s.mark(0.001), "**");
        assert_eq!(s.mark(0.02), "*");
        assert_eq!(s.mark(0.05), "");
        assert_eq!(s.mark(f64::NAN), "");
        assert_eq!(s.legend().unwrap(), "** p<0.01, * p<0.05");
        assert_eq!(s.legend_with(|t| format!("$p<{t}$")).unwrap(), "** $p<0.01$, * $p<0.05$");
        let s = Stars::parse("0.1,0.05,0.01").unwrap();
        assert_eq!(s.mark(0.005), "***");
        assert_eq!(s.mark(0.07), "*");
        assert_eq!(s.legend().unwrap(), "*** p<0.01, ** p<0.05, * p<0.1");
        assert!(Stars::parse("none").unwrap().legend().is_none());
        assert!(Stars::parse("0.05,x").is_err());
        assert!(Stars::parse("5").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(fixed(-0.0001, 3), "0.000");
        assert_eq!(fixed(-0.0101, 3), "-0.010");
        assert_eq!(fixed(f64::NAN, 3), ".");
        assert_eq!(fixed(1165.0, 0), "1165");
        assert_eq!(shortest(0.1), "0.1");
        assert_eq!(shortest(50.0), "50.0");
        assert_eq!(shortest(f64::NAN), "");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(g17_or_empty(f64::INFINITY), "");
        assert_eq!(p_value(0.0004), "<0.001");
        assert_eq!(p_value(0.0123), "0.012");
    }

    #[test]
    fn escaping() {
        assert_eq!(latex("a_b & 50% <x> ~"), "a\\_b \\& 50\\% \\textless{}x\\textgreater{} \\textasciitilde{}");
        assert_eq!(latex_starred("0.375", "**"), "0.375$^{**}$");
        assert_eq!(latex_starred("0.375", ""), "0.375");
        assert_eq!(html("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(markdown("a_b|c*"), "a\\_b\\|c\\*");
        assert_eq!(markdown_pipe("a_b|c*"), "a_b\\|c*");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn padding_by_display_width() {
        assert_eq!(width("社会"), 4);
        assert_eq!(pad_right("社会", 6), "社会  ");
        assert_eq!(pad_left("ab", 4), "  ab");
        assert_eq!(center("ab", 5), " ab  ");
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        // Four Chinese characters are eight columns.
        assert_eq!(wrap("社会医疗保险", 8), vec!["社会医疗", "保险"]);
        let head = vec!["变量".to_string(), "n".to_string()];
        let body = vec![vec!["年龄".to_string(), "12".to_string()], vec!["Age".to_string(), "3".to_string()]];
        let w = column_widths(&head, &body);
        assert_eq!(w, vec![4, 2]);
        let a = [Align::Left, Align::Right];
        assert_eq!(text_line(&body[0], &w, &a, 2), "年龄  12");
        assert_eq!(text_line(&body[1], &w, &a, 2), "Age    3");
    }
}
