import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if os(macOS) || os(Linux)
/// A plain HTTP/1.0 GET to 127.0.0.1:`port` over a TCP socket, for the server's `/stats`:
/// FoundationNetworking would need libcurl on Linux, and the reply here is one small JSON
/// body that ends when the server closes the connection. Times out after 5 s.
func httpGet(port: UInt16, path: String, bearer: String? = nil) throws -> (status: Int, body: Data) {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw HTTPGetError.socket(errno) }
    defer { _ = close(fd) }

    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

    var address = sockaddr_in()
    #if canImport(Darwin)
    address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
    #endif
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)  // 127.0.0.1
    let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            connect(fd, socketAddress, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw HTTPGetError.connect(errno) }

    var request = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n"
    if let bearer { request += "Authorization: Bearer \(bearer)\r\n" }
    request += "\r\n"
    let bytes = Array(request.utf8)
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw HTTPGetError.write(errno) }
        sent += n
    }

    var response = Data()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 { break }
        guard n > 0 else { throw HTTPGetError.read(errno) }
        response.append(contentsOf: buffer[0..<n])
    }

    guard let split = response.range(of: Data("\r\n\r\n".utf8)) else { throw HTTPGetError.malformed }
    let head = String(decoding: response[..<split.lowerBound], as: UTF8.self)
    let statusLine = head.components(separatedBy: "\r\n").first ?? ""
    let parts = statusLine.split(separator: " ")
    guard parts.count >= 2, let status = Int(parts[1]) else { throw HTTPGetError.malformed }
    return (status, Data(response[split.upperBound...]))
}

enum HTTPGetError: Error {
    case socket(Int32)
    case connect(Int32)
    case write(Int32)
    case read(Int32)
    case malformed
}
#endif
