/// mixer's version, named in metric signatures (`version:mixer-0.1.0`).
public let mixerVersion = "0.1.0"
