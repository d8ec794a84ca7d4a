import CICU

/// The version of the ICU library Tokenize runs on, for example "72.1".
public var icuVersion: String { String(cString: cicu_version()) }
