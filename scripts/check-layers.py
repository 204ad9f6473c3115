#!/usr/bin/env python3
"""Fail when a module of src/ uses (`crate::X`, outside comments) a module of its own layer or
of a layer above it: the arrows of the pipeline point down only. Run by .ci/run."""
import os
import re
import sys

# Bottom to top. A module may use only modules of lower layers.
LAYERS = [
    ["escape", "tempname", "config"],
    ["error"],
    ["model", "listener", "dirs"],
    ["sys", "codec"],
    ["resolve", "gates"],
    ["fsverify", "statefile"],
    ["scan", "plan", "journal", "planfile"],
    ["execute"],
    ["recover", "undo"],
    ["journals", "split"],
    ["report"],
    ["ui"],
    ["app", "cli"],
]
LAYER = {m: i for i, names in enumerate(LAYERS) for m in names}

src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
bad = []
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(root, f)
        rel = os.path.relpath(path, src)
        top = rel.split(os.sep)[0].removesuffix(".rs")
        if top in ("lib", "main"):
            continue
        if top not in LAYER:
            bad.append(f"{rel}: module `{top}` has no layer in scripts/check-layers.py")
            continue
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            code = line.split("//", 1)[0]
            for used in re.findall(r"crate::([a-z_]+)", code):
                if used == top or used not in LAYER:
                    continue
                if LAYER[used] >= LAYER[top]:
                    bad.append(f"{rel}:{n}: `{top}` uses `{used}`, which is not below it")
for b in bad:
    print(b)
if bad:
    sys.exit(1)
