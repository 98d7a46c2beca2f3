"""Benchmark: pull + unpack of a 5-layer, ~50 MiB image from a loopback registry.

Side by side in one run, against the same registry and image:

- ``kyb``: ``kyb image pull`` as a process (fetch, verify, unpack into the store), and the same
  pull called in-process (no interpreter start-up);
- reference: ``skopeo copy docker://... oci:DIR`` followed by ``tar -xzf`` of each layer into its
  own directory (what a simple runtime would do).

Every run starts from an empty destination. The image is built offline by the benchmark: each
layer holds files of random (incompressible) bytes. Prints one JSON document with the medians and
our ratio to the reference (below 1.0 means faster).

    python bench/image_pull.py [--runs 5] [--layer-mib 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime.images.local_registry import LocalRegistry  # noqa: E402
from runtime.images.oci_layout import LayerTar, LayoutWriter  # noqa: E402
from runtime.images.platform import host_platform  # noqa: E402
from runtime.images.pull import pull_image  # noqa: E402
from runtime.images.reference import parse_reference  # noqa: E402
from runtime.images.store import ImageStore  # noqa: E402

LAYERS = 5
FILE_SIZE = 256 * 1024


def build_archive(path: Path, layer_mib: int) -> dict:
    writer = LayoutWriter()
    layers = []
    for i in range(LAYERS):
        layer = LayerTar()
        layer.add_dir(f"layer{i}")
        for j in range(layer_mib * (1 << 20) // FILE_SIZE):
            layer.add_file(f"layer{i}/blob{j:04d}", os.urandom(FILE_SIZE))
        layers.append(layer.getvalue())
    desc = writer.add_image(layers, {"Cmd": ["sh"]}, architecture=host_platform().architecture)
    writer.tag(desc, parse_reference("bench/pull:1"))
    writer.write(str(path))
    compressed = sum(len(b) for d, b in writer.blobs.items() if len(b) > 4096)
    return {
        "layers": LAYERS,
        "uncompressed_bytes": sum(len(x) for x in layers),
        "compressed_bytes": compressed,
    }


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_kyb_cli(work: Path, ref: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "kyb", "image", "pull", "--quiet", "--root", str(work / "kyb-root"), ref],
        check=True,
        capture_output=True,
        timeout=600,
    )


def run_kyb_inprocess(work: Path, ref: str) -> None:
    pull_image(ImageStore(work / "kyb-inproc" / "images"), ref)


def run_reference(work: Path, ref: str) -> None:
    oci = work / "oci"
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}", f"oci:{oci}:bench"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    index = json.loads((oci / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((oci / "blobs/sha256" / manifest_digest).read_text())
    for n, layer in enumerate(manifest["layers"]):
        target = work / "ref-layers" / str(n)
        target.mkdir(parents=True)
        blob = oci / "blobs/sha256" / layer["digest"].split(":")[1]
        subprocess.run(["tar", "-xzf", str(blob), "-C", str(target)], check=True, timeout=600)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--layer-mib", type=int, default=10)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="kyb-bench-pull-"))
    try:
        archive = base / "image.tar"
        image = build_archive(archive, args.layer_mib)
        with LocalRegistry(base / "registry") as registry:
            registry.push(archive, "bench/pull:1")
            ref = f"{registry.host}/bench/pull:1"
            results: dict[str, list[float]] = {"kyb_cli": [], "kyb_inprocess": [], "skopeo_tar": []}
            runners = {
                "kyb_cli": run_kyb_cli,
                "kyb_inprocess": run_kyb_inprocess,
                "skopeo_tar": run_reference,
            }
            for i in range(args.runs):
                for name, runner in runners.items():
                    work = base / f"run-{i}-{name}"
                    work.mkdir()
                    results[name].append(timed(lambda r=runner, w=work: r(w, ref)))  # type: ignore[misc]
                    shutil.rmtree(work)
        med = {k: statistics.median(v) for k, v in results.items()}
        print(
            json.dumps(
                {
                    "benchmark": "image_pull",
                    "image": image,
                    "runs": args.runs,
                    "median_seconds": {k: round(v, 3) for k, v in med.items()},
                    "all_seconds": {k: [round(x, 3) for x in v] for k, v in results.items()},
                    "ratio_kyb_cli_to_reference": round(med["kyb_cli"] / med["skopeo_tar"], 2),
                    "ratio_kyb_inprocess_to_reference": round(med["kyb_inprocess"] / med["skopeo_tar"], 2),
                    "reference": "skopeo copy docker:// -> oci: + tar -xzf per layer",
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
