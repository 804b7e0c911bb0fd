"""Just enough of an ONNX file to learn how its input and output are quantised.

An 8-bit model takes uint8 and gives uint8: its graph dequantises the input with a
`DequantizeLinear(input, scale, zero_point)` node and quantises the output with a
`QuantizeLinear(x, scale, zero_point)` node, both with scalar initializers. Those four
numbers are read here straight from the protobuf wire format (ModelProto -> GraphProto ->
NodeProto / TensorProto, field numbers from onnx.proto), so the `onnx` package (and its
protobuf stack) is not needed to run the model. The model's external weights file is
never opened."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# onnx.proto field numbers
_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_OUTPUT = 1, 5, 11, 12
_NODE_INPUT, _NODE_OUTPUT, _NODE_OP_TYPE = 1, 2, 4
_VALUE_INFO_NAME = 1
_TENSOR_DATA_TYPE, _TENSOR_FLOAT_DATA, _TENSOR_INT32_DATA = 2, 4, 5
_TENSOR_NAME, _TENSOR_RAW_DATA, _TENSOR_DATA_LOCATION = 8, 9, 14
# TensorProto.DataType
_FLOAT, _UINT8, _INT8 = 1, 2, 3
_RAW_FORMAT = {_FLOAT: "<f", _UINT8: "<B", _INT8: "<b"}


class OnnxFormatError(ValueError):
    """The file is not an ONNX model this reader understands."""


@dataclass(frozen=True)
class Quantisation:
    """real = scale * (q - zero_point)"""

    scale: float
    zero_point: int


@dataclass(frozen=True)
class Node:
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class GraphSummary:
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    nodes: tuple[Node, ...]
    scalars: dict[str, float]   # inline one-element initializers of the types above

    def producer(self, tensor: str) -> Node | None:
        return next((n for n in self.nodes if tensor in n.outputs), None)

    def input_quantisation(self) -> Quantisation | None:
        """How the first graph input is dequantised; None for a float input."""
        name = self.inputs[0]
        node = next((n for n in self.nodes if n.op_type == "DequantizeLinear" and n.inputs[0] == name), None)
        return None if node is None else self._params(node)

    def output_quantisation(self) -> Quantisation | None:
        """How the first graph output is quantised; None for a float output."""
        node = self.producer(self.outputs[0])
        return self._params(node) if node is not None and node.op_type == "QuantizeLinear" else None

    def output_op(self) -> str:
        """The operation that makes the first output, looking through its quantisation."""
        node = self.producer(self.outputs[0])
        if node is not None and node.op_type == "QuantizeLinear":
            node = self.producer(node.inputs[0])
        return node.op_type if node is not None else ""

    def _params(self, node: Node) -> Quantisation:
        if len(node.inputs) < 3 or not all(i in self.scalars for i in node.inputs[1:3]):
            raise OnnxFormatError(f"{node.op_type} of {node.inputs[0]!r} has no scalar scale and zero point")
        return Quantisation(self.scalars[node.inputs[1]], int(self.scalars[node.inputs[2]]))


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise OnnxFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of one message: ints for varint and fixed fields, bytes for
    length-delimited ones."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield field, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise OnnxFormatError("truncated field")
            yield field, buf[pos:pos + length]
            pos += length
        elif wire == 1:
            yield field, int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
        elif wire == 5:
            yield field, int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        else:
            raise OnnxFormatError(f"unsupported wire type {wire}")


def _text(value: int | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else ""


def _node(buf: bytes) -> Node:
    inputs: list[str] = []
    outputs: list[str] = []
    op = ""
    for field, value in _fields(buf):
        if field == _NODE_INPUT:
            inputs.append(_text(value))
        elif field == _NODE_OUTPUT:
            outputs.append(_text(value))
        elif field == _NODE_OP_TYPE:
            op = _text(value)
    return Node(op, tuple(inputs), tuple(outputs))


def _scalar(buf: bytes) -> tuple[str, float] | None:
    """(name, value) of a one-element float/uint8/int8 initializer stored in the file itself
    (its data is then one value long, whatever its shape)."""
    name, dtype, raw, external = "", 0, b"", False
    values: list[float] = []
    for field, value in _fields(buf):
        if field == _TENSOR_NAME:
            name = _text(value)
        elif field == _TENSOR_DATA_TYPE and isinstance(value, int):
            dtype = value
        elif field == _TENSOR_RAW_DATA and isinstance(value, bytes):
            raw = value
        elif field == _TENSOR_DATA_LOCATION:
            external = value == 1
        elif field == _TENSOR_FLOAT_DATA:
            values += ([struct.unpack("<f", value.to_bytes(4, "little"))[0]] if isinstance(value, int)
                       else list(struct.unpack(f"<{len(value) // 4}f", value)))
        elif field == _TENSOR_INT32_DATA:
            number = value if isinstance(value, int) else _varint(value, 0)[0]
            values.append(number - (1 << 64) if number >= 1 << 63 else number)
    if external or dtype not in _RAW_FORMAT:
        return None
    if raw:
        if len(raw) != struct.calcsize(_RAW_FORMAT[dtype]):
            return None
        return name, float(struct.unpack(_RAW_FORMAT[dtype], raw)[0])
    if len(values) == 1:
        return name, float(values[0])
    return None


def read_graph(path: Path) -> GraphSummary:
    """The input and output names, the nodes and the inline scalar initializers of a model."""
    data = Path(path).read_bytes()
    graph = next((v for f, v in _fields(data) if f == _MODEL_GRAPH and isinstance(v, bytes)), None)
    if graph is None:
        raise OnnxFormatError(f"{path} has no graph")
    inputs: list[str] = []
    outputs: list[str] = []
    nodes: list[Node] = []
    scalars: dict[str, float] = {}
    initializer_names: set[str] = set()
    for field, value in _fields(graph):
        if not isinstance(value, bytes):
            continue
        if field == _GRAPH_NODE:
            nodes.append(_node(value))
        elif field == _GRAPH_INITIALIZER:
            scalar = _scalar(value)
            if scalar is not None:
                scalars[scalar[0]] = scalar[1]
            initializer_names.add(next((_text(v) for f, v in _fields(value) if f == _TENSOR_NAME), ""))
        elif field in (_GRAPH_INPUT, _GRAPH_OUTPUT):
            name = next((_text(v) for f, v in _fields(value) if f == _VALUE_INFO_NAME), "")
            (inputs if field == _GRAPH_INPUT else outputs).append(name)
    # Older exporters list initializers among the graph inputs too.
    inputs = [i for i in inputs if i not in initializer_names]
    if not inputs or not outputs:
        raise OnnxFormatError(f"{path} declares no input or no output")
    return GraphSummary(tuple(inputs), tuple(outputs), tuple(nodes), scalars)
