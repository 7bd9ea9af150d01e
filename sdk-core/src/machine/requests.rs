//! Requests in flight on the current connection, and the one policy that settles each of them
//! ([`Machine::settle`]): answered, refused, timed out, or lost with the connection.

use litemap::LiteMap;
use web_time::Instant;

use super::timers::Timer;
use super::{Error, Machine, OpId, Reply};
use crate::protocol::{ClientFrame, ErrorCode, ErrorFrame, ServerFrame};

/// A request waiting for its reply, by kind.
#[derive(Debug)]
pub(crate) enum Request {
    /// A room's join; `since` as sent, for the gap report.
    Join {
        room: String,
        since: Option<u64>,
    },
    Leave {
        op: OpId,
    },
    /// A persisted publish; its entry stays in the queue until settled.
    Publish,
    Ephemeral {
        op: OpId,
        id: String,
    },
    /// The app's own `history` call.
    History {
        op: OpId,
    },
    /// A page of a room's resume: everything stored with `seq < before`, newer than the room's
    /// position. `bounded`: `before` is the seq of a message already held, so the page ends
    /// exactly where the held ones begin.
    Catchup {
        room: String,
        before: u64,
        bounded: bool,
    },
    Refresh,
    /// The opening message `of` of a stream whose appends outran what the app has.
    StreamOpening {
        room: String,
        of: u64,
    },
}

/// How a request ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The server answered (`joined`, `left`, `ack`, `history` or `refreshed`).
    Answered(ServerFrame),
    /// The server answered with an error.
    Refused(ErrorFrame),
    /// No answer within the request timeout.
    TimedOut,
    /// The connection went away first.
    Lost,
    /// Never sent: there was no live connection.
    Unsent,
}

/// Requests in flight by ref. Refs rise and every request has the same timeout, so the first
/// entry has the earliest deadline. A sorted vector: replies mostly take the oldest entries,
/// new requests append, and it is much smaller in the wasm client than a B-tree.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    inflight: LiteMap<u64, (Request, Instant)>,
}

impl Requests {
    pub(crate) fn insert(&mut self, ref_id: u64, request: Request, deadline: Instant) {
        self.inflight.insert(ref_id, (request, deadline));
    }

    pub(crate) fn remove(&mut self, ref_id: u64) -> Option<Request> {
        self.inflight.remove(&ref_id).map(|(request, _)| request)
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.inflight.first().map(|(_, (_, deadline))| *deadline)
    }

    /// Removes and returns the oldest request if its deadline has passed.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<(u64, Request)> {
        let (&ref_id, (_, deadline)) = self.inflight.first()?;
        if *deadline > now {
            return None;
        }
        self.remove(ref_id).map(|request| (ref_id, request))
    }

    pub(crate) fn take_all(&mut self) -> Vec<(u64, Request)> {
        std::mem::take(&mut self.inflight)
            .into_iter()
            .map(|(ref_id, (request, _))| (ref_id, request))
            .collect()
    }

    /// Whether a page of `room`'s resume is in flight.
    pub(crate) fn paging(&self, room: &str) -> bool {
        self.inflight
            .iter()
            .any(|(_, (r, _))| matches!(r, Request::Catchup { room: r, .. } if r == room))
    }
}

/// Passing server conditions: the request may succeed if sent again later.
pub(crate) fn passing(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::RateLimited | ErrorCode::Internal)
}

