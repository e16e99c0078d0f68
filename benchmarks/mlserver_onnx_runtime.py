"""MLServer serving the credit-risk ONNX model: a custom runtime (bench_serving.py), as the
MLServer documentation describes one, with onnxruntime as mlform runs it (one thread).

model-settings.json: {"implementation": "mlserver_onnx_runtime.OnnxModel",
                      "parameters": {"uri": "model.onnx"}}
"""

import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri


class OnnxModel(MLModel):
    async def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        uri = await get_model_uri(self._settings)
        self.session = ort.InferenceSession(uri, options, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        self.kinds = {i.name: np.float64 if i.type == "tensor(double)" else object for i in inputs}
        self.names = [o.name for o in self.session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feed = {}
        for item in payload.inputs:
            data = [v.decode() if isinstance(v, bytes) else v for v in item.data]
            feed[item.name] = np.array(data, dtype=self.kinds[item.name]).reshape(-1, 1)
        results = self.session.run(self.names, feed)
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            id=payload.id,
            outputs=[
                NumpyCodec.encode_output(n, v) for n, v in zip(self.names, results, strict=True)
            ],
        )
