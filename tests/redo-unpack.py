#!/usr/bin/env python3
"""redo-unpack.py STORE: STORE's index/batch.redo as a desk older than
packed records wrote it (desk-store(5)): each record of the state's
generation with its units written out whole, its CRCs made anew, and the
state's journal end moved with the records. What follows them is zeros.
Prints "unpacked N of M records"."""
import json
import struct
import sys
import zlib

HEAD = 64
MAGIC = b"desk redo 1\n"
PACKED = 0xFFFFFFFE


def leb(p, at):
    x = sh = 0
    while True:
        c = p[at]
        at += 1
        x |= (c & 127) << sh
        sh += 7
        if not c & 128:
            return x, at


def unpack(p, want):
    out = bytearray()
    at = 0
    while len(out) < want:
        lit, at = leb(p, at)
        out += p[at:at + lit]
        at += lit
        z, at = leb(p, at)
        out += bytes(z)
    assert len(out) == want and at == len(p), "not packed bytes"
    return bytes(out)


def main():
    root = sys.argv[1]
    with open(root + "/state", "rb") as f:
        raw = f.read()
    state = json.loads(raw)
    gen = state["redo"]["gen"]
    with open(root + "/index/batch.redo", "rb") as f:
        old = f.read()
    new = bytearray()
    moved = {0: 0}
    at = records = unpacked = 0
    while at + HEAD <= len(old):
        h = old[at:at + HEAD]
        body = struct.unpack_from("<I", h, 36)[0]
        if (h[:12] != MAGIC or struct.unpack_from("<I", h, 60)[0] != zlib.crc32(h[:60])
                or struct.unpack_from("<I", h, 12)[0] != gen
                or at + HEAD + body > len(old)):
            break
        units = old[at + HEAD:at + HEAD + body]
        if zlib.crc32(units) != struct.unpack_from("<I", h, 40)[0]:
            break
        if body >= 16 and struct.unpack_from("<I", units, 0)[0] == PACKED:
            want = struct.unpack_from("<Q", units, 8)[0]
            units = unpack(units[16:], want)
            unpacked += 1
        h = bytearray(h)
        struct.pack_into("<II", h, 36, len(units), zlib.crc32(units))
        struct.pack_into("<I", h, 60, zlib.crc32(bytes(h[:60])))
        new += h + units
        records += 1
        at += HEAD + body
        moved[at] = len(new)
    new += bytes(max(len(old) - len(new), 0))
    with open(root + "/index/batch.redo", "wb") as f:
        f.write(new)
    end = state["redo"]["end"]
    assert end in moved, "the state's end is no record's"
    state["redo"]["end"] = moved[end]
    text = json.dumps(state, separators=(",", ":")).encode()
    assert len(text) < len(raw), "the state no longer fits its file"
    with open(root + "/state", "wb") as f:
        f.write(text.ljust(len(raw) - 1) + b"\n")
    print("unpacked %d of %d records" % (unpacked, records))


main()
