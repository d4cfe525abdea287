#!/usr/bin/env python3
"""Runs Descent and its NumPy and PyTorch peers on the same workloads, interleaved, several repetitions
each, and writes the comparison table into BENCHMARKS.md.

    bench/compare [--reps 3] [--seconds 3] [--avx2] [--workloads cnn-mnist,transformer-char]

`--avx2` runs everything as on a processor without AVX-512: the .NET runtime with AVX-512 switched off
(DOTNET_EnableAVX512=0, 256-bit vectors), OpenBLAS with its Haswell (AVX2) kernels and PyTorch with its
AVX2 kernels (ATen's and oneDNN's, whose convolutions choose their own), and writes a second table (between the `measured-avx2` markers). On a processor without AVX-512
everything runs at 256 bits anyway, and the table goes between `measured-avx2-processor` markers, leaving the
AVX-512 tables alone. `--tag NAME` appends NAME to the markers, for a second kind of processor whose table should not
replace the first one's (BENCHMARKS.md's AMD EPYC of family 26: `--tag family26`).

`bench/compare` installs what it needs (bench/peers/install: python3-numpy, python3-scipy, python3-torch,
libopenblas0-pthread) and runs this script; run it on an otherwise idle machine.
"""
import argparse
import datetime
import io
import json
import os
import platform
import statistics
import subprocess
import sys
from contextlib import redirect_stdout

ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--seconds", type=float, default=3)
ap.add_argument("--avx2", action="store_true", help="emulate a processor without AVX-512 (all three implementations)")
ap.add_argument("--workloads", help="comma-separated workloads to run (default: all); the table then holds only those")
ap.add_argument("--tag", help="write between markers with this suffix (another kind of processor), leaving the others' tables alone")
args = ap.parse_args()
ENV = dict(os.environ)
if args.avx2:
    # PyTorch's convolutions run in oneDNN, which picks its kernels from the processor itself, not from ATen's setting
    # (its verbose log said jit:avx512_core under ATEN_CPU_CAPABILITY=avx2 alone).
    ENV.update(DOTNET_EnableAVX512="0", DOTNET_MaxVectorTBitWidth="256", OPENBLAS_CORETYPE="Haswell", ATEN_CPU_CAPABILITY="avx2",
               ONEDNN_MAX_CPU_ISA="AVX2")
# A run of some workloads writes its own table, leaving the full one alone.
# A processor without AVX-512 writes its own table too, so a run there leaves the AVX-512 tables alone.
# (--avx2 there changes nothing: its table is that processor's too.)
CPUINFO = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
NATIVE_AVX2 = " avx2" in CPUINFO and "avx512f" not in CPUINFO
MARK = ("measured-" + args.workloads.replace(",", "-") if args.workloads else "measured") + \
    ("-avx2-processor" if NATIVE_AVX2 else "-avx2" if args.avx2 else "") + (f"-{args.tag}" if args.tag else "")
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
CELLS = [("moons-mlp", b) for b in (1, 4, 16, 64, 500)] + [("moons-mlp-adam", b) for b in (16, 500)] + \
        [("adam-step", p) for p in (1_000_000, 16_000_000)] + [("mnist-linear", b) for b in (64, 1000)] + \
        [("cnn-mnist", 64), ("transformer-char", 32)]
if args.workloads:
    CELLS = [c for c in CELLS if c[0] in args.workloads.split(",")]


def run(cmd):
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True, env=ENV).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def descent(workload, size, threads=1):
    return run(["./descent", "bench", "--workload", workload, "--batch", str(size), "--seconds", str(args.seconds), "--threads", str(threads)])[0]


def peer(impl, workload, size):
    return run([PY, "bench/peers/peers.py", "--impl", impl, "--workload", workload, "--batch", str(size), "--seconds", str(args.seconds)])[0]


def metric(r):
    return r["steps_per_s"]


