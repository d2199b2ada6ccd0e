//! Published numbers beside reproduced ones: one cell per published number, judged in units
//! of the published standard error.

use serde::Serialize;

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

/// Within 1.96 published SE; a cell published as 0.000 (0.000) is within when the reproduced
/// value rounds to 0.000 at three decimals.
pub fn judge(published: f64, se: f64, reproduced: f64) -> (Option<f64>, Option<bool>) {
    if se == 0.0 {
        return (None, Some((reproduced - published).abs() < 0.0005));
    }
    let d = (reproduced - published) / se;
    (Some(d), Some(d.abs() <= 1.96))
}

/// A study's published cells beside the reproduced ones, with the count within 1.96 SE.
#[derive(Debug, Clone, Serialize)]
pub struct Reproduction {
    pub study: String,
    pub data: String,
    pub cells: Vec<Cell>,
    pub within: usize,
    pub judged: usize,
}

impl Reproduction {
    /// Counts the judged cells and those within 1.96 SE.
    pub fn new(study: String, data: String, cells: Vec<Cell>) -> Reproduction {
        let judged = cells.iter().filter(|c| c.within.is_some()).count();
        let within = cells.iter().filter(|c| c.within == Some(true)).count();
        Reproduction { study, data, cells, within, judged }
    }

    pub fn summary(&self) -> String {
        format!(
            "{} of {} published cells lie within 1.96 SE of the reproduced value ({:.1}%).",
            self.within,
            self.judged,
            100.0 * self.within as f64 / self.judged.max(1) as f64
        )
    }
}
