"""The pre-grad pass that gives projections of one input one matrix multiply."""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F

from python_tutor.pipelines.training.linear_merging import (
    MergeSharedInputLinears,
    linear_targets,
)


def projections(x, wq, wk, wv, a_q, a_k, w_bias, bias, other):
    """q/k/v and two float32 LoRA A's of one input, one biased linear, one of another input."""
    x32 = x.float()
    return (
        F.linear(x, wq),
        F.linear(x, wk),
        F.linear(x, wv),
        F.linear(x32, a_q),
        F.linear(x32, a_k),
        F.linear(x, w_bias, bias),
        F.linear(other, wq),
    )


def traced(inputs):
    graph_module = torch.fx.symbolic_trace(projections)
    for node, value in zip(graph_module.graph.find_nodes(op="placeholder"), inputs, strict=True):
        node.meta["example_value"] = value  # what Dynamo records on a captured graph
    return graph_module


def linear_nodes(graph):
    return [node for node in graph.nodes if node.target in linear_targets()]


def test_linears_of_one_input_and_weight_dtype_become_one():
    torch.manual_seed(0)
    x, other = torch.randn(2, 5, 8, dtype=torch.float64), torch.randn(2, 5, 8, dtype=torch.float64)
    wq, wk, wv, w_bias = (torch.randn(n, 8, dtype=torch.float64) for n in (8, 4, 4, 6))
    a_q, a_k = torch.randn(3, 8), torch.randn(3, 8)
    inputs = (x, wq, wk, wv, a_q, a_k, w_bias, torch.randn(6, dtype=torch.float64), other)
    expected = projections(*inputs)
    graph_module = traced(inputs)
    assert len(linear_nodes(graph_module.graph)) == 7

    MergeSharedInputLinears()(graph_module.graph)
    graph_module.recompile()

    # q/k/v -> one; the two A's (their own input, float32) -> one; the biased one and the one
    # of another input stay as they were
    assert len(linear_nodes(graph_module.graph)) == 4
    stacked = [node for node in graph_module.graph.nodes if node.target is torch.cat]
    assert [len(node.args[0]) for node in stacked] == [3, 2]
    assert sum(node.target is operator.getitem for node in graph_module.graph.nodes) == 5
    for got, want in zip(graph_module(*inputs), expected, strict=True):
        torch.testing.assert_close(got, want)


def test_a_weight_made_in_the_graph_is_left_alone():
    """A dequantised weight is computed each step: stacking it would need the graph's order."""

    def dequantised(x, w1, w2):
        return F.linear(x, w1 * 2), F.linear(x, w2 * 2)

    graph_module = torch.fx.symbolic_trace(dequantised)
    for node in graph_module.graph.find_nodes(op="placeholder"):
        node.meta["example_value"] = torch.zeros(4, 4)
    MergeSharedInputLinears()(graph_module.graph)
    assert len(linear_nodes(graph_module.graph)) == 2


def test_the_cache_key_follows_the_source():
    assert MergeSharedInputLinears().uuid() == MergeSharedInputLinears().uuid()
    assert len(MergeSharedInputLinears().uuid()) == 64


def test_merged_graph_keeps_gradients():
    """Autograd runs after the pass: stacking must route each weight's gradient back."""
    torch.manual_seed(1)
    x = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    weights = [torch.randn(n, 8, dtype=torch.float64, requires_grad=True) for n in (8, 4)]

    def two(x, w1, w2):
        return F.linear(x, w1), F.linear(x, w2)

    graph_module = torch.fx.symbolic_trace(two)
    placeholders = graph_module.graph.find_nodes(op="placeholder")
    for node, value in zip(placeholders, (x, *weights), strict=True):
        node.meta["example_value"] = value
    MergeSharedInputLinears()(graph_module.graph)
    graph_module.recompile()
    merged = torch.autograd.grad(sum(o.sum() for o in graph_module(x, *weights)), (x, *weights))
    plain = torch.autograd.grad(sum(o.sum() for o in two(x, *weights)), (x, *weights))
    for got, want in zip(merged, plain, strict=True):
        torch.testing.assert_close(got, want)
