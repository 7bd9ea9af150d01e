/**
 * Decoders for typed handlers: a function that returns the value or throws, a type guard
 * (`guard`), or any Standard Schema validator (zod, valibot, arktype...: the `~standard`
 * interface, https://standardschema.dev, checked here without depending on any of them).
 */
/** The Standard Schema interface (v1), as far as decoding needs it. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
    readonly "~standard": {
        readonly version: 1;
        readonly vendor: string;
        readonly validate: (value: unknown) => StandardSchemaV1.Result<Output> | Promise<StandardSchemaV1.Result<Output>>;
        readonly types?: {
            readonly input: Input;
            readonly output: Output;
        } | undefined;
    };
}
export declare namespace StandardSchemaV1 {
    type Result<Output> = SuccessResult<Output> | FailureResult;
    interface SuccessResult<Output> {
        readonly value: Output;
        readonly issues?: undefined;
    }
    interface FailureResult {
        readonly issues: ReadonlyArray<Issue>;
    }
    interface Issue {
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | {
            readonly key: PropertyKey;
        }> | undefined;
    }
}
/** Turns an untrusted payload into `T`, or throws (the error goes to `onError`); or a Standard
 * Schema validator whose output is `T`. Validation runs before the handler, synchronously: a
 * schema that only validates asynchronously is reported as a `decode` error. */
export type Decoder<T> = ((data: unknown) => T) | StandardSchemaV1<unknown, T>;
export interface OnOptions<T> {
    /**
     * Checks the payload at runtime: TypeScript types are erased, so only a decoder can catch
     * a payload of the wrong shape. A decoder that throws (or a schema reporting issues) sends a
     * `decode` error to the room's `onError` handlers (else the client's) and the handler is
     * skipped.
     */
    decode?: Decoder<T>;
}
/** A decoder from a type guard: `room.on("chat", h, { decode: guard(isChat) })`. */
export declare function guard<T>(is: (data: unknown) => data is T, what?: string): (data: unknown) => T;
/** True for a Standard Schema validator (an object or function with a `~standard` property
 * holding `version: 1` and a `validate` function). */
export declare function isStandardSchema(value: unknown): value is StandardSchemaV1;
/** @internal Runs a decoder: the decoded value, or throws an Error describing the issues. */
export declare function runDecoder<T>(decoder: Decoder<T>, data: unknown): T;
