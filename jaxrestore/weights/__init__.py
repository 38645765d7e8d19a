"""Foreign weights: reading PyTorch/safetensors/NumPy files and mapping them to Flax params."""

from jaxrestore.weights.state_dict import load_state_dict
from jaxrestore.weights.vgg19 import load_vgg19_params, vgg19_params_from_torchvision

__all__ = ["load_state_dict", "load_vgg19_params", "vgg19_params_from_torchvision"]
