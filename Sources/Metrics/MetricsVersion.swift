/// mixer's version, named in metric signatures (`version:mixer-0.2.0`).
public let mixerVersion = "0.2.0"
