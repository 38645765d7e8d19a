"""Data parallelism for the jitted training steps, in one place.

All devices of all processes form a one-axis mesh ``data``. The training state
is replicated; each batch is split along its first axis (each process feeds
its own shard of the data, see ``jaxrestore.data.pipeline``). The step function
itself is unchanged: jit's SPMD partitioner inserts the gradient all-reduce, and
BatchNorm statistics are taken over the global batch, so a step on N devices
computes what the same step computes on one device for the same global batch.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxrestore.errors import ConfigError


def data_mesh() -> Mesh:
    return Mesh(np.asarray(jax.devices()), ("data",))


def per_process_batch_size(global_batch: int) -> int:
    """This process's share of the global batch; the batch must split evenly over devices."""
    devices = jax.device_count()
    if global_batch % devices:
        raise ConfigError(f"train.batch_size={global_batch} does not split over {devices} devices; "
                          f"use a multiple of {devices}.")
    return global_batch // jax.process_count()


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def replicate(tree, mesh: Mesh):
    return jax.device_put(tree, replicated(mesh))


def shard_batch(batch: dict, mesh: Mesh) -> dict:
    """Assembles this process's part of the batch into global arrays split over ``data``."""
    sharding = NamedSharding(mesh, PartitionSpec("data"))
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in batch.items()}
