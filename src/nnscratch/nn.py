"""The layers, in one namespace: `from nnscratch.nn import Linear, ReLU, Dropout, ...`.

Each concept lives in its own module, and none of them imports this one:

    module.py      Module, the base class (training mode, parameters)
    layers.py      Linear, ReLU, Flatten
    dropout.py     Dropout, its two historical variants and its family
    batchnorm.py   BatchNorm1d
    containers.py  Sequential, Residual
"""

from .batchnorm import BatchNorm1d
from .containers import Residual, Sequential
from .dropout import (
    DropConnect,
    Dropout,
    DropPath,
    GaussianDropout,
    TestTimeScaledDropout,
    UnscaledDropout,
    check_p,
)
from .layers import FEW_ROWS, Flatten, Linear, ReLU, matmul
from .module import Module

__all__ = [
    "FEW_ROWS",
    "BatchNorm1d",
    "DropConnect",
    "DropPath",
    "Dropout",
    "Flatten",
    "GaussianDropout",
    "Linear",
    "Module",
    "ReLU",
    "Residual",
    "Sequential",
    "TestTimeScaledDropout",
    "UnscaledDropout",
    "check_p",
    "matmul",
]
