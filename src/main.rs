//! The `migfit` binary: parse arguments, run, map the result to an exit code. The command line
//! (`cli/`) belongs to the binary, not the library: the library cannot import it.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("migfit: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
