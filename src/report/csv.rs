//! Tidy CSV: one line per column (model, part or combined effects) and term, numbers at full
//! precision (17 significant digits) for further processing; `stars` as the table prints them.

use super::format::g17_or_empty;
use super::Table;

pub fn render(t: &Table) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let num = g17_or_empty;
    w.write_record([
        "column",
        "model",
        "heading",
        "block",
        "term",
        "label",
        "contrast",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
        "stars",
        "n_obs",
    ])
    .expect("in-memory write");
    let n_row = t.summary.first();
    for (j, col) in t.columns.iter().enumerate() {
        let n_obs = n_row.and_then(|r| r.values[j]).map(num).unwrap_or_default();
        for b in &t.blocks {
            for r in &b.rows {
                let Some(c) = &r.cells[j] else { continue };
                w.write_record([
                    (j + 1).to_string(),
                    col.name.clone(),
                    col.heading.join(" "),
                    b.header.clone().or_else(|| b.variable.clone()).unwrap_or_default(),
                    r.term.clone(),
                    r.label.clone(),
                    c.contrast.clone().unwrap_or_default(),
                    num(c.estimate),
                    num(c.std_error),
                    num(c.statistic),
                    num(c.p_value),
                    num(c.conf_low),
                    num(c.conf_high),
                    c.stars.clone(),
                    n_obs.clone(),
                ])
                .expect("in-memory write");
            }
        }
    }
    String::from_utf8(w.into_inner().expect("in-memory flush")).expect("UTF-8")
}
