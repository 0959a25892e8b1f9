"""Ray set-up shared by every pipeline: local by default, a cluster through RAY_ADDRESS.

Ray starts lazily, on the first piece of work that needs it: an ingest that finds nothing new
never pays Ray's start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
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
) -> tuple[Callable[..., Any], Callable[[list[Any]], Iterator[Any]]]:
    """(submit, collect) for running `function(*args, *shared)` as Ray tasks, started lazily.

    `shared` arguments are put in the object store once, not shipped with every task.
    `collect` yields the tasks' results in order, each as soon as it is ready.
    """
    submit = _lazy_submit(settings, function, shared, lambda ray: {"num_cpus": 1, "max_retries": 2})

    def collect(handles: list[Any]) -> Iterator[Any]:
        import ray

        for handle in handles:
            yield ray.get(handle)

    return submit, collect


def stream_submitter(
    settings: RaySettings,
    generator: Callable[..., Iterator[Any]],
    *shared: Any,
    num_cpus: int = 1,
    backpressure: int = 2,
) -> tuple[Callable[..., Any], Callable[[Any], Iterator[Any]]]:
    """(submit, stream) for running generator function `generator(*args, *shared)` as a Ray
    streaming-generator task reserving up to `num_cpus` CPUs (never more than the cluster has).

    The task pauses once `backpressure` yielded values wait unread, so a producer faster than
    its consumer never piles its output up in the object store. Not retried: a retry would
    yield the same frames again.
    """

    def options(ray: Any) -> dict[str, Any]:
        return {
            "num_cpus": max(1, min(num_cpus, int(ray.cluster_resources().get("CPU", 1)))),
            "max_retries": 0,
            "_generator_backpressure_num_objects": backpressure,
        }

    submit = _lazy_submit(settings, generator, shared, options)

    def stream(handle: Any) -> Iterator[Any]:
        import ray

        for ref in handle:
            yield ray.get(ref)

    return submit, stream


def _lazy_submit(
    settings: RaySettings,
    function: Callable[..., Any],
    shared: tuple[Any, ...],
    options: Callable[[Any], dict[str, Any]],
) -> Callable[..., Any]:
    """A submit function that starts Ray, wraps `function` with `options(ray)` and puts the
    `shared` arguments in the object store on its first call only."""
    state: dict[str, Any] = {}

    def submit(*args: Any) -> Any:
        import ray

        if "remote" not in state:
            ensure_ray(settings)
            state["remote"] = ray.remote(**options(ray))(function)
            state["shared"] = [ray.put(value) for value in shared]
        return state["remote"].remote(*args, *state["shared"])

    return submit
