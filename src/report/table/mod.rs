//! The one table model every renderer draws: columns are models (or the parts of a two-part
//! model and its combined effects), row blocks are variables (a factor's block has a header
//! naming its reference level and one row per level), cells hold an estimate, its standard
//! error and stars; summary rows give N, the log likelihood and the pseudo R2; notes say what
//! the numbers are.
//!
//! The table is built from a [`Report`] alone (its `variables` carry the factor levels and
//! labels), so a table can be rebuilt from the exported JSON.
//!
//! - [`options`]: what the user chooses (layout, contents, stars, language, titles);
//! - [`labels`]: how a term (`C(scheme)[URBMI]`, `I(age^2)`, `a:b`) becomes a row label and
//!   which variable's block it joins;
//! - [`build`](build()): a [`Report`] to a [`Table`] (columns, blocks, summary rows, notes).

mod build;
mod explain;
mod labels;
mod mediation;
mod options;

pub use super::format::Stars;
pub use build::build;
pub use explain::build_explain;
pub use mediation::build_mediation;
pub use options::{Lang, Layout, Show, StatRow, TableOptions};

use super::format::{fixed as fmt_fixed, is_cjk};
#[cfg(doc)]
use crate::output::Report;

/// The fixed words of a table, per language.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    pub reference: &'static str,
    pub constant: &'static str,
    pub n: &'static str,
    pub log_likelihood: &'static str,
    pub pseudo_r2: &'static str,
    pub notes: &'static str,
    pub se_in_parentheses: &'static str,
    pub std_error: &'static str,
    pub coef: &'static str,
    pub margin: &'static str,
    pub odds_ratio: &'static str,
    pub variable: &'static str,
    /// The colon after "Notes" (full-width in Chinese).
    pub colon: &'static str,
    /// Headers of the predictive-margin and contrast blocks.
    pub predictive_margins: &'static str,
    pub contrasts: &'static str,
}

pub const EN: Words = Words {
    reference: "ref.",
    constant: "Constant",
    n: "N",
    log_likelihood: "Log likelihood",
    pseudo_r2: "Pseudo R2",
    notes: "Notes",
    se_in_parentheses: "Standard errors in parentheses.",
    std_error: "SE",
    coef: "Coef.",
    margin: "ME",
    odds_ratio: "OR",
    variable: "Variable",
    colon: ": ",
    predictive_margins: "Predictive margins",
    contrasts: "Contrasts of predictive margins",
};

pub const ZH: Words = Words {
    reference: "参照组：",
    constant: "常数项",
    n: "样本量",
    log_likelihood: "对数似然值",
    pseudo_r2: "伪R2",
    notes: "注",
    se_in_parentheses: "括号内为标准误。",
    std_error: "标准误",
    coef: "系数",
    margin: "边际效应",
    odds_ratio: "比值比",
    variable: "变量",
    colon: "：",
    predictive_margins: "预测边际",
    contrasts: "预测边际之差",
};

/// One column: a model, a part, or combined effects.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Heading lines, top to bottom (e.g. the response label, then the model).
    pub heading: Vec<String>,
    /// The model's name in the report (`model`, `first`, `second`, `combined`).
    pub name: String,
}

/// A value with its standard error, significance and interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub estimate: f64,
    pub std_error: f64,
    pub statistic: f64,
    pub p_value: f64,
    pub conf_low: f64,
    pub conf_high: f64,
    /// `dydx`, `"2 vs 1"` for margins; `None` for coefficients.
    pub contrast: Option<String>,
    pub stars: String,
}

/// One row: a term (or a margin's variable / level) across the columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub term: String,
    pub label: String,
    pub cells: Vec<Option<Cell>>,
}

/// A variable's rows; a factor's block has a header naming its reference level.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub variable: Option<String>,
    pub header: Option<String>,
    pub rows: Vec<Row>,
}

/// N, log likelihood, pseudo R2.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub label: String,
    pub values: Vec<Option<f64>>,
    pub decimals: usize,
}

/// A regression table, ready for any renderer.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub caption: Option<String>,
    pub layout: Layout,
    pub digits: usize,
    pub words: Words,
    /// Heading of the estimate sub-column in the side layout (`Coef.`, `ME`, `OR`).
    pub estimate_label: String,
    pub star_width: usize,
    pub columns: Vec<Column>,
    pub blocks: Vec<Block>,
    pub summary: Vec<SummaryRow>,
    pub notes: Vec<String>,
}

impl PartialEq for Words {
    fn eq(&self, other: &Words) -> bool {
        self.constant == other.constant
    }
}

impl Table {
    /// The estimate as printed, with its stars.
    pub fn estimate_text(&self, c: &Cell) -> String {
        format!("{}{}", fmt_fixed(c.estimate, self.digits), c.stars)
    }

    pub fn estimate_number(&self, c: &Cell) -> String {
        fmt_fixed(c.estimate, self.digits)
    }

    pub fn se_text(&self, c: &Cell) -> String {
        format!("({})", fmt_fixed(c.std_error, self.digits))
    }

    pub fn se_number(&self, c: &Cell) -> String {
        fmt_fixed(c.std_error, self.digits)
    }

    pub fn summary_text(&self, row: &SummaryRow, j: usize) -> String {
        match row.values[j] {
            Some(v) => fmt_fixed(v, row.decimals),
            None => String::new(),
        }
    }

    /// Number of heading lines (columns may have different numbers; shorter ones pad on top).
    pub fn heading_depth(&self) -> usize {
        self.columns.iter().map(|c| c.heading.len()).max().unwrap_or(0)
    }

    /// Heading line `i` of column `j` (empty where that column has fewer lines).
    pub fn heading(&self, i: usize, j: usize) -> &str {
        let h = &self.columns[j].heading;
        let pad = self.heading_depth() - h.len();
        if i < pad {
            ""
        } else {
            &h[i - pad]
        }
    }

    /// Whether row labels inside this block are indented under a header.
    pub fn indented(&self, b: &Block) -> bool {
        b.header.is_some()
    }

    pub fn is_chinese(&self) -> bool {
        let has_cjk = |s: &str| s.chars().any(is_cjk);
        self.caption.as_deref().is_some_and(has_cjk)
            || self.columns.iter().any(|c| c.heading.iter().any(|h| has_cjk(h)))
            || self
                .blocks
                .iter()
                .any(|b| b.header.as_deref().is_some_and(has_cjk) || b.rows.iter().any(|r| has_cjk(&r.label)))
            || self.summary.iter().any(|s| has_cjk(&s.label))
            || self.notes.iter().any(|n| has_cjk(n))
    }
}
