"""o2ml's local dask cluster listens on 127.0.0.1 only, and leaves port 8787 to the user."""

from __future__ import annotations

import socket
import warnings

from o2ml._cluster import local_cluster


def test_the_local_cluster_listens_on_localhost_and_not_on_the_dashboard_port():
    """With 8787 taken (a user's own dask dashboard, a second cluster), dask used to warn "Port
    8787 is already in use" for the HTTP server that its scheduler starts without a dashboard."""
    from distributed import Client

    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 8787))
    except OSError:  # already taken by something else: the case under test all the same
        pass
    taken.listen()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            with local_cluster(1, "the test") as cluster, Client(cluster) as client:
                assert client.submit(sum, [1, 2]).result() == 3
                http = cluster.scheduler.http_server
                assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
                assert http.address == "127.0.0.1" and http.port != 8787
                assert all("127.0.0.1" in w for w in client.scheduler_info()["workers"])
    finally:
        taken.close()
