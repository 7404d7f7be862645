"""Reading an ONNX model's metadata and keeping only the outputs a run needs, without ``onnx``.

onnxruntime runs every node of a graph on every ``run``, whichever outputs are fetched: a
generator that offers ``labels`` (an ArgMax) and ``probabilities`` (a Softmax) computes both.
So before opening a session the runtime drops the nodes, outputs and initialisers that the
fetched outputs do not depend on. This works on the protobuf wire format directly (a
``ModelProto`` is a few length-delimited fields), because the runtime does not depend on the
``onnx`` package; only the fields named below are read, everything else is copied unchanged.

Field numbers (onnx.proto3): ModelProto.graph = 7, .metadata_props = 14;
GraphProto.node = 1, .initializer = 5, .output = 12, .value_info = 13;
NodeProto.input = 1, .output = 2, .attribute = 5; AttributeProto.g = 6, .graphs = 11;
TensorProto.name = 8; ValueInfoProto.name = 1; StringStringEntryProto.key = 1, .value = 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["metadata", "output_names", "prune_outputs"]

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(buf: bytes | memoryview) -> Iterator[tuple[int, memoryview, memoryview]]:
    """``(field number, raw bytes of the whole field, payload of a length-delimited field)``,
    as views into ``buf`` (no copies: initialisers are megabytes)."""
    buf = memoryview(buf)
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        payload = buf[0:0]
        if wire == _VARINT:
            _, pos = _varint(buf, pos)
        elif wire == _I64:
            pos += 8
        elif wire == _I32:
            pos += 4
        elif wire == _LEN:
            size, pos = _varint(buf, pos)
            payload, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} in field {number}")
        yield number, buf[start:pos], payload


def _strings(buf: memoryview, number: int) -> list[str]:
    return [bytes(p).decode() for n, _, p in _fields(buf) if n == number]


def _field(number: int, payload: bytes | memoryview) -> bytes:
    return _encode_varint(number << 3 | _LEN) + _encode_varint(len(payload)) + payload


def _graph(model: bytes) -> memoryview:
    graphs = [p for n, _, p in _fields(model) if n == 7]
    if len(graphs) != 1:
        raise ValueError("not an ONNX model: no graph")
    return graphs[0]


def metadata(model: bytes) -> dict[str, str]:
    """The model's ``metadata_props`` as a dict.

    >>> metadata(_field(14, _field(1, b"k") + _field(2, b"v")))
    {'k': 'v'}
    """
    out = {}
    for number, _, entry in _fields(model):
        if number == 14:
            key, value = (_strings(entry, 1) or [""])[0], (_strings(entry, 2) or [""])[0]
            out[key] = value
    return out


def output_names(model: bytes) -> list[str]:
    """The graph's output names, in order."""
    return [_strings(p, 1)[0] for n, _, p in _fields(_graph(model)) if n == 12]


def _has_subgraph(node: memoryview) -> bool:
    return any(
        n == 5 and any(m in (6, 11) for m, _, _ in _fields(attribute))
        for n, _, attribute in _fields(node)
    )


def prune_outputs(model: bytes, keep: Iterable[str]) -> bytes:
    """The model with only the outputs ``keep`` and the nodes and initialisers they need.

    Nodes are in topological order (the ONNX rule), so one backward pass finds what is needed.
    A graph with control flow (If, Loop, Scan: nodes holding subgraphs) is returned unchanged.

    Raises
    ------
    KeyError
        A name in ``keep`` is not an output of the model.
    """
    keep = list(keep)
    graph = _graph(model)
    fields = list(_fields(graph))
    missing = sorted(set(keep) - set(output_names(model)))
    if missing:
        raise KeyError(f"{missing} are not outputs of the model ({output_names(model)})")
    nodes = [(raw, payload) for n, raw, payload in fields if n == 1]
    if any(_has_subgraph(payload) for _, payload in nodes):
        return model
    needed, used_nodes = set(keep), set()
    for index in range(len(nodes) - 1, -1, -1):
        payload = nodes[index][1]
        if needed & set(_strings(payload, 2)):
            used_nodes.add(index)
            needed |= set(_strings(payload, 1))
    kept, node_index = [], 0
    for number, raw, payload in fields:
        if number == 1:
            if node_index in used_nodes:
                kept.append(raw)
            node_index += 1
        elif (
            (number == 5 and _strings(payload, 8)[0] not in needed)
            or (number == 12 and _strings(payload, 1)[0] not in keep)
            or (number == 13 and _strings(payload, 1)[0] not in needed)
        ):
            continue
        else:
            kept.append(raw)
    graph = b"".join(kept)
    return b"".join(_field(7, graph) if n == 7 else raw for n, raw, _ in _fields(model))
