/// A seeded, splittable pseudo-random number generator: the one source of randomness in
/// Seq2Seq (initialisation, dropout, batch order, sampling), so that one seed fixes a run.
///
/// The state is 64 bits advanced by SplitMix64 (Steele, Lea & Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014). `split(_:)` derives an independent child
/// stream from the parent's seed and a label, so that adding a draw in one part of the program
/// (say, dropout) never shifts the numbers another part (say, batch order) sees.
///
/// The whole state is one `UInt64` (`state`), so it can be saved in a checkpoint and restored
/// exactly.
public struct RandomGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    /// The generator's complete state.
    public var state: UInt64

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 ^ 0xD1B5_4A32_D192_ED03 }

    /// Restores a generator from a saved `state`.
    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits (SplitMix64).
    /// - Complexity: O(1).
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An independent child stream named by `label`; the parent's state does not change.
    public func split(_ label: String) -> RandomGenerator {
        // FNV-1a over the label, mixed with the parent's state.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in label.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        var child = RandomGenerator(state: state ^ h)
        _ = child.next()
        return child
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    @inlinable
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUniformDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A standard normal draw (Box–Muller; one of the pair is discarded so that the state
    /// stays a single integer).
    @inlinable
    public mutating func nextNormal() -> Float {
        var u1 = nextUniformDouble()
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = nextUniformDouble()
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }
}

@usableFromInline func _log(_ x: Double) -> Double {
    #if canImport(Darwin)
    return Darwin.log(x)
    #else
    return Glibc.log(x)
    #endif
}

@usableFromInline func _cos(_ x: Double) -> Double {
    #if canImport(Darwin)
    return Darwin.cos(x)
    #else
    return Glibc.cos(x)
    #endif
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
