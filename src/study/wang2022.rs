//! Wang et al. (2022): Tables 1-4 from an analysis dataset, beside the published numbers.
//!
//! The specification is `examples/wang2022/spec.toml` (embedded; `--spec` reads an edited
//! copy); the published numbers are `examples/wang2022/published/table{1,2,3,4}.csv`, copied
//! from the paper.

use super::{
    and_rows, fit_with_margins, gamma_log_spec, probit_spec, rows_at_level, rows_where_one, Fitted, ModelRequest,
};
use crate::data::load::ReadOptions;
use crate::data::schema::Schema;
use crate::data::{ColumnData, Dataset, MISSING_CODE};
use crate::error::{usage, Result};
use crate::model::ModelSpec;
use crate::vce::VceKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SPEC_TOML: &str = include_str!("../../examples/wang2022/spec.toml");
pub const TABLE1_CSV: &str = include_str!("../../examples/wang2022/published/table1.csv");
pub const TABLE2_CSV: &str = include_str!("../../examples/wang2022/published/table2.csv");
pub const TABLE3_CSV: &str = include_str!("../../examples/wang2022/published/table3.csv");
pub const TABLE4_CSV: &str = include_str!("../../examples/wang2022/published/table4.csv");
/// The schema of a CMDS-2014 extract (embedded; `reproduce --schema` reads an edited copy).
pub const SCHEMA_TOML: &str = include_str!("../../data-schema/cmds2014.toml");
pub const SCHEMA_PATH: &str = "data-schema/cmds2014.toml";

/// The embedded schema of a CMDS-2014 extract.
pub fn schema() -> Schema {
    Schema::parse(SCHEMA_TOML, SCHEMA_PATH).expect("the embedded schema is valid")
}

/// The analysis dataset of a raw CMDS-2014 extract held in memory as CSV text (a synthetic
/// extract), through the embedded schema: the path `reproduce` takes without `--data`.
pub fn analysis_from_csv(bytes: &[u8], display: &str) -> Result<Dataset> {
    super::load_extract(super::Extract::Csv { bytes, display }, &ReadOptions::default(), &schema())
}

#[derive(Debug, Clone, Deserialize)]
pub struct Spec {
    pub study: StudySection,
    pub part: Vec<PartSpec>,
    pub sample: Vec<SampleSpec>,
    pub terms: BTreeMap<String, String>,
    pub table1: BTreeMap<String, String>,
    pub table2: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StudySection {
    pub name: String,
    pub title: String,
    pub citation: String,
    pub rhs: String,
    pub vce: String,
    pub level: f64,
    pub n: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PartSpec {
    pub name: String,
    pub label: String,
    pub model: String,
    pub family: Option<String>,
    pub link: Option<String>,
    pub response: String,
    pub recipients_only: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SampleSpec {
    pub name: String,
    pub label: String,
    pub column: Option<String>,
    pub level: Option<String>,
}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec> {
        toml::from_str(text).map_err(|e| usage(format!("spec: {e}")))
    }
    pub fn embedded() -> Spec {
        Spec::parse(SPEC_TOML).expect("the embedded spec is valid")
    }
}

/// The fits of one sample: one per part, in the spec's order.
pub struct SampleFits {
    pub sample: String,
    pub parts: Vec<(String, Fitted)>,
}

/// How the parts are fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The paper's estimators on observed outcomes.
    Observed,
    /// Probability limits: outcomes replaced by their conditional means, second parts
    /// weighted by `w_recipient` (see `simulate::wang2022::expected_dataset`).
    Expected,
}

/// Fits every part on every sample.
pub fn estimate(ds: &Dataset, spec: &Spec, mode: Mode) -> Result<Vec<SampleFits>> {
    let vce = VceKind::parse(&spec.study.vce)?;
    let mut out = Vec::new();
    for s in &spec.sample {
        let sub = match (&s.column, &s.level) {
            (Some(c), Some(l)) => Some(rows_at_level(ds, c, l)?),
            _ => None,
        };
        let mut parts = Vec::new();
        for p in &spec.part {
            let formula = format!("{} ~ {}", p.response, spec.study.rhs);
            let mut model_spec = match p.model.as_str() {
                "probit" => probit_spec(mode == Mode::Expected),
                other => {
                    ModelSpec::new(crate::model::ModelKind::parse(other)?, p.family.as_deref(), p.link.as_deref())?
                }
            };
            if p.model == "glm" && p.family.as_deref() == Some("gamma") {
                model_spec = gamma_log_spec();
            }
            let (restrict, aweights) = if p.recipients_only {
                match mode {
                    Mode::Observed => (and_rows(sub.clone(), Some(rows_where_one(ds, "received")?)), None),
                    Mode::Expected => (sub.clone(), Some("w_recipient")),
                }
            } else {
                (sub.clone(), None)
            };
            let f = fit_with_margins(
                ds,
                ModelRequest {
                    name: format!("{}/{}", s.name, p.name),
                    formula: &formula,
                    spec: model_spec,
                    restrict,
                    aweights,
                    vce,
                    level: spec.study.level,
                },
            )?;
            parts.push((p.name.clone(), f));
        }
        out.push(SampleFits { sample: s.name.clone(), parts });
    }
    Ok(out)
}

/// One compared cell: published value (and SE), reproduced value (and SE), difference in
/// units of the published SE.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub table: String,
    pub row: String,
    pub column: String,
    pub published: f64,
    pub published_se: Option<f64>,
    pub reproduced: f64,
    pub reproduced_se: Option<f64>,
    /// (reproduced - published) / SE; `None` when no SE applies (counts, p-values).
    pub diff_se: Option<f64>,
    /// Counted in the summary (within 1.96 SE, or within rounding for cells published as
    /// 0.000 with SE 0.000).
    pub within: Option<bool>,
}

