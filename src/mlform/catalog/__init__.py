"""What specs may name: allowlisted estimators (with their real parameter names) and metrics.

Plain data with no heavy imports, shared by validation (which must start fast) and the
pipeline runtime.
"""
