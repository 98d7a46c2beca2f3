"""`metricdescs` and `metricsp`: the runtime's cadvisor-style metrics, as crictl prints them.

Both print the CRI response as a document (JSON by default, or YAML), because the metrics are
unstructured name/label/value triples that a table cannot show well; crictl has no table for
them either. `metricsp -w` prints a fresh document twice a second until interrupted, as crictl's
watch does.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from cri import api_pb2
from kyb.crictl import output
from kyb.crictl.session import Session

WATCH_INTERVAL = 0.5
FORMATS = ("json", "yaml")


def run_metricdescs(session: Session, args: argparse.Namespace) -> int:
    response = session.call_runtime(
        "ListMetricDescriptors", api_pb2.ListMetricDescriptorsRequest(), "listing metric descriptors"
    )
    session.print(output.dumps(output.message_to_dict(response), args.output), end="")
    return 0


def run_metricsp(session: Session, args: argparse.Namespace) -> int:
    def show() -> None:
        response = session.call_runtime(
            "ListPodSandboxMetrics", api_pb2.ListPodSandboxMetricsRequest(), "listing pod sandbox metrics"
        )
        session.print(output.dumps(output.message_to_dict(response), args.output), end="")

    if not args.watch:
        show()
        return 0
    try:
        while True:
            show()
            session.out.flush()
            time.sleep(WATCH_INTERVAL)
    except KeyboardInterrupt:
        return 0


def register(sub: Any) -> None:
    p = sub.add_parser("metricdescs", help="list the descriptors of the metrics the runtime serves")
    output.add_output_flag(p, "json", FORMATS)
    p.set_defaults(_cri_run=run_metricdescs)

    p = sub.add_parser("metricsp", help="list pod and container metrics (what replaces /metrics/cadvisor)")
    output.add_output_flag(p, "json", FORMATS)
    p.add_argument("-w", "--watch", action="store_true", help="print the metrics again every half second")
    p.set_defaults(_cri_run=run_metricsp)
