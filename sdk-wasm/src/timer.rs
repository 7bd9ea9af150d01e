//! One `setTimeout` at a time, armed for the machine's next deadline.
//!
//! The global `setTimeout`/`clearTimeout` are bound directly (not `window.setTimeout`) so the
//! same code runs in pages, workers and Node.

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_time::Instant;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Browsers clamp longer delays to zero; a deadline further out is re-armed on wake-up.
const MAX_DELAY_MS: u64 = i32::MAX as u64;

/// Calls its callback once the armed deadline has passed.
pub(crate) struct Timer {
    /// Takes (and ignores) an argument: the closure type of the socket's handlers, so the
    /// module and the glue carry one adapter for both.
    callback: Closure<dyn FnMut(JsValue)>,
    armed: Option<(Instant, JsValue)>,
}

impl Timer {
    pub(crate) fn new(mut callback: impl FnMut() + 'static) -> Self {
        Self {
            callback: Closure::new(move |_: JsValue| callback()),
            armed: None,
        }
    }

    /// Arms the timer for `at` (disarms it for `None`); a no-op when already armed for `at`.
    pub(crate) fn arm(&mut self, at: Option<Instant>, now: Instant) {
        if self.armed.as_ref().map(|(t, _)| *t) == at {
            return;
        }
        self.disarm();
        if let Some(at) = at {
            // Round up so the callback never runs before `at`.
            // (Seconds and sub-second micros, not `as_micros`: its u128 would pull 128-bit
            // division into the module.)
            let wait = at.saturating_duration_since(now);
            let ms = wait
                .as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(wait.subsec_micros().div_ceil(1000)));
            let id = set_timeout(
                self.callback.as_ref().unchecked_ref(),
                ms.min(MAX_DELAY_MS) as f64,
            );
            self.armed = Some((at, id));
        }
    }

    /// Forgets the armed deadline; call when the callback runs.
    pub(crate) fn fired(&mut self) {
        self.armed = None;
    }

    fn disarm(&mut self) {
        if let Some((_, id)) = self.armed.take() {
            clear_timeout(&id);
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.disarm();
    }
}
