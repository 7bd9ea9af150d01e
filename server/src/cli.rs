//! The command line.
//!
//! ```text
//! roomcast-server [--listen ADDR] [--data DIR] [--jwt-secret S] [options]
//! roomcast-server token --user alice [--ttl 3600] [--rooms 'conv-*'] [--jwt-secret S | --data DIR]
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::ffi::OsString;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::auth::{self, Claims};
use crate::config::{Config, DEFAULT_DATA_DIR, DEFAULT_LISTEN};
use crate::retention::{self, Retention, Rule};
use crate::validate::now_s;

/// Roomcast server: WebSocket rooms with durable, ordered history.
#[derive(Debug, Parser)]
#[command(
    name = "roomcast-server",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<CliCommand>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Print a signed token (JWT, HS256).
    Token(TokenArgs),
}

/// Options of the server itself.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Data directory (SQLite store, dev secret).
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// HS256 secret for tokens. Without it: dev mode (generated secret kept in the data
    /// directory, tokens without exp accepted).
    #[arg(long, env = "ROOMCAST_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Client ping interval announced to clients; silent connections close after twice that.
    #[arg(long, default_value_t = 25_000)]
    pub heartbeat_ms: u64,
    /// Largest accepted frame in bytes.
    #[arg(long, default_value_t = 65_536)]
    pub max_frame: usize,
    /// Most rooms one connection may join.
    #[arg(long, default_value_t = 100)]
    pub max_rooms_per_conn: usize,
    /// Most bytes of text one streamed message may hold (appends beyond: too_large).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_stream_bytes: u64,
    /// A stream without an append for this long is ended `failed` by the server.
    #[arg(long, default_value_t = 300_000)]
    pub stream_idle_ms: u64,
    /// Most messages replayed on a join with `since`.
    #[arg(long, default_value_t = 1000)]
    pub replay_limit: u32,
    /// Frames per second one connection may send (burst: twice that); 0: unlimited.
    #[arg(long, default_value_t = 1000)]
    pub publish_rate: u32,
    /// Frames one connection's outbound queue holds before it is cut as a slow consumer.
    #[arg(long, default_value_t = 1024)]
    pub outbound_queue: usize,
    /// How long a new connection has to send hello.
    #[arg(long, default_value_t = 10_000)]
    pub hello_timeout_ms: u64,
    /// Directory of static files served at `/` (e.g. examples/dashboard); the routes above
    /// take precedence.
    #[arg(long, value_name = "DIR")]
    pub web: Option<PathBuf>,
    /// Frames per second all of one user's connections on this node may send together
    /// (burst: twice that); 0: unlimited.
    #[arg(long, default_value_t = 2000)]
    pub user_rate: u32,
    /// Most simultaneous WebSocket connections per client IP (more: HTTP 429); 0: unlimited.
    #[arg(long, default_value_t = 256)]
    pub max_conns_per_ip: usize,
    /// Most simultaneous TCP connections of any kind per client IP (more: closed at once);
    /// 0: unlimited.
    #[arg(long, default_value_t = 512)]
    pub max_sockets_per_ip: usize,
    /// Time a client has to send a request's head or body, and that an idle kept-alive HTTP
    /// connection stays open.
    #[arg(long, default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// Longest integrity check (PRAGMA quick_check) of the SQLite store at startup; past it
    /// the check is abandoned and the server starts. 0: no check.
    #[arg(long, default_value_t = 30_000)]
    pub integrity_check_ms: u64,
    /// Redis URL (redis://host:port/db): keep history and fan-out in Redis so several nodes
    /// serve the same rooms. Without it: the embedded SQLite store in --data.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// With --redis: how long a node's members stay in the shared presence unrefreshed.
    #[arg(long, default_value_t = 15_000)]
    pub presence_ttl_ms: u64,
    /// Retention by count: each room keeps its newest N seqs (messages and stream appends);
    /// 0: no count bound.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub history_max: u64,
    /// Retention by age: items older than this go (`30d`, `12h`, `90m`; units ms s m h d w);
    /// 0: no age bound.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = retention::parse_duration)]
    pub history_ttl: Duration,
    /// Retention of the rooms matching a pattern, instead of the defaults above:
    /// `PATTERN=SPEC`, SPEC being `max:N`, `ttl:DURATION` (comma separated) or `keep`
    /// (`support:*=ttl:90d`). Repeatable; the first matching pattern wins.
    #[arg(long, value_name = "PATTERN=SPEC", value_parser = retention::parse_pattern_rule)]
    pub history_rule: Vec<(String, Rule)>,
    /// The operator's listener: /metrics, /livez, /readyz and the admin API, without
    /// credentials (bind it to a private address). Without it they are on --listen, /metrics
    /// and the admin API behind an operator credential.
    #[arg(long, value_name = "ADDR")]
    pub internal_listen: Option<SocketAddr>,
    /// The admin API key, sent as `Authorization: Bearer <key>` on --listen.
    #[arg(long, env = "ROOMCAST_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// An identity provider's JWKS (https://.../.well-known/jwks.json): its RS256, ES256 and
    /// EdDSA tokens are accepted besides the HS256 ones of --jwt-secret.
    #[arg(long, value_name = "URL", conflicts_with = "jwks_file")]
    pub jwks_url: Option<String>,
    /// The identity provider's JWKS from a file instead of a URL.
    #[arg(long, value_name = "FILE")]
    pub jwks_file: Option<PathBuf>,
    /// With a JWKS: the `iss` its tokens must carry.
    #[arg(long, value_name = "ISSUER")]
    pub jwt_issuer: Option<String>,
    /// With a JWKS: the `aud` its tokens must carry.
    #[arg(long, value_name = "AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// With a JWKS: the claim holding the user id.
    #[arg(long, value_name = "CLAIM", default_value = "sub")]
    pub jwt_user_claim: String,
    /// With a JWKS: the claim holding the room patterns (an array; absent: every room).
    #[arg(long, value_name = "CLAIM", default_value = "rooms")]
    pub jwt_rooms_claim: String,
    /// Log lines as text (colours on a terminal) or as JSON objects, one per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// A TOML file of options, keyed by the flags' names (`history-max = 10000`); the command
    /// line and the environment take precedence over it.
    #[arg(long, env = "ROOMCAST_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Options of `token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// HS256 secret; without it the dev secret of --data is used.
    #[arg(long, env = "ROOMCAST_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Data directory holding the dev secret.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// User id (`sub`).
    #[arg(long)]
    pub user: String,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: u64,
    /// Room patterns the token allows (`*` wildcard); repeat or separate with commas.
    /// None: every room.
    #[arg(long, value_delimiter = ',')]
    pub rooms: Vec<String>,
    /// Make it an operator token (claim `"stats": true`): it may read the per-room detail of
    /// GET /stats.
    #[arg(long)]
    pub stats: bool,
}

