use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = qwave::cli::Cli::parse();
    match qwave::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
