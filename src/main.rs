use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    i2v::cli::run().await
}