impl From<ServeArgs> for Config {
    fn from(a: ServeArgs) -> Self {
        Config {
            listen: a.listen,
            data_dir: a.data,
            jwt_secret: a.jwt_secret,
            heartbeat_ms: a.heartbeat_ms,
            max_frame: a.max_frame,
            max_rooms_per_conn: a.max_rooms_per_conn,
            replay_limit: a.replay_limit,
            publish_rate: a.publish_rate,
            outbound_queue: a.outbound_queue,
            hello_timeout_ms: a.hello_timeout_ms,
            web_dir: a.web,
            user_rate: a.user_rate,
            max_conns_per_ip: a.max_conns_per_ip,
            max_sockets_per_ip: a.max_sockets_per_ip,
            request_timeout_ms: a.request_timeout_ms,
            integrity_check_ms: a.integrity_check_ms,
            redis_url: a.redis,
            presence_ttl_ms: a.presence_ttl_ms,
            max_stream_bytes: a.max_stream_bytes,
            stream_idle_ms: a.stream_idle_ms,
            retention: Retention {
                default: Rule {
                    max: (a.history_max > 0).then_some(a.history_max),
                    ttl: (!a.history_ttl.is_zero()).then_some(a.history_ttl),
                },
                rules: a.history_rule,
            },
            internal_listen: a.internal_listen,
            admin_key: a.admin_key,
            idp: a
                .jwks_url
                .map(crate::jwks::JwksSource::Url)
                .or(a.jwks_file.map(crate::jwks::JwksSource::File))
                .map(|source| crate::jwks::IdpSettings {
                    source,
                    issuer: a.jwt_issuer,
                    audience: a.jwt_audience,
                    user_claim: a.jwt_user_claim,
                    rooms_claim: a.jwt_rooms_claim,
                    refetch_every: crate::jwks::REFETCH_EVERY,
                }),
        }
    }
}

