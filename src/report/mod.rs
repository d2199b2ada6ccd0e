//! Publication tables: one [`table::Table`] model, built from a [`Report`], and one small
//! renderer per format. Each renderer implements only what differs (escaping, rules, spans);
//! the order of rows and the text of every cell come from [`grid`]. JSON is the serialized
//! [`Report`] itself.

pub mod csv;
pub mod describe;
pub mod format;
pub mod html;
pub mod latex;
pub mod markdown;
pub mod plot;
pub mod table;
pub mod text;

pub use table::{build, Lang, Layout, Show, Stars, Table, TableOptions};

use crate::error::{usage, Result};
use crate::output::Report;
use std::path::Path;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table aligned for a terminal (display width, so Chinese labels line up).
    Text,
    Markdown,
    Latex,
    /// Tidy: one line per model x term.
    Csv,
    /// A standalone page.
    Html,
    /// The serialized report.
    Json,
    /// The detailed per-model listing (z, or t with design df; p, confidence intervals).
    Summary,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        Ok(match s {
            "text" | "txt" => Format::Text,
            "md" | "markdown" => Format::Markdown,
            "tex" | "latex" => Format::Latex,
            "csv" => Format::Csv,
            "html" | "htm" => Format::Html,
            "json" => Format::Json,
            "summary" => Format::Summary,
            _ => {
                return Err(usage(format!(
                    "unknown format '{s}' (expected text, md, latex, csv, html, json or summary)"
                )))
            }
        })
    }

    /// The file extension a format's output gets beside other files (a batch variant's
    /// `variants/NAME.EXT`): JSON and summary say what they hold, since `NAME.json` is the
    /// variant's record.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Markdown => "md",
            Format::Latex => "tex",
            Format::Csv => "csv",
            Format::Html => "html",
            Format::Json => "report.json",
            Format::Summary => "summary.txt",
        }
    }

    /// The format a file name asks for, by its extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            "tex" => Some(Format::Latex),
            "csv" => Some(Format::Csv),
            "html" | "htm" => Some(Format::Html),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Renders a report in a format; `standalone` makes LaTeX a complete document.
pub fn render(report: &Report, opts: &TableOptions, format: Format, standalone: bool) -> Result<String> {
    Ok(match format {
        Format::Json => crate::output::to_json(report),
        Format::Summary => crate::output::to_text(report),
        _ => {
            let t = build(report, opts)?;
            match format {
                Format::Text => text::render(&t),
                Format::Markdown => markdown::render(&t),
                Format::Latex => latex::render(&t, standalone),
                Format::Csv => csv::render(&t),
                Format::Html => html::render(&t),
                _ => unreachable!("handled above"),
            }
        }
    })
}

/// A number as the table prints it, its stars apart so each format can typeset them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridCell {
    pub number: String,
    pub stars: String,
    /// A standard error in parentheses (stacked layout).
    pub paren: bool,
}

impl GridCell {
    fn plain(number: String) -> GridCell {
        GridCell { number, ..Default::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.number.is_empty()
    }
}

/// What a line of the table body is.
#[derive(Debug, Clone, PartialEq)]
pub enum GridRow {
    /// A factor's header ("Scheme (ref. NCMS)").
    BlockHeader(String),
    /// A row of numbers; `indent` under a block header; `se_line` for the second line of a
    /// stacked row; `summary` for N / log likelihood / pseudo R2.
    Data { label: String, indent: bool, se_line: bool, summary: bool, cells: Vec<GridCell> },
}

/// The body of a table as lines of cells: `columns.len()` cells per line in the stacked
/// layout, twice that (estimate, SE) in the side layout.
pub fn grid(t: &Table) -> Vec<GridRow> {
    let side = t.layout == Layout::Side;
    let mut out = Vec::new();
    for b in &t.blocks {
        if let Some(h) = &b.header {
            out.push(GridRow::BlockHeader(h.clone()));
        }
        for r in &b.rows {
            let mut est = Vec::new();
            let mut se = Vec::new();
            for c in &r.cells {
                match c {
                    Some(c) => {
                        est.push(GridCell { number: t.estimate_number(c), stars: c.stars.clone(), paren: false });
                        let s = GridCell { number: t.se_number(c), stars: String::new(), paren: !side };
                        if side {
                            est.push(s);
                        } else {
                            se.push(s);
                        }
                    }
                    None => {
                        est.push(GridCell::default());
                        if side {
                            est.push(GridCell::default());
                        } else {
                            se.push(GridCell::default());
                        }
                    }
                }
            }
            let indent = t.indented(b);
            out.push(GridRow::Data { label: r.label.clone(), indent, se_line: false, summary: false, cells: est });
            if !side {
                out.push(GridRow::Data { label: String::new(), indent, se_line: true, summary: false, cells: se });
            }
        }
    }
    for s in &t.summary {
        let mut cells = Vec::new();
        for j in 0..t.columns.len() {
            cells.push(GridCell::plain(t.summary_text(s, j)));
            if side {
                cells.push(GridCell::default());
            }
        }
        out.push(GridRow::Data { label: s.label.clone(), indent: false, se_line: false, summary: true, cells });
    }
    out
}

/// The heading lines of the columns (one entry per model column).
pub fn heading_lines(t: &Table) -> Vec<Vec<String>> {
    (0..t.heading_depth()).map(|i| (0..t.columns.len()).map(|j| t.heading(i, j).to_string()).collect()).collect()
}
