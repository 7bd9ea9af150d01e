import type { TurboModule } from 'react-native';
export interface Spec extends TurboModule {
    installRustCrate(): boolean;
    cleanupRustCrate(): boolean;
}
declare const _default: Spec;
export default _default;
