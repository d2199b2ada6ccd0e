//! The CMDS-2018 study of direct settlement and willingness to stay (no published numbers).

use crate::cli::reproduce::ReproduceArgs;
use crate::error::{usage, Result};

/// `migfit reproduce stay2018`.
pub fn run_cli(_args: &ReproduceArgs) -> Result<()> {
    Err(usage(
        "reproduce stay2018 is not implemented yet (the simulator is: migfit simulate --study stay2018)",
    ))
}
