//! Command-line verbs. Every setting a flag sets can also come from the TOML file named by
//! `--config` or from an `I2V_*` environment variable; flags win over both (see `config`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides, Sources};
use crate::domain::emulation::Lifecycle;
use crate::{service, App};

#[derive(Parser)]
#[command(
    name = "i2v",
    version,
    about = "Self-hostable server for Akool's Image-to-Video OpenAPI"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (and the background loops) until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Run the server set up for a first try on this machine: private URLs allowed, the admin
    /// API on (token generated), a demo account and a sample image, all written to
    /// <data-dir>/dev.env (default data dir ./i2v-dev), and curl lines that work as printed.
    Dev(ServeArgs),
    /// Run only render workers and background loops (no HTTP), e.g. to scale rendering out.
    Worker(ServeArgs),
    /// Manage accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate(StoreArgs),
    /// Copy everything from an embedded setup (SQLite + files in a data dir) to PostgreSQL + S3.
    ///
    /// Stop the source server first: videos still processing are queued again on the new setup.
    /// The target database must be empty. Every new process needs the source's master key.
    MigrateStore(MigrateStoreArgs),
    /// A client of Akool's image-to-video API (Akool's or an i2v server): bulk delete with
    /// retries and resume, create, results and downloads, models, effects, credits, token.
    /// Exit codes: 0 done, 1 some ids not done, 2 usage or input error, 3 credentials or
    /// credits refused.
    Client(crate::client::ClientArgs),
}

#[derive(Args)]
struct MigrateStoreArgs {
    /// Data directory of the source setup (its i2v.db, blobs/ and master.key).
    #[arg(long)]
    from_data_dir: PathBuf,
    /// Source database; default sqlite://<from-data-dir>/i2v.db.
    #[arg(long)]
    from_database_url: Option<String>,
    /// Target PostgreSQL database (postgres://USER:PASSWORD@HOST:PORT/DB); it must be empty.
    #[arg(long)]
    to_database_url: String,
    /// Target file storage, usually s3://BUCKET[/PREFIX] (credentials, region and endpoint from
    /// the AWS_* environment variables).
    #[arg(long)]
    to_blob_url: String,
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Create an account; prints uid, team_id, clientId, clientSecret (the API key) and credits.
    Create {
        /// Display name of the account (shown by the admin API; need not be unique).
        #[arg(long)]
        name: String,
        /// Starting credit balance, recorded in the ledger as a grant.
        #[arg(long, default_value_t = 0)]
        credits: i64,
        /// How the account's new videos move (emulator controls): a mode name (render, instant,
        /// manual) or a JSON object such as
        /// '{"mode":"timed","processing_after_ms":1000,"complete_after_ms":5000}'. Default: the
        /// server's `[emulator] lifecycle`.
        #[arg(long)]
        lifecycle: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (TOML) with secrets redacted, each value followed by
    /// where it came from (default, file, env variable or flag).
    Print(ServeArgs),
}

#[derive(Args, Clone, Default)]
struct StoreArgs {
    /// TOML configuration file.
    #[arg(long, env = "I2V_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, master key, output files). Default ./i2v-data.
    /// [env: I2V_DATA_DIR]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Database URL; default sqlite://<data-dir>/i2v.db. [env: I2V_DATABASE_URL]
    #[arg(long)]
    database_url: Option<String>,
    /// Output files: file:///ABS/DIR, s3://BUCKET[/PREFIX] (credentials, region and endpoint from
    /// the AWS_* environment variables) or memory://. Default <data-dir>/blobs.
    /// [env: I2V_BLOB_URL]
    #[arg(long)]
    blob_url: Option<String>,
    /// 64 hex digits; default: generated once into <data-dir>/master.key. [env: I2V_MASTER_KEY]
    #[arg(long)]
    master_key: Option<String>,
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on. Default 127.0.0.1:8080. [env: I2V_LISTEN]
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Enables /_admin/v1 with this bearer token (at least 16 characters).
    /// [env: I2V_ADMIN_TOKEN]
    #[arg(long)]
    admin_token: Option<String>,
    /// Background render workers (default: one per CPU; 0 = none, jobs stay queued).
    /// [env: I2V_WORKERS]
    #[arg(long)]
    workers: Option<usize>,
    /// Let outbound fetches reach private and loopback addresses. [env: I2V_ALLOW_PRIVATE_URLS]
    #[arg(long)]
    allow_private_urls: bool,
    /// Base URL clients reach this server at (used in video_url). Default http://<listen>.
    /// [env: I2V_PUBLIC_URL]
    #[arg(long)]
    public_url: Option<String>,
}

impl StoreArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            blob_url: self.blob_url.clone(),
            master_key: self.master_key.clone(),
            ..Overrides::default()
        }
    }

    fn load(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref(), self.overrides())?)
    }
}

