"""The Open Inference Protocol gRPC messages, generated from inference.proto (see there)."""
