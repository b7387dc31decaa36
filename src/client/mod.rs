//! `i2v client`: a command-line client of Akool's image-to-video API that works the same
//! against Akool and against i2v. One file per job: the flags (`args`), requests with retries
//! (`http`), ids from arguments and files (`ids`), the delete's `--state` file (`state`), the
//! progress and output (`progress`), and one file per verb.
//!
//! Exit codes: 0 everything asked for was done; 1 some ids failed, are still processing or the
//! server could not be reached; 2 a usage or input error (bad flag, malformed ids file);
//! 3 the server refused the credentials (1101, 1102, 1109), the account is banned (1200) or
//! has no credits (1104); 130 interrupted (Ctrl-C).

pub mod args;
mod create;
mod delete;
pub mod http;
mod ids;
mod info;
mod progress;
mod results;
mod shown_url;
pub mod state;

use std::process::ExitCode;

pub use args::ClientArgs;
use args::Verb;
use progress::Output;

pub const EXIT_OK: u8 = 0;
pub const EXIT_INCOMPLETE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_REFUSED: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why a verb stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Usage(String),
    #[error("the server refused: code {code}: {msg}")]
    Refused { code: i64, msg: String },
    #[error("{0}")]
    Failed(String),
}

impl ClientError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Usage(_) => EXIT_USAGE,
            ClientError::Refused { .. } => EXIT_REFUSED,
            ClientError::Failed(_) => EXIT_INCOMPLETE,
        }
    }
}

/// Runs one verb; the exit code says how it went.
pub async fn run(args: ClientArgs) -> ExitCode {
    let out = Output::new(&args.output);
    let code = match verb(&args, &out).await {
        Ok(code) => code,
        Err(e) => {
            out.finish("stopped");
            eprintln!("i2v client: {e}");
            if out.json {
                out.record(&serde_json::json!({"error": e.to_string(), "exit": e.exit_code()}));
            }
            e.exit_code()
        }
    };
    ExitCode::from(code)
}

async fn verb(args: &ClientArgs, out: &Output) -> Result<u8, ClientError> {
    let c = &args.connection;
    match &args.verb {
        Verb::Token => info::token(c, out).await,
        Verb::Delete(a) => {
            // Input errors are reported before any request is made.
            let ids = ids::collect(&a.ids)?;
            delete::run(&http::Api::connect(c).await?, out, a, ids).await
        }
        Verb::Results(a) => {
            let ids = ids::collect(&a.ids)?;
            results::run(&http::Api::connect(c).await?, out, a, ids).await
        }
        Verb::Create(a) => {
            let rows = create::rows(a)?;
            create::run(&http::Api::connect(c).await?, out, a, rows).await
        }
        Verb::Models => info::models(&http::Api::connect(c).await?, out).await,
        Verb::Effects => info::effects(&http::Api::connect(c).await?, out).await,
        Verb::Credits => info::credits(&http::Api::connect(c).await?, out).await,
    }
}
