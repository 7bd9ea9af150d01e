/**
 * Entry for browsers and bundlers: fetches and compiles the module next to the glue
 * (`new URL(..., import.meta.url)`, which Vite, webpack 5 and Rollup understand) before the
 * API is usable.
 */
import init from "../wasm/roomcast_wasm.js";

await init();

export * from "./api.js";
