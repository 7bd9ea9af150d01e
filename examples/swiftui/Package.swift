// swift-tools-version:5.9
// The Roomcast SwiftUI chat example. On a Mac: `swift run RoomcastChat` (after
// scripts/build-xcframework.sh). For iOS, add the files in Sources/RoomcastChat to an iOS
// app target that depends on the Roomcast package (see README.md).
import PackageDescription

let package = Package(
    name: "RoomcastChat",
    platforms: [.iOS(.v15), .macOS(.v12)],
    dependencies: [
        .package(name: "Roomcast", path: "../../bindings/swift"),
    ],
    targets: [
        .executableTarget(
            name: "RoomcastChat",
            dependencies: [.product(name: "Roomcast", package: "Roomcast")],
            path: "Sources/RoomcastChat"
        ),
    ]
)
