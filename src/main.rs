//! The `tidewater` binary.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tidewater",
    version,
    about = "Run AWS ECS workloads on Kubernetes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Yaml,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions (YAML).
    Crd,
    /// Render manifests or raw ECS JSON into the Kubernetes objects the operator would create.
    Render {
        /// Files or directories (YAML multi-document or JSON); `-` reads standard input. Regular
        /// files of at most 16 MiB; FIFOs and devices are refused.
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
        output: Format,
        /// Set metadata.namespace on every object.
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// Run the operator against the cluster of the current kubeconfig (or in-cluster config).
    Run(tidewater::controller::Args),
    /// Import AWS CLI JSON, CloudFormation or Terraform into Tidewater manifests and a report.
    Import(tidewater::import::Args),
    /// Serve the Amazon ECS API (JSON 1.1, SigV4) over the Tidewater custom resources.
    EcsApi(tidewater::ecs_api::Args),
}

/// jemalloc rather than the system allocator: the operator's caches churn as watch events replace
/// objects, and glibc's per-thread arenas kept tens of MiB of freed memory resident (issue 12);
/// jemalloc returns it, and translation, mostly small allocations, runs faster.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => {
            print!("{}", tidewater::api::crd_yaml());
            ExitCode::SUCCESS
        }
        Command::Run(args) => tidewater::controller::main(args),
        Command::Import(args) => tidewater::import::main(args),
        Command::EcsApi(args) => tidewater::ecs_api::main(args),
        Command::Render {
            files,
            output,
            namespace,
        } => {
            let out = tidewater::render::render_files(&files, namespace.as_deref());
            match output {
                Format::Yaml => print!("{}", tidewater::render::to_yaml(&out.objects)),
                Format::Json => println!("{}", tidewater::render::to_json_list(&out.objects)),
            }
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            for e in &out.errors {
                eprintln!("error: {e}");
            }
            if out.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
