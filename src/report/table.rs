//! The one table model every renderer draws: columns are models (or the parts of a two-part
//! model and its combined effects), row blocks are variables (a factor's block has a header
//! naming its reference level and one row per level), cells hold an estimate, its standard
//! error and stars; summary rows give N, the log likelihood and the pseudo R2; notes say what
//! the numbers are.
//!
//! The table is built from a [`Report`] alone (its `variables` carry the factor levels and
//! labels), so a table can be rebuilt from the exported JSON.

use crate::error::{usage, Result};
use crate::output::{ModelReport, Report, VariableInfo};

/// Where the standard error goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// In parentheses under the estimate (esttab's default).
    Stacked,
    /// In its own column next to the estimate (the reference study's Table 3).
    Side,
}

/// What the cells hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    Coef,
    Margins,
    OddsRatios,
}

/// Which labels to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Layout {
    pub fn parse(s: &str) -> Result<Layout> {
        match s {
            "stacked" => Ok(Layout::Stacked),
            "side" => Ok(Layout::Side),
            _ => Err(usage(format!("unknown --layout '{s}' (expected stacked or side)"))),
        }
    }
}

impl Show {
    pub fn parse(s: &str) -> Result<Show> {
        match s {
            "coef" => Ok(Show::Coef),
            "margins" => Ok(Show::Margins),
            "or" => Ok(Show::OddsRatios),
            _ => Err(usage(format!("unknown --show '{s}' (expected coef, margins or or)"))),
        }
    }
}

impl Lang {
    pub fn parse(s: &str) -> Result<Lang> {
        match s {
            "en" => Ok(Lang::En),
            "zh" => Ok(Lang::Zh),
            _ => Err(usage(format!("unknown --lang '{s}' (expected en or zh)"))),
        }
    }
}

/// Significance stars: `p < thresholds[i]` earns `thresholds.len() - i` stars (ascending order).
#[derive(Debug, Clone, PartialEq)]
pub struct Stars {
    thresholds: Vec<f64>,
}

impl Default for Stars {
    /// The reference study's: ** p<0.01, * p<0.05.
    fn default() -> Stars {
        Stars { thresholds: vec![0.01, 0.05] }
    }
}

impl Stars {
    /// Parses `"0.01,0.05"` (any order); `""` or `"none"` means no stars.
    pub fn parse(s: &str) -> Result<Stars> {
        let s = s.trim();
        if s.is_empty() || s == "none" {
            return Ok(Stars { thresholds: vec![] });
        }
        let mut thresholds = Vec::new();
        for part in s.split(',') {
            let t: f64 = part
                .trim()
                .parse()
                .map_err(|_| usage(format!("--stars takes p-value thresholds such as \"0.01,0.05\", not '{part}'")))?;
            if !(t > 0.0 && t < 1.0) {
                return Err(usage(format!("--stars thresholds must be between 0 and 1, not {t}")));
            }
            thresholds.push(t);
        }
        thresholds.sort_by(f64::total_cmp);
        thresholds.dedup();
        Ok(Stars { thresholds })
    }

    pub fn mark(&self, p: f64) -> String {
        let n = self.thresholds.len();
        match self.thresholds.iter().position(|&t| p < t) {
            Some(i) if p.is_finite() => "*".repeat(n - i),
            _ => String::new(),
        }
    }

    pub fn max_len(&self) -> usize {
        self.thresholds.len()
    }

