//! A standalone HTML page: inline CSS, no scripts, no external assets; the SE under the
//! estimate in the same cell (stacked) or in its own column (side).

use super::format::html as esc;
use super::{grid, heading_lines, GridCell, GridRow, Layout, Table};

fn cell(c: &GridCell) -> String {
    if c.is_empty() {
        String::new()
    } else if c.paren {
        format!("({})", esc(&c.number))
    } else if c.stars.is_empty() {
        esc(&c.number)
    } else {
        format!("{}<sup>{}</sup>", esc(&c.number), c.stars)
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,\"Segoe UI\",\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;margin:2em;color:#111;background:#fff}
table{border-collapse:collapse;margin:0 auto}
caption{font-weight:600;padding-bottom:.5em}
thead tr:first-child th{border-top:2px solid #111}
thead tr:last-child th{border-bottom:1px solid #111}
tbody.summary tr:first-child td{border-top:1px solid #111}
tbody:last-of-type tr:last-child td{border-bottom:2px solid #111}
th,td{padding:.15em .8em;white-space:nowrap}
th{font-weight:600;text-align:center}
td.num{text-align:right;font-variant-numeric:tabular-nums;padding-right:1.6em}
td.num sup{position:absolute;margin-left:.1em}
td.label{text-align:left}
td.indent{padding-left:2em}
tr.block td{font-style:italic;padding-top:.4em}
span.se{color:#444}
.notes{max-width:48em;margin:1em auto;font-size:.85em;color:#333}
.notes p{margin:.2em 0}
";

pub fn render(t: &Table) -> String {
    let side = t.layout == Layout::Side;
    let lang = if t.words.constant == super::table::ZH.constant { "zh" } else { "en" };
    let title = t.caption.clone().unwrap_or_else(|| "Regression table".into());
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<table>\n",
        esc(&title)
    );
    if let Some(c) = &t.caption {
        out.push_str(&format!("<caption>{}</caption>\n", esc(c)));
    }
    out.push_str("<thead>\n");
    let heads = heading_lines(t);
    let span = if side { " colspan=\"2\"" } else { "" };
    for (i, line) in heads.iter().enumerate() {
        let first = if i + 1 == heads.len() && !side {
            format!("<th scope=\"col\">{}</th>", esc(t.words.variable))
        } else {
            "<th></th>".to_string()
        };
        out.push_str(&format!("<tr>{first}"));
        for h in line {
            out.push_str(&format!("<th scope=\"col\"{span}>{}</th>", esc(h)));
        }
        out.push_str("</tr>\n");
    }
    if side {
        out.push_str(&format!("<tr><th scope=\"col\">{}</th>", esc(t.words.variable)));
        for _ in &t.columns {
            out.push_str(&format!(
                "<th scope=\"col\">{}</th><th scope=\"col\">{}</th>",
                esc(&t.estimate_label),
                esc(t.words.std_error)
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</thead>\n<tbody>\n");
    let ncells = if side { 2 * t.columns.len() } else { t.columns.len() };
    let rows = grid(t);
    let mut in_summary = false;
    let mut i = 0;
    while i < rows.len() {
        match &rows[i] {
            GridRow::BlockHeader(h) => {
                out.push_str(&format!(
                    "<tr class=\"block\"><td class=\"label\" colspan=\"{}\">{}</td></tr>\n",
                    ncells + 1,
                    esc(h)
                ));
            }
            GridRow::Data { label, indent, summary, cells, .. } => {
                if *summary && !in_summary {
                    out.push_str("</tbody>\n<tbody class=\"summary\">\n");
                    in_summary = true;
                }
                // Stacked: the next grid line holds the SEs; put them in the same cells.
                let se: Option<&Vec<GridCell>> = match rows.get(i + 1) {
                    Some(GridRow::Data { se_line: true, cells, .. }) => {
                        i += 1;
                        Some(cells)
                    }
                    _ => None,
                };
                let cls = if *indent { "label indent" } else { "label" };
                out.push_str(&format!("<tr><td class=\"{cls}\">{}</td>", esc(label)));
                for (k, c) in cells.iter().enumerate() {
                    let mut s = cell(c);
                    if let Some(se) = se {
                        if !se[k].is_empty() {
                            s.push_str(&format!("<br><span class=\"se\">{}</span>", cell(&se[k])));
                        }
                    }
                    out.push_str(&format!("<td class=\"num\">{s}</td>"));
                }
                out.push_str("</tr>\n");
            }
        }
        i += 1;
    }
    out.push_str("</tbody>\n</table>\n<div class=\"notes\">\n");
    for (i, n) in t.notes.iter().enumerate() {
        if i == 0 {
            out.push_str(&format!("<p><em>{}</em>{}{}</p>\n", esc(t.words.notes), t.words.colon, esc(n)));
        } else {
            out.push_str(&format!("<p>{}</p>\n", esc(n)));
        }
    }
    out.push_str("</div>\n</body>\n</html>\n");
    out
}
