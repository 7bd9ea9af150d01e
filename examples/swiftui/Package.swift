// swift-tools-version:6.2
// The Roomcast SwiftUI chat example. On a Mac: `swift run RoomcastChat` (after
// scripts/build-xcframework.sh). For iOS, add the files in Sources/RoomcastChat to an iOS
// app target that depends on the Roomcast package (see README.md). iOS 17 and macOS 14 (it
// uses the package's @Observable models).
//
// Built with the settings of a new Xcode 26 app target (main-actor default isolation,
// Approachable Concurrency, Swift 6 mode), so the files compile unchanged when copied into
// one: the payload types are plain `struct ChatMessage: Codable, Sendable`, main-actor
// isolated there, and the Roomcast calls that decode them run on the main actor.
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
            swiftSettings: [
                .swiftLanguageMode(.v6),
                .defaultIsolation(MainActor.self),
                .enableUpcomingFeature("InferIsolatedConformances"),
                .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
            ]
        ),
    ]
)
