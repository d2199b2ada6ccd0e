//! Excel (`.xlsx`, via `rust_xlsxwriter`): one sheet holding the table. Numbers stay numbers:
//! each estimate, standard error and summary value is a numeric cell at full precision, shown
//! with the table's decimals by its number format (`0.000`); a standard error of the stacked
//! layout shows in parentheses by the format `(0.000)` and the stars are part of the number
//! format too (`0.000"**"`), so the cell sums and sorts as a number yet looks as in the other
//! formats. A missing value is the text `.` (Stata's). Rules as booktabs draws them: a medium
//! line above the headings and below the table, thin ones under the headings and above the
//! summary rows. Notes follow the table, one per row.
//!
//! The workbook's creation date is fixed (2000-01-01) so that the same table gives the same
//! bytes.

use super::format::width;
use super::{grid, heading_lines, heading_spans, note_lines, GridCell, GridRow, Layout, Table};
use crate::error::{DataError, Error, Result};
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

fn err(e: XlsxError) -> Error {
    Error::Data(DataError::Other(format!("cannot write the Excel workbook: {e}")))
}

/// The number format showing `decimals` decimals (`0`, `0.000`).
pub fn number_format(decimals: usize) -> String {
    if decimals == 0 {
        "0".to_string()
    } else {
        format!("0.{}", "0".repeat(decimals))
    }
}

/// The number format of a grid cell: decimals, parentheses for a stacked SE, stars as a
/// literal suffix.
pub fn cell_format(c: &GridCell) -> String {
    let base = number_format(c.decimals);
    if c.paren {
        format!("({base})")
    } else if c.stars.is_empty() {
        base
    } else {
        format!("{base}\"{}\"", c.stars)
    }
}

/// Where a cell sits: which rules it carries.
#[derive(Clone, Copy, Default)]
struct Rules {
    top: FormatBorder,
    bottom: FormatBorder,
}

struct Style {
    font: &'static str,
    charset: u8,
}

impl Style {
    fn base(&self, r: Rules) -> Format {
        let mut f = Format::new().set_font_name(self.font).set_font_size(11);
        if self.charset != 0 {
            f = f.set_font_charset(self.charset);
        }
        if r.top != FormatBorder::None {
            f = f.set_border_top(r.top);
        }
        if r.bottom != FormatBorder::None {
            f = f.set_border_bottom(r.bottom);
        }
        f
    }
}

pub fn render(t: &Table) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let date = ExcelDateTime::from_ymd(2000, 1, 1).map_err(err)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&date).set_author("migfit"));
    let ws = wb.add_worksheet();
    ws.set_name("Table").map_err(err)?;
    fill(ws, t).map_err(err)?;
    wb.save_to_buffer().map_err(err)
}

