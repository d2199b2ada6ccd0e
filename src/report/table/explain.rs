//! Builds the one [`Table`] model from a `migfit explain` result: a column per convention
//! profile (side layout: the SE, then its ratio to Stata's), a block per model with a row per
//! coefficient and effect; the notes give each profile's variance sentence, df and log
//! likelihood, and the factors behind every ratio.

use super::{Block, Cell, Column, Layout, Row, Table, TableOptions, EN};
use crate::analysis::explain::Explanation;
use crate::inference::convention::Convention;

/// The words of an explain table: the side layout's sub-headings are "SE" and "ratio".
const WORDS: super::Words = super::Words { std_error: "ratio", ..EN };

/// The table of a `migfit explain` result.
pub fn build_explain(e: &Explanation, opts: &TableOptions) -> Table {
    let fmt = |v: f64| crate::report::format::fixed(v, 4);
    let conventions: Vec<Convention> = Convention::ALL
        .into_iter()
        .filter(|c| e.models.iter().all(|m| m.profiles.iter().any(|p| p.convention == *c && p.unavailable.is_none())))
        .collect();
    let columns = conventions
        .iter()
        .map(|c| Column { heading: vec![c.package().to_string()], name: c.name().to_string() })
        .collect();
    let mut blocks = Vec::new();
    let mut notes = vec![format!(
        "Standard errors under each convention (vce {}), and their ratio to Stata's. Each ratio is the product of the factors listed below, one per choice that differs.",
        e.vce
    )];
    let several = e.models.len() > 1;
    for m in &e.models {
        let prefix = if several { format!("{}: ", m.name) } else { String::new() };
        for p in &m.profiles {
            match (&p.unavailable, &p.vce) {
                (Some(why), _) => notes.push(format!("{prefix}{}: unavailable ({why}).", p.convention.name())),
                (None, Some(v)) => {
                    let df = p.df_r.map_or("z".to_string(), |d| format!("t with {} df", crate::data::format_number(d)));
                    notes.push(format!(
                        "{prefix}{}: {v} Inference: {df}. Log likelihood {}.",
                        p.convention.name(),
                        crate::data::format_number(p.log_likelihood)
                    ));
                    notes.extend(p.notes.iter().map(|n| format!("{prefix}{}: {n}", p.convention.name())));
                }
                (None, None) => {}
            }
        }
        let mut rows = Vec::new();
        for r in &m.rows {
            let label = match &r.contrast {
                None => r.term.clone(),
                Some(c) if c == "dydx" => format!("{} (effect)", r.term),
                Some(c) => format!("{} ({c})", r.term),
            };
            let cells = conventions
                .iter()
                .map(|c| {
                    r.std_errors.iter().find(|s| s.convention == *c).map(|s| Cell {
                        estimate: s.std_error,
                        std_error: s.ratio,
                        statistic: f64::NAN,
                        p_value: f64::NAN,
                        conf_low: f64::NAN,
                        conf_high: f64::NAN,
                        contrast: r.contrast.clone(),
                        stars: String::new(),
                    })
                })
                .collect();
            for s in r.std_errors.iter().filter(|s| s.convention != Convention::Stata) {
                let parts: Vec<String> =
                    s.factors.iter().map(|f| format!("{}: x{}", f.choice, fmt(f.factor))).collect();
                notes.push(format!(
                    "{prefix}{label}, {}: x{} = {}.",
                    s.convention.name(),
                    fmt(s.ratio),
                    parts.join("; ")
                ));
            }
            rows.push(Row { term: format!("{prefix}{}", r.term), label, cells });
        }
        blocks.push(Block { variable: None, header: several.then(|| format!("{} ({})", m.name, m.formula)), rows });
    }
    Table {
        caption: opts.caption.clone().or_else(|| Some("Standard errors by convention".to_string())),
        layout: Layout::Side,
        digits: opts.digits.max(4),
        words: WORDS,
        estimate_label: "SE".into(),
        star_width: 0,
        columns,
        blocks,
        summary: Vec::new(),
        notes,
    }
}
