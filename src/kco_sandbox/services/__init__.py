"""Use-cases: each takes plain values, owns its transaction and returns domain records."""
