"""The Ray session of a batch job: a local one started and stopped here, or a cluster joined."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator

import ray

from bizlm.errors import BizlmError

#: seconds to wait for a cluster's address to answer before giving up
CONNECT_TIMEOUT_SECONDS = 5.0
#: the port of a ``ray://`` address that names none (Ray Client's default)
RAY_CLIENT_PORT = 10001


@contextlib.contextmanager
def ray_session(address: str | None, cpus: int) -> Iterator[None]:
    """Run the body in a Ray session.

    A session this process already holds is used as it is and left running. Otherwise, with
    ``address`` the cluster there is joined (its address is tried first, briefly, so that an
    unreachable one fails with a clear message), and without it a local Ray with ``cpus`` CPUs
    and no dashboard is started; either is left (the local one stopped) when the body ends.
    """
    if ray.is_initialized():
        yield
        return
    if address is not None and address != "auto":
        check_reachable(address)
    options = {"address": address} if address else {"num_cpus": cpus, "include_dashboard": False}
    try:
        ray.init(**options, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        ray.shutdown()
        raise BizlmError(
            f"Cannot start Ray{f' at {address!r}' if address else ''}: {_first_line(exc)}",
            hint="Check the address printed by `ray start --head` (HOST:6379 or "
            "ray://HOST:10001), or leave --address out to run on this machine.",
        ) from None
    try:
        yield
    finally:
        ray.shutdown()


def check_reachable(address: str) -> None:
    """Raise :class:`BizlmError` unless something answers at ``address`` (``HOST:PORT`` or
    ``ray://HOST[:PORT]``) within :data:`CONNECT_TIMEOUT_SECONDS`."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS):
            pass
    except OSError as exc:
        raise BizlmError(
            f"No Ray cluster answers at --address {address!r}: {exc.strerror or exc}.",
            hint="Start one with `ray start --head` and pass the address it prints, or leave "
            "--address out to run on this machine.",
        ) from None


def _host_port(address: str) -> tuple[str, int]:
    """Host and port of ``address``; :class:`BizlmError` when it is not an address."""
    client = address.startswith("ray://")
    rest = address.removeprefix("ray://")
    host, colon, port = rest.rpartition(":")
    if not colon and client:
        host, port = rest, str(RAY_CLIENT_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BizlmError(
            f"--address {address!r} is not a Ray address.",
            hint="Give HOST:PORT (such as 10.0.0.5:6379), ray://HOST:PORT or auto.",
        )
    return host.strip("[]"), int(port)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
