//! One table from several saved results (`migfit table`, Stata's `esttab` / `etable`): each
//! JSON result (of `fit`, `twopart`, `mediate`, or a batch variant's `variants/NAME.json`) is built into
//! a [`Table`] with the same options, the tables are set side by side (rows matched by term,
//! a factor's levels under one header), then rows are kept, dropped, ordered and renamed.
//!
//! Column titles (`--columns`): one per column replaces the model headings; one per result
//! file becomes a title spanning that file's columns (esttab's `mgroups`), as in a paper's
//! table of subsamples side by side.
//!
//! Notes: a note every table has is printed once; one that only some tables have is prefixed
//! with the columns it belongs to (`(4)-(6): ...`).

use super::table::{Block, Row, SummaryRow};
use super::{build, Table, TableOptions};
use crate::data::closest;
use crate::error::{usage, DataError, Error, Result};
use crate::mediate::MediationReport;
use crate::output::Report;
use std::path::Path;

/// A saved result: a model report (`fit`, `twopart`, a batch variant) or a mediation
/// (`mediate`); each is built into a table by its own builder. Serialized as the report
/// itself (a mediation is told apart by its `mediation` field).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum Saved {
    Model(Report),
    Mediation(MediationReport),
}

impl Saved {
    /// The model report, if this is one.
    pub fn model(&self) -> Option<&Report> {
        match self {
            Saved::Model(r) => Some(r),
            Saved::Mediation(_) => None,
        }
    }

    /// The same result with the data's SHA-256 (as the command line's, which hashes its input).
    pub fn with_data_sha(&self, sha: &str) -> Saved {
        match self {
            Saved::Model(r) => Saved::Model(Report { data_sha256: Some(sha.to_string()), ..r.clone() }),
            Saved::Mediation(m) => {
                Saved::Mediation(MediationReport { data_sha256: Some(sha.to_string()), ..m.clone() })
            }
        }
    }
}

/// What `migfit table` does to the rows of the combined table.
#[derive(Debug, Clone, Default)]
pub struct CombineOptions {
    /// Column titles: one per column, or one per result.
    pub columns: Vec<String>,
    /// Rows to keep (a term, a variable, or a row label); empty keeps all.
    pub keep: Vec<String>,
    pub drop: Vec<String>,
    /// Rows (or variables) to put first, in this order.
    pub order: Vec<String>,
    /// `old=new`: a term's (or a factor's) label.
    pub rename: Vec<(String, String)>,
    /// Summary rows to show, in this order (`n`, `ll`, `r2`); `None` keeps every one.
    pub stats: Option<Vec<String>>,
}

fn data_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Data(DataError::Other(format!("{}: {}", path.display(), reason.into())))
}

/// Reads a saved result: a report (`fit`/`twopart` `--format json`), a mediation (`mediate`
/// `--format json`) or a batch variant file (its `result`). Returns it and, for a batch
/// variant, the variant's name.
pub fn read_result(path: &Path) -> Result<(Saved, Option<String>)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Data(DataError::Io { path: path.display().to_string(), reason: e.to_string() }))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        data_err(path, format!("not a JSON file ({e}); give the JSON result of migfit fit, twopart, mediate or batch"))
    })?;
    let (value, variant) = match value.get("result") {
        Some(r) if value.get("variant").is_some() => (r.clone(), value["variant"].as_str().map(str::to_string)),
        None if value.get("variant").is_some() => {
            return Err(data_err(path, "the batch variant failed and has no result"));
        }
        _ => (value, None),
    };
    if !value.is_object() || value.get("models").is_none() && value.get("migfit_version").is_none() {
        return Err(data_err(path, "not a migfit result (no 'migfit_version' and no 'models')"));
    }
    let version = value.get("migfit_version").and_then(|v| v.as_str()).unwrap_or("an unknown version").to_string();
    let stale = |e: serde_json::Error| {
        let what = e.to_string();
        let field = what
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
            .map(|f| format!("has no field '{f}'"))
            .unwrap_or(what);
        data_err(
            path,
            format!(
                "{field}: written by migfit {version}, this is migfit {}; re-run the model with this version to save its result",
                env!("CARGO_PKG_VERSION")
            ),
        )
    };
    let saved = if value.get("mediation").is_some() {
        Saved::Mediation(serde_json::from_value(value).map_err(stale)?)
    } else {
        Saved::Model(serde_json::from_value(value).map_err(stale)?)
    };
    Ok((saved, variant))
}

/// The key a block is matched by across tables.
fn block_key(b: &Block) -> String {
    match (&b.variable, &b.header) {
        (Some(v), _) => format!("v:{v}"),
        (None, _) => format!("t:{}", b.rows.first().map(|r| r.term.as_str()).unwrap_or("")),
    }
}

