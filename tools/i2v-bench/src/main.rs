//! Benchmarks (never timed tests): `cargo run --release -p i2v-bench -- render|http|emulator|all`.
//!
//! `render` times the built-in renderer against bare ffmpeg; `http` loads a real `i2v serve`
//! process over loopback and compares each endpoint with its physical limit (a bare axum server,
//! a bare store loop); `all` runs both. `emulator` measures the admin API's instant-mode creation
//! and seeding (run on its own); `journal` the request journal's cost (on its own). The servers under load run as child processes of this
//! binary (see `server.rs`), so they never share a runtime or a process with the load generator.

mod console;
mod emulator;
mod http;
mod journal;
mod lanes;
mod load;
mod render;
mod report;
mod seed;
mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "i2v-bench",
    about = "i2v benchmarks (release mode: cargo run --release -p i2v-bench -- all)"
)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// The render pipeline next to bare ffmpeg encoding.
    Render,
    /// HTTP load on a real server: delbyids, resultsByIds, createBySourcePrompt, and references.
    Http(http::HttpArgs),
    /// Emulator controls (#12): instant-mode creates and admin seeding, in videos/s. Not part of
    /// `all`: about 10 s of load, but removing its ~16,000 output files afterwards takes another
    /// 5-80 s on this disk.
    Emulator(emulator::EmulatorArgs),
    /// The request journal's cost (#13): delbyids and resultsByIds with the journal off and on.
    /// Not part of `all`.
    Journal(journal::JournalArgs),
    /// The web console's pages with many videos in one account (#17). Not part of `all`.
    Console(console::ConsoleArgs),
    /// render, then http.
    All(http::HttpArgs),
}

fn main() -> ExitCode {
    // The same runtime `#[tokio::main]` gives `src/main.rs`: multi-threaded, one worker per core.
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    if let Some(code) = server::run_child_role(&runtime) {
        return code;
    }
    let cli = Cli::parse();
    let done = runtime.block_on(async {
        match cli.bench {
            Bench::Render => render::run().await,
            Bench::Http(args) => http::run(args).await,
            Bench::Emulator(args) => emulator::run(args).await,
            Bench::Journal(args) => journal::run(args).await,
            Bench::Console(args) => console::run(args).await,
            Bench::All(args) => {
                render::run().await?;
                println!();
                http::run(args).await
            }
        }
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("i2v-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
