//! Markdown (pipe table, as GitHub and pandoc read it): one heading row, factor headers in
//! bold, notes as a list under the table.

use super::format::markdown as esc;
use super::{grid, GridCell, GridRow, Layout, Table};

fn cell(c: &GridCell) -> String {
    if c.is_empty() {
        String::new()
    } else if c.paren {
        format!("({})", c.number)
    } else {
        // Stars are escaped so they print as stars, not emphasis.
        format!("{}{}", c.number, esc(&c.stars))
    }
}

pub fn render(t: &Table) -> String {
    let side = t.layout == Layout::Side;
    let mut out = String::new();
    if let Some(c) = &t.caption {
        out.push_str(&format!("**{}**\n\n", esc(c)));
    }
    let mut head = vec![esc(t.words.variable)];
    for col in &t.columns {
        let title = match col.heading.as_slice() {
            [a, b] => format!("{} ({})", esc(a), esc(b)),
            h => h.iter().map(|s| esc(s)).collect::<Vec<_>>().join(" "),
        };
        if side {
            head.push(format!("{title}: {}", esc(&t.estimate_label)));
            head.push(esc(t.words.std_error));
        } else {
            head.push(title);
        }
    }
    out.push_str(&format!("| {} |\n", head.join(" | ")));
    let mut align = vec![":---".to_string()];
    align.extend((1..head.len()).map(|_| "---:".to_string()));
    out.push_str(&format!("|{}|\n", align.join("|")));
    let n = head.len() - 1;
    for r in grid(t) {
        match r {
            GridRow::BlockHeader(h) => {
                out.push_str(&format!("| **{}** |{}\n", esc(&h), " |".repeat(n)));
            }
            GridRow::Data { label, summary, cells, .. } => {
                let lab = if summary { format!("*{}*", esc(&label)) } else { esc(&label) };
                let cs: Vec<String> = cells.iter().map(cell).collect();
                out.push_str(&format!("| {} | {} |\n", lab, cs.join(" | ")));
            }
        }
    }
    out.push('\n');
    out.push_str(&format!("{}{}\n\n", t.words.notes, t.words.colon.trim_end()));
    for n in &t.notes {
        out.push_str(&format!("- {}\n", esc(n)));
    }
    out
}
