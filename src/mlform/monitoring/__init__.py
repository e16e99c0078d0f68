"""Monitoring: drift and performance of served models against their training data."""
