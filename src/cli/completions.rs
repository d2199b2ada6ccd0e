//! `migfit completions SHELL`: a completion script generated from the clap definitions, so it
//! never lists a command or option that does not exist.

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use migfit::error::Result;

/// Print a shell completion script.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Example:\n  migfit completions bash > ~/.local/share/bash-completion/completions/migfit\n  migfit completions zsh > ~/.zfunc/_migfit"
)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<()> {
    let mut cmd = super::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "migfit", &mut buf);
    super::write_output(&String::from_utf8_lossy(&buf), None)
}
