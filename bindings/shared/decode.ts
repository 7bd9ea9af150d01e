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
    readonly validate: (
      value: unknown,
    ) => StandardSchemaV1.Result<Output> | Promise<StandardSchemaV1.Result<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
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
    readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
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
export function guard<T>(is: (data: unknown) => data is T, what = "payload"): (data: unknown) => T {
  return (data) => {
    if (!is(data)) throw new TypeError(`${what} has an unexpected shape`);
    return data;
  };
}

/** True for a Standard Schema validator (an object or function with a `~standard` property
 * holding `version: 1` and a `validate` function). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const props = (value as { "~standard"?: unknown })["~standard"];
  return (
    typeof props === "object" &&
    props !== null &&
    (props as { version?: unknown }).version === 1 &&
    typeof (props as { validate?: unknown }).validate === "function"
  );
}

/** @internal Runs a decoder: the decoded value, or throws an Error describing the issues. */
export function runDecoder<T>(decoder: Decoder<T>, data: unknown): T {
  if (!isStandardSchema(decoder)) return (decoder as (data: unknown) => T)(data);
  const result = decoder["~standard"].validate(data) as
    | StandardSchemaV1.Result<T>
    | Promise<StandardSchemaV1.Result<T>>;
  if (typeof (result as { then?: unknown }).then === "function") {
    // Handlers run in order and at once; an asynchronous validation cannot keep that order.
    void (result as Promise<unknown>).catch(() => {});
    throw new TypeError(`the ${decoder["~standard"].vendor} schema validated asynchronously; only synchronous schemas can decode`);
  }
  const r = result as StandardSchemaV1.Result<T>;
  if (r.issues) {
    const text = r.issues
      .map((issue) => {
        const path = (issue.path ?? [])
          .map((p) => String(typeof p === "object" && p !== null ? p.key : p))
          .join(".");
        return path ? `${path}: ${issue.message}` : issue.message;
      })
      .join("; ");
    const e = new TypeError(text || "the schema rejected the payload");
    (e as TypeError & { issues?: unknown }).issues = r.issues;
    throw e;
  }
  return r.value;
}
