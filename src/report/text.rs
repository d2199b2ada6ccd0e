//! Plain text for a terminal: columns aligned by display width (a Chinese character takes
//! two columns), decimal points aligned, notes wrapped to the table's width.

use super::format::{center, pad_left, pad_right, width, wrap};
use super::{grid, heading_lines, GridCell, GridRow, Layout, Table};

/// A number cell with its stars and closing parenthesis padded so that the last digits line
/// up down a column.
fn cell_text(c: &GridCell, trail: usize) -> String {
    if c.is_empty() {
        return String::new();
    }
    if c.paren {
        format!("({}){}", c.number, " ".repeat(trail - 1))
    } else {
        format!("{}{}", c.number, pad_right(&c.stars, trail))
    }
}

pub fn render(t: &Table) -> String {
    let side = t.layout == Layout::Side;
    let rows = grid(t);
    let trail = t.star_width.max(1);
    let ncells = if side { 2 * t.columns.len() } else { t.columns.len() };
    // Widths: the label column, then each cell column.
    let mut label_w = width(t.words.variable);
    let mut cell_w = vec![0usize; ncells];
    for r in &rows {
        match r {
            GridRow::BlockHeader(h) => label_w = label_w.max(width(h)),
            GridRow::Data { label, indent, cells, .. } => {
                label_w = label_w.max(width(label) + 2 * usize::from(*indent));
                for (k, c) in cells.iter().enumerate() {
                    cell_w[k] = cell_w[k].max(width(&cell_text(c, trail)));
                }
            }
        }
    }
    let heads = heading_lines(t);
    let gap = 2;
    if side {
        for k in 0..t.columns.len() {
            cell_w[2 * k] = cell_w[2 * k].max(width(&t.estimate_label) + trail);
            cell_w[2 * k + 1] = cell_w[2 * k + 1].max(width(t.words.std_error));
            let need: usize = heads.iter().map(|l| width(&l[k])).max().unwrap_or(0);
            let have = cell_w[2 * k] + gap + cell_w[2 * k + 1];
            if need > have {
                cell_w[2 * k] += need - have;
            }
        }
    } else {
        for (k, w) in cell_w.iter_mut().enumerate() {
            let need = heads.iter().map(|l| width(&l[k])).max().unwrap_or(0);
            *w = (*w).max(need).max(8);
        }
    }
    let total = label_w + cell_w.iter().map(|w| w + gap).sum::<usize>();
    let mut out = String::new();
    if let Some(c) = &t.caption {
        for l in wrap(c, total) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    let rule = |ch: &str| format!("{}\n", ch.repeat(total));
    out.push_str(&rule("="));
    // Headings, centred over their column (over both sub-columns in the side layout).
    for (i, line) in heads.iter().enumerate() {
        let mut s =
            if i + 1 == heads.len() && !side { pad_right(t.words.variable, label_w) } else { " ".repeat(label_w) };
        for (k, h) in line.iter().enumerate() {
            let w = if side { cell_w[2 * k] + gap + cell_w[2 * k + 1] } else { cell_w[k] };
            s.push_str(&" ".repeat(gap));
            s.push_str(&center(h, w));
        }
        out.push_str(s.trim_end());
        out.push('\n');
    }
    if side {
        let mut s = pad_right(t.words.variable, label_w);
        for k in 0..t.columns.len() {
            s.push_str(&" ".repeat(gap));
            s.push_str(&pad_left(&format!("{}{}", t.estimate_label, " ".repeat(trail)), cell_w[2 * k]));
            s.push_str(&" ".repeat(gap));
            s.push_str(&pad_left(t.words.std_error, cell_w[2 * k + 1]));
        }
        out.push_str(s.trim_end());
        out.push('\n');
    }
    out.push_str(&rule("-"));
    let mut in_summary = false;
    for r in &rows {
        match r {
            GridRow::BlockHeader(h) => {
                out.push_str(h);
                out.push('\n');
            }
            GridRow::Data { label, indent, summary, cells, .. } => {
                if *summary && !in_summary {
                    out.push_str(&rule("-"));
                    in_summary = true;
                }
                let lab = if *indent && !label.is_empty() { format!("  {label}") } else { label.clone() };
                let mut s = pad_right(&lab, label_w);
                for (k, c) in cells.iter().enumerate() {
                    s.push_str(&" ".repeat(gap));
                    let txt = if *summary && !c.is_empty() {
                        format!("{}{}", c.number, " ".repeat(trail))
                    } else {
                        cell_text(c, trail)
                    };
                    s.push_str(&pad_left(&txt, cell_w[k]));
                }
                out.push_str(s.trim_end());
                out.push('\n');
            }
        }
    }
    out.push_str(&rule("="));
    let wrap_w = total.max(72);
    for (i, n) in t.notes.iter().enumerate() {
        let text = if i == 0 { format!("{}{}{n}", t.words.notes, t.words.colon) } else { n.clone() };
        for l in wrap(&text, wrap_w) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}
