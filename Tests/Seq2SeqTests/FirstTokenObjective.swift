@testable import Seq2Seq

/// A test-only objective, all in this one file: XENT on the first target token of each pair
/// only. It shows the seam a new objective (label smoothing, MRT, …) plugs into: conform to
/// `Objective`, use the shared helpers, and the trainer trains with it
/// (`TrainerTests.testANewObjectiveIsOneType`).
final class FirstTokenObjective: Objective {
    /// Steps taken: the test checks that the trainer gave it every batch.
    var steps = 0
    func stage(epoch: Int) -> (name: String, s: Int) { ("first-token", 1) }
    func step(_ batch: Batch, _ context: inout ObjectiveContext) throws -> StepStatistics {
        steps += 1
        let targets = batch.targets.map { Array($0.prefix(1)) }
        var st = StepStatistics()
        st.xentLoss = CrossEntropy.teacherForcedStep(context.model, source: batch.sources, target: targets, rng: &context.dropout)
        st.xentTokens = targets.count
        return st
    }
}

