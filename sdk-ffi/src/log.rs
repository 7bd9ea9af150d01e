//! The log sink: the core's `tracing` events handed to the app (Swift forwards them to
//! `os.Logger`), filtered by level.
//!
//! The first [`set_log_sink`] installs a small `tracing` subscriber as this library's global
//! default, once per process; later calls only swap the sink and the level. Until then no
//! subscriber exists and every event is skipped at its call site. With the sink cleared, the
//! level is off and `tracing`'s call-site cache disables every event again, so logging costs
//! nothing measurable when off.
//!
//! Records go through a bounded queue to one thread of their own (`roomcast-log`), in order:
//! a slow sink never stalls the connection, and when it falls 1024 records behind, newer
//! records are dropped (and counted in the next record that gets through).

use std::fmt::{self, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::{channel, Receiver, Sender};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{span, Event, Level, Metadata, Subscriber};

use crate::error::RoomcastError;

/// How much to log, most severe first; a sink at `Info` gets `Error`, `Warn` and `Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// One event of the SDK.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    /// Where it comes from: a Rust module path (`roomcast_core::native::driver`), usable as
    /// an `os.Logger` category.
    pub target: String,
    /// The message, then its fields as `key=value`.
    pub message: String,
}

/// Receives the SDK's log records, on the SDK's log thread, one at a time and in order.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    fn log(&self, record: LogRecord);
}

/// Sends the SDK's events at `level` and above to `sink`, replacing any sink set before. The
/// sink is process-wide: it receives the events of every client.
///
/// Fails with `InvalidConfig` when another `tracing` subscriber was made this library's
/// global default first (possible only when Rust code in the same library did so).
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, level: LogLevel) -> Result<(), RoomcastError> {
    installed()?;
    *current_sink() = Some(sink);
    set_level(rank(level));
    Ok(())
}

/// Stops logging: the sink is released and events are skipped at their call sites again.
#[uniffi::export]
pub fn clear_log_sink() {
    set_level(OFF);
    *current_sink() = None;
}

/// The most verbose level forwarded: `OFF`, or a [`rank`].
static LEVEL: AtomicU8 = AtomicU8::new(OFF);
const OFF: u8 = 0;
/// Records dropped because the sink fell behind, not yet reported.
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Records waiting for the sink thread.
const QUEUE: usize = 1024;

fn rank(level: LogLevel) -> u8 {
    match level {
        LogLevel::Error => 1,
        LogLevel::Warn => 2,
        LogLevel::Info => 3,
        LogLevel::Debug => 4,
        LogLevel::Trace => 5,
    }
}

fn rank_of(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        _ => 5,
    }
}

fn level_of(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

fn enabled(level: &Level) -> bool {
    rank_of(level) <= LEVEL.load(Ordering::Relaxed)
}

/// Sets the level and has every call site ask the subscriber again, so the cached answers
/// (and `tracing`'s global maximum level) follow it.
fn set_level(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}

fn current_sink() -> std::sync::MutexGuard<'static, Option<Arc<dyn LogSink>>> {
    static SINK: Mutex<Option<Arc<dyn LogSink>>> = Mutex::new(None);
    SINK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs the subscriber and starts the sink thread, once per process.
fn installed() -> Result<(), RoomcastError> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            // tokio's channel: already in the library, unlike std's (size matters on phones).
            let (records, queue) = channel(QUEUE);
            std::thread::Builder::new()
                .name("roomcast-log".into())
                .spawn(move || deliver(queue))
                .map_err(|e| format!("cannot start the log thread: {e}"))?;
            tracing::subscriber::set_global_default(Forwarder { records })
                .map_err(|_| "another tracing subscriber is this library's global default".into())
        })
        .clone()
        .map_err(|reason| RoomcastError::InvalidConfig { reason })
}

/// The sink thread: hands each record to the current sink, if any.
fn deliver(mut queue: Receiver<LogRecord>) {
    while let Some(record) = queue.blocking_recv() {
        let sink = current_sink().clone();
        if let Some(sink) = sink {
            // A sink that fails loses that one record, never the thread.
            let _ = catch_unwind(AssertUnwindSafe(|| sink.log(record)));
        }
    }
}

/// The `tracing` subscriber: events at the level or above become records; spans are not
/// tracked (the SDK's events carry what they need as fields).
struct Forwarder {
    records: Sender<LogRecord>,
}

impl Subscriber for Forwarder {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_event() && enabled(metadata.level()) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && enabled(metadata.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match LEVEL.load(Ordering::Relaxed) {
            OFF => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            4 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut text = Text::default();
        event.record(&mut text);
        let dropped = DROPPED.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = write!(
                text.0,
                " ({dropped} earlier records dropped: the sink fell behind)"
            );
        }
        let record = LogRecord {
            level: level_of(metadata.level()),
            target: metadata.target().to_owned(),
            message: text.0,
        };
        match self.records.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                DROPPED.fetch_add(dropped + 1, Ordering::Relaxed);
            }
            Err(TrySendError::Closed(_)) => {}
        }
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// An event's message, then its other fields as ` key=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }
}
