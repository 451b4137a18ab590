//! `tidewater import`: AWS CLI JSON, CloudFormation and Terraform → Tidewater manifests and a
//! migration report. (Being built: issue 5.)

use std::path::PathBuf;
use std::process::ExitCode;

/// Command-line arguments of `tidewater import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to import.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
}

/// Run `tidewater import`.
pub fn main(_args: Args) -> ExitCode {
    eprintln!("error: import is not implemented yet");
    ExitCode::FAILURE
}
