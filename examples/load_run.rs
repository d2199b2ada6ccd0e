//! The driver of the loading work (issue #4): one pass of `benches/load.rs`'s measured path
//! (load + schema + universe + derived variables + stand-in design matrix) on the bench file,
//! for `valgrind --tool=callgrind` and `/usr/bin/time -v` (peak RSS).
//!
//! `cargo run --release --example load_run [-- [PATH] [precise] [full]]`: PATH defaults to the
//! bench file (written if missing); `precise` forces the precise reader; `full` loads every
//! variable of the schema (the default is the path `migfit fit`/`twopart` take: column
//! projection onto the Table 3 model's variables, [`load_data::model_columns`]). Prints the
//! row count, the design size, a checksum of the design matrix and the wall time.

#[path = "../benches/support/load_data.rs"]
mod load_data;

use migfit::data::load::{load_with_schema, ReadOptions};
use migfit::data::schema::Schema;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let path = args
        .iter()
        .find(|a| !matches!(a.as_str(), "precise" | "full"))
        .map(PathBuf::from)
        .unwrap_or_else(load_data::ensure_data);
    let precise = flag("precise");
    let columns = (!flag("full")).then(|| load_data::model_columns(load_data::TERMS));
    let schema = Schema::from_path(Path::new("data-schema/cmds2014.toml")).unwrap();
    let t = Instant::now();
    let opts = ReadOptions { precise_only: precise, columns, ..Default::default() };
    let r = load_with_schema(&path, &opts, &schema).unwrap();
    let phases = std::env::var_os("LOAD_PHASES").is_some();
    if phases {
        peak_rss("load (read + schema + universe + derived)", true);
    }
    let (x, n, p) = load_data::design_matrix(&r.dataset, load_data::TERMS);
    if phases {
        peak_rss("design matrix (dataset alive)", false);
    }
    let secs = t.elapsed().as_secs_f64();
    let sum: f64 = x.iter().sum();
    let bytes = std::fs::metadata(&path).unwrap().len() as f64;
    println!(
        "{} load: rows {} (in the universe), {} variables, violations {}, fast path {}, design {n} x {p}, checksum {sum:.6}",
        if opts.columns.is_some() { "projected" } else { "full" },
        r.dataset.n_rows(),
        r.dataset.columns().len(),
        r.violations.len(),
        r.fast_path
    );
    println!("{secs:.3} s, {:.1} MB/s", bytes / 1e6 / secs);
    if std::env::var_os("LOAD_DUMP").is_some() {
        dump(&r);
    }
}

/// Prints the peak RSS so far (Linux `VmHWM`) and, with `reset`, starts a new peak (writing 5 to
/// `/proc/self/clear_refs`): `LOAD_PHASES=1` shows which phase holds the peak.
fn peak_rss(phase: &str, reset: bool) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status.lines().find(|l| l.starts_with("VmHWM")).unwrap_or("VmHWM: ?");
    let rss = status.lines().find(|l| l.starts_with("VmRSS")).unwrap_or("VmRSS: ?");
    println!(
        "{phase}: peak {}, now {}",
        hwm.trim_start_matches("VmHWM:").trim(),
        rss.trim_start_matches("VmRSS:").trim()
    );
    if reset {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
}

/// One SHA-256 line per column (name, label, kind, every value bit for bit, levels and
/// reference), one for the line numbers and one for the violations: for before/after checks.
fn dump(r: &migfit::data::load::LoadReport) {
    use migfit::data::ColumnData;
    use sha2::{Digest, Sha256};
    let hex = |h: Sha256| h.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut h = Sha256::new();
    for l in &r.dataset.line_numbers {
        h.update(l.to_le_bytes());
    }
    println!("line_numbers {}", hex(h));
    for c in r.dataset.columns() {
        let mut h = Sha256::new();
        h.update(format!("{:?}|", c.label));
        match &c.data {
            ColumnData::Numeric(v) => v.iter().for_each(|x| h.update(x.to_bits().to_le_bytes())),
            ColumnData::Categorical(f) => {
                f.codes.iter().for_each(|x| h.update(x.to_le_bytes()));
                h.update(format!("{:?}|{}", f.levels, f.reference));
            }
            ColumnData::Text(t) => t.iter().for_each(|x| h.update(format!("{x:?}|"))),
        }
        println!("column {} {} {}", c.name, c.data.kind(), hex(h));
        if std::env::var("LOAD_DUMP_COL").is_ok_and(|n| n == c.name) {
            for i in 0..c.data.len() {
                match &c.data {
                    ColumnData::Numeric(v) => println!("  {} {:?}", r.dataset.line_numbers[i], v[i]),
                    ColumnData::Categorical(f) => println!("  {} {}", r.dataset.line_numbers[i], f.codes[i]),
                    ColumnData::Text(t) => println!("  {} {:?}", r.dataset.line_numbers[i], t[i]),
                }
            }
        }
    }
    let mut h = Sha256::new();
    for v in &r.violations {
        h.update(format!("{v:?}\n"));
    }
    println!("violations {} {}", r.violations.len(), hex(h));
}
