//! Writes the simulated benchmark data (`benches/support/simdata.rs`) as CSV, so that the
//! peer scripts under `benches/peers/` time other software on exactly the same numbers.
//!
//! Usage: `cargo run --release --example simdata -- OUT.csv [N_ROWS]`
//!
//! Values are written in Rust's shortest round-trip form: reading them back with a correctly
//! rounding parser (pandas with `float_precision="round_trip"`) gives the same doubles.

#[path = "../benches/support/simdata.rs"]
mod simdata;

fn main() -> std::io::Result<()> {
    let (out, n) = simdata::csv_args("simdata", simdata::N_ROWS);
    let data = simdata::generate(n);
    simdata::write_csv(&out, &data.names, &data.columns)?;
    eprintln!("simdata: wrote {n} rows to {out}");
    Ok(())
}
