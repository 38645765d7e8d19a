"""The former path of ``python -m jaxrestore.tune`` (baseline tuning), kept so that command lines
written before still run: ``python -m jaxrestore.inverse.baselines.tune ...`` is that command."""

from jaxrestore import tune

if __name__ == "__main__":
    tune.main()
