/// A bootstrap estimate as sacreBLEU reports it: the mean of the resampled scores and the
/// half-width of their central 95% range (`μ = mean ± halfWidth`).
public struct ConfidenceInterval: Equatable, Sendable {
    /// The mean of the resampled scores.
    public var mean: Double
    /// Half the distance between the resampled scores at ranks ⌊n/40⌋ and n − ⌊n/40⌋ − 1.
    public var halfWidth: Double
    /// The number of resamples.
    public var samples: Int
    /// The seed of the resampling.
    public var seed: UInt64

    public init(mean: Double, halfWidth: Double, samples: Int, seed: UInt64) {
        self.mean = mean
        self.halfWidth = halfWidth
        self.samples = samples
        self.seed = seed
    }
}
