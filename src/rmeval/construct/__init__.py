"""Benchmark construction: prompt sets, policy sampling, a point-wise judge and the RMB-rule builder."""
