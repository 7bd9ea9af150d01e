// The page test/react-browser.test.mjs opens: roomcast/react with react-dom, StrictMode and two
// components on one room; what they render is exposed as window.seen for the test to read.
import { StrictMode, createElement } from "react";
import { createRoot } from "react-dom/client";
import { Client, Room } from "roomcast";
import { RoomcastProvider, useConnectionState, useMessages, usePresence, useRoom } from "roomcast/react";

const q = new URLSearchParams(location.search);
const seen = (window.seen = { joins: 0, leaves: 0, clients: 0, views: {} });
const { join, leave } = Room.prototype;
Room.prototype.join = function (...a) {
  seen.joins++;
  return join.apply(this, a);
};
Room.prototype.leave = function (...a) {
  seen.leaves++;
  return leave.apply(this, a);
};

function Probe({ id }) {
  const room = useRoom(q.get("room"));
  const { messages } = useMessages(room, "n");
  const members = usePresence(room);
  const { state } = useConnectionState();
  seen.views[id] = { messages: messages.map((m) => [m.data, m.seq]), members: members.map((m) => m.user).sort(), state };
  return createElement("li", null, `${id}: ${messages.length} messages, ${members.length} members, ${state}`);
}

const factory = () => {
  seen.clients++;
  return new Client({ url: q.get("url"), token: q.get("token"), backoff: { minDelayMs: 50, maxDelayMs: 300 } });
};
const root = createRoot(document.getElementById("root"));
const render = (probes) =>
  root.render(
    createElement(
      StrictMode,
      null,
      createElement(
        RoomcastProvider,
        { client: factory },
        createElement("ul", null, ...["a", "b"].slice(0, probes).map((id) => createElement(Probe, { id, key: id }))),
      ),
    ),
  );
window.renderProbes = render;
window.unmountAll = () => root.unmount();
render(2);
