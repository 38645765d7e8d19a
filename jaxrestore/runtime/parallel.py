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

DATA_AXIS = "data"


def data_mesh() -> Mesh:
    return Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


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


def local_copy(tree):
    """A replicated pytree as arrays on this process's first device, for code that runs on one
    device (evaluation, sample grids): across processes, a global array is not addressable as a whole."""
    def local(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return x.addressable_shards[0].data
        return x

    return jax.tree.map(local, tree)


def shard_batch(batch: dict, mesh: Mesh) -> dict:
    """Assembles this process's part of the batch into global arrays split over ``data``."""
    sharding = NamedSharding(mesh, PartitionSpec(DATA_AXIS))
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in batch.items()}


def map_over_devices(device_step):
    """Maps a per-device step ``(frozen, state, batch, key) -> (state, metrics)`` over all devices.

    ``device_step`` sees its device's share of the batch and uses named-axis
    collectives over ``DATA_AXIS`` (``lax.pmean`` of gradients and metrics) so that
    its outputs are the same on every device, as under ``jax.pmap(device_step,
    axis_name=DATA_AXIS)``. The mapping is ``jax.shard_map`` over the data mesh:
    the same per-device program, but taking and returning the global arrays the
    training loop, the jit and the orbax checkpoints work with (state, frozen
    weights and key replicated; the batch split along its first axis). Without
    replication checks (``check_vma=False``) gradients of replicated parameters
    are per-device, as in pmap, and the explicit ``pmean`` all-reduces them.
    """
    spec = PartitionSpec()

    def mapped(frozen, state, batch, key):
        mesh = data_mesh()
        return jax.shard_map(device_step, mesh=mesh, in_specs=(spec, spec, PartitionSpec(DATA_AXIS), spec),
                             out_specs=(spec, spec), check_vma=False)(frozen, state, batch, key)

    return mapped
