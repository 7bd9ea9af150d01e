//! The two wire protocols the generator speaks: Roomcast's JSON frames and Socket.IO's
//! Engine.IO v4 WebSocket framing. Both map onto the same few events, so one client driver
//! (`client.rs`) runs the same workload against either server.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::BenchError;

/// Which server a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// Roomcast; `ephemeral` publishes skip the store (no seq, no replay).
    Roomcast { ephemeral: bool },
    /// Socket.IO 4 over its WebSocket transport.
    SocketIo,
}

/// Who one connection is.
#[derive(Debug, Clone)]
pub struct Ident {
    /// Room name, `r-<index>`.
    pub room: String,
    /// Index of the room, also the id prefix of its publisher's messages.
    pub room_idx: usize,
    /// Whether this connection publishes into its room.
    pub publisher: bool,
    /// Roomcast JWT (unused for Socket.IO).
    pub token: String,
    /// Stable client id, sent in Roomcast's hello.
    pub client_id: String,
}

/// What the driver needs to know about one received frame.
#[derive(Debug, PartialEq)]
pub enum Inbound {
    /// A broadcast: message number `k` of the room's publisher, sent at `t` (µs on the
    /// generator's clock), with Roomcast's `seq` when persisted, and Socket.IO's offset
    /// when its connection state recovery is on (what a reconnect names as seen last).
    Message {
        k: u64,
        t: u64,
        seq: Option<u64>,
        offset: Option<String>,
    },
    /// The server accepted publish `k`.
    Ack { k: u64, seq: Option<u64> },
    /// The room is joined; Roomcast gives its head `seq` and `epoch`.
    Joined {
        seq: Option<u64>,
        epoch: Option<String>,
    },
    /// Send this frame back (heartbeats).
    Reply(String),
    /// Engine.IO's open packet: connect to the namespace ([`sio_connect`]).
    SioOpen,
    /// Connected to the namespace; `pid` is the session a recovering reconnect names
    /// (only when the server keeps sessions). Join the room next ([`sio_join`]).
    SioConnected { pid: Option<String> },
    /// Nothing to do (welcome, presence, pong, ...).
    Ignore,
    /// The server answered with an error.
    Refused(String),
}

/// The measured part of every message's data.
#[derive(Debug, Serialize, Deserialize)]
struct Data<'a> {
    /// Per-room message number, from 0, in publish order.
    k: u64,
    /// Send time, µs since the generator's start.
    t: u64,
    #[serde(borrow, default)]
    pad: Cow<'a, str>,
}

/// A message id: unique per room publisher, the same on every re-send.
fn message_id(ident: &Ident, k: u64) -> String {
    format!("r{}-{k}", ident.room_idx)
}

fn k_of(id: &str) -> Option<u64> {
    id.rsplit('-').next()?.parse().ok()
}

impl Proto {
    /// Frames to send right after the WebSocket opens; `resume` is Roomcast's `(since, epoch)`.
    pub fn opening(self, ident: &Ident, resume: Option<(u64, &str)>) -> Vec<String> {
        match self {
            Proto::Roomcast { .. } => {
                let hello = serde_json::json!({"type":"hello","ref":1,"protocol":1,
                    "token":ident.token,"client":{"id":ident.client_id,"source":"bench"}});
                let join = match resume {
                    Some((since, epoch)) => serde_json::json!({"type":"join","ref":2,
                        "room":ident.room,"since":since,"epoch":epoch}),
                    None => serde_json::json!({"type":"join","ref":2,"room":ident.room}),
                };
                vec![hello.to_string(), join.to_string()]
            }
            // Engine.IO speaks first (its open packet); see `parse`.
            Proto::SocketIo => vec![],
        }
    }

