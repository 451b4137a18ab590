//! The operator: one reconciler per kind, server-side apply of children, status in ECS terms.

use std::process::ExitCode;

/// Command-line arguments of `tidewater run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Watch only these namespaces (repeatable). Default: all namespaces.
    #[arg(long = "namespace", short = 'n')]
    pub namespaces: Vec<String>,
}

/// Run the operator until SIGTERM/SIGINT.
pub fn main(_args: Args) -> ExitCode {
    eprintln!("error: run is not implemented yet");
    ExitCode::FAILURE
}
