//! The simulated benchmark data, shared by `benches/fit.rs` (in memory) and
//! `examples/simdata.rs` (as CSV, for the peer scripts under `benches/peers/`).
//!
//! A fixed seed and a self-contained generator (SplitMix64, Box-Muller normals,
//! Marsaglia-Tsang gamma variates), so the data are the same on every machine and release.
//!
//! Columns: `x1..x20` continuous, `d1..d9` 0/1 indicators, `cl` a cluster id in 0..G,
//! `yb` a probit outcome and `yg` a gamma outcome with a log link (shape 2, so dispersion 0.5).
//! With an intercept, `yb ~ x1 + ... + x20 + d1 + ... + d9` has K = 30 columns.

#![allow(dead_code)]

pub const N_ROWS: usize = 200_000;
pub const N_CONT: usize = 20;
pub const N_DUMMY: usize = 9;
pub const N_CLUSTERS: usize = 2_000;
pub const SEED: u64 = 20_240_601;

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, full-period, good enough for simulation.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1): 53 random bits, never exactly 0.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller, one variate per call: simple and reproducible).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Gamma(shape, 1) for shape >= 1 (Marsaglia and Tsang 2000).
    pub fn gamma(&mut self, shape: f64) -> f64 {
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
}

/// The simulated columns, in the order written to CSV.
pub struct SimData {
    pub names: Vec<String>,
    pub columns: Vec<Vec<f64>>,
}

impl SimData {
    pub fn column(&self, name: &str) -> &[f64] {
        let j = self.names.iter().position(|n| n == name).expect("column");
        &self.columns[j]
    }

    /// The right-hand side used by every benchmark: all 29 regressors and an intercept.
    pub fn rhs() -> String {
        let mut terms: Vec<String> = (1..=N_CONT).map(|j| format!("x{j}")).collect();
        terms.extend((1..=N_DUMMY).map(|j| format!("d{j}")));
        terms.join(" + ")
    }
}

/// Generates `n` rows.
pub fn generate(n: usize) -> SimData {
    let mut rng = SplitMix64::new(SEED);
    let mut names: Vec<String> = (1..=N_CONT).map(|j| format!("x{j}")).collect();
    names.extend((1..=N_DUMMY).map(|j| format!("d{j}")));
    names.extend(["cl", "yb", "yg"].map(String::from));
    let mut columns = vec![Vec::with_capacity(n); names.len()];
    // Coefficients: small enough that probabilities stay away from 0 and 1 in bulk.
    let b_cont: Vec<f64> = (0..N_CONT).map(|j| 0.15 * ((j % 5) as f64 - 2.0) / 2.0 + 0.01 * j as f64).collect();
    let b_dummy: Vec<f64> = (0..N_DUMMY).map(|j| 0.2 - 0.05 * j as f64).collect();
    let p_dummy: Vec<f64> = (0..N_DUMMY).map(|j| 0.1 + 0.08 * j as f64).collect();
    let mut cluster_effect = vec![0.0; N_CLUSTERS];
    for e in cluster_effect.iter_mut() {
        *e = 0.3 * rng.normal();
    }
    for _ in 0..n {
        let mut idx = 0.1;
        let mut x = [0.0; N_CONT];
        for j in 0..N_CONT {
            // Some correlation between neighbouring columns, and varied scales.
            let z = rng.normal();
            x[j] = if j == 0 { z } else { 0.5 * x[j - 1] + z };
            let scale = 1.0 + (j % 4) as f64;
            x[j] /= scale;
            idx += b_cont[j] * x[j];
            columns[j].push(x[j]);
        }
        for j in 0..N_DUMMY {
            let d = if rng.uniform() < p_dummy[j] { 1.0 } else { 0.0 };
            idx += b_dummy[j] * d;
            columns[N_CONT + j].push(d);
        }
        let cl = (rng.next_u64() % N_CLUSTERS as u64) as usize;
        let u = cluster_effect[cl];
        let yb = if idx + u + rng.normal() > 0.0 { 1.0 } else { 0.0 };
        // Gamma with mean exp(1 + idx / 2 + u) and shape 2.
        let mean = (1.0 + 0.5 * idx + u).exp();
        let yg = mean * rng.gamma(2.0) / 2.0;
        columns[N_CONT + N_DUMMY].push(cl as f64);
        columns[N_CONT + N_DUMMY + 1].push(yb);
        columns[N_CONT + N_DUMMY + 2].push(yg);
    }
    SimData { names, columns }
}

/// The command line of the CSV-writing examples: `PROG OUT.csv [N_ROWS]`.
pub fn csv_args(prog: &str, default_rows: usize) -> (String, usize) {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: {prog} OUT.csv [N_ROWS]");
        std::process::exit(2);
    };
    let n = match args.next() {
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("{prog}: N_ROWS must be a whole number, not '{s}'");
            std::process::exit(2)
        }),
        None => default_rows,
    };
    (out, n)
}

/// Writes simulated data as CSV, values in Rust's shortest round-trip form (a correctly
/// rounding reader gets the same doubles back).
pub fn write_csv(path: &str, names: &[String], columns: &[Vec<f64>]) -> std::io::Result<()> {
    use std::io::{BufWriter, Write};
    let n = columns.first().map_or(0, Vec::len);
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "{}", names.join(","))?;
    for i in 0..n {
        for (j, col) in columns.iter().enumerate() {
            if j > 0 {
                w.write_all(b",")?;
            }
            write!(w, "{}", col[i])?;
        }
        w.write_all(b"\n")?;
    }
    w.flush()
}