    /// The publish frame of message `k`.
    pub fn publish(self, ident: &Ident, k: u64, t: u64, pad: &str) -> Result<String, BenchError> {
        let data = Data {
            k,
            t,
            pad: Cow::Borrowed(pad),
        };
        let id = message_id(ident, k);
        let frame = match self {
            Proto::Roomcast { ephemeral } => {
                #[derive(Serialize)]
                struct Publish<'a> {
                    #[serde(rename = "type")]
                    kind: &'static str,
                    #[serde(rename = "ref")]
                    reference: u64,
                    room: &'a str,
                    id: &'a str,
                    event: &'static str,
                    data: Data<'a>,
                    ephemeral: bool,
                }
                serde_json::to_string(&Publish {
                    kind: "publish",
                    // 1 and 2 are hello and join.
                    reference: k + 10,
                    room: &ident.room,
                    id: &id,
                    event: "bench",
                    data,
                    ephemeral,
                })
            }
            Proto::SocketIo => {
                #[derive(Serialize)]
                struct Publish<'a> {
                    room: &'a str,
                    id: &'a str,
                    event: &'static str,
                    data: Data<'a>,
                }
                let body = serde_json::to_string(&(
                    "publish",
                    Publish {
                        room: &ident.room,
                        id: &id,
                        event: "bench",
                        data,
                    },
                ));
                // Packet id k + 1: 0 is the join.
                body.map(|b| format!("42{}{b}", k + 1))
            }
        };
        frame.map_err(|e| BenchError::Frame(e.to_string()))
    }

    /// A keep-alive to send every `heartbeat_ms` (Socket.IO: the server pings instead).
    pub fn ping(self, n: u64) -> Option<String> {
        match self {
            Proto::Roomcast { .. } => Some(format!(r#"{{"type":"ping","ref":{}}}"#, n)),
            Proto::SocketIo => None,
        }
    }

    /// Decodes one text frame.
    pub fn parse(self, text: &str) -> Result<Inbound, BenchError> {
        match self {
            Proto::Roomcast { .. } => parse_roomcast(text),
            Proto::SocketIo => parse_socketio(text),
        }
    }
}

/// Socket.IO's namespace connect: `40`, or `40{"pid":..,"offset":..}` to recover a session
/// (the server replays what the session missed since `offset` and restores its rooms).
pub fn sio_connect(session: Option<(&str, &str)>) -> String {
    match session {
        Some((pid, offset)) => format!(
            r#"40{{"pid":{},"offset":{}}}"#,
            serde_json::Value::from(pid),
            serde_json::Value::from(offset)
        ),
        None => "40".to_owned(),
    }
}

/// Socket.IO's join of the client's room, ack id 0.
pub fn sio_join(ident: &Ident) -> String {
    format!("420{}", serde_json::json!(["join", ident.room]))
}

/// Refs of the keep-alive pings, far above any publish ref.
pub const PING_REF_BASE: u64 = 1 << 40;

fn parse_roomcast(text: &str) -> Result<Inbound, BenchError> {
    #[derive(Deserialize)]
    struct Frame<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
        seq: Option<u64>,
        #[serde(borrow)]
        id: Option<Cow<'a, str>>,
        epoch: Option<String>,
        #[serde(borrow)]
        data: Option<Data<'a>>,
        code: Option<String>,
        message: Option<String>,
    }
    let bad = |e: &dyn std::fmt::Display| BenchError::Frame(format!("{e}: {text:.200}"));
    let f: Frame = serde_json::from_str(text).map_err(|e| bad(&e))?;
    Ok(match f.kind.as_ref() {
        "message" => {
            let d = f.data.ok_or_else(|| bad(&"message without data"))?;
            Inbound::Message {
                k: d.k,
                t: d.t,
                seq: f.seq,
                offset: None,
            }
        }
        "ack" => {
            let k =
                f.id.as_deref()
                    .and_then(k_of)
                    .ok_or_else(|| bad(&"ack without our id"))?;
            Inbound::Ack { k, seq: f.seq }
        }
        "joined" => Inbound::Joined {
            seq: f.seq,
            epoch: f.epoch,
        },
        "ping" => Inbound::Reply(r#"{"type":"pong"}"#.to_owned()),
        "error" => Inbound::Refused(format!(
            "{}: {}",
            f.code.unwrap_or_default(),
            f.message.unwrap_or_default()
        )),
        _ => Inbound::Ignore,
    })
}

fn parse_socketio(text: &str) -> Result<Inbound, BenchError> {
    let bad = |e: &dyn std::fmt::Display| BenchError::Frame(format!("{e}: {text:.200}"));
    // Engine.IO packet type is the first character; Socket.IO's (inside a `4` message) the
    // second.
    if let Some(rest) = text.strip_prefix("42") {
        // A broadcast: `42["message",{...}]`, with the offset as a third element when the
        // server keeps sessions (we never receive events with ack ids).
        #[derive(Deserialize)]
        struct Msg<'a> {
            #[serde(borrow)]
            data: Data<'a>,
        }
        let parts: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(rest).map_err(|e| bad(&e))?;
        let body = parts.get(1).ok_or_else(|| bad(&"event without data"))?;
        let msg: Msg = serde_json::from_str(body.get()).map_err(|e| bad(&e))?;
        let offset = match parts.get(2) {
            Some(raw) => Some(serde_json::from_str::<String>(raw.get()).map_err(|e| bad(&e))?),
            None => None,
        };
        return Ok(Inbound::Message {
            k: msg.data.k,
            t: msg.data.t,
            seq: None,
            offset,
        });
    }
    if let Some(rest) = text.strip_prefix("43") {
        // An ack: `43<id>[args]`.
        let digits = rest
            .find('[')
            .ok_or_else(|| bad(&"ack without arguments"))?;
        let (id, args) = rest.split_at(digits);
        let id: u64 = id.parse().map_err(|e| bad(&e))?;
        #[derive(Deserialize)]
        struct AckArg {
            error: Option<String>,
        }
        let (arg,): (AckArg,) = serde_json::from_str(args).map_err(|e| bad(&e))?;
        if let Some(error) = arg.error {
            return Ok(Inbound::Refused(error));
        }
        return Ok(match id {
            0 => Inbound::Joined {
                seq: None,
                epoch: None,
            },
            n => Inbound::Ack {
                k: n - 1,
                seq: None,
            },
        });
    }
    if let Some(rest) = text.strip_prefix("40") {
        // Connected to namespace `/`: `40{"sid":..}`, plus `"pid"` when sessions are kept.
        #[derive(Deserialize)]
        struct Connected {
            pid: Option<String>,
        }
        let pid = if rest.is_empty() {
            None
        } else {
            serde_json::from_str::<Connected>(rest)
                .map_err(|e| bad(&e))?
                .pid
        };
        return Ok(Inbound::SioConnected { pid });
    }
    if text.starts_with('0') {
        return Ok(Inbound::SioOpen);
    }
    if text == "2" {
        return Ok(Inbound::Reply("3".to_owned()));
    }
    if text.starts_with("44") || text.starts_with("41") || text.starts_with('1') {
        return Ok(Inbound::Refused(format!("socket.io closed: {text:.200}")));
    }
    Ok(Inbound::Ignore)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident() -> Ident {
        Ident {
            room: "r-3".into(),
            room_idx: 3,
            publisher: true,
            token: "tok".into(),
            client_id: "c3".into(),
        }
    }

    #[test]
    fn socketio_handshake_and_events() {
        let p = Proto::SocketIo;
        let i = ident();
        let open = r#"0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#;
        assert_eq!(p.parse(open).ok(), Some(Inbound::SioOpen));
        assert_eq!(
            p.parse(r#"40{"sid":"y"}"#).ok(),
            Some(Inbound::SioConnected { pid: None })
        );
        assert_eq!(
            p.parse(r#"40{"sid":"y","pid":"p1"}"#).ok(),
            Some(Inbound::SioConnected {
                pid: Some("p1".into())
            })
        );
        assert_eq!(sio_join(&i), r#"420["join","r-3"]"#);
        assert_eq!(sio_connect(None), "40");
        assert_eq!(
            sio_connect(Some(("p1", "o-9"))),
            r#"40{"pid":"p1","offset":"o-9"}"#
        );
        assert_eq!(
            p.parse(r#"430[{"room":"r-3"}]"#).ok(),
            Some(Inbound::Joined {
                seq: None,
                epoch: None
            })
        );
        assert_eq!(
            p.parse(r#"4318[{"id":"r3-17","ts":1}]"#).ok(),
            Some(Inbound::Ack { k: 17, seq: None })
        );
        assert_eq!(p.parse("2").ok(), Some(Inbound::Reply("3".into())));
        let frame = p.publish(&i, 5, 99, "xx").unwrap_or_default();
        assert_eq!(
            frame,
            r#"426["publish",{"room":"r-3","id":"r3-5","event":"bench","data":{"k":5,"t":99,"pad":"xx"}}]"#
        );
        let msg = r#"42["message",{"room":"r-3","id":"r3-5","event":"bench","data":{"k":5,"t":99,"pad":"xx"},"from":{"user":"s"},"ts":1}]"#;
        assert_eq!(
            p.parse(msg).ok(),
            Some(Inbound::Message {
                k: 5,
                t: 99,
                seq: None,
                offset: None
            })
        );
        let recovered = r#"42["message",{"room":"r-3","id":"r3-6","event":"bench","data":{"k":6,"t":100,"pad":""},"from":{"user":"s"},"ts":1},"o-77"]"#;
        assert_eq!(
            p.parse(recovered).ok(),
            Some(Inbound::Message {
                k: 6,
                t: 100,
                seq: None,
                offset: Some("o-77".into())
            })
        );
        assert!(p.parse("42[broken").is_err());
    }

    #[test]
    fn roomcast_frames() {
        let p = Proto::Roomcast { ephemeral: false };
        let i = ident();
        let opening = p.opening(&i, Some((41, "b1f0")));
        assert_eq!(opening.len(), 2);
        assert!(opening[1].contains(r#""since":41"#) && opening[1].contains(r#""epoch":"b1f0""#));
        let frame = p.publish(&i, 7, 5, "").unwrap_or_default();
        assert!(frame.contains(r#""id":"r3-7""#) && frame.contains(r#""ref":17"#));
        let msg = r#"{"type":"message","room":"r-3","seq":8,"id":"r3-7","event":"bench","data":{"k":7,"t":5,"pad":""},"from":{"user":"u"},"ts":1}"#;
        assert_eq!(
            p.parse(msg).ok(),
            Some(Inbound::Message {
                k: 7,
                t: 5,
                seq: Some(8),
                offset: None
            })
        );
        let ack = r#"{"type":"ack","ref":17,"id":"r3-7","seq":8,"ts":1}"#;
        assert_eq!(p.parse(ack).ok(), Some(Inbound::Ack { k: 7, seq: Some(8) }));
        let joined = r#"{"type":"joined","ref":2,"room":"r-3","seq":0,"epoch":"e","recovered":true,"presence":[]}"#;
        assert_eq!(
            p.parse(joined).ok(),
            Some(Inbound::Joined {
                seq: Some(0),
                epoch: Some("e".into())
            })
        );
        assert!(matches!(
            p.parse(r#"{"type":"error","code":"not_joined"}"#),
            Ok(Inbound::Refused(_))
        ));
        assert!(p.parse("not json").is_err());
    }
}
