"""The former path of ``python -m jaxrestore.tune`` (baseline tuning), kept so that command lines
written before still run: ``python -m jaxrestore.inverse.baselines.tune ...`` runs that command
as if it had been named (its module becomes ``__main__``, so ``--help`` lists its flags)."""

import runpy

if __name__ == "__main__":
    runpy.run_module("jaxrestore.tune", run_name="__main__", alter_sys=True)