impl Machine {
    /// Sends a request on the live connection and tracks it until [`settle`](Self::settle).
    /// Off line, the request is settled at once as [`Outcome::Unsent`].
    pub(crate) fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        frame: impl FnOnce(u64) -> ClientFrame,
    ) -> Option<u64> {
        if !self.is_connected() {
            self.settle(now, 0, request, Outcome::Unsent);
            return None;
        }
        let ref_id = self.take_ref();
        self.transmit(&frame(ref_id));
        self.requests
            .insert(ref_id, request, now + self.config.request_timeout);
        self.sync_request_timer();
        Some(ref_id)
    }

    pub(crate) fn sync_request_timer(&mut self) {
        let next = self.requests.next_deadline();
        self.timers.set_opt(Timer::Request, next);
    }

    /// A reply (or error) with `ref_id` arrived: settles the request it answers.
    pub(crate) fn answer(&mut self, now: Instant, ref_id: u64, outcome: Outcome) {
        let Some(request) = self.requests.remove(ref_id) else {
            return;
        };
        self.sync_request_timer();
        self.settle(now, ref_id, request, outcome);
    }

    /// The one place that decides what each kind of request does when it ends.
    pub(crate) fn settle(&mut self, now: Instant, ref_id: u64, request: Request, outcome: Outcome) {
        use Outcome::*;
        match (request, outcome) {
            // A join, persisted publish, refresh or resume page without an answer means the
            // connection is not healthy: a new one re-sends what matters.
            (
                Request::Join { .. }
                | Request::Publish
                | Request::Refresh
                | Request::Catchup { .. },
                TimedOut,
            ) => {
                self.fail_connection(now, "request timed out");
            }
            // Lost with the connection: rooms rejoin, publishes go out again, refresh and
            // resume restart from the new connection.
            (
                Request::Join { .. }
                | Request::Publish
                | Request::Refresh
                | Request::Catchup { .. },
                Lost | Unsent,
            ) => {}

            (Request::Join { since, .. }, Answered(ServerFrame::Joined(j))) => {
                self.on_joined(now, since, j);
            }
            // A passing refusal (a busy store, a server shutting down) keeps the room, its
            // queued publishes and its position, and asks again shortly; only a final one
            // (`forbidden`, ...) drops the room.
            (Request::Join { room, .. }, Refused(e)) if passing(e.code) => {
                self.retry_join(now, &room);
            }
            (Request::Join { room, .. }, Refused(e)) => {
                let err = Error::from_server(e.code, e.message, Some(&room));
                self.drop_room(&room, err);
            }

            (Request::Leave { op }, _) => self.complete(op, Ok(Reply::Left)),

            (Request::Publish, Answered(ServerFrame::Ack(a))) => self.on_ack(ref_id, a),
            (Request::Publish, Refused(e)) => self.on_publish_refused(now, ref_id, e),

            (Request::Ephemeral { op, id }, Answered(ServerFrame::Ack(a))) => {
                let ack = super::PublishAck {
                    id,
                    seq: None,
                    ts: a.ts,
                };
                self.complete(op, Ok(Reply::Published(ack)));
            }
            (Request::History { op }, Answered(ServerFrame::History(page))) => {
                self.complete(op, Ok(Reply::History(page)));
            }
            (Request::Ephemeral { op, .. } | Request::History { op }, Refused(e)) => {
                self.complete(op, Err(Error::from_server(e.code, e.message, None)));
            }
            (Request::Ephemeral { op, .. } | Request::History { op }, TimedOut) => {
                self.complete(op, Err(Error::Timeout));
            }
            (Request::Ephemeral { op, .. } | Request::History { op }, Lost) => {
                self.complete(op, Err(Error::ConnectionLost));
            }
            (Request::Ephemeral { op, .. } | Request::History { op }, Unsent) => {
                self.complete(op, Err(Error::NotConnected));
            }

            (
                Request::Catchup {
                    room,
                    before,
                    bounded,
                },
                Answered(ServerFrame::History(page)),
            ) => self.on_page(now, &room, before, bounded, page.messages, page.appends),
            (Request::Catchup { room, .. }, Refused(e)) => self.on_page_refused(now, &room, e),

            (Request::StreamOpening { room, of }, Answered(ServerFrame::History(page))) => {
                self.on_opening(now, &room, of, page.messages);
            }
            (Request::StreamOpening { room, of }, Lost | Unsent) => self.refetch_later(&room, of),
            (Request::StreamOpening { room, of }, TimedOut) => {
                self.refetch_later(&room, of);
                self.fail_connection(now, "request timed out");
            }
            (Request::StreamOpening { room, of }, Refused(e)) if passing(e.code) => {
                self.refetch_later(&room, of);
                self.fail_connection(now, "history refused for a passing reason");
            }
            (Request::StreamOpening { room, of }, Refused(e)) => {
                let err = Error::from_server(e.code, e.message, Some(&room));
                self.on_opening_refused(&room, of, err);
            }

            (Request::Refresh, Answered(ServerFrame::Refreshed(r))) => {
                self.schedule_refresh(now, r.token_exp);
            }
            (Request::Refresh, Refused(e)) => self.on_refresh_refused(now, e),

            // A reply of the wrong kind for its ref: a server bug. Report it and treat the
            // request as unanswered.
            (request, Answered(frame)) => {
                let mut text = String::from("unexpected reply ");
                text.push_str(frame.kind());
                text.push_str(" to a ");
                text.push_str(request_name(&request));
                text.push_str(" request");
                self.events
                    .push_back(super::Event::Error(Error::Protocol(text)));
                self.settle(now, ref_id, request, TimedOut);
            }
        }
    }
}

fn request_name(request: &Request) -> &'static str {
    match request {
        Request::Join { .. } => "join",
        Request::Leave { .. } => "leave",
        Request::Publish | Request::Ephemeral { .. } => "publish",
        Request::History { .. } | Request::Catchup { .. } | Request::StreamOpening { .. } => {
            "history"
        }
        Request::Refresh => "refresh",
    }
}
