// swift-tools-version:6.0
// The Roomcast SwiftUI chat example. On a Mac: `swift run RoomcastChat` (after
// scripts/build-xcframework.sh). For iOS, add the files in Sources/RoomcastChat to an iOS
// app target that depends on the Roomcast package (see README.md). Swift 6 language mode, iOS 17
// and macOS 14: it uses the package's @Observable models.
import PackageDescription

let package = Package(
    name: "RoomcastChat",
    platforms: [.iOS(.v17), .macOS(.v14)],
    dependencies: [
        .package(name: "Roomcast", path: "../../bindings/swift"),
    ],
    targets: [
        .executableTarget(
            name: "RoomcastChat",
            dependencies: [.product(name: "Roomcast", package: "Roomcast")],
            path: "Sources/RoomcastChat",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
