"""zoobench: ImageNet classifiers from PyTorch weights to validated, benchmarked inference models."""

__version__ = "0.1.0"
