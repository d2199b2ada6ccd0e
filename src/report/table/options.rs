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
