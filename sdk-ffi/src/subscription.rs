//! [`Subscription`]: keeps a listener registered until dropped or cancelled.

use std::sync::Mutex;

use tokio::task::AbortHandle;

/// Keeps a listener registered. Dropping it (Swift: releasing the last reference) or calling
/// [`cancel`](Self::cancel) unregisters the listener and releases it, so keep it as long as
/// you want events.
#[derive(uniffi::Object)]
pub struct Subscription {
    task: Mutex<Option<AbortHandle>>,
}

impl Subscription {
    /// A subscription whose listener is driven by `task` (which owns the listener).
    pub(crate) fn task(task: AbortHandle) -> Self {
        Self {
            task: Mutex::new(Some(task)),
        }
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops the listener now rather than when this object is released. Idempotent.
    pub fn cancel(&self) {
        let task = match self.task.lock() {
            Ok(mut task) => task.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(task) = task {
            task.abort();
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}
