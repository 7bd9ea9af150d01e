/**
 * Metro for this example inside the Roomcast repository: the package comes from
 * bindings/react-native (a `file:` dependency, which npm links), so Metro watches that folder
 * and resolves its imports from this app's node_modules (one copy of react-native).
 */
const path = require("path");
const { getDefaultConfig, mergeConfig } = require("@react-native/metro-config");

const pkg = path.resolve(__dirname, "../../bindings/react-native");

module.exports = mergeConfig(getDefaultConfig(__dirname), {
  watchFolders: [pkg],
  resolver: {
    nodeModulesPaths: [path.resolve(__dirname, "node_modules"), path.resolve(pkg, "node_modules")],
    // The package's Node test flavour (N-API bindings) is not part of the app.
    blockList: [/bindings[/\\]react-native[/\\]src[/\\]node[/\\].*/],
  },
});
