// Gives wasm-bindgen's JS glue the short import and export names that binaryen's
// --minify-imports-and-exports-and-modules gave the module (its JSON map on stdin).
//
// wasm-bindgen names imports after their Rust item plus a 16-digit hash and closure exports
// after their full type path; both sides of the boundary carry every name, and neither gzip
// nor a minifier can shorten them (they are property names). The glue reaches the module only
// through `wasm.<export>` and the one imports object, so renaming those is the whole change.
//
// Usage: wasm-opt ... --minify-imports-and-exports-and-modules -o WASM |
//            node minify-wasm-names.mjs GLUE WASM
import { readFileSync, writeFileSync } from "node:fs";

const [glue, wasmFile] = process.argv.slice(2);
const map = JSON.parse(readFileSync(0, "utf8"));
// binaryen does not put the new module name in its map; the module itself has it.
const newModules = new Set(
  WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile))).map((i) => i.module),
);
if (newModules.size !== 1) throw new Error("minify-wasm-names: expected one import module");
const [newModule] = newModules;
let js = readFileSync(glue, "utf8");
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
let renamed = 0;
const replace = (pattern, to) => {
  const before = js;
  js = js.replace(pattern, to);
  if (js === before) throw new Error(`minify-wasm-names: ${pattern} not found in ${glue}`);
  renamed++;
};
// Exports the glue never calls (the module's own abort handler) are not in it.
for (const [from, to] of map.exports) {
  const pattern = new RegExp(`\\bwasm\\.${escape(from)}(?![\\w$])`, "g");
  if (pattern.test(js)) replace(pattern, `wasm[${JSON.stringify(to)}]`);
}
const modules = new Set(map.imports.map(([module]) => module));
for (const [, from, to] of map.imports) {
  replace(new RegExp(`^(\\s+)${escape(from)}:`, "m"), `$1${JSON.stringify(to)}:`);
}
// The one module every import now comes from.
for (const module of modules) {
  replace(new RegExp(`${escape(JSON.stringify(module))}: import0`), `${JSON.stringify(newModule)}: import0`);
}
writeFileSync(glue, js);

// The glue's type declarations describe the raw exports (`InitOutput`): the same new names.
const types = glue.replace(/\.js$/, ".d.ts");
let dts = readFileSync(types, "utf8");
for (const [from, to] of map.exports) {
  dts = dts.replace(new RegExp(`(readonly )${escape(from)}:`, "g"), `$1${JSON.stringify(to)}:`);
}
writeFileSync(types, dts);
console.log(`minify-wasm-names: ${renamed} names in ${glue}`);
