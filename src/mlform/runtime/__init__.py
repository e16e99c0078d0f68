"""What generated pipelines execute: data checks, profiling, training, evaluation, export, review."""
