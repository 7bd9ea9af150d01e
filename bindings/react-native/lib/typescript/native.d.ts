export * from './generated/roomcast';
import * as roomcast from './generated/roomcast';
export declare function uniffiInitAsync(): Promise<void>;
declare const _default: {
    roomcast: typeof roomcast;
};
export default _default;
