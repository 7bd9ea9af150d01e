/**
 * The generated bindings' N-API flavour (`@ubjs/node`, for Node): what the tests put under
 * the typed layer in place of the app's JSI flavour (test/build.mjs swaps src/ffi.ts for this
 * file). Same generator, same library, same exports; the cdylib is loaded from next to the
 * bundle (ubrn's --lib-colocated).
 */
export * from "./generated/index";
