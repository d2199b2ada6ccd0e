//! Publication tables: one [`table::Table`] model, built from a [`Report`], and one small
//! renderer per format. Each renderer implements only what differs (escaping, rules, spans);
//! the order of rows and the text of every cell come from [`grid`]. JSON is the serialized
//! [`Report`] itself.

pub mod combine;
pub mod csv;
pub mod describe;
pub mod docx;
pub mod format;
pub mod html;
pub mod latex;
pub mod markdown;
pub mod plot;
pub mod summary;
pub mod table;
pub mod text;
pub mod typst;
pub mod xlsx;

pub use table::{build, Lang, Layout, Show, Stars, StatRow, Table, TableOptions};

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
    /// A Word document holding the table (binary: written to a file only).
    Docx,
    /// An Excel workbook, numbers as numbers (binary: written to a file only).
    Xlsx,
    /// Typst markup (a `#figure` with a `#table`).
    Typst,
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
            "docx" | "word" => Format::Docx,
            "xlsx" | "excel" => Format::Xlsx,
            "typ" | "typst" => Format::Typst,
            _ => {
                return Err(usage(format!(
                    "unknown format '{s}' (expected text, md, latex, csv, html, json, summary, docx, xlsx or typst)"
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
            Format::Docx => "docx",
            Format::Xlsx => "xlsx",
            Format::Typst => "typ",
        }
    }

    /// Whether the format is a binary file (never written to a terminal).
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Docx | Format::Xlsx)
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
            "docx" => Some(Format::Docx),
            "xlsx" => Some(Format::Xlsx),
            "typ" => Some(Format::Typst),
            _ => None,
        }
    }
}

/// Renders a report in a text format; `standalone` makes LaTeX a complete document. The
/// binary formats (Word, Excel) go through [`render_bytes`].
pub fn render(report: &Report, opts: &TableOptions, format: Format, standalone: bool) -> Result<String> {
    Ok(match format {
        Format::Json => crate::output::to_json(report),
        Format::Summary => summary::to_text(report),
        _ => render_table(&build(report, opts)?, format, standalone)?,
    })
}

/// Renders a report in any format, as the bytes of the file.
pub fn render_bytes(report: &Report, opts: &TableOptions, format: Format, standalone: bool) -> Result<Vec<u8>> {
    match format {
        Format::Json | Format::Summary => Ok(render(report, opts, format, standalone)?.into_bytes()),
        _ => table_bytes(&build(report, opts)?, format, standalone),
    }
}

/// A built table in a text format (not JSON or the summary listing, which are of a report).
pub fn render_table(t: &Table, format: Format, standalone: bool) -> Result<String> {
    Ok(match format {
        Format::Text => text::render(t),
        Format::Markdown => markdown::render(t),
        Format::Latex => latex::render(t, standalone),
        Format::Csv => csv::render(t),
        Format::Html => html::render(t),
        Format::Typst => typst::render(t),
        Format::Docx | Format::Xlsx | Format::Json | Format::Summary => {
            return Err(usage(format!("the {} format is not a text table", format.extension())))
        }
    })
}

/// Renders a `migfit mediate` report: JSON is the serialized report, `summary` a listing with
/// z (or t), p and confidence intervals, the other formats the one table model.
pub fn render_mediation(
    report: &crate::mediate::MediationReport,
    opts: &TableOptions,
    format: Format,
    standalone: bool,
) -> Result<Vec<u8>> {
    match format {
        Format::Json => Ok(crate::output::to_json(report).into_bytes()),
        Format::Summary => Ok(mediation_summary(&table::build_mediation(report, opts), report).into_bytes()),
        _ => table_bytes(&table::build_mediation(report, opts), format, standalone),
    }
}

