//! `new Client(options)`: the JS options object read into the machine's [`Config`].

use std::time::Duration;

use js_sys::{Function, Reflect};
use roomcast_core::machine::{Config, Error, Snapshot};
use roomcast_core::protocol::json::push_u64;
use wasm_bindgen::{JsCast, JsValue};

/// What the driver needs beyond the machine's configuration.
pub(crate) struct Options {
    pub(crate) config: Config,
    pub(crate) token_provider: Option<Function>,
    pub(crate) pause_when_hidden: bool,
    pub(crate) reconnect_on_online: bool,
    /// With a store: where records go, and what it kept.
    pub(crate) persist: Option<Function>,
    pub(crate) restore: Option<Snapshot>,
}

fn invalid(what: impl Into<String>) -> Error {
    Error::InvalidConfig(what.into())
}

/// `<key><problem>`, e.g. "url must be a string".
fn invalid_key(key: &str, problem: &str) -> Error {
    invalid(String::from(key) + problem)
}

fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn string(obj: &JsValue, key: &str) -> Result<Option<String>, Error> {
    get(obj, key)
        .map(|v| {
            v.as_string()
                .ok_or_else(|| invalid_key(key, " must be a string"))
        })
        .transpose()
}

/// A whole number in `0..=max`.
fn number(obj: &JsValue, key: &str, max: u64) -> Result<Option<u64>, Error> {
    get(obj, key)
        .map(|v| match v.as_f64() {
            Some(n) if n >= 0.0 && n <= max as f64 && n.fract() == 0.0 => Ok(n as u64),
            _ => {
                let mut text = String::from(key) + " must be a whole number from 0 to ";
                push_u64(&mut text, max);
                Err(invalid(text))
            }
        })
        .transpose()
}

fn millis(obj: &JsValue, key: &str) -> Result<Option<Duration>, Error> {
    Ok(number(obj, key, 86_400_000)?.map(Duration::from_millis))
}

fn flag(obj: &JsValue, key: &str, default: bool) -> Result<bool, Error> {
    get(obj, key).map_or(Ok(default), |v| {
        v.as_bool()
            .ok_or_else(|| invalid_key(key, " must be a boolean"))
    })
}

/// Reads `options`; `default_client_id` is used when it names none.
pub(crate) fn parse(options: &JsValue, default_client_id: String) -> Result<Options, Error> {
    if !options.is_object() {
        return Err(invalid("options must be an object with at least `url`"));
    }
    let url = string(options, "url")?.ok_or_else(|| invalid("url is required"))?;
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(invalid(
            String::from("url must start with ws:// or wss://: ") + &url,
        ));
    }
    let client_id = string(options, "clientId")?.unwrap_or(default_client_id);
    let source = string(options, "source")?.unwrap_or_else(|| "web".into());
    let mut config = Config::new(url, client_id, source);
    config.client.name = string(options, "name")?;
    config.token = string(options, "token")?;
    let token_provider = match get(options, "tokenProvider") {
        None => None,
        Some(v) => Some(
            v.dyn_into::<Function>()
                .map_err(|_| invalid("tokenProvider must be a function"))?,
        ),
    };
    config.token_provider = token_provider.is_some();
    if config.token.is_none() && token_provider.is_none() {
        return Err(invalid("give a token or a tokenProvider"));
    }
    if let Some(backoff) = get(options, "backoff") {
        if let Some(d) = millis(&backoff, "minDelayMs")? {
            config.backoff.min_delay = d;
        }
        if let Some(d) = millis(&backoff, "maxDelayMs")? {
            config.backoff.max_delay = d;
        }
        config.backoff.max_attempts =
            number(&backoff, "maxAttempts", u64::from(u32::MAX))?.map(|n| n as u32);
    }
    if let Some(n) = number(options, "queueCapacity", 1_000_000_000)? {
        config.queue_capacity = n as usize;
    }
    if let Some(d) = millis(options, "requestTimeoutMs")? {
        config.request_timeout = d;
    }
    if let Some(d) = millis(options, "connectTimeoutMs")? {
        config.connect_timeout = d;
    }
    let persist = match get(options, "onPersist") {
        None => None,
        Some(v) => Some(
            v.dyn_into::<Function>()
                .map_err(|_| invalid("onPersist must be a function"))?,
        ),
    };
    config.persist = persist.is_some();
    let restore = get(options, "restore")
        .map(|v| crate::store::snapshot(&v))
        .transpose()?;
    Ok(Options {
        config,
        token_provider,
        persist,
        restore,
        pause_when_hidden: flag(options, "pauseWhenHidden", false)?,
        reconnect_on_online: flag(options, "reconnectOnOnline", true)?,
    })
}
