//! Builds a [`Table`] from a [`Report`]: one column per model (or part, or the combined
//! effects), rows in the order of the formula with the intercept last, a block per variable,
//! summary rows and notes.

use super::labels::{split_interaction, Labeller, TermClass};
use super::{Block, Cell, Column, Lang, Layout, Row, Show, SummaryRow, Table, TableOptions, EN, ZH};
use super::{StatRow, Words};
use crate::error::{usage, Result};
use crate::inference::wald::WaldTest;
use crate::output::{ModelReport, Report};
use crate::report::format::fixed as fmt_fixed;

/// One column's source numbers before they are laid out in rows.
struct Source<'a> {
    name: String,
    model: Option<&'a ModelReport>,
    entries: Vec<(String, Cell)>,
    n: Option<f64>,
    ll: Option<f64>,
    r2: Option<f64>,
}

fn model_title(m: &ModelReport, part: Option<&str>) -> String {
    let base = match m.model.as_str() {
        "probit" => "Probit".to_string(),
        "logit" => "Logit".to_string(),
        _ => format!("GLM {}-{}", m.family, m.link),
    };
    match part {
        Some(p) => format!("{p}: {base}"),
        None => base,
    }
}

/// Builds the table of a report.
pub fn build(report: &Report, opts: &TableOptions) -> Result<Table> {
    let words = match opts.lang {
        Lang::En => EN,
        Lang::Zh => ZH,
    };
    let lab = Labeller { vars: &report.variables, lang: opts.lang, words };
    let stars = &opts.stars;
    let cell = |estimate: f64,
                std_error: f64,
                statistic: f64,
                p_value: f64,
                conf_low: f64,
                conf_high: f64,
                contrast: Option<String>| Cell {
        estimate,
        std_error,
        statistic,
        p_value,
        conf_low,
        conf_high,
        contrast,
        stars: stars.mark(p_value),
    };
    let twopart = report.command == "twopart";
    let mut sources: Vec<Source> = Vec::new();
    for m in &report.models {
        let entries: Vec<(String, Cell)> = match opts.show {
            Show::Coef => m
                .coefficients
                .iter()
                .map(|c| {
                    let e = cell(c.estimate, c.std_error, c.statistic, c.p_value, c.conf_low, c.conf_high, None);
                    (c.term.clone(), e)
                })
                .collect(),
            Show::OddsRatios => {
                if m.link != "logit" {
                    return Err(usage(format!(
                        "showing odds ratios (or) needs logit models, but {} is {}",
                        m.name,
                        model_title(m, None)
                    )));
                }
                m.coefficients
                    .iter()
                    .map(|c| {
                        let e = if m.odds_ratios {
                            cell(c.estimate, c.std_error, c.statistic, c.p_value, c.conf_low, c.conf_high, None)
                        } else {
                            let or = crate::stats::odds_ratio(c.estimate, c.std_error, c.conf_low, c.conf_high);
                            cell(or.estimate, or.std_error, c.statistic, c.p_value, or.conf_low, or.conf_high, None)
                        };
                        (c.term.clone(), e)
                    })
                    .collect()
            }
            Show::Margins => {
                if m.margins.is_empty() {
                    return Err(usage(format!(
                        "showing margins: model '{}' has no marginal effects (ask for marginal effects when fitting it)",
                        m.name
                    )));
                }
                m.margins
                    .iter()
                    .map(|g| {
                        let e = cell(
                            g.estimate,
                            g.std_error,
                            g.statistic,
                            g.p_value,
                            g.conf_low,
                            g.conf_high,
                            Some(g.contrast.clone()),
                        );
                        (g.term.clone(), e)
                    })
                    .collect()
            }
        };
        sources.push(Source {
            name: m.name.clone(),
            model: Some(m),
            entries,
            n: Some(m.n_obs),
            ll: Some(m.log_likelihood),
            r2: m.pseudo_r2,
        });
    }
    let combined_column = |c: &crate::output::Combined| {
        opts.show == Show::Margins || !c.predictions.is_empty() || !c.contrasts.is_empty()
    };
    if let Some(c) = report.combined.as_ref().filter(|c| combined_column(c)) {
        sources.push(Source {
            name: "combined".into(),
            model: None,
            entries: c
                .margins
                .iter()
                .map(|g| {
                    let e = cell(
                        g.estimate,
                        g.std_error,
                        g.statistic,
                        g.p_value,
                        g.conf_low,
                        g.conf_high,
                        Some(g.contrast.clone()),
                    );
                    (g.term.clone(), e)
                })
                .collect(),
            n: report.models.first().map(|m| m.n_obs),
            ll: None,
            r2: None,
        });
    }
    if !opts.titles.is_empty() && opts.titles.len() != sources.len() {
        return Err(usage(format!(
            "{} column titles given, but the table has {} columns",
            opts.titles.len(),
            sources.len()
        )));
    }

    // Columns.
    let response_label = |m: &ModelReport| -> String {
        match lab.find_var(&m.response) {
            Some(i) => lab.var_label(i),
            None => lab.part_label(&m.response),
        }
    };
    let columns: Vec<Column> = sources
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let heading = if let Some(t) = opts.titles.get(j) {
                vec![t.clone()]
            } else {
                match (s.model, twopart) {
                    // A `--by` group's model is named `VAR=value`.
                    (Some(m), false) if m.name.contains('=') => {
                        vec![response_label(m), model_title(m, None), m.name.clone()]
                    }
                    (Some(m), false) => vec![response_label(m), model_title(m, None)],
                    (Some(m), true) => {
                        let what = if m.name == "first" {
                            format!(
                                "Pr({} > 0)",
                                report
                                    .models
                                    .get(1)
                                    .map(|m2| base_response(&m2.response))
                                    .unwrap_or_else(|| m.response.clone())
                            )
                        } else {
                            format!("E[{} | > 0]", m.response)
                        };
                        vec![what, model_title(m, None)]
                    }
                    (None, _) => {
                        let y = report.models.get(1).map(|m2| base_response(&m2.response)).unwrap_or_default();
                        vec![format!("E[{y}]"), "Two-part".to_string()]
                    }
                }
            };
            Column { heading, name: s.name.clone() }
        })
        .collect();

    // Rows in order of first appearance; the intercept last (Stata's _cons).
    let ncol = sources.len();
    let mut terms: Vec<String> = Vec::new();
    for s in &sources {
        for (t, _) in &s.entries {
            if !terms.contains(t) {
                terms.push(t.clone());
            }
        }
    }
    // Margins list variables before factor levels; put every row where the regressor stands
    // in the formula (the order of the coefficients).
    let coef_order: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for m in &report.models {
            for c in &m.coefficients {
                if !v.contains(&c.term.as_str()) {
                    v.push(&c.term);
                }
            }
        }
        v
    };
    let rank = |t: &str| -> usize {
        coef_order.iter().position(|c| *c == t).unwrap_or_else(|| {
            coef_order.iter().position(|c| crate::output::identifiers(c).iter().any(|id| id == t)).unwrap_or(usize::MAX)
        })
    };
    terms.sort_by_key(|t| rank(t));
    if let Some(i) = terms.iter().position(|t| t == "(Intercept)") {
        let t = terms.remove(i);
        terms.push(t);
    }
    let mut blocks: Vec<Block> = Vec::new();
    let mut block_keys: Vec<String> = Vec::new();
    for t in &terms {
        let class = lab.classify(t);
        let (key, variable, header, label) = match &class {
            TermClass::Level(i, l) => (
                format!("f:{}", report.variables[*i].name),
                Some(report.variables[*i].name.clone()),
                Some(lab.factor_header(*i)),
                lab.level_label(*i, *l),
            ),
            TermClass::Numeric(Some(i)) => (
                format!("v:{}", report.variables[*i].name),
                Some(report.variables[*i].name.clone()),
                None,
                lab.part_label(t),
            ),
            TermClass::Intercept => ("_cons".to_string(), None, None, words.constant.to_string()),
            _ => (
                format!("t:{t}"),
                None,
                None,
                split_interaction(t).iter().map(|p| lab.part_label(p)).collect::<Vec<_>>().join(" × "),
            ),
        };
        let cells = sources.iter().map(|s| s.entries.iter().find(|(n, _)| n == t).map(|(_, c)| c.clone())).collect();
        let row = Row { term: t.clone(), label, cells };
        match block_keys.iter().position(|k| *k == key) {
            Some(b) => blocks[b].rows.push(row),
            None => {
                block_keys.push(key);
                blocks.push(Block { variable, header, rows: vec![row] });
            }
        }
    }
    // Factor levels in their natural order within a block.
    for b in &mut blocks {
        if let Some(v) = b.variable.as_ref().and_then(|v| lab.find_var(v)) {
            let vi = &report.variables[v];
            if vi.term_prefix.is_some() {
                b.rows.sort_by_key(|r| match lab.classify(&r.term) {
                    TermClass::Level(_, l) => l,
                    _ => usize::MAX,
                });
            }
        }
    }

    // Predictive margins and their contrasts: one block each, a row per term and grid point.
    for (kind, header) in [(0, words.predictive_margins), (1, words.contrasts)] {
        let list = |s: &Source| -> Vec<crate::output::Prediction> {
            let (p, c) = match s.model {
                Some(m) => (&m.predictions, &m.contrasts),
                None => match &report.combined {
                    Some(c) => (&c.predictions, &c.contrasts),
                    None => return Vec::new(),
                },
            };
            if kind == 0 {
                p.clone()
            } else {
                c.clone()
            }
        };
        let lists: Vec<Vec<crate::output::Prediction>> = sources.iter().map(list).collect();
        let mut keys: Vec<(String, String)> = Vec::new();
        for l in &lists {
            for p in l {
                let k = (p.term.clone(), p.at_text());
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        if keys.is_empty() {
            continue;
        }
        let rows = keys
            .into_iter()
            .map(|(term, at)| {
                let cells = lists
                    .iter()
                    .map(|l| {
                        l.iter().find(|p| p.term == term && p.at_text() == at).map(|p| {
                            cell(p.estimate, p.std_error, p.statistic, p.p_value, p.conf_low, p.conf_high, None)
                        })
                    })
                    .collect();
                let label = if at.is_empty() { term.clone() } else { format!("{term} ({at})") };
                Row { term, label, cells }
            })
            .collect();
        blocks.push(Block { variable: None, header: Some(header.to_string()), rows });
    }

    let summary = summary_rows(&sources, opts, &words);

    // Notes: what the cells are, the variance, warnings, stars, provenance.
    let mut notes: Vec<String> = Vec::new();
    let col_name = |j: usize| -> String {
        let h = &columns[j].heading;
        format!("({}) {}", j + 1, h.join(" "))
    };
    let mut what = match opts.show {
        Show::Coef => String::new(),
        Show::Margins => String::new(),
        Show::OddsRatios => {
            "Odds ratios exp(b); standard errors exp(b) se(b) by the delta method; stars from the test of b = 0. "
                .into()
        }
    };
    if opts.layout == Layout::Stacked {
        what.push_str(words.se_in_parentheses);
    }
    if !what.is_empty() {
        notes.push(what.trim().to_string());
    }
    if opts.show == Show::Margins {
        let descs: Vec<Option<String>> = sources
            .iter()
            .map(|s| match s.model {
                Some(m) => m.margins_description.clone(),
                None => report.combined.as_ref().map(|c| c.description.clone()),
            })
            .collect();
        if ncol > 1 && descs.iter().all(|d| *d == descs[0]) {
            notes.extend(descs[0].clone());
        } else {
            for (j, d) in descs.into_iter().enumerate() {
                if let Some(d) = d {
                    notes.push(format!("{}: {d}", col_name(j)));
                }
            }
        }
    }
    let vces: Vec<String> = sources
        .iter()
        .map(|s| match s.model {
            Some(m) => m.vce.clone(),
            None => report.combined.as_ref().map(|c| c.vce.clone()).unwrap_or_default(),
        })
        .collect();
    if ncol > 0 && vces.iter().all(|v| *v == vces[0]) {
        notes.push(format!("Standard errors: {}", vces[0]));
    } else {
        for (j, v) in vces.iter().enumerate() {
            notes.push(format!("Standard errors {}: {v}", col_name(j)));
        }
    }
    for (j, s) in sources.iter().enumerate() {
        if let Some(m) = s.model {
            for n in &m.notes {
                if ncol > 1 {
                    notes.push(format!("{}: {n}", col_name(j)));
                } else {
                    notes.push(n.clone());
                }
            }
        }
    }
    for (j, s) in sources.iter().enumerate() {
        if let Some(m) = s.model {
            let prefix = if ncol > 1 { format!("{}: ", col_name(j)) } else { String::new() };
            for t in &m.tests {
                notes.push(format!("{prefix}{}", t.sentence()));
            }
            for l in &m.lincom {
                notes.push(format!("{prefix}{}", lincom_sentence(l, m.level, opts.digits)));
            }
        }
    }
    // Tests across the models (`--by ... --test-equal`).
    for t in &report.tests {
        notes.push(t.sentence());
    }
    // Tests and combinations of the combined E[y]'s margins.
    if let Some(c) = &report.combined {
        let level = report.models.first().map_or(95.0, |m| m.level);
        for t in &c.tests {
            notes.push(format!("combined: {}", t.sentence()));
        }
        for l in &c.lincom {
            notes.push(format!("combined: {}", lincom_sentence(l, level, opts.digits)));
        }
    }
    if let Some(l) = stars.legend() {
        notes.push(l);
    }
    let mut provenance = format!("migfit {}; data {}", report.migfit_version, report.data);
    if let Some(h) = &report.data_sha256 {
        provenance.push_str(&format!(" (SHA-256 {h})"));
    }
    provenance.push('.');
    notes.push(provenance);

    Ok(Table {
        caption: opts.caption.clone(),
        layout: opts.layout,
        digits: opts.digits,
        words,
        estimate_label: match opts.show {
            Show::Coef => words.coef,
            Show::Margins => words.margin,
            Show::OddsRatios => words.odds_ratio,
        }
        .to_string(),
        star_width: stars.max_len(),
        columns,
        blocks,
        summary,
        notes,
    })
}

/// `log(amount)` -> `amount` for headings of two-part columns; anything else unchanged.
fn base_response(r: &str) -> String {
    let ids = crate::output::identifiers(r);
    match ids.as_slice() {
        [f, v] if ["log", "ln", "sqrt", "exp"].contains(&f.as_str()) => v.clone(),
        [v] => v.clone(),
        _ => r.to_string(),
    }
}

/// The summary rows: `--stats` in its order, or N, log likelihood and pseudo R2; rows with no
/// value in any column are left out.
fn summary_rows(sources: &[Source], opts: &TableOptions, words: &Words) -> Vec<SummaryRow> {
    let default = [StatRow::N, StatRow::LogLikelihood, StatRow::PseudoR2];
    let rows: &[StatRow] = if opts.stats.is_empty() { &default } else { &opts.stats };
    let count = |v: Option<usize>| v.map(|c| c as f64);
    rows.iter()
        .map(|r| {
            let (label, decimals, value): (String, usize, &dyn Fn(&Source) -> Option<f64>) = match r {
                StatRow::N => (words.n.to_string(), 0, &|s: &Source| s.n),
                StatRow::LogLikelihood => (words.log_likelihood.to_string(), opts.digits, &|s: &Source| s.ll),
                StatRow::PseudoR2 => (words.pseudo_r2.to_string(), opts.digits, &|s: &Source| s.r2),
                StatRow::Aic => ("AIC".to_string(), opts.digits, &|s: &Source| s.model.and_then(|m| m.aic)),
                StatRow::Bic => ("BIC".to_string(), opts.digits, &|s: &Source| s.model.and_then(|m| m.bic)),
                StatRow::ModelTest => (model_test_label(sources), opts.digits, &|s: &Source| {
                    s.model.and_then(|m| m.model_test.as_ref()).map(|t| t.statistic)
                }),
                StatRow::ModelP => ("Prob > chi2 / F".to_string(), opts.digits.max(3), &|s: &Source| {
                    s.model.and_then(|m| m.model_test.as_ref()).map(|t| t.p_value)
                }),
                StatRow::Clusters => {
                    (words_clusters(words), 0, &|s: &Source| s.model.and_then(|m| count(m.n_clusters)))
                }
                StatRow::Strata => (words_strata(words), 0, &|s: &Source| s.model.and_then(|m| count(m.n_strata))),
            };
            SummaryRow { label, values: sources.iter().map(value).collect(), decimals }
        })
        .filter(|r| r.values.iter().any(|v| v.is_some()))
        .collect()
}

fn words_clusters(w: &Words) -> String {
    if w.constant == super::ZH.constant {
        "聚类数".into()
    } else {
        "Clusters".into()
    }
}

fn words_strata(w: &Words) -> String {
    if w.constant == super::ZH.constant {
        "层数".into()
    } else {
        "Strata".into()
    }
}

/// "Wald chi2", "LR chi2" or "F", from the columns' model tests.
fn model_test_label(sources: &[Source]) -> String {
    let tests: Vec<&WaldTest> = sources.iter().filter_map(|s| s.model.and_then(|m| m.model_test.as_ref())).collect();
    let name = |t: &WaldTest| match (t.kind, t.method) {
        ("F", _) => "F".to_string(),
        (_, Some(m)) => format!("{m} chi2"),
        _ => "Wald chi2".to_string(),
    };
    match tests.first() {
        Some(t) if tests.iter().all(|u| name(u) == name(t)) => name(t),
        _ => "Model chi2 / F".to_string(),
    }
}

/// "Linear combination a - b = 0.123 (SE 0.045; 95% CI 0.035 to 0.211; p = 0.0062)." ("of
/// margins" for a combination of margins).
fn lincom_sentence(l: &crate::output::Lincom, level: f64, digits: usize) -> String {
    format!(
        "Linear combination {}{} = {} (SE {}; {}% CI {} to {}; {}).",
        if l.on == Some("margins") { "of margins " } else { "" },
        l.term,
        fmt_fixed(l.estimate, digits),
        fmt_fixed(l.std_error, digits),
        crate::data::format_number(level),
        fmt_fixed(l.conf_low, digits),
        fmt_fixed(l.conf_high, digits),
        crate::inference::wald::format_p(l.p_value)
    )
}
