#!/usr/bin/env python3
"""Writes seed inputs for every fuzz target from tests/fixtures/ into
DIR/TARGET/ (default fuzz/target/seeds). Each target reads its input in its
own layout (see the target's doc comment); the seeds follow it. Seeds are
cut to a few KB: libFuzzer's default -max_len stays small."""
import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "tests", "fixtures")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "seeds")
CAP = 4096


def read(*p):
    with open(os.path.join(FIX, *p), "rb") as f:
        return f.read()


def put(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    data = data[:CAP]
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def blocks(data):
    return [b for b in re.split(rb"\r\n\r\n", data) if b.strip()]


ami = sorted(f for f in os.listdir(os.path.join(FIX, "ami")) if f.endswith(".bin"))
for f in ami:
    data = read("ami", f)
    if f.endswith(".tx.bin"):
        put("emu_session", b"\x40\x00" + data)
        for blk in blocks(data):
            pairs = [l.split(b": ", 1) for l in blk.split(b"\r\n") if b": " in l]
            if pairs and pairs[0][0] == b"Action":
                fields = [pairs[0][1]] + [x for k, v in pairs[1:] if k != b"ActionID" for x in (k, v)]
                put("ami_encode_roundtrip", b"\x01".join(fields))
        continue
    put("ami_framer", b"\xff\x00\x40" + data)
    put("ami_framer", b"\x10\x01\x07" + data)
    put("ami_connection", b"\xff\x07" + data.split(b"\r\n", 1)[-1])
    for blk in blocks(data)[:40]:
        lines = blk.split(b"\r\n")
        if not lines[0].startswith(b"Event: "):
            continue
        name = lines[0][7:]
        put("typed_events", name + b"\n" + b"\n".join(b"\xff" + l for l in lines[1:]))

agi = os.path.join(FIX, "agi")
for f in sorted(os.listdir(agi)):
    if f.endswith(".bin") and not f.endswith(".tx.bin"):
        data = read("agi", f)
        put("agi_reply", data)
        env_end = data.find(b"\n\n")
        if env_end > 0:
            put("agi_env_command", data[: env_end + 2])
    if f.endswith(".tx.bin"):
        for line in read("agi", f).split(b"\n")[:30]:
            # A command line as arguments: the first byte of each says how to write it.
            put("agi_env_command", b"\x01".join(b"a" + w for w in line.split(b" ")))
put("agi_env_command", b"agi_request: test.agi\nagi_channel: PJSIP/1-0\nagi_arg_1: a b\n\n")
put("agi_env_command", b"\x00SET VARIABLE\x01bfoo\x01a\"x y\\z\"\x01c\x01a")

conf = os.path.join(FIX, "config")
docs = []
for root, _, files in os.walk(conf):
    for f in sorted(files):
        data = read(os.path.relpath(os.path.join(root, f), FIX))
        docs.append(data)
        put("config_document", data)
        put("config_includes", data.replace(b"/", b""))
put("config_includes", b"[general]\n#include a.conf\nx=1\n\0[a](!)\ny=2\n#include b.conf\n\0#tryinclude c.conf\n[b](a)\n\0#include main.conf\nz=3\n")
put("config_includes", b"#include *.conf\n\0[t](!)\nk=v\n\0[c](t)\nk+=w\n\0")
print("seeds in", OUT)
