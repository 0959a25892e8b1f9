"""`torch_dataset`: a plain IterableDataset over the same plan, in forked DataLoader workers."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from lakehouse.training import last_served, ray_dataset, torch_dataset
from tests.training import Street, build_street

RESIZE = (32, 24)


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> Street:
    return build_street(tmp_path_factory.mktemp("street"))


def test_forked_workers_serve_every_row_once_with_the_bytes_ray_serves(street: Street) -> None:
    # The parent uses OpenCV's threads first: a forked worker calling cv2.setNumThreads would
    # now hang (DESIGN.md); the loader never does.
    cv2.resize(np.zeros((480, 640, 3), np.uint8), (224, 224))
    dataset = torch_dataset(
        "street",
        lake=street.lake,
        columns=["asset_id", "image", "width"],
        resize=RESIZE,
        shuffle_seed=2,
        task_bytes=20_000,
    )
    assert last_served().loader == "torch"
    loader = DataLoader(
        dataset, batch_size=8, num_workers=2, multiprocessing_context="fork", timeout=120
    )
    seen = {}
    for batch in loader:
        assert batch["image"].dtype == torch.uint8 and batch["image"].shape[1:] == (24, 32, 3)
        assert batch["width"].tolist() == [64] * len(batch["asset_id"])
        for asset_id, image in zip(batch["asset_id"], batch["image"], strict=True):
            assert asset_id not in seen
            seen[asset_id] = hashlib.sha256(image.numpy().tobytes()).hexdigest()
    by_ray = ray_dataset(
        "street", lake=street.lake, columns=["asset_id", "image"], resize=RESIZE
    ).take_all()
    assert seen == {r["asset_id"]: hashlib.sha256(r["image"].tobytes()).hexdigest() for r in by_ray}


def test_ranks_split_the_tasks_between_them(street: Street) -> None:
    def ids(rank: int) -> list[str]:
        dataset = torch_dataset(
            "street",
            lake=street.lake,
            columns=["asset_id"],
            rank=rank,
            world_size=2,
            shuffle_seed=4,
            task_bytes=1_000,
        )
        return [sample["asset_id"] for sample in dataset]

    first, second = ids(0), ids(1)
    assert first and second and not set(first) & set(second)
    assert set(first) | set(second) == street.all_ids
    assert ids(0) == first
