//! The page's hints about the network and visibility, turned into machine inputs: `online`
//! skips the backoff wait; with `pauseWhenHidden`, `visibilitychange` pauses and resumes.
//! Outside a page (Node, no `addEventListener` on the global) there is nothing to attach.

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::EventTarget;

/// What the page said.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Hint {
    Online,
    Hidden,
    Visible,
}

/// A listener ignores its event: the same closure type as the socket's handlers, which
/// spares the module and the glue an adapter.
type Listener = Closure<dyn FnMut(JsValue)>;

/// Attached listeners; dropping this removes them.
pub(crate) struct Browser {
    global: EventTarget,
    on_online: Option<Listener>,
    document: Option<(EventTarget, Listener)>,
}

fn event_target(value: JsValue) -> Option<EventTarget> {
    let add = Reflect::get(&value, &JsValue::from_str("addEventListener")).ok()?;
    add.is_function().then(|| value.unchecked_into())
}

impl Browser {
    /// Listens for what the options ask; `None` when not in a page or nothing is asked.
    pub(crate) fn attach(
        online: bool,
        visibility: bool,
        report: impl Fn(Hint) + Clone + 'static,
    ) -> Option<Self> {
        let global = event_target(js_sys::global().into())?;
        let on_online = online.then(|| {
            let report = report.clone();
            let closure = Listener::new(move |_| report(Hint::Online));
            let _ =
                global.add_event_listener_with_callback("online", closure.as_ref().unchecked_ref());
            closure
        });
        let document = visibility
            .then(|| Reflect::get(&global, &JsValue::from_str("document")).ok())
            .flatten()
            .and_then(event_target)
            .map(|doc| {
                let probe = doc.clone();
                let closure = Listener::new(move |_| {
                    let hidden = Reflect::get(&probe, &JsValue::from_str("hidden"))
                        .ok()
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false);
                    report(if hidden { Hint::Hidden } else { Hint::Visible });
                });
                let _ = doc.add_event_listener_with_callback(
                    "visibilitychange",
                    closure.as_ref().unchecked_ref(),
                );
                (doc, closure)
            });
        if on_online.is_none() && document.is_none() {
            return None;
        }
        Some(Self {
            global,
            on_online,
            document,
        })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = &self.on_online {
            let f: &Function = c.as_ref().unchecked_ref();
            let _ = self.global.remove_event_listener_with_callback("online", f);
        }
        if let Some((doc, c)) = &self.document {
            let f: &Function = c.as_ref().unchecked_ref();
            let _ = doc.remove_event_listener_with_callback("visibilitychange", f);
        }
    }
}