fn read_csv(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(|s| s.to_string()).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            header.iter().cloned().zip(r.iter().map(|s| s.to_string())).collect()
        })
        .collect()
}

fn num(s: Option<&String>) -> Option<f64> {
    s.and_then(|v| v.trim().parse::<f64>().ok())
}

/// Within 1.96 published SE; a cell published as 0.000 (0.000) is within when the reproduced
/// value rounds to 0.000 at three decimals.
fn judge(published: f64, se: f64, reproduced: f64) -> (Option<f64>, Option<bool>) {
    if se == 0.0 {
        return (None, Some((reproduced - published).abs() < 0.0005));
    }
    let d = (reproduced - published) / se;
    (Some(d), Some(d.abs() <= 1.96))
}

/// The Table 3 and Table 4 comparisons (marginal effects).
pub fn compare_effects(spec: &Spec, fits: &[SampleFits]) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();
    let find = |sample: &str, part: &str, term: &str| -> Option<(f64, f64)> {
        let s = fits.iter().find(|s| s.sample == sample)?;
        let f = &s.parts.iter().find(|p| p.0 == part)?.1;
        f.ame(term).map(|m| (m.estimate, m.std_error))
    };
    let mut add = |table: &str, sample: &str, rec: &BTreeMap<String, String>| -> Result<()> {
        let term = &rec["term"];
        let Some(ours) = spec.terms.get(term) else {
            return Ok(());
        };
        for p in &spec.part {
            let (Some(pm), Some(ps)) =
                (num(rec.get(&format!("{}_me", p.name))), num(rec.get(&format!("{}_se", p.name))))
            else {
                continue;
            };
            let (rm, rs) = find(sample, &p.name, ours).unwrap_or((f64::NAN, f64::NAN));
            let (d, w) = judge(pm, ps, rm);
            cells.push(Cell {
                table: table.into(),
                row: if table == "table4" { format!("{sample}: {term}") } else { term.clone() },
                column: p.name.clone(),
                published: pm,
                published_se: Some(ps),
                reproduced: rm,
                reproduced_se: Some(rs),
                diff_se: d,
                within: if rm.is_nan() { Some(false) } else { w },
            });
        }
        Ok(())
    };
    for rec in read_csv(TABLE3_CSV) {
        if rec["block"] == "n" {
            continue;
        }
        add("table3", "total", &rec)?;
    }
    for rec in read_csv(TABLE4_CSV) {
        let s = rec["subsample"].clone();
        add("table4", &s, &rec)?;
    }
    Ok(cells)
}

fn numeric<'a>(ds: &'a Dataset, var: &str) -> Result<&'a [f64]> {
    match ds.column(var).map(|c| &c.data) {
        Some(ColumnData::Numeric(v)) => Ok(v),
        _ => Err(usage(format!("the data has no numeric column '{var}'"))),
    }
}

