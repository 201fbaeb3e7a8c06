"""Joining Ray: a local runtime, this machine's cluster or a remote one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import ray

from townlet.core.config.models import RayConfig

__all__ = ["ray_session"]

log = logging.getLogger(__name__)


@contextmanager
def ray_session(settings: RayConfig) -> Iterator[None]:
    """Use the Ray runtime this process is connected to, else connect as
    ``settings.address`` says (empty: start a local runtime) and disconnect at the end."""
    if ray.is_initialized():  # the caller's runtime (a notebook, a test fixture): keep it
        yield
        return
    if settings.address:
        log.info("joining the Ray cluster at %s", settings.address)
        ray.init(address=settings.address)
    else:
        ray.init(include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()
