//! Typst (`.typ`): a `#figure` holding a `#table` with booktabs-like horizontal rules (1 pt
//! above the headings and below the table, 0.5 pt under the headings and above the summary
//! rows), a title over several columns spanning them, notes under the table. Cells are Typst
//! strings (`"0.375**"`), so no text needs markup escaping beyond string quoting. Chinese
//! text takes the second font of the list (Noto Serif CJK SC, else SimSun).

use super::{grid, heading_lines, heading_spans, note_lines, GridCell, GridRow, Layout, Table};

fn s(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn cell(c: &GridCell) -> String {
    if c.is_empty() {
        String::new()
    } else if c.paren {
        format!("({})", c.number)
    } else {
        format!("{}{}", c.number, c.stars)
    }
}

pub fn render(t: &Table) -> String {
    let side = t.layout == Layout::Side;
    let k = t.columns.len();
    let ncells = if side { 2 * k } else { k };
    let mut out = String::new();
    out.push_str("#set text(font: (\"Times New Roman\", \"Noto Serif CJK SC\", \"SimSun\"), size: 10.5pt)\n");
    if ncells > 8 {
        out.push_str("#set page(flipped: true)\n");
    }
    out.push_str("#figure(\n");
    if let Some(c) = &t.caption {
        out.push_str(&format!("  caption: [#{}],\n", s(c)));
    }
    out.push_str("  table(\n");
    out.push_str(&format!("    columns: {},\n", ncells + 1));
    out.push_str("    align: (x, y) => if x == 0 { left } else { center },\n");
    out.push_str("    stroke: none,\n");
    out.push_str("    table.hline(stroke: 1pt),\n");
    let heads = heading_lines(t);
    let nhead = heads.len() + usize::from(side);
    for (i, line) in heads.iter().enumerate() {
        let mut cells = vec![s(if i + 1 == nhead { t.words.variable } else { "" })];
        let mut rules = Vec::new();
        for (text, first, n) in heading_spans(line, i + 1 < heads.len()) {
            let span = n * if side { 2 } else { 1 };
            let start = 1 + first * if side { 2 } else { 1 };
            if span > 1 {
                cells.push(format!("table.cell(colspan: {span}, {})", s(&text)));
            } else {
                cells.push(s(&text));
            }
            if span > 1 && !text.is_empty() && i + 1 < nhead {
                rules.push(format!("table.hline(start: {start}, end: {}, stroke: 0.5pt)", start + span));
            }
        }
        out.push_str(&format!("    {},\n", cells.join(", ")));
        for r in rules {
            out.push_str(&format!("    {r},\n"));
        }
    }
    if side {
        let mut cells = vec![s(t.words.variable)];
        for _ in 0..k {
            cells.push(s(&t.estimate_label));
            cells.push(s(t.words.std_error));
        }
        out.push_str(&format!("    {},\n", cells.join(", ")));
    }
    out.push_str("    table.hline(stroke: 0.5pt),\n");
    let mut in_summary = false;
    for r in grid(t) {
        match r {
            GridRow::BlockHeader(h) => {
                out.push_str(&format!("    table.cell(colspan: {}, {}),\n", ncells + 1, s(&h)));
            }
            GridRow::Data { label, indent, summary, cells, .. } => {
                if summary && !in_summary {
                    out.push_str("    table.hline(stroke: 0.5pt),\n");
                    in_summary = true;
                }
                let lab = if indent && !label.is_empty() { format!("[#h(1em)#{}]", s(&label)) } else { s(&label) };
                let cs: Vec<String> = cells.iter().map(|c| s(&cell(c))).collect();
                out.push_str(&format!("    {lab}, {},\n", cs.join(", ")))
            }
        }
    }
    out.push_str("    table.hline(stroke: 1pt),\n  ),\n)\n");
    out.push_str("#set text(size: 9pt)\n");
    for n in note_lines(t) {
        out.push_str(&format!("#par[#{}]\n", s(&n)));
    }
    out
}
