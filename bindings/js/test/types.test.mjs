// The package's .d.ts against real values (run: node --experimental-websocket --test).
//
// Every interface the package exports is either an input (options the app builds) or the
// shape of values the package hands out. Each of the latter is checked against values taken
// from a real server: every declared property is present with a value of its declared type
// (or optional and absent), and the value has no property the interface does not declare.
// The wasm side builds these objects by hand, so this is what keeps the two in step.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { Client, isRoomcastError } from "roomcast";
import { Server, token, until } from "./support.mjs";

/** Interfaces the app builds and passes in: nothing to check them against. */
const INPUTS = new Set([
  "BackoffOptions",
  "CallOptions",
  "ClientOptions",
  "HistoryOptions",
  "JoinOptions",
  "OnOptions",
  "OpenOptions",
  "PublishOptions",
  "StandardSchemaV1",
  "StoreSnapshot",
]);

/** The package's public types, as a consumer's compiler sees them. */
function exportedInterfaces() {
  const entry = fileURLToPath(new URL("../dist/browser.d.ts", import.meta.url));
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: [],
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry));
  const interfaces = new Map();
  for (let symbol of checker.getExportsOfModule(module)) {
    const name = symbol.getName();
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    if (symbol.flags & ts.SymbolFlags.Interface) {
      interfaces.set(name, checker.getDeclaredTypeOfSymbol(symbol));
    }
  }
  return { checker, interfaces };
}

const { checker, interfaces } = exportedInterfaces();

/** Problems with `value` as a `type`, at `path`; empty when it conforms. */
function conform(value, type, path) {
  const f = type.flags;
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return [];
  if (f & ts.TypeFlags.TypeParameter) {
    // `StoredMessage<T = unknown>`: the default is what the package hands out.
    const fallback = checker.getDefaultFromTypeParameter(type);
    return fallback ? conform(value, fallback, path) : [];
  }
  if (type.isUnion()) {
    const fits = type.types.some((t) => conform(value, t, path).length === 0);
    return fits ? [] : [`${path}: ${JSON.stringify(value)} is not ${checker.typeToString(type)}`];
  }
  const fail = [`${path}: ${JSON.stringify(value)} is not ${checker.typeToString(type)}`];
  // Methods (a stream writer's): present and callable.
  if (type.getCallSignatures().length > 0) return typeof value === "function" ? [] : fail;
  if (type.isStringLiteral()) return value === type.value ? [] : fail;
  if (f & ts.TypeFlags.BooleanLiteral) return value === (checker.typeToString(type) === "true") ? [] : fail;
  if (f & ts.TypeFlags.String) return typeof value === "string" ? [] : fail;
  if (f & ts.TypeFlags.Number) return typeof value === "number" ? [] : fail;
  if (f & ts.TypeFlags.Boolean) return typeof value === "boolean" ? [] : fail;
  if (f & ts.TypeFlags.Null) return value === null ? [] : fail;
  if (f & ts.TypeFlags.Undefined) return value === undefined ? [] : fail;
  if (checker.isArrayType(type)) {
    if (!Array.isArray(value)) return fail;
    const [item] = checker.getTypeArguments(type);
    return value.flatMap((v, i) => conform(v, item, `${path}[${i}]`));
  }
  if (f & ts.TypeFlags.Object) {
    if (typeof value !== "object" || value === null) return fail;
    const props = checker.getPropertiesOfType(type);
    const declared = new Set(props.map((p) => p.getName()));
    const problems = Object.keys(value)
      .filter((k) => !declared.has(k))
      .map((k) => `${path}.${k}: not declared in ${checker.typeToString(type)}`);
    for (const p of props) {
      const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
      const v = value[p.getName()];
      // `Error`'s own members (`stack`) come from the runtime, not from the package.
      if (p.getDeclarations()?.some((d) => d.getSourceFile().hasNoDefaultLib)) continue;
      if (v === undefined) {
        if (!optional) problems.push(`${path}.${p.getName()}: missing`);
        continue;
      }
      problems.push(...conform(v, checker.getTypeOfSymbol(p), `${path}.${p.getName()}`));
    }
    return problems;
  }
  return [`${path}: cannot check ${checker.typeToString(type)}`];
}

/** Values seen, by interface name. */
const seen = new Map();
function saw(name, value) {
  if (!seen.has(name)) seen.set(name, []);
  seen.get(name).push(value);
}

const fast = { minDelayMs: 50, maxDelayMs: 300 };
const servers = [];
after(async () => {
  for (const s of servers) await s.dispose();
});

