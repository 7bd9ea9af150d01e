#!/usr/bin/env node
// Bundles the web dashboard (examples/dashboard/app.jsx) with React, react-dom and the
// roomcast package as built in bindings/js (dist/, wasm/) into examples/dashboard/vendor/app.js,
// the wasm module next to it (the glue fetches it relative to the bundle). Production React:
// what a deployed dashboard ships. Run by scripts/build-wasm.sh after the package's build.
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = join(root, "bindings", "js");
// The package's esbuild (a dev dependency of bindings/js).
const { build } = createRequire(join(pkg, "package.json"))("esbuild");
const out = join(root, "examples", "dashboard", "vendor");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(root, "examples", "dashboard", "app.jsx")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
  alias: { roomcast: join(pkg, "dist", "browser.js"), "roomcast/react": join(pkg, "dist", "react.js") },
  nodePaths: [join(pkg, "node_modules")],
  logLevel: "warning",
  metafile: true,
});
copyFileSync(join(pkg, "wasm", "roomcast_wasm_bg.wasm"), join(out, "roomcast_wasm_bg.wasm"));
const bytes = Object.values(result.metafile.outputs)[0].bytes;
console.log(`build-dashboard: vendor/app.js ${bytes} bytes (React, react-dom, roomcast, the app)`);
