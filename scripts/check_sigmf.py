#!/usr/bin/env python3
"""Validate SigMF recordings with the reference `sigmf` package (PyPI) and check
qwave's conventions (ARCHITECTURE.md, "SigMF IQ recordings").

Usage: check_sigmf.py PATH [PATH ...]   (base path, .sigmf-meta or .sigmf-data)

Needs `pip install sigmf numpy`. Exits non-zero naming the first problem.
"""
import os
import sys

import numpy as np
from sigmf import sigmffile

SAMPLE_SIZE = {"ci16_le": 4, "cf32_le": 8}


def fail(path, what):
    raise SystemExit(f"{path}: {what}")


def meta_path(path):
    for ext in (".sigmf-meta", ".sigmf-data"):
        if path.endswith(ext):
            path = path[: -len(ext)]
    return path + ".sigmf-meta"


def check(path):
    meta_fn = meta_path(path)
    rec = sigmffile.fromfile(meta_fn)
    rec.validate()  # JSON schema of the SigMF specification
    g = rec.get_global_info()
    dt = g["core:datatype"]
    if dt not in SAMPLE_SIZE:
        fail(path, f"core:datatype {dt!r} is not one qwave writes (ci16_le, cf32_le)")
    data_fn = meta_fn[: -len(".sigmf-meta")] + ".sigmf-data"
    size = os.path.getsize(data_fn)
    if size % SAMPLE_SIZE[dt]:
        fail(path, f"{data_fn}: {size} bytes is not a multiple of {SAMPLE_SIZE[dt]}")
    n = size // SAMPLE_SIZE[dt]
    samples = rec.read_samples()
    if samples.shape[0] != n or not np.iscomplexobj(samples):
        fail(path, f"read_samples gave {samples.shape} {samples.dtype}, expected {n} complex")
    caps = rec.get_captures()
    freq = caps[0].get("core:frequency") if caps else None
    # Lab recordings: one capture segment per burst/window, in data order, with
    # the radio tick in core:global_index and the exchange in qwave:seq.
    prev = -1
    for c in caps:
        start = c["core:sample_start"]
        if start < prev or start > n:
            fail(path, f"capture {c} is out of order or past the {n} samples")
        prev = start
        for key in ("core:global_index", "qwave:seq"):
            if key in c and not (isinstance(c[key], int) and c[key] >= 0):
                fail(path, f"capture {c} has a bad {key}")
        if "qwave:direction" in c and c["qwave:direction"] not in ("alice->bob", "bob->alice"):
            fail(path, f"capture {c} has an unknown qwave:direction")
    anns = rec.get_annotations()
    probes = [a for a in anns if a.get("core:label") == "probe"]
    for a in probes:
        if "qwave:seq" in a and not isinstance(a["qwave:seq"], int):
            fail(path, f"annotation {a} has a non-integer qwave:seq")
        if "qwave:direction" in a and not isinstance(a["qwave:direction"], str):
            fail(path, f"annotation {a} has a non-string qwave:direction")
        if a["core:sample_start"] + a.get("core:sample_count", 0) > n:
            fail(path, f"annotation {a} runs past the {n} samples")
    print(
        f"{meta_fn}: valid SigMF {g.get('core:version')}, {dt}, "
        f"{g.get('core:sample_rate')} S/s, frequency {freq}, {n} samples, "
        f"{len(caps)} captures, {len(anns)} annotations ({len(probes)} probes), "
        f"peak |x| = {np.abs(samples).max() if n else 0:.4f}"
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for p in sys.argv[1:]:
        check(p)
