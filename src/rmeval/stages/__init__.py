"""Thin Hydra entry points, one per rule family: parse config, read inputs, call the library, write outputs."""