/// Values of a Table 1 item on the rows in `rows`: numeric variable or `var=level` indicator.
fn item_values(ds: &Dataset, what: &str, rows: &[bool]) -> Result<Vec<f64>> {
    let v: Vec<f64> = if let Some((var, level)) = what.split_once('=') {
        let at = rows_at_level(ds, var, level)?;
        let miss: Vec<bool> = match ds.column(var).map(|c| &c.data) {
            Some(ColumnData::Categorical(f)) => f.codes.iter().map(|&c| c == MISSING_CODE).collect(),
            _ => unreachable!(),
        };
        at.iter()
            .zip(miss)
            .map(|(a, m)| {
                if m {
                    f64::NAN
                } else if *a {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    } else {
        numeric(ds, what)?.to_vec()
    };
    Ok(v.iter().zip(rows).filter(|(x, r)| **r && !x.is_nan()).map(|(x, _)| *x).collect())
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let ss = v.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    (m, (ss / (n - 1.0)).sqrt())
}

/// Table 1: shares and means by insurance group, beside the published ones. SE of a
/// published share p (percent) in a group of n: sqrt(p (100 - p) / n); of a published mean:
/// SD / sqrt(n) with the published SD and the reproduced number of non-missing values.
pub fn compare_table1(spec: &Spec, ds: &Dataset) -> Result<Vec<Cell>> {
    let all = vec![true; ds.n_rows()];
    let groups = [
        ("total", all.clone()),
        ("ncms", rows_at_level(ds, "scheme_group", "ncms")?),
        ("urban", rows_at_level(ds, "scheme_group", "urban")?),
    ];
    let mut cells = Vec::new();
    for rec in read_csv(TABLE1_CSV) {
        let row = rec["row"].clone();
        for (g, rows) in &groups {
            let Some(pv) = num(rec.get(*g)) else { continue };
            let second = num(rec.get(&format!("{g}_pct_or_sd")));
            let n_group = rows.iter().filter(|r| **r).count() as f64;
            if rec["kind"] == "count" {
                cells.push(Cell {
                    table: "table1".into(),
                    row: row.clone(),
                    column: g.to_string(),
                    published: pv,
                    published_se: None,
                    reproduced: n_group,
                    reproduced_se: None,
                    diff_se: None,
                    within: None,
                });
                continue;
            }
            let Some(what) = spec.table1.get(&row) else { continue };
            let v = item_values(ds, what, rows)?;
            if rec["kind"] == "n_pct" {
                let Some(pp) = second else { continue };
                let rp = 100.0 * v.iter().sum::<f64>() / v.len() as f64;
                let se = (pp * (100.0 - pp) / n_group).sqrt();
                let (d, w) = if se > 0.0 { judge(pp, se, rp) } else { (None, Some((rp - pp).abs() < 0.005)) };
                cells.push(Cell {
                    table: "table1".into(),
                    row: format!("{row} (%)"),
                    column: g.to_string(),
                    published: pp,
                    published_se: Some(se),
                    reproduced: rp,
                    reproduced_se: Some((rp * (100.0 - rp) / v.len() as f64).sqrt()),
                    diff_se: d,
                    within: w,
                });
            } else {
                let Some(psd) = second else { continue };
                let (m, sd) = mean_sd(&v);
                let se = psd / (v.len() as f64).sqrt();
                let (d, w) = judge(pv, se, m);
                cells.push(Cell {
                    table: "table1".into(),
                    row: format!("{row} (mean)"),
                    column: g.to_string(),
                    published: pv,
                    published_se: Some(se),
                    reproduced: m,
                    reproduced_se: Some(sd / (v.len() as f64).sqrt()),
                    diff_se: d,
                    within: w,
                });
            }
        }
    }
    Ok(cells)
}

/// Table 2: means by migration scope with the published tests' p-values.
pub fn compare_table2(spec: &Spec, ds: &Dataset) -> Result<Vec<Cell>> {
    let group_var = spec.table2.get("group").map(String::as_str).unwrap_or("scope");
    let levels = ["within_city", "across_cities", "across_provinces"];
    let rows: Vec<Vec<bool>> = levels.iter().map(|l| rows_at_level(ds, group_var, l)).collect::<Result<_>>()?;
    let mut cells = Vec::new();
    for rec in read_csv(TABLE2_CSV) {
        let var = rec["variable"].clone();
        let Some(col) = spec.table2.get(&var) else { continue };
        let vals: Vec<Vec<f64>> = rows.iter().map(|r| item_values(ds, col, r)).collect::<Result<_>>()?;
        let binary = vals.iter().flatten().all(|x| *x == 0.0 || *x == 1.0);
        let scale = if binary { 100.0 } else { 1.0 };
        for (k, l) in ["within_city", "across_cities", "across_provinces"].iter().enumerate() {
            let text = &rec[*l];
            let (pm, psd) = match text.split_once('(') {
                Some((a, b)) => (
                    a.trim().parse::<f64>().unwrap_or(f64::NAN),
                    b.trim_end_matches(')').trim().parse::<f64>().unwrap_or(f64::NAN),
                ),
                None => continue,
            };
            let (m, sd) = mean_sd(&vals[k]);
            let se = psd / (vals[k].len() as f64).sqrt();
            let (d, w) = judge(pm, se, scale * m);
            cells.push(Cell {
                table: "table2".into(),
                row: format!("{var} (mean)"),
                column: levels[k].to_string(),
                published: pm,
                published_se: Some(se),
                reproduced: scale * m,
                reproduced_se: Some(scale * sd / (vals[k].len() as f64).sqrt()),
                diff_se: d,
                within: w,
            });
        }
        // The test: chi-square for a 0/1 variable, one-way ANOVA otherwise.
        let p = if binary {
            crate::stats::chi2_binary_groups(&vals)
        } else {
            crate::stats::anova(&vals).map_or(f64::NAN, |t| t.p_value)
        };
        let pub_p = rec["p_value"].trim_start_matches('<').parse::<f64>().unwrap_or(f64::NAN);
        cells.push(Cell {
            table: "table2".into(),
            row: format!("{var} (p, {})", if binary { "chi-square" } else { "ANOVA" }),
            column: "p_value".into(),
            published: pub_p,
            published_se: None,
            reproduced: p,
            reproduced_se: None,
            diff_se: None,
            within: None,
        });
    }
    Ok(cells)
}

/// The whole reproduction.
#[derive(Debug, Clone, Serialize)]
pub struct Reproduction {
    pub study: String,
    pub data: String,
    pub cells: Vec<Cell>,
    pub within: usize,
    pub judged: usize,
}

impl Reproduction {
    pub fn summary(&self) -> String {
        format!(
            "{} of {} published cells lie within 1.96 SE of the reproduced value ({:.1}%).",
            self.within,
            self.judged,
            100.0 * self.within as f64 / self.judged.max(1) as f64
        )
    }
}

/// Runs Tables 1-4.
pub fn reproduce(ds: &Dataset, spec: &Spec) -> Result<(Reproduction, Vec<SampleFits>)> {
    let fits = estimate(ds, spec, Mode::Observed)?;
    let mut cells = compare_table1(spec, ds)?;
    cells.extend(compare_table2(spec, ds)?);
    cells.extend(compare_effects(spec, &fits)?);
    let judged = cells.iter().filter(|c| c.within.is_some()).count();
    let within = cells.iter().filter(|c| c.within == Some(true)).count();
    Ok((Reproduction { study: spec.study.name.clone(), data: ds.source.clone(), cells, within, judged }, fits))
}

fn f3(v: f64) -> String {
    if v.is_nan() {
        ".".into()
    } else {
        format!("{v:.3}")
    }
}

/// Plain-text rendering: one block per table, published | reproduced | difference in SE.
/// (INTERIM: to be replaced by the `report` branch's table model and renderers.)
pub fn to_text(r: &Reproduction, spec: &Spec) -> String {
    let mut out = String::new();
    out.push_str(&format!("{}\n{}\nData: {}\n", spec.study.title, spec.study.citation, r.data));
    let titles = [
        ("table1", "Table 1. Sample characteristics: n (%) as percent, mean (SD) as mean"),
        ("table2", "Table 2. Outcomes by migration scope; tests: chi-square (proportion), one-way ANOVA"),
        ("table3", "Table 3. Two-part model, total sample: average marginal effects (OIM delta-method SE)"),
        ("table4", "Table 4. Migration-scope average marginal effects in the insurance subsamples"),
    ];
    for (t, title) in titles {
        out.push_str(&format!("\n{title}\n"));
        out.push_str(&format!(
            "{:<52} {:<8} {:>11} {:>9} {:>11} {:>9} {:>8}\n",
            "row", "column", "published", "(SE)", "reproduced", "(SE)", "diff/SE"
        ));
        for c in r.cells.iter().filter(|c| c.table == t) {
            let se = |s: Option<f64>| s.map(|v| format!("({})", f3(v))).unwrap_or_default();
            let digits = if t == "table1" || t == "table2" { 2 } else { 3 };
            let v = |x: f64| if x.is_nan() { ".".to_string() } else { format!("{x:.digits$}") };
            let flag = match c.within {
                Some(false) => " *",
                _ => "",
            };
            out.push_str(&format!(
                "{:<52} {:<8} {:>11} {:>9} {:>11} {:>9} {:>8}{}\n",
                c.row,
                c.column,
                v(c.published),
                se(c.published_se),
                v(c.reproduced),
                se(c.reproduced_se),
                c.diff_se.map(|d| format!("{d:+.2}")).unwrap_or_default(),
                flag
            ));
        }
    }
    out.push_str("\n* = more than 1.96 published SE from the reproduced value.\n");
    out.push_str(&format!("Summary: {}\n", r.summary()));
    out
}
