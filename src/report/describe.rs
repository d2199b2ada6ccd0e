//! Renders a descriptive table (`migfit describe`, computed by `data::describe`) as text,
//! Markdown, CSV or JSON, in English or with the schema's Chinese labels (`label_zh`).
//!
//! Why not the regression [`Table`](super::Table) model: its columns are models, its rows
//! terms and its cells an estimate, a standard error and stars, with N / log likelihood /
//! pseudo R2 rows and notes about the variance, all built from a `Report`. A descriptive
//! table's cells are n (%) and mean (SD) of groups, its extra column a p-value, and its layout
//! (one heading line, no rules around the body, a note per line) is the one the reference
//! study prints. So it shares the formatting instead ([`super::format`]: display-width
//! padding, Markdown escaping, p-values, numbers), and keeps its own small layout here.

use super::format::{self, Align};
use super::Lang;
use crate::data::describe::{Cell, Row, Table};

/// The fixed words of a descriptive table, per language (the heading of the label column is
/// the regression table's).
struct Words {
    variable: &'static str,
    total: &'static str,
    /// "Note: " before each note in the text layout.
    note: &'static str,
}

const EN: Words = Words { variable: super::table::EN.variable, total: "Total", note: "Note: " };
const ZH: Words = Words { variable: super::table::ZH.variable, total: "合计", note: "注：" };

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

fn row_label(r: &Row, lang: Lang) -> &str {
    match (lang, &r.label_zh) {
        (Lang::Zh, Some(zh)) => zh,
        _ => &r.label,
    }
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Count { n, pct, .. } if pct.is_nan() => format!("{n} (-)"),
        Cell::Count { n, pct, .. } => format!("{n} ({pct:.2})"),
        Cell::Mean { n: 0, .. } => "-".into(),
        Cell::Mean { mean, sd, .. } if sd.is_nan() => format!("{mean:.2} (-)"),
        Cell::Mean { mean, sd, .. } => format!("{mean:.2} ({sd:.2})"),
        Cell::Heading => String::new(),
    }
}

fn has_tests(t: &Table) -> bool {
    t.rows.iter().any(|r| r.test.is_some())
}

/// Header and body as strings (shared by the text and Markdown layouts); level rows are
/// indented by `indent`.
fn grid(t: &Table, lang: Lang, indent: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let w = words(lang);
    let tests = has_tests(t);
    let mut head = vec![w.variable.to_string()];
    head.extend(t.groups.iter().enumerate().map(|(j, g)| {
        let label = match (lang, j, &g.label_zh) {
            // The first column is always the total.
            (Lang::Zh, 0, _) => w.total,
            (Lang::Zh, _, Some(zh)) => zh,
            _ => &g.label,
        };
        format!("{label} (N={})", g.n)
    }));
    if tests {
        head.push("p".into());
    }
    let body = t
        .rows
        .iter()
        .map(|r| {
            let label = row_label(r, lang);
            let mut v = vec![if r.level.is_some() { format!("{indent}{label}") } else { label.to_string() }];
            v.extend(r.cells.iter().map(cell_text));
            if tests {
                v.push(r.test.as_ref().map(|t| format::p_value(t.p_value)).unwrap_or_default());
            }
            v
        })
        .collect();
    (head, body)
}

/// Columns padded to their display width (so Chinese labels line up), the labels left and
/// the numbers right, two spaces apart; a rule under the heading; one line per note.
pub fn text(t: &Table, lang: Lang) -> String {
    let (head, body) = grid(t, lang, "  ");
    let widths = format::column_widths(&head, &body);
    let mut align = vec![Align::Right; head.len()];
    align[0] = Align::Left;
    let gap = 2;
    let mut out = format::text_line(&head, &widths, &align, gap);
    out.push('\n');
    let total: usize = widths.iter().sum::<usize>() + gap * (head.len() - 1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for r in &body {
        out.push_str(&format::text_line(r, &widths, &align, gap));
        out.push('\n');
    }
    for n in &t.notes {
        out.push_str(&format!("{}{n}\n", words(lang).note));
    }
    out
}

/// A pipe table (labels may carry Markdown, so only `|` is escaped); notes as lines ending
/// in a hard break.
pub fn markdown(t: &Table, lang: Lang) -> String {
    let (head, body) = grid(t, lang, "&nbsp;&nbsp;");
    let row = |cells: &[String]| {
        format!("| {} |\n", cells.iter().map(|s| format::markdown_pipe(s)).collect::<Vec<_>>().join(" | "))
    };
    let mut out = row(&head);
    out.push_str(&format!(
        "|{}|\n",
        (0..head.len()).map(|j| if j == 0 { ":---" } else { "---:" }).collect::<Vec<_>>().join("|")
    ));
    for r in &body {
        out.push_str(&row(r));
    }
    out.push('\n');
    for n in &t.notes {
        out.push_str(&format!("{n}  \n"));
    }
    out
}

/// CSV: one line per row and column statistic, at full precision (the shortest text that
/// reads back as the same number), for further processing.
pub fn csv(t: &Table, lang: Lang) -> String {
    let num = format::shortest;
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "variable",
        "level",
        "label",
        "group",
        "n",
        "total",
        "pct",
        "mean",
        "sd",
        "test",
        "statistic",
        "p_value",
    ]);
    for r in &t.rows {
        let label = row_label(r, lang);
        for (g, c) in t.groups.iter().zip(&r.cells) {
            let (n, total, pct, mean, sd) = match c {
                Cell::Count { n, total, pct } => {
                    (n.to_string(), total.to_string(), num(*pct), String::new(), String::new())
                }
                Cell::Mean { n, mean, sd } => (n.to_string(), String::new(), String::new(), num(*mean), num(*sd)),
                Cell::Heading => continue,
            };
            let _ = w.write_record([
                r.variable.as_str(),
                r.level.as_deref().unwrap_or(""),
                label,
                g.name.as_str(),
                &n,
                &total,
                &pct,
                &mean,
                &sd,
                "",
                "",
                "",
            ]);
        }
        if let Some(test) = &r.test {
            let _ = w.write_record([
                r.variable.as_str(),
                "",
                label,
                "",
                "",
                "",
                "",
                "",
                "",
                test.test,
                &num(test.statistic),
                &num(test.p_value),
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The serialized table (English labels; the language does not change the JSON).
pub fn json(t: &Table) -> String {
    let mut s = serde_json::to_string_pretty(t).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