    /// `** p<0.01, * p<0.05`, or `None` without stars.
    pub fn legend(&self) -> Option<String> {
        if self.thresholds.is_empty() {
            return None;
        }
        let n = self.thresholds.len();
        Some(
            self.thresholds
                .iter()
                .enumerate()
                .map(|(i, t)| format!("{} p<{}", "*".repeat(n - i), crate::data::format_number(*t)))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

/// Everything the user chooses about a table.
#[derive(Debug, Clone)]
pub struct TableOptions {
    pub layout: Layout,
    pub show: Show,
    pub stars: Stars,
    pub digits: usize,
    pub lang: Lang,
    /// Column titles replacing the default response / model lines.
    pub titles: Vec<String>,
    pub caption: Option<String>,
}

impl Default for TableOptions {
    fn default() -> TableOptions {
        TableOptions {
            layout: Layout::Stacked,
            show: Show::Coef,
            stars: Stars::default(),
            digits: 3,
            lang: Lang::En,
            titles: Vec::new(),
            caption: None,
        }
    }
}

/// The fixed words of a table, per language.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    pub reference: &'static str,
    pub constant: &'static str,
    pub n: &'static str,
    pub log_likelihood: &'static str,
    pub pseudo_r2: &'static str,
    pub notes: &'static str,
    pub se_in_parentheses: &'static str,
    pub std_error: &'static str,
    pub coef: &'static str,
    pub margin: &'static str,
    pub odds_ratio: &'static str,
    pub variable: &'static str,
    /// The colon after "Notes" (full-width in Chinese).
    pub colon: &'static str,
}

pub const EN: Words = Words {
    reference: "ref.",
    constant: "Constant",
    n: "N",
    log_likelihood: "Log likelihood",
    pseudo_r2: "Pseudo R2",
    notes: "Notes",
    se_in_parentheses: "Standard errors in parentheses.",
    std_error: "SE",
    coef: "Coef.",
    margin: "ME",
    odds_ratio: "OR",
    variable: "Variable",
    colon: ": ",
};

pub const ZH: Words = Words {
    reference: "参照组：",
    constant: "常数项",
    n: "样本量",
    log_likelihood: "对数似然值",
    pseudo_r2: "伪R2",
    notes: "注",
    se_in_parentheses: "括号内为标准误。",
    std_error: "标准误",
    coef: "系数",
    margin: "边际效应",
    odds_ratio: "比值比",
    variable: "变量",
    colon: "：",
};

/// One column: a model, a part, or combined effects.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Heading lines, top to bottom (e.g. the response label, then the model).
    pub heading: Vec<String>,
    /// The model's name in the report (`model`, `first`, `second`, `combined`).
    pub name: String,
}

/// A value with its standard error, significance and interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub estimate: f64,
    pub std_error: f64,
    pub statistic: f64,
    pub p_value: f64,
    pub conf_low: f64,
    pub conf_high: f64,
    /// `dydx`, `"2 vs 1"` for margins; `None` for coefficients.
    pub contrast: Option<String>,
    pub stars: String,
}

/// One row: a term (or a margin's variable / level) across the columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub term: String,
    pub label: String,
    pub cells: Vec<Option<Cell>>,
}

/// A variable's rows; a factor's block has a header naming its reference level.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub variable: Option<String>,
    pub header: Option<String>,
    pub rows: Vec<Row>,
}

/// N, log likelihood, pseudo R2.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub label: String,
    pub values: Vec<Option<f64>>,
    pub decimals: usize,
}

/// A regression table, ready for any renderer.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub caption: Option<String>,
    pub layout: Layout,
    pub digits: usize,
    pub words: Words,
    /// Heading of the estimate sub-column in the side layout (`Coef.`, `ME`, `OR`).
    pub estimate_label: String,
    pub star_width: usize,
    pub columns: Vec<Column>,
    pub blocks: Vec<Block>,
    pub summary: Vec<SummaryRow>,
    pub notes: Vec<String>,
}

impl PartialEq for Words {
    fn eq(&self, other: &Words) -> bool {
        self.constant == other.constant
    }
}

impl Table {
    /// The estimate as printed, with its stars.
    pub fn estimate_text(&self, c: &Cell) -> String {
        format!("{}{}", fmt_fixed(c.estimate, self.digits), c.stars)
    }

    pub fn estimate_number(&self, c: &Cell) -> String {
        fmt_fixed(c.estimate, self.digits)
    }

    pub fn se_text(&self, c: &Cell) -> String {
        format!("({})", fmt_fixed(c.std_error, self.digits))
    }

    pub fn se_number(&self, c: &Cell) -> String {
        fmt_fixed(c.std_error, self.digits)
    }

    pub fn summary_text(&self, row: &SummaryRow, j: usize) -> String {
        match row.values[j] {
            Some(v) => fmt_fixed(v, row.decimals),
            None => String::new(),
        }
    }

