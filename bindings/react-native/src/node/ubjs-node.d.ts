/**
 * What @ubjs/node 0.31.0-3 exports at run time (lib.js) but its napi-rs `index.d.ts` does
 * not declare: the FFI type descriptors and the library resolver the generated N-API
 * bindings use. Declared here so `tsc` checks those bindings instead of skipping them.
 */
import "@ubjs/node";
import type { ResolveLibPathOptions } from "@ubjs/node/typescript/dist/resolve-lib";

type FfiTypeDescriptor = { readonly tag: string; readonly name?: string; readonly inner?: FfiTypeDescriptor };
type ScalarFfiType =
  | "UInt8"
  | "Int8"
  | "UInt16"
  | "Int16"
  | "UInt32"
  | "Int32"
  | "UInt64"
  | "Int64"
  | "Float32"
  | "Float64"
  | "Handle"
  | "RustBuffer"
  | "ForeignBytes"
  | "RustCallStatus"
  | "VoidPointer"
  | "Void";

declare module "@ubjs/node" {
  export const FfiType: { readonly [K in ScalarFfiType]: FfiTypeDescriptor } & {
    Callback(name: string): FfiTypeDescriptor;
    Struct(name: string): FfiTypeDescriptor;
    Reference(inner: FfiTypeDescriptor): FfiTypeDescriptor;
    MutReference(inner: FfiTypeDescriptor): FfiTypeDescriptor;
  };
  export function resolveLibPath(options: ResolveLibPathOptions): string;
}
