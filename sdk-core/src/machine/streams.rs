//! Streamed messages, reader side: the contract's per-stream count rule, so the app sees each
//! stream as its opening message with the text so far, then every later piece once, in order,
//! then its end, across reconnects, complete resumes, a store's restart and history paging.
//!
//! Per open stream a room keeps the count `shown` of appends its text holds as the app has it.
//! An append whose `n` is that count is handed over; one below it is skipped (its text is
//! already in what was shown, folded into a replayed opening message). One above it, or one of
//! a stream whose opening message this client never handed over (it came before the position
//! the room resumed from), makes the machine fetch the opening message (`history` with
//! `before` = `of` + 1, `limit` 1): a stream the app never saw is handed over as that message,
//! with its folded text; for one it has, the text it misses is handed over as one piece. The
//! appends that arrive meanwhile wait for the answer, then go through the rule again.
//!
//! A stream is forgotten at its end; at most [`MAX_TRACKED`] open ones are kept per room (the
//! oldest goes first, and its next append fetches its opening message again).

use web_time::Instant;

use super::queue::{Entry, What};
use super::requests::Request;
use super::{Error, Event, Machine};
use crate::protocol::{Append, ClientFrame, ErrorCode, HistoryRequest, Message, StreamState};

/// Open streams followed per room.
pub(crate) const MAX_TRACKED: usize = 256;

/// Appends that may wait for one stream's opening message; past this the answer is asked
/// for again once it came (the waiting ones are still all applied, in order).
const MAX_WAITING: usize = 4096;

/// One open stream as the app has it.
#[derive(Debug)]
struct Tracked {
    /// Seq of its opening message.
    of: u64,
    id: String,
    /// Appends the text the app has holds; `None` until the app has the opening message.
    shown: Option<u64>,
    /// Bytes of that text.
    bytes: usize,
    /// The opening message was asked for; appends wait in `waiting` for the answer.
    fetching: bool,
    /// Its fetch was lost with the connection: asked again at the room's next join.
    refetch: bool,
    waiting: Vec<Append>,
}

/// A room's open streams.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    open: Vec<Tracked>,
}

impl Streams {
    fn get_mut(&mut self, of: u64) -> Option<&mut Tracked> {
        self.open.iter_mut().find(|t| t.of == of)
    }

    fn remove(&mut self, of: u64) -> Option<Tracked> {
        let at = self.open.iter().position(|t| t.of == of)?;
        Some(self.open.remove(at))
    }

    fn insert(&mut self, tracked: Tracked) {
        if self.open.len() >= MAX_TRACKED {
            // The oldest one that is not waiting for its opening message.
            if let Some(at) = self.open.iter().position(|t| !t.fetching) {
                self.open.remove(at);
            }
        }
        self.open.push(tracked);
    }

    /// Seqs restart (a new epoch, or history that went back): no stream carries over.
    pub(crate) fn clear(&mut self) {
        self.open.clear();
    }

    /// The connection is gone: fetches in flight are asked again at the next join.
    pub(crate) fn connection_lost(&mut self) {
        for t in &mut self.open {
            t.refetch |= t.fetching;
        }
    }
}

/// Streams this client writes: the index of each one's next piece.
#[derive(Debug, Default)]
pub(crate) struct Writers {
    open: Vec<Writer>,
}

#[derive(Debug)]
struct Writer {
    room: String,
    id: String,
    next: u64,
}

/// Streams a client writes at once, at most; the oldest is forgotten past this.
const MAX_WRITERS: usize = 1024;

impl Writers {
    fn find(&mut self, room: &str, id: &str) -> Option<&mut Writer> {
        self.open.iter_mut().find(|w| w.room == room && w.id == id)
    }

    /// A stream opened by this client (its publish was queued).
    pub(crate) fn open(&mut self, room: &str, id: &str) {
        if self.find(room, id).is_some() {
            return;
        }
        if self.open.len() >= MAX_WRITERS {
            self.open.remove(0);
        }
        self.open.push(Writer {
            room: room.to_owned(),
            id: id.to_owned(),
            next: 0,
        });
    }

    /// A piece `n` restored from the store: the next one follows it.
    pub(crate) fn restored(&mut self, room: &str, id: &str, n: u64, ended: bool) {
        self.open(room, id);
        if let Some(w) = self.find(room, id) {
            w.next = w.next.max(n + 1);
        }
        if ended {
            self.close(room, id);
        }
    }