    /// Number of heading lines (columns may have different numbers; shorter ones pad on top).
    pub fn heading_depth(&self) -> usize {
        self.columns.iter().map(|c| c.heading.len()).max().unwrap_or(0)
    }

    /// Heading line `i` of column `j` (empty where that column has fewer lines).
    pub fn heading(&self, i: usize, j: usize) -> &str {
        let h = &self.columns[j].heading;
        let pad = self.heading_depth() - h.len();
        if i < pad {
            ""
        } else {
            &h[i - pad]
        }
    }

    /// Whether row labels inside this block are indented under a header.
    pub fn indented(&self, b: &Block) -> bool {
        b.header.is_some()
    }

    pub fn is_chinese(&self) -> bool {
        let has_cjk = |s: &str| s.chars().any(is_cjk);
        self.caption.as_deref().is_some_and(has_cjk)
            || self.columns.iter().any(|c| c.heading.iter().any(|h| has_cjk(h)))
            || self
                .blocks
                .iter()
                .any(|b| b.header.as_deref().is_some_and(has_cjk) || b.rows.iter().any(|r| has_cjk(&r.label)))
            || self.summary.iter().any(|s| has_cjk(&s.label))
            || self.notes.iter().any(|n| has_cjk(n))
    }
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FA1F)
}

/// Fixed-point with `digits` decimals; a value that rounds to zero has no minus sign; a
/// non-finite value is Stata's `.`.
pub fn fmt_fixed(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return ".".into();
    }
    let s = format!("{v:.digits$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// How a term relates to the variables.
#[derive(Debug, Clone, PartialEq)]
enum TermClass {
    Intercept,
    /// A level of a factor: (variable index, level index).
    Level(usize, usize),
    /// A numeric term of one variable (`age`, `I(age^2)`, `log(income)`).
    Numeric(Option<usize>),
    /// Anything else (interactions, terms of several variables): its own block.
    Other,
}

struct Labeller<'a> {
    vars: &'a [VariableInfo],
    lang: Lang,
    words: Words,
}

impl Labeller<'_> {
    fn pick(&self, name: &str, en: &Option<String>, zh: &Option<String>) -> String {
        match self.lang {
            Lang::Zh => zh.clone().or_else(|| en.clone()),
            Lang::En => en.clone(),
        }
        .unwrap_or_else(|| name.to_string())
    }

    fn var_label(&self, i: usize) -> String {
        let v = &self.vars[i];
        self.pick(&v.name, &v.label, &v.label_zh)
    }

    fn has_label(&self, i: usize) -> bool {
        let v = &self.vars[i];
        v.label.is_some() || (self.lang == Lang::Zh && v.label_zh.is_some())
    }

    fn level_label(&self, i: usize, l: usize) -> String {
        let lv = &self.vars[i].levels[l];
        self.pick(&lv.name, &lv.label, &lv.label_zh)
    }

    fn find_var(&self, name: &str) -> Option<usize> {
        self.vars.iter().position(|v| v.name == name)
    }

    /// Matches one part of a term (no `:`) against the factor levels and variables.
    fn classify_part(&self, part: &str) -> TermClass {
        if part == "(Intercept)" {
            return TermClass::Intercept;
        }
        for (i, v) in self.vars.iter().enumerate() {
            if let Some(prefix) = &v.term_prefix {
                if let Some(rest) = part.strip_prefix(prefix.as_str()) {
                    if let Some(level) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                        if let Some(l) = v.levels.iter().position(|lv| lv.name == level) {
                            return TermClass::Level(i, l);
                        }
                    }
                }
            }
        }
        let ids: Vec<usize> = crate::output::identifiers(part).iter().filter_map(|id| self.find_var(id)).collect();
        match ids.as_slice() {
            [i] => TermClass::Numeric(Some(*i)),
            [] => TermClass::Numeric(None),
            _ => TermClass::Other,
        }
    }

    fn classify(&self, term: &str) -> TermClass {
        let parts = split_interaction(term);
        if parts.len() > 1 {
            TermClass::Other
        } else {
            self.classify_part(term)
        }
    }

    /// The row label of a part of a term.
    fn part_label(&self, part: &str) -> String {
        match self.classify_part(part) {
            TermClass::Intercept => self.words.constant.to_string(),
            TermClass::Level(i, l) => {
                format!("{}: {}", self.var_label(i), self.level_label(i, l))
            }
            TermClass::Numeric(Some(i)) => {
                let name = &self.vars[i].name;
                if part == name {
                    self.var_label(i)
                } else if part == format!("I({name}^2)") && self.has_label(i) {
                    format!("{}²", self.var_label(i))
                } else if self.has_label(i) {
                    replace_identifier(part, name, &self.var_label(i))
                } else {
                    part.to_string()
                }
            }
            _ => part.to_string(),
        }
    }

    fn factor_header(&self, i: usize) -> String {
        let v = &self.vars[i];
        let r = v.reference.unwrap_or(0);
        let reference = self.level_label(i, r);
        match self.lang {
            Lang::En => format!("{} ({} {})", self.var_label(i), self.words.reference, reference),
            Lang::Zh => format!("{}（{}{}）", self.var_label(i), self.words.reference, reference),
        }
    }
}