/// Parses `argv`, adding the options of `--config FILE` that the command line and the
/// environment do not give (see `config_file`). `Err`: a message for stderr (help and
/// version requests, and clap's own errors, exit here as clap does).
pub fn parse_with_config(argv: Vec<OsString>) -> Result<Cli, String> {
    let cmd = Cli::command();
    let matches = cmd
        .clone()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| e.exit());
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    let path = match (&cli.command, &cli.serve.config) {
        (None, Some(path)) => path.clone(),
        _ => return Ok(cli),
    };
    let argv = crate::config_file::merge(&cmd, &matches, argv, &path)?;
    let matches = cmd
        .try_get_matches_from(argv)
        .map_err(|e| format!("with the config file {}: {e}", path.display()))?;
    Cli::from_arg_matches(&matches).map_err(|e| e.to_string())
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match parse_with_config(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("roomcast-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Some(CliCommand::Token(args)) => token(args),
        None => {
            init_tracing(cli.serve.log_format);
            run_server(cli.serve.into())
        }
    }
}

fn token(args: TokenArgs) -> ExitCode {
    let secret = match auth::resolve_secret(args.jwt_secret.as_deref(), &args.data) {
        Ok((secret, _)) => secret,
        Err(e) => {
            eprintln!("roomcast-server token: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rooms: Vec<String> = args
        .rooms
        .into_iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    let claims = Claims {
        sub: args.user,
        exp: Some(now_s().saturating_add(args.ttl)),
        rooms: (!rooms.is_empty()).then_some(rooms),
    };
    let minted = if args.stats {
        auth::mint_operator(&secret, &claims)
    } else {
        auth::mint(&secret, &claims)
    };
    match minted {
        Ok(t) => {
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("roomcast-server token: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        // One object per line: time, level, target, the event's fields and those of the
        // spans it is in (`conn` for a WebSocket session, `req` for an HTTP request).
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
}

/// Installs the SIGINT/SIGTERM handlers right away and returns what completes on the first
/// signal. Installing before "listening on" is printed means a signal sent as soon as that
/// line appears shuts down gracefully instead of killing the process.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async fn first(s: Option<Signal>) {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        async move {
            tokio::select! {
                _ = first(term) => {}
                _ = first(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

fn run_server(config: Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("roomcast-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(config.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("roomcast-server: cannot listen on {}: {e}", config.listen);
                return ExitCode::FAILURE;
            }
        };
        let addr = listener.local_addr().unwrap_or(config.listen);
        let internal = match config.internal_listen {
            Some(at) => match tokio::net::TcpListener::bind(at).await {
                Ok(l) => Some(l),
                Err(e) => {
                    eprintln!("roomcast-server: cannot listen on {at} (--internal-listen): {e}");
                    return ExitCode::FAILURE;
                }
            },
            None => None,
        };
        let mut lines = Vec::new();
        if config.jwt_secret.is_none() {
            let dev = auth::load_or_create_dev_secret(&config.data_dir).and_then(|secret| {
                auth::mint(
                    &secret,
                    &Claims {
                        sub: "dev".into(),
                        exp: Some(now_s() + 24 * 3600),
                        rooms: None,
                    },
                )
            });
            match dev {
                Ok(token) => {
                    lines.push(format!(
                        "roomcast-server: dev mode (no --jwt-secret): secret kept in {}",
                        config.data_dir.join(auth::DEV_SECRET_FILE).display()
                    ));
                    lines.push(format!("  dev token (user \"dev\", 24 h): {token}"));
                    lines.push(format!("  WebSocket: ws://{addr}/ws"));
                    lines.push(format!("  HTTP:      http://{addr}"));
                }
                Err(e) => {
                    eprintln!("roomcast-server: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        if let Some(at) = internal.as_ref().and_then(|l| l.local_addr().ok()) {
            lines.push(format!(
                "roomcast-server internal listener on http://{at} (/metrics, /livez, /readyz, /admin)"
            ));
        }
        lines.push(format!("roomcast-server listening on http://{addr}"));
        // Printed only once the store is open: a server that cannot start never said it was up.
        let ready = move || {
            let mut stdout = std::io::stdout().lock();
            for line in lines {
                let _ = writeln!(stdout, "{line}");
            }
            let _ = stdout.flush();
        };
        let shutdown = shutdown_signal();
        match crate::serve_full(config, listener, internal, shutdown, ready).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("roomcast-server: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
