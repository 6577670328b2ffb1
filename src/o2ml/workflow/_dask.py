"""The dask cluster of a workflow command: none, a local one, or an existing one joined."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .._cluster import local_cluster
from .._extras import missing
from ..errors import ConfigError


@contextlib.contextmanager
def client(workers: int = 1, scheduler: str | None = None) -> Iterator[object | None]:
    """A ``dask.distributed.Client``: of the scheduler at ``scheduler`` (``tcp://host:port``:
    SWAN's, a batch system's), else of a local cluster of ``workers`` processes (one thread
    each) when ``workers`` > 1, else ``None`` (run here)."""
    if scheduler is None and workers <= 1:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError as err:  # the optional extra
        raise missing("dask", "a dask cluster (--workers N, --scheduler)", err) from err

    if scheduler is not None:
        try:
            c = Client(scheduler, timeout=30)
        except OSError as err:
            raise ConfigError(
                f"--scheduler {scheduler}: expected a running dask scheduler, found none ({err})."
            ) from None
        with c:
            yield c
        return
    with local_cluster(workers, "a dask cluster (--workers N)") as cluster, Client(cluster) as c:
        yield c