/// Sets built tables side by side. `groups` are titles, one per table, spanning its columns.
pub fn side_by_side(tables: Vec<Table>, groups: Option<&[String]>) -> Table {
    let mut it = tables.into_iter();
    let mut out = it.next().expect("at least one table");
    let mut spans = vec![(0usize, out.columns.len(), out.notes.clone())];
    for t in it {
        let k0 = out.columns.len();
        let k = t.columns.len();
        out.columns.extend(t.columns);
        for b in &mut out.blocks {
            for r in &mut b.rows {
                r.cells.extend(std::iter::repeat_n(None, k));
            }
        }
        for b in t.blocks {
            let key = block_key(&b);
            let at = match out.blocks.iter().position(|x| block_key(x) == key) {
                Some(i) => i,
                None => {
                    out.blocks.push(Block { variable: b.variable.clone(), header: b.header.clone(), rows: vec![] });
                    out.blocks.len() - 1
                }
            };
            for r in b.rows {
                let dest = &mut out.blocks[at].rows;
                match dest.iter().position(|x| x.term == r.term) {
                    Some(i) => {
                        for (j, c) in r.cells.into_iter().enumerate() {
                            dest[i].cells[k0 + j] = c;
                        }
                    }
                    None => {
                        let mut cells = vec![None; k0];
                        cells.extend(r.cells);
                        dest.push(Row { term: r.term, label: r.label, cells });
                    }
                }
            }
        }
        for s in &mut out.summary {
            s.values.extend(std::iter::repeat_n(None, k));
        }
        for s in t.summary {
            match out.summary.iter().position(|x| x.label == s.label) {
                Some(i) => {
                    for (j, v) in s.values.into_iter().enumerate() {
                        out.summary[i].values[k0 + j] = v;
                    }
                }
                None => {
                    let mut values = vec![None; k0];
                    values.extend(s.values);
                    out.summary.push(SummaryRow { label: s.label, values, decimals: s.decimals });
                }
            }
        }
        spans.push((k0, k, t.notes));
    }
    // The intercept's block last, as in a single table.
    if let Some(i) = out.blocks.iter().position(|b| b.rows.iter().any(|r| r.term == "(Intercept)")) {
        let b = out.blocks.remove(i);
        out.blocks.push(b);
    }
    if let Some(g) = groups {
        for (title, (k0, k, _)) in g.iter().zip(&spans) {
            for c in &mut out.columns[*k0..k0 + k] {
                c.heading.insert(0, title.clone());
            }
        }
    }
    // Notes: the ones every table has once; a column's own note renumbered to the combined
    // columns; any other note of one table prefixed with its columns.
    let common = |n: &String| renumber(n, 0).is_none() && spans.iter().all(|(_, _, o)| o.contains(n));
    let first_specific = spans[0].2.iter().position(|n| !common(n)).unwrap_or(spans[0].2.len());
    let mut notes: Vec<String> = spans[0].2[..first_specific].to_vec();
    for (k0, k, ns) in &spans {
        for n in ns.iter().filter(|n| !common(n)) {
            let n = match renumber(n, *k0) {
                Some(r) => r,
                None if *k == 1 => format!("({}) {n}", k0 + 1),
                None => format!("({})-({}): {n}", k0 + 1, k0 + k),
            };
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
    }
    for n in &spans[0].2[first_specific..] {
        if common(n) && !notes.contains(n) {
            notes.push(n.clone());
        }
    }
    out.notes = notes;
    out
}

/// A note about one column of its table (`(2) ...`, `Standard errors (2) ...`) with the
/// column's number in the combined table; `None` for a note of no one column.
fn renumber(note: &str, offset: usize) -> Option<String> {
    let (head, rest) = match note.strip_prefix("Standard errors (") {
        Some(r) => ("Standard errors (", r),
        None => ("(", note.strip_prefix('(')?),
    };
    let (num, tail) = rest.split_once(')')?;
    let j: usize = num.parse().ok()?;
    Some(format!("{head}{}){tail}", j + offset))
}

/// The names a row answers to: its term, its label, its variable.
fn row_names<'a>(b: &'a Block, r: &'a Row) -> Vec<&'a str> {
    let mut v = vec![r.term.as_str(), r.label.as_str()];
    if let Some(x) = &b.variable {
        v.push(x);
    }
    if let Some(h) = &b.header {
        v.push(h);
    }
    v
}

fn unknown(what: &str, name: &str, t: &Table) -> Error {
    let mut cands: Vec<&str> = Vec::new();
    for b in &t.blocks {
        for r in &b.rows {
            cands.extend(row_names(b, r));
        }
    }
    cands.sort();
    cands.dedup();
    let hint = match closest(name, cands.iter().copied()) {
        Some(c) => format!(" (did you mean '{c}'?)"),
        None => {
            let terms: Vec<&str> = t.blocks.iter().flat_map(|b| b.rows.iter().map(|r| r.term.as_str())).collect();
            format!(" (the terms are: {})", terms.join(", "))
        }
    };
    usage(format!("{what}: no term, variable or label '{name}' in the results{hint}"))
}

/// Applies keep, drop, order, rename and the summary rows to a combined table.
pub fn select(mut t: Table, o: &CombineOptions) -> Result<Table> {
    let matches = |b: &Block, r: &Row, name: &str| row_names(b, r).contains(&name);
    for (what, list) in [("--keep", &o.keep), ("--drop", &o.drop), ("--order", &o.order)] {
        for name in list {
            if !t.blocks.iter().any(|b| b.rows.iter().any(|r| matches(b, r, name))) {
                return Err(unknown(what, name, &t));
            }
        }
    }
    for (old, _) in &o.rename {
        if !t.blocks.iter().any(|b| b.rows.iter().any(|r| matches(b, r, old))) {
            return Err(unknown("--rename", old, &t));
        }
    }
    for b in &mut t.blocks {
        let bb = Block { variable: b.variable.clone(), header: b.header.clone(), rows: vec![] };
        b.rows.retain(|r| {
            (o.keep.is_empty() || o.keep.iter().any(|k| matches(&bb, r, k)))
                && !o.drop.iter().any(|d| matches(&bb, r, d))
        });
    }
    t.blocks.retain(|b| !b.rows.is_empty());
    if !o.order.is_empty() {
        let rank =
            |b: &Block| o.order.iter().position(|n| b.rows.iter().any(|r| matches(b, r, n))).unwrap_or(usize::MAX);
        t.blocks.sort_by_key(rank);
        for b in &mut t.blocks {
            let bb = Block { variable: b.variable.clone(), header: b.header.clone(), rows: vec![] };
            b.rows.sort_by_key(|r| o.order.iter().position(|n| matches(&bb, r, n)).unwrap_or(usize::MAX));
        }
    }
    for (old, new) in &o.rename {
        for b in &mut t.blocks {
            if b.variable.as_deref() == Some(old.as_str()) && b.header.is_some() {
                b.header = Some(new.clone());
                continue;
            }
            for r in &mut b.rows {
                if r.term == *old || r.label == *old {
                    r.label = new.clone();
                }
            }
        }
    }
    if let Some(stats) = &o.stats {
        let w = t.words;
        let mut rows = Vec::new();
        for s in stats {
            let label = match s.as_str() {
                "n" | "N" => w.n,
                "ll" => w.log_likelihood,
                "r2" | "pseudo_r2" => w.pseudo_r2,
                _ => return Err(usage(format!("--stats: unknown statistic '{s}' (expected n, ll or r2)"))),
            };
            if let Some(r) = t.summary.iter().find(|r| r.label == label) {
                rows.push(r.clone());
            }
        }
        t.summary = rows;
    }
    Ok(t)
}

/// Builds one table from saved results (`(file, report, batch variant name)`).
pub fn combine(results: &[(String, Saved, Option<String>)], opts: &TableOptions, c: &CombineOptions) -> Result<Table> {
    if results.is_empty() {
        return Err(usage("migfit table needs at least one result file"));
    }
    let mut tables = Vec::new();
    for (file, report, _) in results {
        let per = TableOptions { titles: Vec::new(), caption: None, ..opts.clone() };
        let t = match report {
            Saved::Model(r) => build(r, &per).map_err(|e| match e {
                Error::Usage(u) => usage(format!("{file}: {}", u.0)),
                e => e,
            })?,
            Saved::Mediation(m) => super::table::build_mediation(m, &per),
        };
        tables.push(t);
    }
    let ncols: usize = tables.iter().map(|t| t.columns.len()).sum();
    let nres = tables.len();
    let groups: Option<Vec<String>> = if c.columns.is_empty() {
        // A batch variant's name titles its columns when several results are combined.
        if nres > 1 && results.iter().all(|r| r.2.is_some()) {
            Some(results.iter().map(|r| r.2.clone().unwrap_or_default()).collect())
        } else {
            None
        }
    } else if c.columns.len() == ncols {
        None
    } else if c.columns.len() == nres {
        Some(c.columns.clone())
    } else {
        return Err(usage(format!(
            "--columns gives {} titles, but the results have {ncols} columns in {nres} files (give one title per column or one per file)",
            c.columns.len()
        )));
    };
    let mut t = side_by_side(tables, groups.as_deref());
    if c.columns.len() == ncols && !(groups.is_some()) {
        for (col, title) in t.columns.iter_mut().zip(&c.columns) {
            col.heading = vec![title.clone()];
        }
    }
    t.caption = opts.caption.clone();
    select(t, c)
}