results = {(w, s, impl): [] for w, s in CELLS for impl in ("descent", "numpy", "torch")}
limits = {"triad": [], "rows": [], "fma": [], "handoff": []}
speedup = []
for rep in range(args.reps):
    order = ["descent", "numpy", "torch"][rep % 3:] + ["descent", "numpy", "torch"][:rep % 3]
    for w, s in CELLS:
        for impl in order:
            r = descent(w, s) if impl == "descent" else peer(impl, w, s)
            results[(w, s, impl)].append(r)
            print(f"rep {rep + 1} {impl:8} {w:15} {s:>9}: {metric(r):,.0f} steps/s", file=sys.stderr)
    for r in run(["./descent", "bench", "--workload", "limits", "--seconds", str(args.seconds)]):
        limits[r["cell"].split("-")[0]].append(r)
    one = descent("moons-mlp", 16, 1)["steps_per_s"]
    two = descent("moons-mlp", 16, 2)["steps_per_s"]
    speedup.append(two / one)
    print(f"rep {rep + 1} parallel: {one:,.0f} steps/s on 1 thread, {two:,.0f} on 2 ({two / one:.2f}x)", file=sys.stderr)

triad = statistics.median(r["gb_per_s"] for r in limits["triad"])
peak = statistics.median(r["gflop_per_s"] for r in limits["fma"])
# Rows of 784 floats drawn at random, read with no arithmetic: a minibatch of them is what mnist-linear's step fetches.
rows_gb = statistics.median(r["gb_per_s"] for r in limits["rows"])
rows_per_s = rows_gb * 1e9 / (4 * 784)
fma_cell = limits["fma"][0]["cell"]
# Stores over 2 MB another core has just read (two cores or more): what a data-parallel step's update pays.
handoff = (f" stores over 2 MB another core has just read (`handoff-2MB`, what a two-core step's update pays) "
           f"{statistics.median(r['gb_per_s'] for r in limits['handoff']):.1f} GB/s "
           f"({min(r['gb_per_s'] for r in limits['handoff']):.1f}-{max(r['gb_per_s'] for r in limits['handoff']):.1f});"
           if limits["handoff"] else "")


def med(key, field="steps_per_s"):
    values = [r[field] for r in results[key] if r.get(field) is not None]
    return statistics.median(values), min(values), max(values)


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:,.3g}"


numpy_config = io.StringIO()
with redirect_stdout(numpy_config):
    import numpy
    numpy.show_config()
blas = [os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")]  # Debian's numpy links the libblas.so.3 alternative
torch_info = subprocess.run([PY, "-c", "import torch; print(torch.__version__, torch.__config__.parallel_info().splitlines()[0:3], 'MKL' if torch.backends.mkl.is_available() else 'no MKL', 'OpenMP' if torch.backends.openmp.is_available() else '')"],
                            capture_output=True, text=True, env=ENV).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in CPUINFO.splitlines() if l.startswith("model name")), platform.processor())
# The model name alone ("AMD EPYC") does not tell this project's hosts apart; family and model do.
kind = {k: l.split(":", 1)[1].strip() for l in CPUINFO.splitlines() for k in ("cpu family", "model") if l.split(":")[0].strip() == k}
if kind:
    cpu += f" (family {kind.get('cpu family', '?')}, model {kind.get('model', '?')})"

lines = ["# Benchmarks", "",
         f"Measured {datetime.date.today()} on {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, by",
         "`bench/compare` "
         f"(--reps {args.reps} --seconds {args.seconds}{' --avx2' if args.avx2 else ''})"
         + (" with AVX-512 switched off in all three (DOTNET_EnableAVX512=0 and 256-bit vectors for Descent, "
            "OPENBLAS_CORETYPE=Haswell for NumPy, ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2 for PyTorch), as on an AVX2-only processor" if args.avx2 and not NATIVE_AVX2
            else ", on a processor without AVX-512 (256-bit vectors in all three)" if NATIVE_AVX2 else "")
         + ": Descent (`./descent bench`), NumPy and PyTorch (`bench/peers/peers.py`) run the "
         "same workloads one after another, in rotating order, each repetition timing a cell for the given seconds after a warm-up. "
         "Everything runs on one thread (peers with OMP/OpenBLAS/MKL threads = 1). Numbers are medians of the repetitions with "
         "the minimum and maximum in brackets; the machine is shared, so the spread matters.", "",
         f"Peers: NumPy {numpy.__version__} (BLAS: {'; '.join(blas) or 'see numpy.show_config()'}), PyTorch {torch_info}.", "",
         f"Limits measured in the same run: memory bandwidth (triad a = b + s c over 3 x 16M floats, 12 bytes per element) "
         f"{triad:.1f} GB/s; rows of 784 floats drawn at random (`{limits['rows'][0]['cell']}`, read whole, each requested four rows ahead) "
         f"{rows_gb:.1f} GB/s;{handoff} single-core fp32 FMA peak (10 independent FMA chains of the widest accelerated vector, `{fma_cell}`) {peak:.1f} GFLOP/s.", "",
         "| workload | size | Descent steps/s | NumPy steps/s | PyTorch steps/s | vs NumPy | vs PyTorch | vs PyTorch per repetition | notes |",
         "|---|---|---|---|---|---|---|---|---|"]
