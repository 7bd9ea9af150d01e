// Checks that the committed generated bindings were generated from this library, without
// ubrn's CLI (a full regeneration, scripts/gen-react-native.sh --check, needs it built):
//   - the FFI functions the JSI C++, the JSI TypeScript and the N-API TypeScript call are
//     exactly the ones the library exports (nm);
//   - the API checksums and contract version both TypeScript flavours expect are the ones the
//     library returns (called through @ubjs/node). uniffi derives each checksum from the
//     function's name and signature, so a changed export fails here.
// Usage: node test/check-bindings.mjs path/to/libroomcast_ffi.so
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const lib = resolve(process.argv[2] ?? "");
const read = (path) => readFileSync(join(pkg, path), "utf8");
const failures = [];

// The JSI TypeScript prefixes the names with `ubrn_` (its C++ host functions).
const symbol = /(?:uniffi|ffi)_roomcast_ffi_[a-z0-9_]+/g;
const exported = new Set(
  execFileSync("nm", ["-D", "--defined-only", lib], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[2])
    .filter((name) => name && /^(uniffi|ffi)_roomcast_ffi_/.test(name)),
);
if (exported.size === 0) failures.push(`${lib} exports no roomcast FFI functions`);

function sameSet(what, names, unused = []) {
  const missing = [...exported].filter((n) => !names.has(n) && !unused.includes(n));
  const extra = [...names].filter((n) => !exported.has(n));
  if (missing.length) failures.push(`${what} does not use ${missing.length} exported functions: ${missing.slice(0, 5)}`);
  if (extra.length) failures.push(`${what} calls ${extra.length} functions the library lacks: ${extra.slice(0, 5)}`);
}
const names = (text) => new Set(text.match(symbol) ?? []);
sameSet("cpp/generated/roomcast.cpp", names(read("cpp/generated/roomcast.cpp")));
// In the JSI flavour the C++ handles the Rust buffers.
sameSet(
  "src/generated/roomcast-ffi.ts",
  names(read("src/generated/roomcast-ffi.ts")),
  ["alloc", "free", "from_bytes", "reserve"].map((f) => `ffi_roomcast_ffi_rustbuffer_${f}`),
);
// The N-API runtime grows buffers itself.
sameSet("src/node/generated/roomcast-ffi.ts", names(read("src/node/generated/roomcast-ffi.ts")), [
  "ffi_roomcast_ffi_rustbuffer_reserve",
]);

// What each flavour's initialize() expects.
function expectations(path) {
  const text = read(path);
  const checksums = new Map();
  for (const m of text.matchAll(/nativeModule\(\)\.(?:ubrn_)?(uniffi_roomcast_ffi_checksum_[a-z0-9_]+)\(\) !== (\d+)/g)) {
    checksums.set(m[1], Number(m[2]));
  }
  const contract = Number(/const bindingsContractVersion = (\d+);/.exec(text)?.[1]);
  return { checksums, contract };
}
const flavours = {
  "src/generated/roomcast.ts": expectations("src/generated/roomcast.ts"),
  "src/node/generated/roomcast.ts": expectations("src/node/generated/roomcast.ts"),
};

// What the library answers.
const require = createRequire(join(pkg, "package.json"));
const { UniffiNativeModule, FfiType } = require("@ubjs/node");
const checksumNames = [...exported].filter((n) => n.includes("_checksum_"));
const contractFn = "ffi_roomcast_ffi_uniffi_contract_version";
const functions = Object.fromEntries(
  [...checksumNames.map((n) => [n, FfiType.UInt16]), [contractFn, FfiType.UInt32]].map(([n, ret]) => [
    n,
    { args: [], ret, hasRustCallStatus: false },
  ]),
);
const native = UniffiNativeModule.open(lib).register({
  symbols: {
    rustbuffer_alloc: "ffi_roomcast_ffi_rustbuffer_alloc",
    rustbuffer_free: "ffi_roomcast_ffi_rustbuffer_free",
    rustbuffer_from_bytes: "ffi_roomcast_ffi_rustbuffer_from_bytes",
  },
  functions,
  callbacks: {},
  structs: {},
});
const contract = native[contractFn]();
for (const [path, want] of Object.entries(flavours)) {
  if (want.contract !== contract) failures.push(`${path}: contract version ${want.contract}, library ${contract}`);
  if (want.checksums.size !== checksumNames.length) {
    failures.push(`${path} checks ${want.checksums.size} checksums, the library has ${checksumNames.length}`);
  }
  for (const name of checksumNames) {
    const actual = native[name]();
    if (want.checksums.get(name) !== actual) {
      failures.push(`${path}: ${name} expects ${want.checksums.get(name)}, library ${actual}`);
    }
  }
}

if (failures.length) {
  for (const f of failures) console.error(f);
  console.error("the committed React Native bindings are stale: run scripts/gen-react-native.sh and commit the result");
  process.exit(1);
}
console.log(
  `bindings current: ${exported.size} FFI functions, ${checksumNames.length} API checksums, contract ${contract}`,
);
