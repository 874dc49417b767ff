"""nnscratch: the small NumPy neural-network framework built in *Dropout from Scratch*.

Chapters import from the submodules: `from nnscratch.nn import Dropout`, and so on.
"""

from .tensor import Tensor

__all__ = ["Tensor"]
__version__ = "0.1.0"
