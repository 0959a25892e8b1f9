"""Ray set-up shared by every pipeline: local by default, a cluster through RAY_ADDRESS.

Ray starts lazily, on the first piece of work that needs it: an ingest that finds nothing new
never pays Ray's start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lakehouse.config import RaySettings


def ensure_ray(settings: RaySettings) -> None:
    # Ray warns on every start that token auth is on; that is the secure default we want.
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(
        logging.ERROR
    )
    import ray

    if ray.is_initialized():
        return
    if settings.address:
        ray.init(address=settings.address, logging_level=logging.WARNING, log_to_driver=False)
    else:
        ray.init(
            num_cpus=settings.num_cpus,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )


def task_submitter(
    settings: RaySettings, function: Callable[..., Any], *shared: Any
) -> tuple[Callable[..., Any], Callable[[list[Any]], list[Any]]]:
    """(submit, collect) for running `function(*args, *shared)` as Ray tasks, started lazily.

    `shared` arguments are put in the object store once, not shipped with every task.
    """
    state: dict[str, Any] = {}

    def submit(*args: Any) -> Any:
        import ray

        if "remote" not in state:
            ensure_ray(settings)
            state["remote"] = ray.remote(num_cpus=1, max_retries=2)(function)
            state["shared"] = [ray.put(value) for value in shared]
        return state["remote"].remote(*args, *state["shared"])

    def collect(handles: list[Any]) -> list[Any]:
        if not handles:
            return []
        import ray

        return list(ray.get(handles))

    return submit, collect