/// Splits `a:C(g)[x]:b` at the colons outside brackets and parentheses.
fn split_interaction(term: &str) -> Vec<&str> {
    let mut depth = 0i32;
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, ch) in term.char_indices() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ':' if depth == 0 => {
                parts.push(&term[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&term[start..]);
    parts
}

fn replace_identifier(text: &str, name: &str, with: &str) -> String {
    let mut out = String::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if ch.is_alphanumeric() || ch == '_' || ch == '.' {
            cur.push(ch);
        } else {
            out.push_str(if cur == name { with } else { &cur });
            cur.clear();
            out.push(ch);
        }
    }
    out.push_str(if cur == name { with } else { &cur });
    out
}

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
                        "--show or needs logit models, but {} is {}",
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
                        "--show margins: model '{}' has no marginal effects (add --margins)",
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
    if let (Show::Margins, Some(c)) = (opts.show, &report.combined) {
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
            "--title given {} times, but the table has {} columns",
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

    let summary = vec![
        SummaryRow { label: words.n.to_string(), values: sources.iter().map(|s| s.n).collect(), decimals: 0 },
        SummaryRow {
            label: words.log_likelihood.to_string(),
            values: sources.iter().map(|s| s.ll).collect(),
            decimals: opts.digits,
        },
        SummaryRow {
            label: words.pseudo_r2.to_string(),
            values: sources.iter().map(|s| s.r2).collect(),
            decimals: opts.digits,
        },
    ]
    .into_iter()
    .filter(|r| r.values.iter().any(|v| v.is_some()))
    .collect();

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_follow_thresholds() {
        let s = Stars::default();
        assert_eq!(s.mark(0.001), "**");
        assert_eq!(s.mark(0.02), "*");
        assert_eq!(s.mark(0.05), "");
        assert_eq!(s.mark(f64::NAN), "");
        assert_eq!(s.legend().unwrap(), "** p<0.01, * p<0.05");
        let s = Stars::parse("0.1,0.05,0.01").unwrap();
        assert_eq!(s.mark(0.005), "***");
        assert_eq!(s.mark(0.07), "*");
        assert_eq!(s.legend().unwrap(), "*** p<0.01, ** p<0.05, * p<0.1");
        assert!(Stars::parse("none").unwrap().legend().is_none());
        assert!(Stars::parse("0.05,x").is_err());
        assert!(Stars::parse("5").is_err());
    }

    #[test]
    fn fixed_formatting() {
        assert_eq!(fmt_fixed(-0.0001, 3), "0.000");
        assert_eq!(fmt_fixed(-0.0101, 3), "-0.010");
        assert_eq!(fmt_fixed(f64::NAN, 3), ".");
        assert_eq!(fmt_fixed(1165.0, 0), "1165");
    }

    #[test]
    fn interaction_split_respects_brackets() {
        assert_eq!(split_interaction("x:C(g)[a:b]"), vec!["x", "C(g)[a:b]"]);
        assert_eq!(replace_identifier("I(age^2)", "age", "Age"), "I(Age^2)");
    }
}
