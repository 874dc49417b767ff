"""A tensor that remembers how it was made, so gradients can flow back through it.

Every operation builds a new `Tensor` whose `_backward` closure knows how to turn the
gradient of the output into gradients of the inputs (the chain rule, one op at a time).
`backward()` sorts the graph so that each node runs after every node that uses it, then runs
each closure exactly once. A node used twice (a branch) therefore receives the sum of both
paths' gradients before it passes anything on.

Gradients are only computed for tensors that need them: a parameter has
`requires_grad=True`, and so does everything computed from one. An input batch does not, so
the first layer never pays for a gradient with respect to the pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

BackwardFn = Callable[[np.ndarray], None]


class Tensor:
    """An n-dimensional array with an optional gradient.

    Args:
        data: anything `np.asarray` accepts. Floating arrays keep their dtype; other input
            is converted to float64.
        requires_grad: whether `backward()` should compute `grad` for this tensor.

    Attributes:
        data: the values, an `np.ndarray`.
        grad: `None` until a backward pass reaches this tensor, then an array of
            `data.shape` holding dL/d(data). Further backward passes add to it; the
            optimizer's `zero_grad()` clears it. Treat it as read-only.
        stacked: True for a parameter of a stack of networks (`nnscratch.stack`), whose
            first axis is the member axis: `data[k]` is member k's parameter.
    """

    __slots__ = ("data", "grad", "requires_grad", "stacked", "_parents", "_backward")

    def __init__(self, data, requires_grad: bool = False) -> None:
        array = np.asarray(data)
        if array.dtype.kind != "f":  # integers, booleans: compute in float64
            array = array.astype(np.float64)
        self.data: np.ndarray = array
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self.stacked = False
        self._parents: tuple[Tensor, ...] = ()
        self._backward: BackwardFn | None = None

    @classmethod
    def from_op(cls, data: np.ndarray, parents: Iterable[Tensor], backward: BackwardFn) -> Tensor:
        """Wrap the result of an operation.

        Args:
            data: the operation's output.
            parents: the tensors it was computed from.
            backward: called with dL/d(output); adds dL/d(parent) to each parent that
                requires a gradient (via `parent.accumulate`).

        The output requires a gradient only if some parent does; otherwise the closure is
        dropped and no graph is kept.
        """
        out = cls(data)
        parents = tuple(parents)
        for parent in parents:
            if parent.requires_grad:
                out.requires_grad = True
                out._parents = parents
                out._backward = backward
                break
        return out

    def accumulate(self, grad: np.ndarray) -> None:
        """Add `grad` to this tensor's gradient (a node reached by two paths gets both)."""
        # Out of place on purpose: an op may hand the same array to several parents.
        self.grad = grad if self.grad is None else self.grad + grad

    def backward(self, grad: np.ndarray | float | None = None) -> None:
        """Compute dL/dx for every tensor x in the graph that requires a gradient.

        Args:
            grad: dL/d(self), the gradient flowing in from above. Defaults to 1 for a
                scalar tensor; required for any other shape.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() called on a tensor that does not require grad")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() needs `grad` for a non-scalar tensor of shape {self.data.shape}"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad, dtype=self.data.dtype)
            if grad.shape != self.data.shape:
                raise ValueError(f"grad has shape {grad.shape}, expected {self.data.shape}")

        # Topological order: every node is listed after all of its parents (iterative
        # depth-first post-order, so deep graphs cannot hit a recursion limit). Leaves
        # (parameters, inputs) have no closure to run, so only results of operations are listed.
        order: list[Tensor] = []
        visited: set[Tensor] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in visited:
                continue
            visited.add(node)
            stack.append((node, True))
            for parent in node._parents:
                if parent._backward is not None and parent not in visited:
                    stack.append((parent, False))

        # Chain rule from the output back (reversed order: a node runs only after every node
        # that consumes it has added its share), so each node passes on its gradient once.
        self.accumulate(grad)
        for node in reversed(order):
            if node._backward is not None and node.grad is not None:
                node._backward(node.grad)

    # --- a few differentiable operations -------------------------------------------------

    def _lift(self, other: Tensor | float) -> Tensor:
        """A constant as a Tensor of this tensor's dtype (so float32 stays float32)."""
        return other if isinstance(other, Tensor) else Tensor(np.asarray(other, self.data.dtype))

    def __add__(self, other: Tensor | float) -> Tensor:
        other = self._lift(other)

        def backward(g: np.ndarray) -> None:
            # d(a + b)/da = 1, summed over any axes that broadcasting expanded.
            for t in (self, other):
                if t.requires_grad:
                    t.accumulate(_unbroadcast(g, t.data.shape))

        return Tensor.from_op(self.data + other.data, (self, other), backward)

    __radd__ = __add__

    def __mul__(self, other: Tensor | float) -> Tensor:
        other = self._lift(other)

        def backward(g: np.ndarray) -> None:
            # d(a * b)/da = b
            if self.requires_grad:
                self.accumulate(_unbroadcast(g * other.data, self.data.shape))
            if other.requires_grad:
                other.accumulate(_unbroadcast(g * self.data, other.data.shape))

        return Tensor.from_op(self.data * other.data, (self, other), backward)

    __rmul__ = __mul__

    def __neg__(self) -> Tensor:
        return self * -1.0

    def __sub__(self, other: Tensor | float) -> Tensor:
        return self + (-self._lift(other))

    def __matmul__(self, other: Tensor) -> Tensor:
        def backward(g: np.ndarray) -> None:
            # If Y = A @ B then dL/dA = dL/dY @ B^T and dL/dB = A^T @ dL/dY.
            if self.requires_grad:
                self.accumulate(g @ other.data.T)
            if other.requires_grad:
                other.accumulate(self.data.T @ g)

        return Tensor.from_op(self.data @ other.data, (self, other), backward)

    def sum(self) -> Tensor:
        """The sum of all elements, a scalar tensor."""

        def backward(g: np.ndarray) -> None:
            self.accumulate(np.broadcast_to(g, self.data.shape).copy())

        return Tensor.from_op(np.asarray(self.data.sum()), (self,), backward)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, threshold=6)}{flag})"


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` down to `shape`, undoing NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
