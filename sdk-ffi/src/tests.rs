//! Tests of what the wrappers do themselves: releasing listeners (subscriptions, rooms) and
//! containing foreign failures. Error mapping is tested in `error.rs`; everything else is the
//! core's, tested there and end to end by the Python suite.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use crate::listeners::guarded;
use crate::runtime::runtime;
use crate::{
    Client, ClientConfig, ConnectionState, Gap, JoinInfo, Message, PresenceEvent, Room,
    RoomListener, RoomcastError, StateListener,
};

const WAIT: Duration = Duration::from_secs(5);

/// Nothing listens on port 9 (discard), and nothing here connects anyway.
fn config() -> ClientConfig {
    ClientConfig {
        url: "ws://127.0.0.1:9/ws".into(),
        token: Some("t".into()),
        client_id: "c-test".into(),
        source: "test".into(),
        name: None,
        min_delay_ms: 1000,
        max_delay_ms: 30_000,
        max_attempts: None,
        queue_capacity: 10,
        store_path: None,
        extra_roots_der: Vec::new(),
    }
}

/// A listener that reports what it sees, and its own release.
struct Probe {
    states: Sender<ConnectionState>,
    released: Sender<()>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.released.send(());
    }
}

impl StateListener for Probe {
    fn on_state(&self, state: ConnectionState) {
        let _ = self.states.send(state);
    }
}

impl RoomListener for Probe {
    fn on_message(&self, _: Message) {}
    fn on_presence(&self, _: PresenceEvent) {}
    fn on_joined(&self, _: JoinInfo) {}
    fn on_gap(&self, _: Gap) {}
    fn on_error(&self, _: RoomcastError) {}
    fn on_end(&self) {}
}

fn probe() -> (Arc<Probe>, Receiver<ConnectionState>, Receiver<()>) {
    let (states, states_rx) = channel();
    let (released, released_rx) = channel();
    (Arc::new(Probe { states, released }), states_rx, released_rx)
}

#[test]
fn state_listener_gets_the_current_state_then_changes() {
    let client = Client::new(config(), None).unwrap();
    let (listener, states, _released) = probe();
    let _subscription = client.add_state_listener(listener);
    assert_eq!(states.recv_timeout(WAIT), Ok(ConnectionState::Idle));
    client.pause();
    assert_eq!(states.recv_timeout(WAIT), Ok(ConnectionState::Paused));
}

#[test]
fn dropping_a_subscription_releases_its_listener() {
    let client = Client::new(config(), None).unwrap();
    let (listener, states, released) = probe();
    let subscription = client.add_state_listener(listener);
    assert_eq!(states.recv_timeout(WAIT), Ok(ConnectionState::Idle));
    assert!(released.try_recv().is_err(), "released while subscribed");

    drop(subscription);
    assert_eq!(released.recv_timeout(WAIT), Ok(()), "listener not released");
    client.pause();
    // The listener is gone, so its channel is closed rather than delivering `Paused`.
    assert!(states.recv_timeout(WAIT).is_err());
}

#[test]
fn cancel_releases_the_listener_and_is_idempotent() {
    let client = Client::new(config(), None).unwrap();
    let (listener, _states, released) = probe();
    let subscription = client.add_state_listener(listener);
    subscription.cancel();
    assert_eq!(released.recv_timeout(WAIT), Ok(()));
    subscription.cancel();
    drop(subscription);
}

fn core_room(name: &str) -> roomcast_core::Room {
    let _context = runtime().unwrap().enter();
    roomcast_core::Client::builder("ws://127.0.0.1:9/ws")
        .token("t")
        .build()
        .unwrap()
        .room(name)
}

#[test]
fn releasing_a_room_releases_its_listener() {
    let (listener, _states, released) = probe();
    let room = Room::attach(core_room("conv-1"), listener);
    assert!(
        released.try_recv().is_err(),
        "released while the room lives"
    );
    drop(room);
    // Unregistering is synchronous: no foreign object outlives its room.
    assert_eq!(released.try_recv(), Ok(()));
}

#[test]
fn leaving_releases_the_listener_even_when_leave_fails() {
    let (listener, _states, released) = probe();
    let room = Room::attach(core_room("conv-1"), listener);
    let result = runtime().unwrap().block_on(room.leave());
    assert_eq!(
        result,
        Err(RoomcastError::NotJoined {
            room: "conv-1".into()
        })
    );
    assert_eq!(released.try_recv(), Ok(()));
}

#[test]
fn a_failing_foreign_callback_is_contained() {
    let mut after = false;
    guarded("test", || panic!("foreign failure"));
    guarded("test", || after = true);
    assert!(after);
}

#[test]
fn invalid_config_is_a_typed_error() {
    let mut bad_url = config();
    bad_url.url = "http://example.com".into();
    assert!(matches!(
        Client::new(bad_url, None).err(),
        Some(RoomcastError::InvalidConfig { .. })
    ));
    let mut no_token = config();
    no_token.token = None;
    assert!(matches!(
        Client::new(no_token, None).err(),
        Some(RoomcastError::InvalidConfig { .. })
    ));
}

/// `with_token_provider` is `new` with the provider: a config without a token is valid then.
#[test]
fn with_token_provider_passes_the_provider() {
    let mut no_token = config();
    no_token.token = None;
    let provider = Arc::new(Fixed(Ok(Some("jwt".into()))));
    assert!(Client::with_token_provider(no_token, provider).is_ok());
}

#[test]
fn publish_rejects_invalid_json_before_queueing() {
    let (listener, _states, _released) = probe();
    let room = Room::attach(core_room("conv-1"), listener);
    let result = runtime()
        .unwrap()
        .block_on(room.publish("chat.message".into(), "{not json".into()));
    assert!(matches!(result, Err(RoomcastError::InvalidPayload { .. })));
}

/// A provider answering with a fixed result.
struct Fixed(Result<Option<String>, RoomcastError>);

#[async_trait::async_trait]
impl crate::TokenProvider for Fixed {
    async fn fetch_token(&self) -> Result<Option<String>, RoomcastError> {
        self.0.clone()
    }
}

fn fetch_through_adapter(
    answer: Result<Option<String>, RoomcastError>,
) -> Result<Option<String>, String> {
    use roomcast_core::TokenProvider as _;
    let adapter = crate::listeners::ProviderAdapter(Arc::new(Fixed(answer)));
    runtime().unwrap().block_on(adapter.fetch_token())
}

#[test]
fn provider_answers_reach_the_core_unchanged_and_failures_readable() {
    assert_eq!(
        fetch_through_adapter(Ok(Some("jwt".into()))),
        Ok(Some("jwt".into()))
    );
    assert_eq!(fetch_through_adapter(Ok(None)), Ok(None));
    // The core prefixes "token provider failed:" itself; do not say it twice.
    assert_eq!(
        fetch_through_adapter(Err(RoomcastError::TokenProvider {
            reason: "offline".into()
        })),
        Err("offline".into())
    );
    assert_eq!(
        fetch_through_adapter(Err(RoomcastError::Timeout)),
        Err("no reply within the request timeout".into())
    );
}