for w, s in CELLS:
    d, n, t = med((w, s, "descent")), med((w, s, "numpy")), med((w, s, "torch"))
    note = ""
    if w == "adam-step":
        gb = med((w, s, "descent"), "gb_per_s")[0]
        note = f"{gb:.1f} GB/s = {100 * gb / triad:.0f}% of triad"
    elif w in ("mnist-linear", "cnn-mnist", "transformer-char"):
        gf = med((w, s, "descent"), "gflop_per_s")[0]
        note = f"{gf:.1f} GFLOP/s = {100 * gf / peak:.0f}% of FMA peak"
        if w == "mnist-linear":
            # The step cannot outrun the fetch of its rows: at the random-row bandwidth, this share of the peak.
            note += f" (its rows alone allow {fmt(rows_per_s / s)} steps/s = {100 * rows_per_s * 4 * 7840 / 1e9 / peak:.0f}%)"
        if w == "cnn-mnist":
            # The direct convolution's multiply-adds; Descent's second convolution does 4.4x fewer (Winograd's F(6x6, 3x3)).
            note = "direct-equivalent " + note
    elif w.startswith("moons"):
        gf = d[0] * 6 * s * (2 * 64 + 64 * 64 + 64 * 2) / 1e9
        loss = statistics.median(r["loss_final"] for r in results[(w, s, "descent")])
        note = f"~{gf:.1f} GFLOP/s = {100 * gf / peak:.0f}% of peak; final loss {loss:.3f}"
    label = "P" if w == "adam-step" else "B"
    if w in ("cnn-mnist", "transformer-char"):
        loss = statistics.median(r["loss_final"] for r in results[(w, s, "descent")])
        note += f"; final sample loss {loss:.3f}"
    cell = lambda m: f"{fmt(m[0])} ({fmt(m[1])}-{fmt(m[2])})"
    ratio = lambda m: f"{d[0] / m[0]:.1f}x"
    # A repetition runs the two seconds apart, so its own ratio is the one that a host changing speed between
    # repetitions (as shared machines do) disturbs least.
    own = ", ".join(f"{a['steps_per_s'] / b['steps_per_s']:.2f}x" for a, b in zip(results[(w, s, "descent")], results[(w, s, "torch")]))
    lines.append(f"| {w} | {label}={s:,} | {cell(d)} | {cell(n)} | {cell(t)} | {ratio(n)} | {ratio(t)} | {own} | {note} |")
lines += ["", f"Parallel independent runs: `descent bench --workload moons-mlp --batch 16 --threads 2` against `--threads 1`: "
          f"{statistics.median(speedup):.2f}x on 2 cores (median of {len(speedup)}; {min(speedup):.2f}x-{max(speedup):.2f}x).", ""]
# The measured part goes between the markers of BENCHMARKS.md; the analysis around it is written by hand.
path = os.path.join(root, "BENCHMARKS.md")
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
if f"<!-- {MARK} -->" not in text:
    text += f"\n<!-- {MARK} -->\n<!-- /{MARK} -->\n"
head, rest = text.split(f"<!-- {MARK} -->", 1)
tail = rest.split(f"<!-- /{MARK} -->", 1)[1]
with open(path, "w") as fh:
    fh.write(head + f"<!-- {MARK} -->\n" + "\n".join(lines[2:]) + f"\n<!-- /{MARK} -->" + tail)
print("\n".join(lines))
