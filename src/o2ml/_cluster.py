"""The local dask cluster of o2ml's commands: worker processes on 127.0.0.1, no dashboard.

``LocalCluster(dashboard_address=None)`` turns the dashboard off but its scheduler still starts
an HTTP server (health and metrics routes) on port 8787, the dashboard's usual port: a second
cluster, or a user's own dask dashboard on SWAN, then makes dask warn "Port 8787 is already in
use". o2ml's clusters put that server on a free port of 127.0.0.1 instead.
"""

from __future__ import annotations

import logging

from ._extras import missing

__all__ = ["local_cluster"]


def local_cluster(workers: int, what: str, log_level: int = logging.WARNING):
    """A ``distributed.LocalCluster`` of ``workers`` one-thread processes on 127.0.0.1;
    ``what`` names the job in the error when the ``dask`` extra is missing."""
    try:
        from distributed import LocalCluster
    except ImportError as err:  # the optional extra
        raise missing("dask", what, err) from err
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=log_level,
    )
