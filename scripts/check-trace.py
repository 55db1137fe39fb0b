#!/usr/bin/env python3
"""Check that an HDF5 file follows the qwave CSI trace schema, version 1, using h5py.

Usage: check-trace.py FILE.h5 [FILE.h5 ...]

Prints the structure of each file and exits non-zero naming the first rule a
file breaks (schema: ARCHITECTURE.md, "HDF5 CSI trace").
"""
import sys

import h5py
import numpy as np


def fail(path, what):
    raise SystemExit(f"{path}: schema: {what}")


def check(path):
    with h5py.File(path, "r") as f:
        print(f"{path}:")
        for k, v in f.attrs.items():
            print(f"  @{k} = {v!r} ({np.asarray(v).dtype})")
        fmt = f.attrs.get("format")
        if not isinstance(fmt, str) or fmt != "qwave-csi-trace":
            fail(path, f"/format is {fmt!r}, expected str 'qwave-csi-trace'")
        ver = f.attrs.get("version")
        if not isinstance(ver, (int, np.integer)) or ver != 1:
            fail(path, f"/version is {ver!r}, expected integer 1")
        kind = f.attrs.get("kind")
        if kind not in ("csi", "rssi") or not isinstance(kind, str):
            fail(path, f"/kind is {kind!r}, expected 'csi' or 'rssi'")
        for name in ("center_frequency_hz", "bandwidth_hz"):
            if name in f.attrs and np.asarray(f.attrs[name]).dtype != np.float64:
                fail(path, f"/{name} is not float64")
        if "center_frequency_hz" not in f.attrs:
            fail(path, "/center_frequency_hz is missing")
        if not isinstance(f.attrs.get("source"), str):
            fail(path, "/source is missing or not a str")

        parties = [k for k, v in f.items() if isinstance(v, h5py.Group)]
        for need in ("alice", "bob"):
            if need not in parties:
                fail(path, f"group /{need} is missing")
        for name in parties:
            g = f[name]
            attrs = {k: v for k, v in g.attrs.items()}
            print(f"  /{name}/ {attrs if attrs else ''}")
            if "observes" in g.attrs:
                obs = g.attrs["observes"]
                if name in ("alice", "bob") or not isinstance(obs, str) or obs not in ("alice", "bob"):
                    fail(path, f"/{name}@observes = {obs!r} not allowed")
            for ds_name, ds in g.items():
                print(f"    {ds_name}: shape {ds.shape} dtype {ds.dtype}")
            for ds_name in ("seq", "t") + (("csi", "subcarriers") if kind == "csi" else ("rssi",)):
                if ds_name not in g:
                    fail(path, f"/{name}/{ds_name} is missing")
            seq, t = g["seq"], g["t"]
            if seq.dtype != np.uint64 or seq.ndim != 1:
                fail(path, f"/{name}/seq is {seq.dtype} rank {seq.ndim}, expected uint64 [N]")
            n = seq.shape[0]
            if len(np.unique(seq[()])) != n:
                fail(path, f"/{name}/seq has repeated values")
            if t.dtype != np.float64 or t.shape != (n,):
                fail(path, f"/{name}/t is {t.dtype} {t.shape}, expected float64 ({n},)")
            if kind == "csi":
                csi, sc = g["csi"], g["subcarriers"]
                if csi.dtype != np.complex64:
                    fail(path, f"/{name}/csi dtype {csi.dtype}, expected complex64")
                if sc.dtype != np.int16 or sc.ndim != 1:
                    fail(path, f"/{name}/subcarriers is {sc.dtype} rank {sc.ndim}, expected int16 [K]")
                if csi.shape != (n, sc.shape[0]):
                    fail(path, f"/{name}/csi shape {csi.shape}, expected ({n}, {sc.shape[0]})")
                if n:
                    print(f"      csi[0,:3] = {csi[0, :3]}")
            else:
                rssi = g["rssi"]
                if rssi.dtype != np.float32 or rssi.shape != (n,):
                    fail(path, f"/{name}/rssi is {rssi.dtype} {rssi.shape}, expected float32 ({n},)")
                if n:
                    print(f"      rssi[:3] = {rssi[:3]}")
        print("  OK")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for p in sys.argv[1:]:
        check(p)