impl ServeArgs {
    /// The file, this process's environment and the flags.
    fn sources(&self) -> anyhow::Result<Sources<'_>> {
        let flags = Overrides {
            listen: self.listen,
            admin_token: self.admin_token.clone(),
            workers: self.workers,
            allow_private_urls: self.allow_private_urls.then_some(true),
            public_url: self.public_url.clone(),
            ..self.store.overrides()
        };
        Ok(Sources::from_process(self.store.config.as_deref(), flags)?)
    }

    fn load(&self) -> anyhow::Result<Config> {
        Ok(self.sources()?.load()?.config)
    }
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    // The client logs nothing: its output is its report (see `client::progress`).
    let command = match cli.command {
        Command::Client(args) => return crate::client::run(args).await,
        command => command,
    };
    init_tracing();
    match dispatch(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("i2v: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args.load()?).await,
        Command::Dev(args) => dev(args).await,
        Command::Worker(args) => worker(args.load()?).await,
        Command::Accounts {
            command:
                AccountsCommand::Create {
                    name,
                    credits,
                    lifecycle,
                    store,
                },
        } => {
            // Checked before anything is written: a bad lifecycle creates no account.
            let lifecycle = lifecycle
                .map(|text| Lifecycle::from_json(&serde_json::Value::String(text)))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--lifecycle: {e}"))?;
            let app = App::build(store.load()?).await?;
            let issued = service::accounts::create(&app, &name, credits)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(lifecycle) = lifecycle {
                service::emulation::set_lifecycle(&app, issued.account.uid, lifecycle)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            // Through a `Value`, so keys come sorted, as in the admin API's answer.
            println!("{}", serde_json::to_value(issued.view())?);
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Print(args),
        } => {
            print!("{}", args.sources()?.load()?.annotated_toml()?);
            Ok(())
        }
        Command::MigrateStore(args) => {
            let options = crate::migrate_store::MigrateOptions {
                from_data_dir: args.from_data_dir,
                from_database_url: args.from_database_url,
                to_database_url: args.to_database_url,
                to_blob_url: args.to_blob_url,
            };
            let summary = crate::migrate_store::run(&options).await?;
            print!("{}", crate::migrate_store::report(&options, &summary));
            Ok(())
        }
        // `run` answers the client before tracing starts, with the client's own exit codes.
        Command::Client(_) => unreachable!("`run` hands the client verbs to `client::run`"),
        Command::Migrate(store) => {
            App::build(store.load()?).await?;
            eprintln!("schema is up to date");
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let app = App::build(config).await?;
    check_ffmpeg(&app).await;
    crate::serve(app, listener, shutdown_signal()).await
}

async fn dev(args: ServeArgs) -> anyhow::Result<()> {
    let mut sources = args.sources()?;
    // A default, not a flag: the file and I2V_DATA_DIR still choose another directory.
    sources.defaults.data_dir = Some(crate::dev::DEFAULT_DATA_DIR.into());
    let mut config = sources.load()?.config;
    crate::dev::prepare(&mut config);
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let app = App::build(config).await?;
    check_ffmpeg(&app).await;
    crate::dev::set_up(&app).await?;
    crate::serve(app, listener, shutdown_signal()).await
}

async fn worker(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    if app.config.worker_count() == 0 {
        anyhow::bail!("i2v worker needs at least one worker (--workers N)");
    }
    check_ffmpeg(&app).await;
    tracing::info!(workers = app.config.worker_count(), "i2v worker running");
    crate::run_background(app, shutdown_signal()).await;
    Ok(())
}

/// Says in one line at start-up when renders cannot work.
async fn check_ffmpeg(app: &App) {
    let workers = app.config.worker_count();
    let render = &app.config.render;
    if workers == 0 {
        tracing::info!("no render workers (--workers 0): created videos stay queued");
    } else if !crate::render::ffmpeg::available(&render.ffmpeg).await
        || !crate::render::ffmpeg::available(&render.ffprobe).await
    {
        tracing::error!(
            "ffmpeg/ffprobe not found ({} / {}): every render will fail until it is installed (apt-get install ffmpeg)",
            render.ffmpeg,
            render.ffprobe
        );
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every flag of every verb explains itself in `--help` (clap's own `--help`/`--version`
    /// included), so a new flag without a doc comment fails here.
    #[test]
    fn every_flag_has_help_text() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut command = Cli::command();
        command.build();
        let mut missing = Vec::new();
        walk(&command, "i2v", &mut missing);
        assert!(missing.is_empty(), "flags without help: {missing:?}");
    }
}
