//! Writes the simulated two-part benchmark data (`benches/support/twopart_data.rs`) as CSV,
//! for `benches/peers/statsmodels_twopart.py` and the 2,000,000-row run of
//! `benches/twopart_large.sh`.
//!
//! Usage: `cargo run --release --example twopart_simdata -- OUT.csv [N_ROWS]`
//!
//! Values are written in Rust's shortest round-trip form.

#[path = "../benches/support/simdata.rs"]
mod simdata;
#[path = "../benches/support/twopart_data.rs"]
mod twopart_data;

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: twopart_simdata OUT.csv [N_ROWS]");
        std::process::exit(2);
    };
    let n = match args.next() {
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("twopart_simdata: N_ROWS must be a whole number, not '{s}'");
            std::process::exit(2)
        }),
        None => twopart_data::N_ROWS,
    };
    let data = twopart_data::generate(n);
    let mut w = BufWriter::new(std::fs::File::create(&out)?);
    writeln!(w, "{}", data.names.join(","))?;
    for i in 0..n {
        for (j, col) in data.columns.iter().enumerate() {
            if j > 0 {
                w.write_all(b",")?;
            }
            write!(w, "{}", col[i])?;
        }
        w.write_all(b"\n")?;
    }
    w.flush()?;
    eprintln!("twopart_simdata: wrote {n} rows to {out}");
    Ok(())
}
