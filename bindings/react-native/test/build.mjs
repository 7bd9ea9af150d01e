// Bundles what scripts/test-react-native.sh runs, with esbuild:
//   node OUT   the Node tests (test/*.test.ts) with the generated bindings' N-API flavour
//              swapped in for the app's JSI flavour (src/ffi.ts -> src/node/ffi.ts); the
//              cdylib is expected next to the bundles (ubrn's --lib-colocated).
//   hermes OUT the package as an app's bundler would see it (src/index.tsx, JSI flavour),
//              as one classic script for hermesc; `react-native` stays an external require.
import { build } from "esbuild";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [mode, out] = process.argv.slice(2);
if (!out || (mode !== "node" && mode !== "hermes")) {
  console.error("usage: node test/build.mjs node|hermes OUT_DIR");
  process.exit(2);
}

if (mode === "node") {
  const require = createRequire(join(pkg, "package.json"));
  const ubjsNode = require.resolve("@ubjs/node");
  const nodeFlavour = {
    name: "roomcast-node-flavour",
    setup(b) {
      // The typed layer imports "./ffi": under Node, the N-API bindings.
      b.onResolve({ filter: /^\.\/ffi$/ }, (args) =>
        args.importer.startsWith(join(pkg, "src") + "/") && dirname(args.importer) === join(pkg, "src")
          ? { path: join(pkg, "src", "node", "ffi.ts") }
          : undefined,
      );
      // The native runtime addon, loaded from the package's node_modules by absolute path
      // (the bundles live in target/, outside any node_modules lookup).
      b.onResolve({ filter: /^@ubjs\/node$/ }, () => ({ path: ubjsNode, external: true }));
    },
  };
  const tests = readdirSync(join(pkg, "test")).filter((f) => f.endsWith(".test.ts"));
  await build({
    entryPoints: tests.map((f) => join(pkg, "test", f)),
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    plugins: [nodeFlavour],
    // Only reached when no AppState is passed, which the tests always pass.
    external: ["react-native"],
    logLevel: "warning",
  });
} else {
  await build({
    entryPoints: [join(pkg, "src", "index.tsx")],
    outfile: join(out, "roomcast-react-native.js"),
    bundle: true,
    platform: "neutral",
    format: "cjs",
    // What React Native's Babel preset leaves for Hermes; hermesc rejects what it cannot run.
    target: "es2020",
    mainFields: ["react-native", "module", "main"],
    external: ["react-native"],
    logLevel: "warning",
  });
}
