//! Simulated two-part data for `benches/twopart.rs` (in memory) and
//! `examples/twopart_simdata.rs` (as CSV, for `benches/peers/statsmodels_twopart.py`).
//!
//! Uses the generator of `simdata.rs` (SplitMix64, Box-Muller, Marsaglia-Tsang) with its own
//! seed. Columns: `x1..x20` continuous, `g1..g3` factors with 4 levels (codes 0..3, used as
//! `C(g1)`), and `y`: zero unless a probit index plus noise is positive, then a gamma variate
//! (shape 2) with a log-linear mean. `y ~ x1 + ... + x20 + C(g1) + C(g2) + C(g3)` has K = 30
//! columns with the intercept, in both parts.

#![allow(dead_code)]

use crate::simdata::SplitMix64;

pub const N_ROWS: usize = 200_000;
pub const N_CONT: usize = 20;
pub const N_FACTORS: usize = 3;
pub const N_LEVELS: usize = 4;
pub const SEED: u64 = 20_240_602;

pub struct TwoPartData {
    pub names: Vec<String>,
    pub columns: Vec<Vec<f64>>,
}

impl TwoPartData {
    /// The model formula used by every two-part benchmark.
    pub fn formula() -> String {
        let mut terms: Vec<String> = (1..=N_CONT).map(|j| format!("x{j}")).collect();
        terms.extend((1..=N_FACTORS).map(|j| format!("C(g{j})")));
        format!("y ~ {}", terms.join(" + "))
    }
}

/// Generates `n` rows (about 60% positive).
pub fn generate(n: usize) -> TwoPartData {
    let mut rng = SplitMix64::new(SEED);
    let mut names: Vec<String> = (1..=N_CONT).map(|j| format!("x{j}")).collect();
    names.extend((1..=N_FACTORS).map(|j| format!("g{j}")));
    names.push("y".into());
    let mut columns = vec![Vec::with_capacity(n); names.len()];
    let b1: Vec<f64> = (0..N_CONT).map(|j| 0.12 * ((j % 5) as f64 - 2.0) / 2.0 + 0.01 * j as f64).collect();
    let b2: Vec<f64> = (0..N_CONT).map(|j| 0.08 * ((j % 3) as f64 - 1.0) + 0.005 * j as f64).collect();
    for _ in 0..n {
        let mut idx1 = 0.25;
        let mut idx2 = 1.0;
        let mut prev = 0.0;
        for j in 0..N_CONT {
            let z = rng.normal();
            let x = (if j == 0 { z } else { 0.5 * prev + z }) / (1.0 + (j % 4) as f64);
            prev = x;
            idx1 += b1[j] * x;
            idx2 += b2[j] * x;
            columns[j].push(x);
        }
        for f in 0..N_FACTORS {
            let level = (rng.next_u64() % N_LEVELS as u64) as usize;
            idx1 += 0.1 * (f as f64 + 1.0) * level as f64 - 0.15;
            idx2 += 0.05 * level as f64 * if f == 1 { -1.0 } else { 1.0 };
            columns[N_CONT + f].push(level as f64);
        }
        let positive = idx1 + rng.normal() > 0.0;
        let amount = idx2.exp() * rng.gamma(2.0) / 2.0;
        columns[N_CONT + N_FACTORS].push(if positive { amount } else { 0.0 });
    }
    TwoPartData { names, columns }
}
