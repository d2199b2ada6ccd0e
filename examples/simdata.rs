//! Writes the simulated benchmark data (`benches/support/simdata.rs`) as CSV, so that the
//! peer scripts under `benches/peers/` time other software on exactly the same numbers.
//!
//! Usage: `cargo run --release --example simdata -- OUT.csv [N_ROWS]`
//!
//! Values are written in Rust's shortest round-trip form: reading them back with a correctly
//! rounding parser (pandas with `float_precision="round_trip"`) gives the same doubles.

#[path = "../benches/support/simdata.rs"]
mod simdata;

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: simdata OUT.csv [N_ROWS]");
        std::process::exit(2);
    };
    let n = match args.next() {
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("simdata: N_ROWS must be a whole number, not '{s}'");
            std::process::exit(2)
        }),
        None => simdata::N_ROWS,
    };
    let data = simdata::generate(n);
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
    eprintln!("simdata: wrote {n} rows to {out}");
    Ok(())
}