test("every exported interface matches the values the package returns", async () => {
  const s = new Server({ args: ["--replay-limit", "2"] });
  servers.push(s);
  await s.start();
  const mk = (user) =>
    new Client({ url: s.url, token: token(user), name: `${user}'s`, source: "node", backoff: fast });
  const alice = mk("alice");
  const bob = mk("bob");
  alice.onState((st) => saw("ConnectionStateInfo", st));
  await alice.connect();
  saw("ConnectionStateInfo", alice.state);

  const ra = await alice.join("types");
  ra.onPresence((p) => {
    saw("Presence", p);
    saw("Member", p.member);
  });
  ra.onJoined((j) => saw("JoinInfo", j));
  const rb = bob.room("types");
  rb.on("*", (data, meta) => {
    saw("MessageMeta", meta);
    if (meta.stream) saw("StreamInfo", meta.stream);
    saw("Member", meta.from);
  });
  const joined = await rb.join();
  saw("JoinInfo", joined);
  for (const m of joined.presence) saw("Member", m);

  // The façade's own values: a publish pending then acknowledged, and an async iteration.
  ra.onPending((list) => list.forEach((p) => saw("PendingMessage", p)));
  ra.onSent((sent) => saw("SentMessage", sent));
  const iteration = rb.messages("chat");
  saw("PublishAck", await ra.publish("chat", { text: "hello" }));
  const first = await iteration.next();
  saw("Received", first.value);
  await iteration.return();
  saw("PublishAck", await ra.publishEphemeral("typing", true));
  await until(() => seen.get("MessageMeta")?.length >= 2, "bob's messages");

  // A streamed message: the writer, the opening message's `stream`, pieces, the reply.
  rb.onAppend((p) => {
    saw("StreamPiece", p);
    saw("Member", p.from);
  });
  rb.onReply((r) => saw("Reply", r));
  const writer = ra.stream("reply", { role: "assistant" });
  saw("StreamWriter", writer);
  saw("PublishAck", await writer.opened);
  await until(() => rb.reply(writer.id), "the opening message");
  saw("PublishAck", await writer.append("Hel"));
  saw("PublishAck", await writer.finish());
  await until(() => rb.reply(writer.id)?.state === "done", "the stream's end");
  saw("PublishAck", await rb.cancelStream(writer.id));

  const page = await rb.history({ limit: 10 });
  saw("HistoryPage", page);
  for (const m of page.messages) {
    saw("StoredMessage", m);
    if (m.stream) saw("StreamInfo", m.stream);
    saw("MessageMeta", Object.fromEntries(Object.entries(m).filter(([k]) => k !== "data")));
  }

  // A gap: a position from another epoch cannot be resumed.
  const carol = mk("carol");
  const rc = carol.room("types");
  rc.onGap((g) => saw("Gap", g));
  saw("JoinInfo", await rc.join({ since: 0, epoch: "an-epoch-long-gone" }));
  await until(() => seen.has("Gap"), "a gap");

  // Errors, from the machine (a rejected request) and from the driver (a decoder that threw).
  await assert.rejects(alice.join("bad room"), (e) => (saw("RoomcastError", e), isRoomcastError(e)));
  const rbErrors = [];
  rb.onError((e) => rbErrors.push(e));
  rb.on(
    "chat",
    () => {},
    {
      decode: () => {
        throw new TypeError("wrong shape");
      },
    },
  );
  await ra.publish("chat", { text: "undecodable" });
  await until(() => rbErrors.length >= 1, "a decode error");
  for (const e of rbErrors) saw("RoomcastError", e);

  // Publishes restored from a store (what `Client.open` passes in a browser).
  const dave = new Client({
    url: s.url,
    token: token("dave"),
    backoff: fast,
    restore: { publishes: [["types", "kept-1", "chat", '{"text":"kept"}']], positions: [] },
    onPersist: () => {},
  });
  for (const p of dave.restored) saw("PendingPublish", p);

  await Promise.all([alice.close(), bob.close(), carol.close(), dave.close()]);

  const problems = [];
  for (const [name, type] of interfaces) {
    if (INPUTS.has(name)) continue;
    const values = seen.get(name);
    if (!values) {
      problems.push(`${name}: no value of this interface was checked (an input? add it to INPUTS)`);
      continue;
    }
    for (const v of values) problems.push(...conform(v, type, name));
  }
  for (const name of seen.keys()) {
    if (!interfaces.has(name)) problems.push(`${name}: not an exported interface`);
  }
  assert.deepEqual(problems, []);
});

test("the check catches drift", () => {
  const gap = interfaces.get("Gap");
  const good = { room: "r", since: null, previousEpoch: "a", head: 3, epoch: "b" };
  assert.deepEqual(conform(good, gap, "Gap"), []);
  const renamed = { room: "r", since: null, previous_epoch: "a", head: 3, epoch: "b" };
  assert.deepEqual(conform(renamed, gap, "Gap").sort(), [
    "Gap.previousEpoch: missing",
    "Gap.previous_epoch: not declared in Gap",
  ]);
  assert.equal(conform({ ...good, head: "3" }, gap, "Gap").length, 1);
  const info = interfaces.get("ConnectionStateInfo");
  assert.equal(conform({ state: "asleep" }, info, "ConnectionStateInfo").length, 1);
});
