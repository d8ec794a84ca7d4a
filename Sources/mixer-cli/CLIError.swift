import ArgumentParser
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
        printError("\(error)")
        throw ExitCode.failure
    }
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
