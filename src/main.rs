//! The `migfit` binary: parse arguments, run, map the result to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match migfit::cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("migfit: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
