//! Builds the one [`Table`] model from a mediation result, so that every renderer (text,
//! Markdown, LaTeX, CSV, HTML) prints it:
//!
//! * KHB: columns Reduced, Full, Difference, Naive; a block per treatment column with the
//!   coefficient row, the APE row (`--ape`) and one row per mediator column's component of
//!   the difference (`khb, disentangle`); the confounding ratio and percentage and the rescale
//!   factor in the notes.
//! * Causal: one column; rows NDE, NIE, total effect, proportion mediated.

use super::{Block, Cell, Column, Lang, Row, SummaryRow, Table, TableOptions, EN, ZH};
use crate::mediate::{Estimate, MediationReport};

/// The table of a `migfit mediate` report.
pub fn build_mediation(report: &MediationReport, opts: &TableOptions) -> Table {
    let words = match opts.lang {
        Lang::En => EN,
        Lang::Zh => ZH,
    };
    let m = &report.mediation;
    let stars = &opts.stars;
    let cell = |e: &Estimate| Cell {
        estimate: e.estimate,
        std_error: e.std_error,
        statistic: e.statistic,
        p_value: e.p_value,
        conf_low: e.conf_low,
        conf_high: e.conf_high,
        contrast: None,
        stars: stars.mark(e.p_value),
    };
    let fmt = |v: f64| crate::report::format::fixed(v, 3);
    let titled = |j: usize, default: &str| opts.titles.get(j).cloned().unwrap_or_else(|| default.to_string());
    let mut notes = Vec::new();
    let (columns, blocks) = if let Some(k) = &m.khb {
        let columns: Vec<Column> = ["Reduced", "Full", "Difference", "Naive"]
            .iter()
            .enumerate()
            .map(|(j, h)| Column { heading: vec![titled(j, h)], name: h.to_lowercase() })
            .collect();
        let mut blocks = Vec::new();
        for e in &k.effects {
            let mut rows = vec![Row {
                term: e.term.clone(),
                label: "Coefficient".into(),
                cells: vec![
                    Some(cell(&e.reduced)),
                    Some(cell(&e.full)),
                    Some(cell(&e.difference)),
                    Some(cell(&e.naive)),
                ],
            }];
            if let Some(a) = &e.ape {
                rows.push(Row {
                    term: format!("{} APE", e.term),
                    label: format!("APE ({})", a.contrast),
                    cells: vec![Some(cell(&a.reduced)), Some(cell(&a.full)), Some(cell(&a.difference)), None],
                });
                notes.push(format!(
                    "{} APE: confounding ratio {}, confounding {}%.",
                    e.term,
                    fmt(a.conf_ratio),
                    crate::report::format::fixed(a.conf_pct, 1)
                ));
            }
            for c in &e.components {
                rows.push(Row {
                    term: format!("{} via {}", e.term, c.mediator),
                    label: format!("via {} ({}%)", c.mediator, crate::report::format::fixed(c.pct_of_difference, 1)),
                    cells: vec![None, None, Some(cell(&c.contribution)), None],
                });
            }
            notes.push(format!(
                "{}: confounding ratio (reduced / full) {}, confounding {}% of the reduced coefficient, rescale factor (naive / reduced) {}.",
                e.term,
                fmt(e.conf_ratio),
                crate::report::format::fixed(e.conf_pct, 1),
                fmt(e.rescale_factor)
            ));
            blocks.push(Block { variable: Some(e.term.clone()), header: Some(e.term.clone()), rows });
        }
        notes.insert(
            0,
            format!(
                "KHB decomposition ({} coefficients; Karlson, Holm & Breen 2012): the reduced model replaces the mediators ({}) by their residuals on the treatment and controls, so reduced and full are on one scale and Difference = Reduced - Full is the part carried by the mediators; Naive omits the mediators (rescaled). 'via' rows: each mediator's part of the difference (its share in parentheses).",
                m.model,
                m.mediators.join(", ")
            ),
        );
        (columns, blocks)
    } else {
        let c = m.causal.as_ref().expect("a KHB or a causal result");
        let columns = vec![Column { heading: vec![titled(0, "Effect")], name: "effect".into() }];
        let row = |term: &str, label: &str, e: &Estimate| Row {
            term: term.into(),
            label: label.into(),
            cells: vec![Some(cell(e))],
        };
        let rows = vec![
            row("nde", "Natural direct effect", &c.nde),
            row("nie", "Natural indirect effect", &c.nie),
            row("total", "Total effect", &c.total),
            row("proportion_mediated", "Proportion mediated", &c.proportion_mediated),
        ];
        notes.push(format!(
            "Causal mediation (Imai, Keele & Tingley 2010): effects of {} = {} against {} on Pr({} = 1) through {}; {} outcome model{}, {} mediator model; standard errors by the delta method.",
            m.treatment,
            crate::data::format_number(c.treated),
            crate::data::format_number(c.control),
            m.outcome,
            m.mediators.join(", "),
            m.model,
            if c.interaction { " with the treatment-mediator interaction" } else { "" },
            c.mediator_model
        ));
        (columns, vec![Block { variable: None, header: None, rows }])
    };
    if opts.layout == super::Layout::Stacked {
        notes.push(words.se_in_parentheses.to_string());
    }
    notes.push(format!("Standard errors: {}", m.vce));
    notes.extend(m.notes.iter().cloned());
    if let Some(l) = stars.legend() {
        notes.push(l);
    }
    let mut provenance = format!("migfit {}; data {}", report.migfit_version, report.data);
    if let Some(h) = &report.data_sha256 {
        provenance.push_str(&format!(" (SHA-256 {h})"));
    }
    provenance.push('.');
    notes.push(provenance);
    let summary =
        vec![SummaryRow { label: words.n.to_string(), values: vec![Some(m.n_obs); columns.len()], decimals: 0 }];
    Table {
        caption: opts.caption.clone(),
        layout: opts.layout,
        digits: opts.digits,
        words,
        estimate_label: words.coef.to_string(),
        star_width: stars.max_len(),
        columns,
        blocks,
        summary,
        notes,
    }
}
