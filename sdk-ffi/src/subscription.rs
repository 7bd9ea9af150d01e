//! [`Subscription`]: keeps a listener registered until dropped or cancelled.

use std::sync::Mutex;

use tokio::task::AbortHandle;

/// What keeps the listener registered.
enum Registration {
    /// A task that drives the listener (and owns it).
    Task(AbortHandle),
    /// Registrations on a core room (which own the listener).
    Room(Vec<roomcast_core::Subscription>),
}

/// Keeps a listener registered. Dropping it (Swift: releasing the last reference) or calling
/// [`cancel`](Self::cancel) unregisters the listener and releases it, so keep it as long as
/// you want events.
#[derive(uniffi::Object)]
pub struct Subscription {
    registration: Mutex<Option<Registration>>,
}

impl Subscription {
    /// A subscription whose listener is driven by `task` (which owns the listener).
    pub(crate) fn task(task: AbortHandle) -> Self {
        Self {
            registration: Mutex::new(Some(Registration::Task(task))),
        }
    }

    /// A subscription made of registrations on a core room.
    pub(crate) fn room(subscriptions: Vec<roomcast_core::Subscription>) -> Self {
        Self {
            registration: Mutex::new(Some(Registration::Room(subscriptions))),
        }
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops the listener now rather than when this object is released. Idempotent.
    pub fn cancel(&self) {
        let registration = crate::lock(&self.registration).take();
        match registration {
            Some(Registration::Task(task)) => task.abort(),
            // Dropping the core subscriptions unregisters (and releases) the listener.
            Some(Registration::Room(subscriptions)) => drop(subscriptions),
            None => {}
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}
