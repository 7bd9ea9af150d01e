/**
 * The generated bindings as the typed layer sees them. In an app: the JSI flavour, installed
 * into Hermes by ubrn's Turbo Module entry (./native). The Node tests swap this module for
 * src/node/ffi.ts (the N-API flavour of the same bindings) when bundling.
 */
export * from "./native";
