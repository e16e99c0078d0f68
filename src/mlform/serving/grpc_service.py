"""The Open Inference Protocol's gRPC API, ``inference.GRPCInferenceService``: ServerLive,
ServerReady, ModelReady, ServerMetadata, ModelMetadata and ModelInfer (others answer
UNIMPLEMENTED), on the Deployment's ``local.grpc_port``, served by ``grpc.aio`` on the
HTTP server's event loop and started and stopped with its lifespan.

Each call reads the server's current snapshot, so a hot swap reaches gRPC clients as it
reaches HTTP ones. Inputs come as typed ``contents`` or as ``raw_input_contents`` (what
tritonclient sends) and go through the same checks as JSON (``protocol.Inputs``); outputs
are answered as ``raw_output_contents``. The limits, the canary split by request id
(``id``, else the ``x-request-id`` metadata), the prediction log and the metrics (protocol
``grpc``, with the HTTP status of the same outcome) are those of REST. Errors are gRPC
status codes with REST's messages. No method here needs the server token: REST asks it
for feedback and ``/mlform/status`` only, and inference, health and metadata stay open.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

import grpc
import numpy as np

from mlform.serving import binary, protocol
from mlform.serving.app import EXTENSIONS, Server
from mlform.serving.config import ServeConfig
from mlform.serving.errors import RequestError, bad_request
from mlform.serving.model import ServedModel
from mlform.serving.oip import inference_pb2 as pb
from mlform.version import __version__

SERVICE = "inference.GRPCInferenceService"
CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    404: grpc.StatusCode.NOT_FOUND,
    408: grpc.StatusCode.DEADLINE_EXCEEDED,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
    507: grpc.StatusCode.RESOURCE_EXHAUSTED,
}
# typed contents: the field of InferTensorContents that holds each datatype
CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


async def start(server: Server, config: ServeConfig) -> Any:
    """A started ``grpc.aio.Server`` for ``server``'s models on ``config.grpc_port``."""
    limits = config.limits
    grpc_server = grpc.aio.server(
        options=[
            # a message is a request body: the same limit (RESOURCE_EXHAUSTED over it)
            ("grpc.max_receive_message_length", limits.max_body_bytes),
            ("grpc.max_send_message_length", -1),
            # without this a second server could bind the same port and share its traffic
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=limits.max_connections,
    )
    grpc_server.add_generic_rpc_handlers((_handlers(Calls(server)),))
    host = f"[{config.host}]" if ":" in config.host else config.host
    try:
        grpc_server.add_insecure_port(f"{host}:{config.grpc_port}")
    except RuntimeError:
        raise RuntimeError(f"cannot listen for gRPC on {host}:{config.grpc_port}") from None
    await grpc_server.start()
    return grpc_server


def _handlers(calls: Calls) -> Any:
    def unary(method: Any, request: Any, response: Any) -> Any:
        return grpc.unary_unary_rpc_method_handler(
            method,
            request_deserializer=request.FromString,
            response_serializer=response.SerializeToString,
        )

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "ServerLive": unary(calls.server_live, pb.ServerLiveRequest, pb.ServerLiveResponse),
            "ServerReady": unary(calls.server_ready, pb.ServerReadyRequest, pb.ServerReadyResponse),
            "ModelReady": unary(calls.model_ready, pb.ModelReadyRequest, pb.ModelReadyResponse),
            "ServerMetadata": unary(
                calls.server_metadata, pb.ServerMetadataRequest, pb.ServerMetadataResponse
            ),
            "ModelMetadata": unary(
                calls.model_metadata, pb.ModelMetadataRequest, pb.ModelMetadataResponse
            ),
            "ModelInfer": unary(calls.model_infer, pb.ModelInferRequest, pb.ModelInferResponse),
        },
    )


