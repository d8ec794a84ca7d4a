import ArgumentParser
import Foundation
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// An error a command hits while running (not while parsing its arguments): printed as
/// `error: MESSAGE` on standard error, with exit status 1.
///
/// Throw it (or any error whose description reads well, like `Tokenize.InputError`) inside
/// ``reportingErrors(_:)``.
struct CLIError: Error, CustomStringConvertible {
    /// One line, in plain English; name the file (and line) when there is one.
    var message: String

    init(_ message: String) { self.message = message }

    var description: String { message }
}

/// Runs `body`; if it throws, prints `error: <the error's description>` to standard error and
/// exits with status 1 (by throwing `ExitCode.failure`). Errors of swift-argument-parser itself
/// (`ExitCode`, `CleanExit`, `ValidationError`) pass through unchanged.
///
/// Use it around the whole of a command's `run()`:
/// ```swift
/// func run() throws {
///     try reportingErrors {
///         let reader = try LineReader(path: input)
///         …
///     }
/// }
/// ```
func reportingErrors<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        printError(describe(error))
        throw ExitCode.failure
    }
}

/// An error as one line of plain words. Foundation's file errors (which print as
/// `Error Domain=NSCocoaErrorDomain Code=… UserInfo={…}`) become `PATH: reason`, the reason
/// being the system's text for the underlying errno (`No space left on device`).
func describe(_ error: Error) -> String {
    let text = "\(error)"
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain || text.contains("Error Domain=") else {
        return text
    }
    let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    var code: Int32? = ns.domain == NSPOSIXErrorDomain ? Int32(truncatingIfNeeded: ns.code) : nil
    if code == nil, let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        code = Int32(truncatingIfNeeded: underlying.code)
    }
    let reason: String
    var isDirectory: ObjCBool = false
    if code == nil, let path, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        code = EISDIR
    }
    if let code {
        reason = String(cString: strerror(code))
    } else {
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: reason = String(cString: strerror(ENOENT))
        case .fileReadNoPermission, .fileWriteNoPermission: reason = String(cString: strerror(EACCES))
        case .fileWriteOutOfSpace: reason = String(cString: strerror(ENOSPC))
        case .fileWriteVolumeReadOnly: reason = String(cString: strerror(EROFS))
        case .fileReadCorruptFile: reason = "the file is damaged or not in the expected format"
        case .fileReadInapplicableStringEncoding, .fileWriteInapplicableStringEncoding: reason = "not valid text in the expected encoding"
        case .fileReadTooLarge: reason = "the file is too large to read"
        default: reason = ns.code >= 256 && ns.code < 512 ? "cannot read the file" : ns.code >= 512 && ns.code < 768 ? "cannot write the file" : "file operation failed"
        }
    }
    return path.map { "\($0): \(reason)" } ?? reason
}

/// Prints `error: MESSAGE` (one line) to standard error.
func printError(_ message: String) {
    let line = "error: " + message.split(whereSeparator: \.isNewline).joined(separator: " ") + "\n"
    fputs(line, stderr)
}

/// Prints `message` and a newline to standard error (progress and statistics, which must not
/// mix with the data on standard output).
func printNote(_ message: String) {
    fputs(message + "\n", stderr)
}
