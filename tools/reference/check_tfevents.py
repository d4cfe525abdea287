#!/usr/bin/env python3
"""Reads a TensorBoard event file written by `descent train` with the protobuf library (Debian's
python3-protobuf and protobuf-compiler): checks every record's TFRecord framing and masked CRC-32C,
decodes every Event, and prints the scalars.

    /usr/bin/python3 tools/reference/check_tfevents.py RUN_DIR/events.out.tfevents.*
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

parser = argparse.ArgumentParser(
    description="Check a TensorBoard event file written by `descent train`: TFRecord framing, every record's masked "
                "CRC-32C, every Event decoded (needs Debian's python3-protobuf and protobuf-compiler); prints the scalars.")
parser.add_argument("path", help="the events.out.tfevents.* file of a run directory")
args = parser.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
gen = tempfile.mkdtemp()
subprocess.run(["protoc", f"--proto_path={here}", f"--python_out={gen}", "tfevent.proto"], check=True)
sys.path.insert(0, gen)
import tfevent_pb2  # noqa: E402


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283
raw = open(args.path, "rb").read()
pos, scalars = 0, {}
while pos < len(raw):
    (length,) = struct.unpack("<Q", raw[pos:pos + 8])
    (length_crc,) = struct.unpack("<I", raw[pos + 8:pos + 12])
    assert length_crc == masked(raw[pos:pos + 8]), f"bad length CRC at byte {pos}"
    data = raw[pos + 12:pos + 12 + length]
    (data_crc,) = struct.unpack("<I", raw[pos + 12 + length:pos + 16 + length])
    assert data_crc == masked(data), f"bad data CRC at byte {pos}"
    event = tfevent_pb2.Event()
    event.ParseFromString(data)
    if event.WhichOneof("what") == "file_version":
        print("file_version:", event.file_version)
    else:
        for v in event.summary.value:
            scalars.setdefault(v.tag, []).append((event.step, v.simple_value))
    pos += 16 + length
for tag, points in scalars.items():
    print(f"{tag}: {len(points)} points, last step {points[-1][0]} value {points[-1][1]:.6g}")