fn fill(ws: &mut Worksheet, t: &Table) -> std::result::Result<(), XlsxError> {
    let side = t.layout == Layout::Side;
    let k = t.columns.len();
    let ncells = if side { 2 * k } else { k };
    let last_col = ncells as u16;
    // SimSun (宋体, GB2312 charset) when a label is Chinese: it has Latin glyphs too.
    let style = if t.is_chinese() {
        Style { font: "SimSun", charset: 134 }
    } else {
        Style { font: "Times New Roman", charset: 0 }
    };
    let thick = FormatBorder::Medium;
    let thin = FormatBorder::Thin;
    let mut row: u32 = 0;
    if let Some(c) = &t.caption {
        ws.write_string_with_format(row, 0, c, &style.base(Rules::default()).set_bold())?;
        row += 2;
    }

    // Headings: the first line under the top rule; in the side layout a line of
    // estimate / SE sub-headings under the model headings.
    let heads = heading_lines(t);
    let nhead = heads.len() + usize::from(side);
    for (i, line) in heads.iter().enumerate() {
        let rules = Rules {
            top: if i == 0 { thick } else { FormatBorder::None },
            bottom: if i + 1 == nhead { thin } else { FormatBorder::None },
        };
        let f = style.base(rules).set_align(FormatAlign::Center);
        let label = if i + 1 == nhead { t.words.variable } else { "" };
        ws.write_string_with_format(row, 0, label, &style.base(rules))?;
        for (text, first, n) in heading_spans(line, i + 1 < heads.len()) {
            let width = if side { 2 } else { 1 };
            let c0 = (1 + first * width) as u16;
            let c1 = c0 + (n * width) as u16 - 1;
            // A title over several columns gets a rule under it (booktabs' cmidrule).
            let f = if (n > 1 || side) && !text.is_empty() && i + 1 < nhead {
                f.clone().set_border_bottom(thin)
            } else {
                f.clone()
            };
            if c1 > c0 {
                ws.merge_range(row, c0, row, c1, &text, &f)?;
            } else {
                ws.write_string_with_format(row, c0, &text, &f)?;
            }
        }
        row += 1;
    }
    if side {
        let rules = Rules { top: if heads.is_empty() { thick } else { FormatBorder::None }, bottom: thin };
        let f = style.base(rules).set_align(FormatAlign::Center);
        ws.write_string_with_format(row, 0, t.words.variable, &style.base(rules))?;
        for j in 0..k {
            ws.write_string_with_format(row, (1 + 2 * j) as u16, &t.estimate_label, &f)?;
            ws.write_string_with_format(row, (2 + 2 * j) as u16, t.words.std_error, &f)?;
        }
        row += 1;
    }

    // Body.
    let body = grid(t);
    let mut in_summary = false;
    let mut label_width = width(t.words.variable);
    for (i, r) in body.iter().enumerate() {
        let last = i + 1 == body.len();
        let bottom = if last { thick } else { FormatBorder::None };
        match r {
            GridRow::BlockHeader(h) => {
                let rules = Rules { top: FormatBorder::None, bottom };
                ws.write_string_with_format(row, 0, h, &style.base(rules))?;
                for c in 1..=last_col {
                    ws.write_blank(row, c, &style.base(rules))?;
                }
                label_width = label_width.max(width(h));
            }
            GridRow::Data { label, indent, summary, cells, .. } => {
                let top = if *summary && !in_summary { thin } else { FormatBorder::None };
                in_summary |= *summary;
                let rules = Rules { top, bottom };
                let mut lf = style.base(rules);
                if *indent && !label.is_empty() {
                    lf = lf.set_indent(1);
                }
                ws.write_string_with_format(row, 0, label, &lf)?;
                label_width = label_width.max(width(label) + if *indent { 2 } else { 0 });
                for (j, c) in cells.iter().enumerate() {
                    let col = (1 + j) as u16;
                    let f = style.base(rules).set_align(FormatAlign::Center);
                    match c.value {
                        _ if c.is_empty() => ws.write_blank(row, col, &f)?,
                        Some(v) if v.is_finite() => {
                            ws.write_number_with_format(row, col, v, &f.set_num_format(cell_format(c)))?
                        }
                        _ => ws.write_string_with_format(row, col, &c.number, &f)?,
                    };
                }
            }
        }
        row += 1;
    }

    // Notes, below the table.
    row += 1;
    let nf = style.base(Rules::default()).set_font_size(9);
    for n in note_lines(t) {
        ws.write_string_with_format(row, 0, &n, &nf)?;
        row += 1;
    }

    ws.set_column_width(0, (label_width as f64 + 2.0).min(60.0))?;
    for c in 1..=last_col {
        ws.set_column_width(c, 12)?;
    }
    if ncells > 8 {
        ws.set_landscape();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats_carry_decimals_parentheses_and_stars() {
        let c = |stars: &str, paren: bool, decimals: usize| GridCell {
            number: String::new(),
            stars: stars.into(),
            paren,
            value: Some(1.0),
            decimals,
        };
        assert_eq!(cell_format(&c("", false, 3)), "0.000");
        assert_eq!(cell_format(&c("**", false, 3)), "0.000\"**\"");
        assert_eq!(cell_format(&c("", true, 2)), "(0.00)");
        assert_eq!(cell_format(&c("", false, 0)), "0");
    }
}
