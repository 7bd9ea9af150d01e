/**
 * Globals Hermes has that react-native's own declarations (src/types/globals.d.ts) leave out,
 * used by the generated bindings: `TextEncoder` (in Hermes since React Native 0.74) and
 * `TextDecoder`, which the bindings only use when present (`typeof TextDecoder`), falling
 * back to their C++ helper otherwise.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}
declare class TextDecoder {
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}
