"""Reads and writes safetensors files with numpy alone (no safetensors package): name -> array, and the metadata."""
import json
import struct

import numpy as np


def read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    tensors = {name: np.frombuffer(raw[8 + n + t["data_offsets"][0]:8 + n + t["data_offsets"][1]], dtype="<f4").reshape(t["shape"])
               for name, t in header.items() if name != "__metadata__"}
    return tensors, header.get("__metadata__")


def write(path, tensors, metadata=None):
    """Writes name -> array as safetensors: float arrays as F32, integer arrays (batch norm's num_batches_tracked) as I64."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        array = np.asarray(array, dtype="<i8" if np.issubdtype(array.dtype, np.integer) else "<f4", order="C")  # keeps 0-d shapes
        blob = array.tobytes()
        header[name] = {"dtype": "I64" if array.dtype.kind == "i" else "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
