/** `roomcast-react-native/react`: the React hooks (bindings/shared/react.ts), over this
 * package's client. */
export * from "./shared/react";
