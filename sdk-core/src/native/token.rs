//! [`TokenProvider`]: where a client gets fresh tokens. Its own module, so that the builder,
//! the client and the driver all depend on it rather than on each other.

use std::future::Future;
use std::pin::Pin;

/// Supplies tokens on demand: before the first connection when none was given, before the
/// current one expires, and after the server rejects one (close 4001).
///
/// `Ok(None)` means there is no token any more (the user signed out): the client stops in
/// `Unauthorized`. `Err` is a passing failure, retried with backoff.
pub trait TokenProvider: Send + Sync + 'static {
    fn fetch_token(&self) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send>>;
}

impl<F, Fut> TokenProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<String>, String>> + Send + 'static,
{
    fn fetch_token(&self) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send>> {
        Box::pin(self())
    }
}
