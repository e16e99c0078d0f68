"""The local inference server: Open Inference Protocol (V2) and V1 REST over onnxruntime.

Heavy imports (onnxruntime, numpy, uvicorn) stay inside this package, so the rest of mlform
never pays for them.
"""
