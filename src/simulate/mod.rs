//! Synthetic survey extracts with known data-generating processes, one module per study.
//!
//! The CMDS microdata is restricted, so migfit ships generators that write an extract in the
//! RAW layout of the study's schema (`data-schema/cmds2014.toml`, `cmds2018.toml`: item-code
//! columns, numeric codes, missing codes), so that a synthetic extract goes through the same
//! loading path as a real one. The parameters of each generator live in a readable file under
//! `examples/<study>/dgp.toml`, embedded in the binary; `docs/calibration.md` says how they
//! were chosen.
//!
//! Determinism: one `Pcg64` stream (a fixed algorithm, `rand_pcg`), seeded from the user's
//! seed, consumed strictly row by row on one thread; the same seed gives a byte-identical file
//! on any machine and thread count (for the pinned `Cargo.lock`: `rand_distr` documents that
//! its samplers' value streams may change between minor versions).

pub mod stay2018;
pub mod wang2022;

use rand::SeedableRng;
use rand_pcg::Pcg64;

/// The largest `--n` a simulation accepts unless the user raises it (`simulate --max-n`):
/// the whole extract is held in memory before it is written, about 2.3 KB per respondent
/// (measured: 233 MB peak for `--n 100000`), so 5,000,000 respondents need about 12 GB, and
/// 25 times the largest CMDS wave (about 200,000). A larger `--n` used to be attempted (108 GB
/// for 2^32) or to panic with "capacity overflow" (issue #19).
pub const MAX_N: usize = 5_000_000;

/// The smallest `--n`: fewer respondents leave some cells of the design empty.
pub const MIN_N: usize = 50;

/// Checks a requested sample size before anything is allocated: at least [`MIN_N`], at most
/// `max` (default [`MAX_N`]). The message names the option.
pub fn check_n(n: usize, max: Option<usize>) -> std::result::Result<(), String> {
    let max = max.unwrap_or(MAX_N);
    if n < MIN_N {
        return Err(format!("--n must be at least {MIN_N}"));
    }
    if n > max {
        return Err(format!(
            "--n {n} is more than the limit of {max} respondents (the extract is built in memory, \
about 2.3 KB per respondent); raise the limit on purpose with --max-n"
        ));
    }
    Ok(())
}

/// The random number generator of every simulator.
pub type SimRng = Pcg64;

/// A generator seeded from a user seed.
pub fn rng(seed: u64) -> SimRng {
    Pcg64::seed_from_u64(seed)
}

/// A raw extract: a header of item codes and rows of fields, exactly as written to CSV.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl RawTable {
    /// Comma-separated text, UTF-8, `\n` line ends, header line first. Fields never contain
    /// commas or quotes (codes and numbers only), so no quoting is needed.
    pub fn to_csv(&self) -> String {
        let mut out = String::with_capacity(self.rows.len() * self.header.len() * 6);
        out.push_str(&self.header.join(","));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&r.join(","));
            out.push('\n');
        }
        out
    }
}

/// Standard normal CDF (accurate to machine precision through `libm::erfc`).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Draws an index from a discrete distribution given by (possibly unnormalised) weights.
pub fn draw_index(rng: &mut SimRng, p: &[f64]) -> usize {
    use rand::RngExt;
    let total: f64 = p.iter().sum();
    let u: f64 = rng.random::<f64>() * total;
    let mut acc = 0.0;
    for (i, w) in p.iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
    }
    p.len() - 1
}

/// A number as written into a raw extract: integers without a decimal point, others with at
/// most two decimals (yuan and fen), never in exponent form.
pub fn fmt_money(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_format() {
        assert_eq!(fmt_money(12.0), "12");
        assert_eq!(fmt_money(12.345), "12.35");
        assert_eq!(fmt_money(1e7), "10000000");
    }
}
