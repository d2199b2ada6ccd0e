//! What the user chooses about a table.

use super::Stars;
use crate::error::{usage, Result};

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
            _ => Err(usage(format!("unknown layout '{s}' (expected stacked or side)"))),
        }
    }
}

impl Show {
    pub fn parse(s: &str) -> Result<Show> {
        match s {
            "coef" => Ok(Show::Coef),
            "margins" => Ok(Show::Margins),
            "or" => Ok(Show::OddsRatios),
            _ => Err(usage(format!("unknown table content '{s}' to show (expected coef, margins or or)"))),
        }
    }
}

impl Lang {
    pub fn parse(s: &str) -> Result<Lang> {
        match s {
            "en" => Ok(Lang::En),
            "zh" => Ok(Lang::Zh),
            _ => Err(usage(format!("unknown language '{s}' (expected en or zh)"))),
        }
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
    /// Summary rows (`--stats`), in order; empty: N, log likelihood, pseudo R2.
    pub stats: Vec<StatRow>,
}

/// A summary row of a table (`--stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatRow {
    N,
    LogLikelihood,
    PseudoR2,
    Aic,
    Bic,
    /// The model test's statistic (chi2 or F).
    ModelTest,
    /// The model test's p-value.
    ModelP,
    Clusters,
    Strata,
}

impl StatRow {
    pub const NAMES: &'static str = "N, ll, r2, aic, bic, chi2, p, clusters, strata";

    pub fn parse(s: &str) -> Result<StatRow> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "n" | "n_obs" => StatRow::N,
            "ll" | "log_likelihood" => StatRow::LogLikelihood,
            "r2" | "pseudo_r2" | "r2_p" => StatRow::PseudoR2,
            "aic" => StatRow::Aic,
            "bic" => StatRow::Bic,
            "chi2" | "f" | "model_test" => StatRow::ModelTest,
            "p" => StatRow::ModelP,
            "clusters" | "n_clusters" | "psus" => StatRow::Clusters,
            "strata" | "n_strata" => StatRow::Strata,
            other => return Err(usage(format!("unknown --stats row '{other}' (expected {})", StatRow::NAMES))),
        })
    }

    /// A comma-separated list (`"N,ll,aic,bic,clusters"`).
    pub fn parse_list(s: &str) -> Result<Vec<StatRow>> {
        let out: Vec<StatRow> =
            s.split(',').filter(|p| !p.trim().is_empty()).map(StatRow::parse).collect::<Result<_>>()?;
        if out.is_empty() {
            return Err(usage(format!("--stats takes a list of rows such as \"N,ll,aic,bic\" ({})", StatRow::NAMES)));
        }
        Ok(out)
    }
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
            stats: Vec::new(),
        }
    }
}
