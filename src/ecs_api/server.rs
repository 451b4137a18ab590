//! The HTTP(S) server of the ECS JSON 1.1 protocol.

use std::process::ExitCode;

/// `tidewater ecs-api` options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8443.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// The account id used in the ARNs returned.
    #[arg(long, default_value = "000000000000")]
    pub account_id: String,
}

/// Entry point of `tidewater ecs-api`.
pub fn main(args: Args) -> ExitCode {
    let _ = args;
    eprintln!("error: the ECS API server is not built yet");
    ExitCode::FAILURE
}
