//! LaTeX with booktabs: a `table` float (or, with `standalone`, a whole document that
//! compiles with xelatex; xeCJK is loaded when a label is Chinese), notes under the table.

use super::format::{latex as esc, latex_starred};
use super::{grid, heading_lines, GridCell, GridRow, Layout, Table};

fn cell(c: &GridCell) -> String {
    if c.is_empty() {
        String::new()
    } else if c.paren {
        format!("({})", c.number)
    } else {
        latex_starred(&c.number, &c.stars)
    }
}

pub fn render(t: &Table, standalone: bool) -> String {
    let side = t.layout == Layout::Side;
    let k = t.columns.len();
    let ncells = if side { 2 * k } else { k };
    let mut out = String::new();
    if standalone {
        out.push_str("\\documentclass[11pt]{article}\n\\usepackage{booktabs}\n");
        if t.is_chinese() {
            // xeCJK with the Fandol fonts that TeX Live ships (texlive-lang-chinese).
            out.push_str(
                "\\usepackage{xeCJK}\n\\setCJKmainfont{FandolSong-Regular.otf}[BoldFont=FandolSong-Bold.otf]\n",
            );
        }
        out.push_str("\\begin{document}\n");
    }
    out.push_str("\\begin{table}[htbp]\n\\centering\n");
    if let Some(c) = &t.caption {
        out.push_str(&format!("\\caption{{{}}}\n", esc(c)));
    }
    out.push_str(&format!("\\begin{{tabular}}{{l*{{{ncells}}}{{c}}}}\n\\toprule\n"));
    let heads = heading_lines(t);
    for line in &heads {
        let cells: Vec<String> =
            line.iter().map(|h| if side { format!("\\multicolumn{{2}}{{c}}{{{}}}", esc(h)) } else { esc(h) }).collect();
        out.push_str(&format!(" & {} \\\\\n", cells.join(" & ")));
    }
    if side {
        let rules: Vec<String> = (0..k).map(|j| format!("\\cmidrule(lr){{{}-{}}}", 2 + 2 * j, 3 + 2 * j)).collect();
        out.push_str(&format!("{}\n", rules.join("")));
        let sub: Vec<String> =
            (0..k).map(|_| format!("{} & {}", esc(&t.estimate_label), esc(t.words.std_error))).collect();
        out.push_str(&format!("{} & {} \\\\\n", esc(t.words.variable), sub.join(" & ")));
    }
    out.push_str("\\midrule\n");
    let mut in_summary = false;
    for r in grid(t) {
        match r {
            GridRow::BlockHeader(h) => {
                out.push_str(&format!("\\multicolumn{{{}}}{{l}}{{{}}} \\\\\n", ncells + 1, esc(&h)));
            }
            GridRow::Data { label, indent, summary, cells, .. } => {
                if summary && !in_summary {
                    out.push_str("\\midrule\n");
                    in_summary = true;
                }
                let lab = if indent && !label.is_empty() { format!("\\quad {}", esc(&label)) } else { esc(&label) };
                let cs: Vec<String> = cells.iter().map(cell).collect();
                out.push_str(&format!("{lab} & {} \\\\\n", cs.join(" & ")));
            }
        }
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    out.push_str("\\par\\smallskip\n\\begin{minipage}{0.95\\linewidth}\\footnotesize\n");
    for (i, n) in t.notes.iter().enumerate() {
        if i == 0 {
            out.push_str(&format!("\\textit{{{}}}{}{}\\par\n", esc(t.words.notes), t.words.colon, esc(n)));
        } else {
            out.push_str(&format!("{}\\par\n", esc(n)));
        }
    }
    out.push_str("\\end{minipage}\n\\end{table}\n");
    if standalone {
        out.push_str("\\end{document}\n");
    }
    out
}