    /// The index of the stream's next piece; the stream is closed to more with `ending`.
    pub(crate) fn next(&mut self, room: &str, id: &str, ending: bool) -> Result<u64, Error> {
        let Some(w) = self.find(room, id) else {
            return Err(Error::Server {
                code: ErrorCode::NotFound,
                message: format!(
                    "{id} is no open stream this client writes in {room} (open one with a \
                     stream publish)"
                ),
            });
        };
        let n = w.next;
        w.next += 1;
        if ending {
            self.close(room, id);
        }
        Ok(n)
    }

    pub(crate) fn close(&mut self, room: &str, id: &str) {
        self.open.retain(|w| !(w.room == room && w.id == id));
    }
}

/// How an append relates to what the app has of its stream.
enum Rule {
    Show,
    Skip,
    Fetch,
}

impl Machine {
    /// A stream's opening message was handed over: follow it while it is open.
    pub(crate) fn track_stream(&mut self, m: &Message) {
        let (Some(room), Some(seq), Some(info)) = (self.rooms.get_mut(&m.room), m.seq, &m.stream)
        else {
            return;
        };
        room.streams.remove(seq);
        if info.state == StreamState::Open {
            room.streams.insert(Tracked {
                of: seq,
                id: m.id.clone(),
                shown: Some(info.n),
                bytes: info.text.len(),
                fetching: false,
                refetch: false,
                waiting: Vec::new(),
            });
        }
    }

    /// This client's own stream opening or piece was stored at `seq`: its stream is followed
    /// as its writer has it, so that a piece another member adds (a cancel) is handed over in
    /// turn, and the writer's own are never handed back.
    pub(crate) fn own_stream_progress(&mut self, entry: &Entry, seq: u64) {
        let Some(room) = self.rooms.get_mut(&entry.room) else {
            return;
        };
        match &entry.what {
            What::Publish { stream: true, .. } => room.streams.insert(Tracked {
                of: seq,
                id: entry.id.clone(),
                shown: Some(0),
                bytes: 0,
                fetching: false,
                refetch: false,
                waiting: Vec::new(),
            }),
            What::Append { n, text, end } => {
                let Some(t) = room.streams.open.iter_mut().find(|t| t.id == entry.id) else {
                    return;
                };
                if t.shown == Some(*n) {
                    t.shown = Some(n + 1);
                    t.bytes += text.len();
                }
                if end.is_some() {
                    let of = t.of;
                    room.streams.remove(of);
                }
            }
            _ => {}
        }
    }

    /// This client's cancel was stored as piece `n` (the server does not send it back): a
    /// stream followed up to it ends for the app like any other.
    pub(crate) fn own_cancel_stored(&mut self, entry: &Entry, n: u64, seq: u64, ts: u64) {
        let Some(room) = self.rooms.get_mut(&entry.room) else {
            return;
        };
        let Some(t) = room.streams.open.iter().find(|t| t.id == entry.id) else {
            return;
        };
        if t.shown != Some(n) {
            return;
        }
        let of = t.of;
        room.streams.remove(of);
        let from = crate::protocol::Member {
            user: self.user.clone().unwrap_or_default(),
            client: self.config.client.id.clone(),
            source: self.config.client.source.clone(),
            name: self.config.client.name.clone(),
        };
        self.events.push_back(Event::Append(Append {
            room: entry.room.clone(),
            seq,
            of,
            id: entry.id.clone(),
            n,
            text: String::new(),
            end: Some(StreamState::Cancelled),
            from,
            ts,
        }));
    }

    /// An append new to the room (its seq is accepted): through the count rule.
    pub(crate) fn hand_over_append(&mut self, now: Instant, a: Append) {
        let Some(room) = self.rooms.get_mut(&a.room) else {
            return;
        };
        let rule = match room.streams.get_mut(a.of) {
            Some(t) if t.fetching => {
                // Past the bound, kept anyway (nothing may be lost), and asked again after.
                t.refetch |= t.waiting.len() >= MAX_WAITING;
                t.waiting.push(a);
                return;
            }
            Some(t) => match t.shown {
                Some(shown) if a.n == shown => Rule::Show,
                Some(shown) if a.n < shown => Rule::Skip,
                _ => Rule::Fetch,
            },
            None => Rule::Fetch,
        };
        match rule {
            Rule::Show => self.show_append(a),
            Rule::Skip => {}
            Rule::Fetch => {
                let (room_name, of) = (a.room.clone(), a.of);
                let room = match self.rooms.get_mut(&room_name) {
                    Some(room) => room,
                    None => return,
                };
                match room.streams.get_mut(of) {
                    Some(t) => {
                        t.fetching = true;
                        t.waiting.push(a);
                    }
                    None => room.streams.insert(Tracked {
                        of,
                        id: a.id.clone(),
                        shown: None,
                        bytes: 0,
                        fetching: true,
                        refetch: false,
                        waiting: vec![a],
                    }),
                }
                self.fetch_opening(now, &room_name, of);
            }
        }
    }

