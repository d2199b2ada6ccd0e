//! The loading benchmark's data and design matrix, shared by `benches/load.rs` and
//! `examples/load_run.rs` (the callgrind / peak-RSS driver).
//!
//! The file (about 37 MiB) is generated once, deterministically, at
//! `$CARGO_TARGET_DIR/bench-data/cmds_200k.csv` (or `target/bench-data/...`): the 30 columns
//! that data-schema/cmds2014.toml reads plus 10 columns it does not (the loader skips them).

#![allow(dead_code)]

use migfit::data::Dataset;
use migfit::design::{Design, SampleOptions};
use migfit::formula::Formula;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const ROWS: usize = 200_000;

pub fn data_path() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    Path::new(&target).join("bench-data").join("cmds_200k.csv")
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn unif(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
}

/// Writes the benchmark file if it is not there yet.
pub fn ensure_data() -> PathBuf {
    let path = data_path();
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut rng = Lcg(2014);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut header: Vec<String> = "ID,prov,city,stratum,psu,weight,q100,q101b,q101c,q101e,q101f,q101g,q201,q214,q301,q302a,q302b,q303,q304,q501,q601,q602,q603,q604,q605a,q605b,q605c,q605d,q605e,q606"
        .split(',')
        .map(str::to_string)
        .collect();
    for k in 1..=10 {
        header.push(format!("q7{k:02}"));
    }
    writeln!(out, "{}", header.join(",")).unwrap();
    let provs = [11u64, 31, 32, 33, 42, 44, 51, 61];
    for i in 0..ROWS {
        let prov = provs[rng.int(0, 7) as usize];
        let total = 500 + rng.int(0, 60_000);
        let got = rng.unif() < 0.67;
        let opt = rng.int(0, 2);
        let amount =
            if got { format!("{:.1}", total as f64 * (0.1 + 0.8 * rng.unif())) } else { "不适用".to_string() };
        let income = if rng.int(0, 50) == 0 { "-1".to_string() } else { (800 + rng.int(0, 20_000)).to_string() };
        write!(
            out,
            "{},{prov},{},{prov},{},{:.4},{},{},{},{},{},{},{},{income},{},{},{},{},{},{},1,1,{},{total},{},{},{},{},{},{amount}",
            100_000 + i,
            prov * 100 + rng.int(1, 9),
            rng.int(1, 2000),
            0.5 + 2.5 * rng.unif(),
            rng.int(1, 6),
            rng.int(1, 2),
            rng.int(1956, 1998),
            rng.int(1, 8),
            rng.int(1, 4),
            rng.int(1, 6),
            rng.int(1, 2),
            rng.int(1, 3),
            rng.int(1995, 2013),
            rng.int(1, 12),
            rng.int(1, 6),
            rng.int(1, 3),
            rng.int(1, 3),
            rng.int(1, 4),
            u8::from(got && opt == 0),
            u8::from(got && opt == 1),
            u8::from(got && opt == 2),
            u8::from(!got && rng.int(0, 3) == 0),
            0,
        )
        .unwrap();
        for _ in 0..10 {
            write!(out, ",{:.4}", 10_000.0 * rng.unif()).unwrap();
        }
        writeln!(out).unwrap();
    }
    out.flush().unwrap();
    path
}

/// The design matrix of the Table 3 regressors (`received ~ scheme + scope + ...`), built by
/// the estimation core (`Design::build`: schema factors with their reference levels, listwise
/// deletion); returns the row-major matrix, its rows and columns.
pub fn design_matrix(ds: &Dataset, terms: &[&str]) -> (Vec<f64>, usize, usize) {
    let formula = Formula::parse(&format!("received ~ {}", terms.join(" + "))).unwrap();
    let d = Design::build(ds, &formula, &SampleOptions::default()).unwrap();
    let (n, k) = (d.n(), d.k());
    (d.x.into_raw_vec_and_offset().0, n, k)
}

/// The variables the Table 3 model reads (the response and `terms`): the column projection
/// `migfit fit`/`twopart` load with.
pub fn model_columns(terms: &[&str]) -> Vec<String> {
    std::iter::once("received").chain(terms.iter().copied()).map(str::to_string).collect()
}

pub const TERMS: &[&str] = &[
    "scheme",
    "scope",
    "age",
    "age2",
    "female",
    "married",
    "education",
    "income_q",
    "has_job",
    "rural_hukou",
    "urban_area",
    "reason",
    "duration",
    "facility",
];
