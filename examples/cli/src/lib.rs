//! The `roomcast` command-line client, built on the Roomcast Rust SDK.
//!
//! - `roomcast chat`: an interactive conversation; each stdin line is published.
//! - `roomcast publish`: publishes N numbered messages and exits when all are acknowledged.
//! - `roomcast listen`: prints messages (optionally as JSON lines) and exits after N.
//!
//! All three ride out disconnects and server restarts: the SDK queues, resends and resumes.
//! Each keeps its unsent messages and its place in the room in a store between runs (see
//! `store`), so a killed `publish` or `chat` sends what it had queued when run again, and
//! `listen` continues after the last message it printed.

mod assistant;
mod chat;
mod listen;
mod print;
mod publish;
mod store;
mod stream;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use roomcast_core::{Client, ClientBuilder, Error};

#[derive(Parser)]
#[command(name = "roomcast", version, about = "Roomcast command-line client")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Join a room and chat: stdin lines are published as `chat.message`.
    Chat(chat::ChatArgs),
    /// Publish N numbered messages and exit once every one is acknowledged.
    Publish(publish::PublishArgs),
    /// Print a room's messages; exit after --count of them.
    Listen(listen::ListenArgs),
    /// Stream stdin into the room as one message growing as text arrives (`done` at end of
    /// input, `cancelled` on Ctrl-C).
    Stream(stream::StreamArgs),
    /// An example backend: answer every chat message with a streamed reply, word by word.
    Assistant(assistant::AssistantArgs),
}

/// Connection options every command takes.
#[derive(Args, Clone)]
pub(crate) struct Connection {
    /// WebSocket URL of the server.
    #[arg(long, default_value = "ws://127.0.0.1:4000/ws", env = "ROOMCAST_URL")]
    url: String,
    /// JWT to connect with (`roomcast-server token ...` prints one).
    #[arg(long, env = "ROOMCAST_TOKEN", hide_env_values = true)]
    token: String,
    /// Room to use.
    #[arg(long)]
    room: String,
    /// Kind of client shown to others.
    #[arg(long, default_value = "cli")]
    source: String,
    /// Name shown to others.
    #[arg(long)]
    name: Option<String>,
    /// Stable client id (default: the one kept in the store, or a random one per run).
    #[arg(long)]
    client_id: Option<String>,
    /// Keep the offline queue and the room's position in this directory (default: one per
    /// command, user and room under the user's data directory).
    #[arg(long, env = "ROOMCAST_STORE", conflicts_with = "no_store")]
    store: Option<PathBuf>,
    /// Keep nothing between runs: unsent messages are lost when the process ends, and
    /// `listen` starts at the newest message.
    #[arg(long)]
    no_store: bool,
}

impl Connection {
    /// The client for `command` (`chat`, `publish`, `listen`), on its store unless
    /// `--no-store`.
    pub(crate) fn client(&self, command: &str) -> Result<Client, Error> {
        let dir = store::dir(self, command);
        if let (Some(dir), Some(_)) = (&dir, &self.store) {
            store::claim(self, command, dir)?;
        }
        store::build(|| self.builder(), dir.as_deref(), self.client_id.is_some())
    }

    fn builder(&self) -> ClientBuilder {
        let mut builder = Client::builder(&self.url)
            .token(&self.token)
            .source(&self.source);
        if let Some(name) = &self.name {
            builder = builder.name(name);
        }
        if let Some(id) = &self.client_id {
            builder = builder.client_id(id);
        }
        builder
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Client(#[from] Error),
    #[error("{failed} of {total} publishes failed")]
    Publishes { failed: usize, total: usize },
    #[error("reading stdin: {0}")]
    Stdin(#[from] std::io::Error),
}

/// Parses the command line and runs the command; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROOMCAST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roomcast: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Chat(args) => chat::run(args).await,
            Command::Publish(args) => publish::run(args).await,
            Command::Listen(args) => listen::run(args).await,
            Command::Stream(args) => stream::run(args).await,
            Command::Assistant(args) => assistant::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roomcast: {e}");
            ExitCode::FAILURE
        }
    }
}