/// The detailed listing of a mediation table: every cell with its statistic, p-value and
/// interval.
fn mediation_summary(t: &Table, report: &crate::mediate::MediationReport) -> String {
    let m = &report.mediation;
    let (stat, p) = crate::inference::labels(m.df_r);
    let mut s = format!(
        "Mediation ({}), {} of {} on {} through {}\nN = {}\n\n",
        match m.method {
            crate::mediate::Method::Khb => "KHB",
            crate::mediate::Method::Causal => "causal",
        },
        m.model,
        m.outcome,
        m.treatment,
        m.mediators.join(", "),
        format::fixed(m.n_obs, 0)
    );
    s.push_str(&format!(
        "{:<40} {:<11} {:>12} {:>12} {:>8} {:>8} {:>12} {:>12}\n",
        "row", "column", "estimate", "std. err.", stat, p, "conf. low", "conf. high"
    ));
    for b in &t.blocks {
        for r in &b.rows {
            for (j, c) in r.cells.iter().enumerate() {
                if let Some(c) = c {
                    let label = match &b.header {
                        Some(h) if !r.label.starts_with(h.as_str()) => format!("{h} {}", r.label),
                        _ => r.label.clone(),
                    };
                    s.push_str(&format!(
                        "{:<40} {:<11} {:>12.6} {:>12.6} {:>8.2} {:>8.4} {:>12.6} {:>12.6}\n",
                        label,
                        t.columns[j].heading.join(" "),
                        c.estimate,
                        c.std_error,
                        c.statistic,
                        c.p_value,
                        c.conf_low,
                        c.conf_high
                    ));
                }
            }
        }
    }
    s.push('\n');
    for n in &t.notes {
        s.push_str(n);
        s.push('\n');
    }
    s
}

/// A built table as the bytes of a file in any table format.
pub fn table_bytes(t: &Table, format: Format, standalone: bool) -> Result<Vec<u8>> {
    match format {
        Format::Docx => Ok(docx::render(t)),
        Format::Xlsx => xlsx::render(t),
        _ => Ok(render_table(t, format, standalone)?.into_bytes()),
    }
}

/// A number as the table prints it, its stars apart so each format can typeset them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridCell {
    pub number: String,
    pub stars: String,
    /// A standard error in parentheses (stacked layout).
    pub paren: bool,
    /// The number itself and the decimals `number` shows (for formats that store numbers:
    /// Excel keeps the value and shows it with a number format).
    pub value: Option<f64>,
    pub decimals: usize,
}

impl GridCell {
    fn plain(number: String, value: Option<f64>, decimals: usize) -> GridCell {
        GridCell { number, value, decimals, ..Default::default() }
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
                        est.push(GridCell {
                            number: t.estimate_number(c),
                            stars: c.stars.clone(),
                            paren: false,
                            value: Some(c.estimate),
                            decimals: t.digits,
                        });
                        let s = GridCell {
                            number: t.se_number(c),
                            stars: String::new(),
                            paren: !side,
                            value: Some(c.std_error),
                            decimals: t.digits,
                        };
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
            cells.push(GridCell::plain(t.summary_text(s, j), s.values[j], s.decimals));
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

/// A heading line as spans: with `merge`, runs of adjacent equal headings become one `(text,
/// first column, number of columns)` (a title over the columns of one saved result, as
/// esttab's mgroups). The last heading line (each column's model) is not merged.
pub fn heading_spans(line: &[String], merge: bool) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    for (j, h) in line.iter().enumerate() {
        match out.last_mut() {
            Some((text, _, n)) if merge && text == h && !h.is_empty() => *n += 1,
            _ => out.push((h.clone(), j, 1)),
        }
    }
    out
}

/// The first note line with the word for notes in front (`Notes: ...`, `注：...`).
pub fn note_lines(t: &Table) -> Vec<String> {
    t.notes
        .iter()
        .enumerate()
        .map(|(i, n)| if i == 0 { format!("{}{}{n}", t.words.notes, t.words.colon) } else { n.clone() })
        .collect()
}
