"""Reads a float32 safetensors file with numpy alone (no safetensors package): name -> array, and the metadata."""
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
