"""One matrix multiply for the projections that read the same input (an Inductor graph pass).

A LoRA decoder layer multiplies its normed input by seven frozen weights and seven LoRA ``A``
matrices, each its own cuBLAS call, forward and backward: about 900 small launches a step for
a 1B model, which the host, not the GPU, is too slow for. q/k/v (and gate/up) read the same
tensor, so their weights can be stacked and multiplied once; the backward then needs one
multiply for the input's gradient and one for the stacked ``A``'s, where it needed three. This
pass does that on the graph ``torch.compile`` captured, before autograd, so the module tree, the
parameters and the saved adapter stay exactly as they were.
"""

from __future__ import annotations

import hashlib
import operator
from pathlib import Path
from typing import Any

from torch._inductor.custom_graph_pass import CustomGraphPass


class MergeSharedInputLinears(CustomGraphPass):
    """Pre-grad pass: bias-free linears of one input and one weight dtype become one linear.

    Weights are stacked in the graph (a copy each step, small next to the multiplies it
    saves), the result is split back into the original outputs. Weights must be graph inputs
    (parameters), so a weight computed in the graph (dequantised 4-bit) is left alone; frozen
    16-bit weights and float32 LoRA ``A`` matrices group separately, so nothing is promoted.
    """

    def __call__(self, graph: Any) -> None:
        from torch._dynamo.utils import counters  # noqa: PLC0415

        for group in shared_input_groups(graph):
            merge(graph, group)
            counters["inductor"]["merged_shared_input_linears"] += len(group)

    def uuid(self) -> str:
        """Inductor's cache key for the pass: its source."""
        return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def linear_targets() -> tuple[Any, ...]:
    """The callables a captured ``nn.Linear`` or ``F.linear`` call appears as."""
    import torch  # noqa: PLC0415

    return (torch._C._nn.linear, torch.nn.functional.linear)


def shared_input_groups(graph: Any) -> list[list[Any]]:
    """Linear nodes that can be merged, grouped by (input, weight dtype), in graph order."""
    groups: dict[tuple[Any, Any], list[Any]] = {}
    targets = linear_targets()
    for node in graph.nodes:
        if node.op != "call_function" or node.target not in targets:
            continue
        inputs = dict(zip(("input", "weight", "bias"), node.args, strict=False), **node.kwargs)
        weight = inputs.get("weight")
        if inputs.get("bias") is not None or getattr(weight, "op", None) not in {
            "placeholder",
            "get_attr",
        }:
            continue
        value = weight.meta.get("example_value")
        if value is None or value.dim() != 2:
            continue
        groups.setdefault((inputs["input"], value.dtype), []).append(node)
    return [nodes for nodes in groups.values() if len(nodes) > 1]


def merge(graph: Any, nodes: list[Any]) -> None:
    """Replace ``nodes`` (linears of one input) by a linear over their stacked weights."""
    import torch  # noqa: PLC0415

    first = nodes[0]
    source = first.args[0] if first.args else first.kwargs["input"]
    weights = [node.args[1] if len(node.args) > 1 else node.kwargs["weight"] for node in nodes]
    sizes = [weight.meta["example_value"].shape[0] for weight in weights]
    with graph.inserting_before(first):
        stacked = graph.call_function(torch.cat, (weights,), {"dim": 0})
        merged = graph.call_function(torch.nn.functional.linear, (source, stacked))
        parts = graph.call_function(torch.split, (merged, sizes), {"dim": -1})
        outputs = [graph.call_function(operator.getitem, (parts, i)) for i in range(len(nodes))]
    for node, output in zip(nodes, outputs, strict=True):
        output.meta.update(node.meta)
        node.replace_all_uses_with(output)
        graph.erase_node(node)