    /// Hands `a`, the next piece of a followed stream, to the app.
    fn show_append(&mut self, a: Append) {
        let Some(room) = self.rooms.get_mut(&a.room) else {
            return;
        };
        if let Some(t) = room.streams.get_mut(a.of) {
            t.shown = Some(a.n + 1);
            t.bytes += a.text.len();
        }
        if a.end.is_some() {
            room.streams.remove(a.of);
        }
        self.events.push_back(Event::Append(a));
    }

    fn fetch_opening(&mut self, now: Instant, room: &str, of: u64) {
        let name = room.to_owned();
        self.send_request(
            now,
            Request::StreamOpening {
                room: name.clone(),
                of,
            },
            |ref_id| {
                ClientFrame::History(HistoryRequest {
                    ref_id,
                    room: name,
                    before: Some(of + 1),
                    limit: Some(1),
                })
            },
        );
    }

    /// The room is joined on a new connection: fetches lost with the old one go again.
    pub(crate) fn refetch_openings(&mut self, now: Instant, room: &str) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let mut again = Vec::new();
        for t in &mut r.streams.open {
            if std::mem::take(&mut t.refetch) {
                again.push(t.of);
            }
        }
        for of in again {
            self.fetch_opening(now, room, of);
        }
    }

    /// The answer to a fetch of the opening message `of`: the app gets the stream's text (the
    /// message itself if it never had it, else the part it misses), then the appends that
    /// waited go through the rule again.
    pub(crate) fn on_opening(&mut self, now: Instant, room: &str, of: u64, messages: Vec<Message>) {
        let opening = messages
            .into_iter()
            .find(|m| m.seq == Some(of) && m.room == room && m.stream.is_some());
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let Some(mut t) = r.streams.remove(of) else {
            return;
        };
        let Some((m, info)) = opening.and_then(|m| m.stream.clone().map(|info| (m, info))) else {
            // The server no longer has it (retention): hand over what came, as it came.
            let err = Error::Protocol(format!(
                "the opening message (seq {of}) of stream {} in {room} is gone; its pieces are \
                 handed over without it",
                t.id
            ));
            self.events.push_back(Event::Error(err));
            for a in t.waiting {
                self.show_append(a);
            }
            return;
        };
        let ended = info.state != StreamState::Open;
        match t.shown {
            None => {
                // The app never had this stream: it gets the opening message with the text
                // so far, like a late joiner.
                self.events.push_back(Event::Message(m.clone()));
            }
            Some(shown) if info.n > shown || (ended && info.n == shown) => {
                // The text it misses as one piece (empty when only the end is new).
                let missing = info.text.get(t.bytes..).unwrap_or_default().to_owned();
                self.events.push_back(Event::Append(Append {
                    room: room.to_owned(),
                    seq: of,
                    of,
                    id: m.id.clone(),
                    n: shown,
                    text: missing,
                    end: ended.then_some(info.state),
                    from: m.from.clone(),
                    ts: m.ts,
                }));
            }
            Some(_) => {}
        }
        t.shown = Some(t.shown.map_or(info.n, |s| s.max(info.n)));
        t.bytes = info.text.len();
        t.fetching = false;
        let waiting = std::mem::take(&mut t.waiting);
        let refetch = std::mem::take(&mut t.refetch);
        if !ended {
            if let Some(r) = self.rooms.get_mut(room) {
                r.streams.insert(t);
            }
        }
        for a in waiting {
            if ended {
                // Everything it had is in the text just handed over.
                continue;
            }
            self.hand_over_append(now, a);
        }
        if refetch && !ended {
            if let Some(t) = self.rooms.get_mut(room).and_then(|r| r.streams.get_mut(of)) {
                if !t.fetching {
                    t.fetching = true;
                    self.fetch_opening(now, room, of);
                }
            }
        }
    }

    /// The fetch of `of` went with the connection: asked again at the room's next join.
    pub(crate) fn refetch_later(&mut self, room: &str, of: u64) {
        if let Some(t) = self.rooms.get_mut(room).and_then(|r| r.streams.get_mut(of)) {
            t.refetch = true;
        }
    }

    /// The fetch was refused: the pieces that waited are handed over as they are.
    pub(crate) fn on_opening_refused(&mut self, room: &str, of: u64, error: Error) {
        let Some(t) = self.rooms.get_mut(room).and_then(|r| r.streams.remove(of)) else {
            return;
        };
        self.events.push_back(Event::Error(error));
        for a in t.waiting {
            self.show_append(a);
        }
    }
}
