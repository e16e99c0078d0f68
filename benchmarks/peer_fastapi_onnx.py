"""The peer of bench_serving.py: a hand-written FastAPI + onnxruntime app serving the same
ONNX model on the same Open Inference Protocol V2 JSON request, as a user would write it.

    MODEL=model.onnx python -m uvicorn peer_fastapi_onnx:app --app-dir benchmarks \
        --loop uvloop --http httptools --no-access-log --port 8000
"""

import os

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, Request

options = ort.SessionOptions()
options.intra_op_num_threads = 1  # as mlform: requests run side by side
options.inter_op_num_threads = 1
session = ort.InferenceSession(os.environ["MODEL"], options, providers=["CPUExecutionProvider"])
kinds = {i.name: np.float64 if i.type == "tensor(double)" else object for i in session.get_inputs()}
names = [o.name for o in session.get_outputs()]
V2 = {"tensor(float)": "FP32", "tensor(double)": "FP64", "tensor(int64)": "INT64"}
types = {o.name: V2.get(o.type, "BYTES") for o in session.get_outputs()}
app = FastAPI()


@app.get("/v2/models/{name}/ready")
async def ready(name: str) -> dict[str, object]:
    return {"name": name, "ready": True}


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request) -> dict[str, object]:
    body = await request.json()
    feed = {
        t["name"]: np.array(t["data"], dtype=kinds[t["name"]]).reshape(-1, 1)
        for t in body["inputs"]
    }
    results = session.run(names, feed)
    outputs = [
        {"name": n, "datatype": types[n], "shape": list(v.shape), "data": v.ravel().tolist()}
        for n, v in zip(names, results, strict=True)
    ]
    return {"model_name": name, "id": body.get("id", ""), "outputs": outputs}