class Calls:
    """The service's methods, over the HTTP server's state (snapshot, metrics, log)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    async def server_live(self, request: pb.ServerLiveRequest, context: Any) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def server_ready(self, request: pb.ServerReadyRequest, context: Any) -> Any:
        snapshot = self.server.snapshot
        return pb.ServerReadyResponse(ready=snapshot is not None and bool(snapshot.groups))

    async def server_metadata(self, request: pb.ServerMetadataRequest, context: Any) -> Any:
        return pb.ServerMetadataResponse(name="mlform", version=__version__, extensions=EXTENSIONS)

    async def model_ready(self, request: pb.ModelReadyRequest, context: Any) -> Any:
        try:
            self._model(request.name, request.version)
        except RequestError as error:
            await _abort(context, error)
        return pb.ModelReadyResponse(ready=True)

    async def model_metadata(self, request: pb.ModelMetadataRequest, context: Any) -> Any:
        try:
            model, versions = self._model(request.name, request.version)
        except RequestError as error:
            await _abort(context, error)
        return pb.ModelMetadataResponse(
            name=model.name,
            versions=versions,
            platform="onnxruntime_onnx",
            inputs=[_metadata(t) for t in model.inputs],
            outputs=[_metadata(t) for t in model.outputs],
        )

    def _model(self, name: str, version: str) -> tuple[ServedModel, list[str]]:
        snapshot = self.server.snapshot
        if snapshot is None:
            raise RequestError(503, "no model is loaded yet")
        group = snapshot.group(name)
        return (group.version(version) if version else group.default), list(group.versions)

    async def model_infer(self, request: pb.ModelInferRequest, context: Any) -> Any:
        started = time.perf_counter()
        metrics = self.server.metrics
        labels = ["", ""]
        status, rows = 200, 0
        metrics.in_flight += 1
        try:
            response, rows = await self._infer(request, context, labels)
            return response
        except RequestError as error:
            status = error.status
            await _abort(context, error)
        except Exception as error:  # a bug must not take the server down
            status = 500
            await _abort(context, RequestError(500, f"internal error: {type(error).__name__}"))
        finally:
            metrics.in_flight -= 1
            metrics.observe(
                labels[0], labels[1], "grpc", status, time.perf_counter() - started, rows
            )

    async def _infer(
        self, request: pb.ModelInferRequest, context: Any, labels: list[str]
    ) -> tuple[Any, int]:
        snapshot = self.server.snapshot  # once: a hot swap mid-call does not mix versions
        if snapshot is None:
            raise RequestError(503, "no model is loaded yet")
        group = snapshot.group(request.model_name)
        identifier = _request_id(request, context)
        model = (
            group.version(request.model_version)
            if request.model_version
            else group.pick(identifier)
        )
        labels[0], labels[1] = model.name, model.version
        parsed = parse(request, model, snapshot.config.limits.max_batch)
        identifier = identifier or self.server.new_id()
        outputs = await self.server.predict(model, "grpc", identifier, parsed)
        return respond(model, outputs, parsed, identifier), parsed.rows


def parse(request: pb.ModelInferRequest, model: ServedModel, max_batch: int) -> protocol.Request:
    """A ModelInferRequest's inputs, checked as JSON ones are."""
    if not request.inputs:
        raise bad_request("the request has no inputs")
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise bad_request(
            f"raw_input_contents has {len(raw)} entries, but the request has "
            f"{len(request.inputs)} inputs: give one per input, in their order"
        )
    checked = protocol.Inputs(model, max_batch)
    for index, item in enumerate(request.inputs):
        shape = list(item.shape)
        tensor = checked.expect(item.name, shape, item.datatype)
        if raw:
            if item.HasField("contents"):
                raise bad_request(
                    f"input '{item.name}' has 'contents', but the request has "
                    "raw_input_contents: send every input one way"
                )
            what = f"raw_input_contents[{index}] holds"
            values = binary.decode(raw[index], item.datatype, shape, item.name, what)
            checked.add(tensor, item.name, shape, item.datatype, values, "its raw contents")
        else:
            values = _contents(item)
            checked.add(tensor, item.name, shape, item.datatype, values, "'contents'")
    names = [o.name for o in request.outputs]
    unknown = [n for n in names if n not in model.output_names]
    if unknown:
        raise bad_request(
            f"unknown output {unknown[0]!r}; the model gives: {', '.join(model.output_names)}"
        )
    return checked.request(request.id or None, names or None, frozenset())


def _contents(item: Any) -> Any:
    field = CONTENTS.get(item.datatype)
    if field is None:  # FP16 and BF16 have no typed field
        raise bad_request(
            f"input '{item.name}': {item.datatype} data must be sent in raw_input_contents"
        )
    values = getattr(item.contents, field)
    if item.datatype != "BYTES":
        return np.asarray(values)
    out = []
    for row, value in enumerate(values):
        try:
            out.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            raise bad_request(f"input '{item.name}' row {row} is not valid UTF-8") from None
    return out


def respond(
    model: ServedModel, outputs: dict[str, Any], request: protocol.Request, identifier: str
) -> Any:
    """The ModelInferResponse: every output asked for, as raw_output_contents."""
    response = pb.ModelInferResponse(
        model_name=model.name, model_version=model.version, id=identifier
    )
    for tensor in model.outputs:
        if request.outputs is not None and tensor.name not in request.outputs:
            continue
        values = np.asarray(outputs[tensor.name])
        response.outputs.add(name=tensor.name, datatype=tensor.datatype, shape=values.shape)
        response.raw_output_contents.append(binary.encode(values, tensor.datatype))
    return response


def _request_id(request: pb.ModelInferRequest, context: Any) -> str | None:
    """The request's ``id``, else its ``x-request-id`` metadata, checked as REST's are."""
    header = next(
        (str(v) for k, v in context.invocation_metadata() or () if k == "x-request-id"), None
    )
    if header:
        protocol.check_id(header, "the x-request-id metadata")
    if request.id:
        return protocol.check_id(request.id, "'id'")
    return header or None


def _metadata(tensor: Any) -> Any:
    return pb.ModelMetadataResponse.TensorMetadata(
        name=tensor.name, datatype=tensor.datatype, shape=list(tensor.shape)
    )


async def _abort(context: Any, error: RequestError) -> NoReturn:
    await context.abort(CODES.get(error.status, grpc.StatusCode.INTERNAL), error.message)
    raise AssertionError("context.abort raises")  # pragma: no cover
