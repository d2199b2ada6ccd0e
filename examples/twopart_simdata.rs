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

fn main() -> std::io::Result<()> {
    let (out, n) = simdata::csv_args("twopart_simdata", twopart_data::N_ROWS);
    let data = twopart_data::generate(n);
    simdata::write_csv(&out, &data.names, &data.columns)?;
    eprintln!("twopart_simdata: wrote {n} rows to {out}");
    Ok(())
}
