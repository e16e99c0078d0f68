"""Tensors as raw bytes: the Open Inference Protocol's binary tensor data extension over
REST, and the same encoding in gRPC's ``raw_input_contents`` / ``raw_output_contents``.

A binary REST request carries ``Inference-Header-Content-Length: N``: its first N bytes
are the JSON inference header, the rest the tensors' bytes, input after input in the
header's order, each input's length given by its ``"parameters": {"binary_data_size": K}``.
Values are little-endian, row-major, without padding; a BOOL is one byte; a BYTES element
is a 4-byte little-endian length followed by that many bytes. A response that carries
binary outputs has the same header and ``Content-Type: application/octet-stream``.

Every malformed part is a 400 saying which input and which byte count is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from mlform.serving.errors import bad_request

HEADER = b"inference-header-content-length"
OCTETS = b"application/octet-stream"
# the numpy type of each fixed-size datatype's binary elements
DTYPES = {
    "BOOL": "|b1",
    "INT8": "|i1",
    "UINT8": "|u1",
    "INT16": "<i2",
    "UINT16": "<u2",
    "FP16": "<f2",
    "INT32": "<i4",
    "UINT32": "<u4",
    "FP32": "<f4",
    "INT64": "<i8",
    "UINT64": "<u8",
    "FP64": "<f8",
}
MAX_HEADER_DIGITS = 19  # a header length beyond int64 is no length


def split(body: bytes, header: str) -> tuple[Any, memoryview]:
    """The JSON inference header of a binary request and the tensor bytes after it."""
    text = header.strip()
    if not text.isascii() or not text.isdigit() or len(text) > MAX_HEADER_DIGITS:
        raise bad_request(
            f"the Inference-Header-Content-Length header must be a number of bytes; got {header!r}"
        )
    length = int(text)
    if length > len(body):
        raise bad_request(
            f"the Inference-Header-Content-Length header says the JSON inference header is "
            f"{length:,} bytes, but the request body has only {len(body):,}"
        )
    try:
        head = orjson.loads(memoryview(body)[:length])
    except orjson.JSONDecodeError as error:
        raise bad_request(
            f"the inference header (the body's first {length:,} bytes, as "
            f"Inference-Header-Content-Length says) is not valid JSON: {error}"
        ) from None
    return head, memoryview(body)[length:]


class Parts:
    """The binary part of a request, taken input by input in the header's order."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.offset = 0

    def take(self, name: str, size: int) -> memoryview:
        left = len(self.data) - self.offset
        if size > left:
            raise bad_request(
                f"input '{name}': binary_data_size is {size:,} bytes, but only {left:,} bytes "
                "of binary data are left in the request body"
            )
        part = self.data[self.offset : self.offset + size]
        self.offset += size
        return part

    def finish(self) -> None:
        """Every byte belongs to an input: extra bytes mean the sizes are wrong."""
        extra = len(self.data) - self.offset
        if extra:
            raise bad_request(
                f"the request body has {extra:,} bytes of binary data beyond what the inputs' "
                f"binary_data_size add up to ({self.offset:,})"
            )


def size_of(name: str, parameters: Any) -> int | None:
    """An input's ``binary_data_size``, checked; None if its data is JSON."""
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise bad_request(f"input '{name}': 'parameters' must be an object")
    size = parameters.get("binary_data_size")
    if size is None:
        return None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise bad_request(
            f"input '{name}': binary_data_size must be a non-negative integer; got {size!r}"
        )
    return size


def decode(data: memoryview | bytes, datatype: str, shape: list[int], name: str, what: str) -> Any:
    """The values of a checked [N] or [N, 1] tensor from its bytes: an array, or a list of
    str for BYTES. ``what`` names the bytes in messages ("binary_data_size is", …)."""
    count = shape[0]
    if datatype == "BYTES":
        return _strings(memoryview(data), count, name, what)
    dtype = np.dtype(DTYPES[datatype])
    expected = count * dtype.itemsize
    if len(data) != expected:
        raise bad_request(
            f"input '{name}': shape {shape} of {datatype} takes {expected:,} bytes, "
            f"but {what} {len(data):,}"
        )
    return np.frombuffer(data, dtype=dtype)


def _strings(data: memoryview, count: int, name: str, what: str) -> list[str]:
    out: list[str] = []
    offset, end = 0, len(data)
    for row in range(count):
        if end - offset < 4:
            raise bad_request(
                f"input '{name}': {what} {end:,} bytes, which end before the length of "
                f"element {row} (of {count:,})"
            )
        length = int.from_bytes(data[offset : offset + 4], "little")
        offset += 4
        if length > end - offset:
            raise bad_request(
                f"input '{name}': element {row} says it is {length:,} bytes, but only "
                f"{end - offset:,} bytes are left"
            )
        try:
            out.append(str(data[offset : offset + length], "utf-8"))
        except UnicodeDecodeError:
            raise bad_request(f"input '{name}' row {row} is not valid UTF-8") from None
        offset += length
    if offset != end:
        raise bad_request(
            f"input '{name}': {what} {end:,} bytes, but its {count:,} elements take {offset:,}"
        )
    return out


def encode(values: Any, datatype: str) -> bytes:
    """The bytes of an output tensor (row-major, little-endian)."""
    array = np.asarray(values)
    if datatype == "BYTES":
        parts = []
        for value in array.ravel().tolist():
            raw = value if isinstance(value, bytes) else str(value).encode()
            parts.append(len(raw).to_bytes(4, "little"))
            parts.append(raw)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=np.dtype(DTYPES[datatype])).tobytes()


def response(header: dict[str, Any], blobs: list[bytes]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A response body with binary outputs, and its headers."""
    head = orjson.dumps(header)
    return head + b"".join(blobs), [
        (b"content-type", OCTETS),
        (HEADER, str(len(head)).encode()),
    ]
