"""Benchmark loaders and the canonical items/texts tables."""
