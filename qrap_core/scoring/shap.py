"""Exact SHAP values of the risk model's trees for many rows at once, with numpy.

XGBoost's ``pred_contribs`` (path-dependent TreeSHAP) costs about a thousand predictions per
row on a CPU, which made explanations most of a large run's time. The values themselves are
cheap to recompute: within one tree a row's contributions depend only on which way it goes at
each split, and a depth-5 tree sees few such patterns across a run. For each tree the rows are
grouped by their pattern, and each leaf's share of every pattern is read from a table built once
per model (Fast TreeSHAP v2, Yang 2021): the Shapley values of the leaf's game
``v(S) = value * prod(o_j if j in S else z_j)`` over the distinct features on its path, where
``o_j`` says the row follows the path at every split on feature ``j`` and ``z_j`` is the share
of the training cover that does. Summed over leaves that is exactly what ``pred_contribs``
computes; the sums here run in float64 in a fixed order, so they agree with XGBoost's float32
ones to about 1e-4 score points and never depend on the CPU or the number of threads.

A row's way through every tree depends only on where each value lies among the split points
of all trees (its split classes): rows are computed once per class, and each tree reads its
decision pattern from small per-feature tables indexed by class instead of comparing values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import factorial
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class _Tree:
    """One tree, flattened for vectorized evaluation (arrays indexed by internal node, edge,
    path slot or output feature)."""

    node_feature: Ints  # internal nodes, in code-bit order
    split_features: Ints  # the features the tree splits on, and per feature a table of the
    split_offsets: Ints  # code bits of its splits that go left, indexed by split class
    split_bits: npt.NDArray[np.uint64]
    edge_bit: Ints  # every edge of every root-to-leaf path, grouped by slot
    edge_left: Bools
    slot_starts: Ints  # a slot: one distinct feature on one leaf's path
    slot_weight: Ints  # 1 << position of the slot on its path
    leaf_starts: Ints  # slots grouped by leaf
    slot_leaf: Ints
    slot_index: Ints  # offset of the slot's leaf table + position: add pattern * width
    slot_width: Ints
    order: Ints  # slots sorted by feature, for the per-feature sums
    feature_starts: Ints
    features: Ints  # the distinct features of the tree, in the order of feature_starts
    table: Floats
    bias: float


# Small batches (a one-target run's few rows) look their split classes up in a per-explainer
# cache first: thousands of small runs repeat a few classes, and explaining one row costs a
# pass over every tree. Exact: a class's contributions are a function of the class alone.
CACHED_BATCH = 64
CACHE_CLASSES = 16_384  # about 2.5 MB with 34 features; the oldest go first


class TreeExplainer:
    """SHAP contributions of a booster's trees: one column per feature, then the bias."""

    def __init__(self, booster: xgb.Booster) -> None:
        model = json.loads(booster.save_raw("json"))
        learner = model["learner"]
        self.num_features = int(learner["learner_model_param"]["num_feature"])
        base = str(learner["learner_model_param"]["base_score"]).strip("[]")
        raw_trees = learner["gradient_booster"]["model"]["trees"]
        self._splits = _split_points(raw_trees, self.num_features)
        trees = [_flatten(tree, self._splits) for tree in raw_trees]
        self._trees = trees
        # base_score is 0 for reg:squarederror without boost_from_average; kept for others.
        self.bias = float(base) + sum(tree.bias for tree in trees)
        self._cache: dict[bytes, npt.NDArray[np.float32]] = {}
        self.cache_misses = 0

    def contributions(self, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """``(len(rows), num_features + 1)`` SHAP values; the last column is the bias.

        Rows in the same split classes (``split_classes``) take the same way at every split of
        every tree, so they have the same values: each such row is computed once (a run's
        expiry dates, for one, spread over far more values than the trees split on).
        """
        classes = self.split_classes(rows)
        if len(rows) == 0:
            return self.class_contributions(classes)
        first, inverse = distinct(classes)
        return self.class_contributions(classes[first])[inverse]

    def split_classes(self, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.int32]:
        """Per row and feature, which of the trees' decisions the value gets: 0 when missing,
        else 1 + how many numeric split points lie at or below it; for a categorical feature,
        1 + its category code, or 1 + the number of categories when no split knows it."""
        classes = np.empty((len(rows), self.num_features), dtype=np.int32)
        for feature, points in enumerate(self._splits.points):
            column = rows[:, feature]
            size = self._splits.categories[feature]
            if size >= 0:
                # XGBoost's rule: a code outside every split's set goes left everywhere.
                valid = (column >= 0) & (column < size)
                found = np.where(valid, np.where(valid, column, 0).astype(np.int32) + 1, size + 1)
            else:
                found = np.searchsorted(points, column, side="right") + 1
            classes[:, feature] = np.where(np.isnan(column), 0, found)
        return classes

    def explain_classes(self, classes: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        """``class_contributions``, from the cache for a batch of up to ``CACHED_BATCH``."""
        if len(classes) > CACHED_BATCH:
            return self.class_contributions(classes)
        keys = [row.tobytes() for row in np.ascontiguousarray(classes)]
        found = [self._cache.get(key) for key in keys]
        missing = [n for n, values in enumerate(found) if values is None]
        if missing:
            self.cache_misses += len(missing)
            computed = self.class_contributions(classes[missing])
            for n, values in zip(missing, computed, strict=True):
                while len(self._cache) >= CACHE_CLASSES:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[keys[n]] = found[n] = values
        if not found:
            return self.class_contributions(classes)
        return np.stack(found)  # type: ignore[arg-type]  # every entry is filled above

    def class_contributions(self, classes: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        """``contributions`` of rows given by their ``split_classes``."""
        by_feature = np.ascontiguousarray(classes.T).astype(np.intp)
        phi = np.zeros((self.num_features + 1, len(classes)), dtype=np.float64)
        phi[-1] = self.bias
        if len(classes) == 0:
            return phi.T.astype(np.float32)
        for tree in self._trees:
            if len(tree.node_feature) == 0:
                continue  # a single leaf: only the bias
            codes = _codes(tree, by_feature)
            distinct, inverse = np.unique(codes, return_inverse=True)
            per_pattern = _pattern_contributions(tree, distinct)
            phi[tree.features] += per_pattern[:, inverse.ravel()]
        return np.ascontiguousarray(phi.T).astype(np.float32)


def distinct(matrix: npt.NDArray[np.int32]) -> tuple[Ints, Ints]:
    """The first row of each distinct row of ``matrix`` and every row's distinct index."""
    width = matrix.dtype.itemsize * matrix.shape[1]
    view = np.ascontiguousarray(matrix).view(np.dtype((np.void, width)))
    _, first, inverse = np.unique(view.ravel(), return_index=True, return_inverse=True)
    return first.astype(np.int64), inverse.ravel().astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Splits:
    """Per feature, the sorted numeric split conditions of all trees, and for a categorical
    feature the number of category codes its splits name (-1: a numeric feature)."""

    points: list[npt.NDArray[np.float32]]
    categories: list[int]


def _split_points(trees: list[dict[str, Any]], num_features: int) -> _Splits:
    points: list[set[float]] = [set() for _ in range(num_features)]
    categories = [-1] * num_features
    for tree in trees:
        by_category = _categories(tree)
        for node, child in enumerate(tree["left_children"]):
            if child == -1:
                continue
            feature = int(tree["split_indices"][node])
            if node in by_category:
                categories[feature] = max(categories[feature], len(by_category[node]))
            else:
                points[feature].add(tree["split_conditions"][node])
    if any(found and size >= 0 for found, size in zip(points, categories, strict=True)):
        raise ValueError("a feature with both numeric and categorical splits")
    arrays = [np.unique(np.asarray(sorted(found), dtype=np.float32)) for found in points]
    return _Splits(arrays, categories)


def _codes(tree: _Tree, classes: npt.NDArray[np.intp]) -> Ints:
    """Each row's decisions in the tree as bits of one integer (1: goes left), from its
    split classes (``classes[feature]``)."""
    index = tree.split_offsets[:, None] + classes[tree.split_features]
    codes: Ints = tree.split_bits[index].sum(axis=0, dtype=np.uint64).view(np.int64)
    return codes


def _decision_tables(
    tree: dict[str, Any], internal: list[int], splits: _Splits
) -> tuple[Ints, Ints, npt.NDArray[np.uint64]]:
    """Per feature of the tree, the code bits of the splits a value of each split class
    sends left (see ``TreeExplainer.split_classes``)."""
    categories = _categories(tree)
    tables: dict[int, npt.NDArray[np.uint64]] = {}
    for bit, node in enumerate(internal):
        feature = int(tree["split_indices"][node])
        size = splits.categories[feature]
        if size >= 0:
            left = np.ones(size + 2, dtype=bool)  # unknown codes go left
            goes_right = categories.get(node, np.zeros(0, dtype=bool))
            left[1 : 1 + len(goes_right)] = ~goes_right
        else:
            points = splits.points[feature]
            position = int(np.searchsorted(points, np.float32(tree["split_conditions"][node])))
            left = np.zeros(len(points) + 2, dtype=bool)
            left[1 : position + 2] = True  # class j holds values with j - 1 points at or below
        left[0] = bool(tree["default_left"][node])
        table = tables.setdefault(feature, np.zeros(len(left), dtype=np.uint64))
        table |= left.astype(np.uint64) << np.uint64(bit)
    features = sorted(tables)
    sizes = [len(tables[feature]) for feature in features]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    bits = (
        np.concatenate([tables[feature] for feature in features])
        if features
        else np.zeros(0, dtype=np.uint64)
    )
    return np.asarray(features, dtype=np.int64), offsets, bits


def _pattern_contributions(tree: _Tree, codes: Ints) -> Floats:
    """Per distinct decision pattern, the tree's contribution to each of its features."""
    bits = ((codes[None, :] >> np.arange(len(tree.node_feature))[:, None]) & 1).astype(bool)
    agree = bits[tree.edge_bit] == tree.edge_left[:, None]
    follows = np.logical_and.reduceat(agree, tree.slot_starts, axis=0)
    pattern = np.add.reduceat(follows * tree.slot_weight[:, None], tree.leaf_starts, axis=0)
    index = tree.slot_index[:, None] + pattern[tree.slot_leaf] * tree.slot_width[:, None]
    values = tree.table[index]
    return np.add.reduceat(values[tree.order], tree.feature_starts, axis=0)


# --- building the tables -----------------------------------------------------------------


@dataclass
class _Leaf:
    value: float
    zero: list[float]  # per distinct path feature: the share of the cover that follows the path
    slots: list[tuple[int, list[tuple[int, bool]]]]  # (feature, [(node bit, goes left)])


def _flatten(tree: dict[str, Any], splits: _Splits) -> _Tree:
    lefts: list[int] = tree["left_children"]
    internal = [node for node, child in enumerate(lefts) if child != -1]
    if len(internal) > 64:
        raise ValueError("a tree with more than 64 splits: its decisions do not fit one code")
    bit_of = {node: bit for bit, node in enumerate(internal)}
    leaves = [_leaf(tree, bit_of, leaf, path) for leaf, path in _paths(tree)]
    tables = _tables(leaves)
    names = "edge_bit slot_starts slot_weight slot_leaf slot_index slot_width slot_feature"
    arrays: dict[str, list[int]] = {key: [] for key in [*names.split(), "leaf_starts"]}
    edge_left: list[bool] = []
    offset = 0
    for number, leaf in enumerate(leaves):
        arrays["leaf_starts"].append(len(arrays["slot_starts"]))
        for position, (feature, edges) in enumerate(leaf.slots):
            arrays["slot_starts"].append(len(arrays["edge_bit"]))
            arrays["edge_bit"] += [bit for bit, _ in edges]
            edge_left += [goes_left for _, goes_left in edges]
            arrays["slot_weight"].append(1 << position)
            arrays["slot_leaf"].append(number)
            arrays["slot_index"].append(offset + position)
            arrays["slot_width"].append(len(leaf.slots))
            arrays["slot_feature"].append(feature)
        offset += tables[number].size
    ints = {key: np.asarray(values, dtype=np.int64) for key, values in arrays.items()}
    order = np.argsort(ints["slot_feature"], kind="stable")
    features, starts = np.unique(ints["slot_feature"][order], return_index=True)
    nodes = np.asarray(internal, dtype=np.int64)
    split_features, split_offsets, split_bits = _decision_tables(tree, internal, splits)
    return _Tree(
        node_feature=np.asarray(tree["split_indices"], dtype=np.int64)[nodes],
        split_features=split_features,
        split_offsets=split_offsets,
        split_bits=split_bits,
        edge_bit=ints["edge_bit"],
        edge_left=np.asarray(edge_left, dtype=bool),
        slot_starts=ints["slot_starts"],
        slot_weight=ints["slot_weight"],
        leaf_starts=ints["leaf_starts"],
        slot_leaf=ints["slot_leaf"],
        slot_index=ints["slot_index"],
        slot_width=ints["slot_width"],
        order=order.astype(np.int64),
        feature_starts=starts.astype(np.int64),
        features=features.astype(np.int64),
        table=np.concatenate([table.ravel() for table in tables]),
        bias=sum(leaf.value * float(np.prod(leaf.zero)) for leaf in leaves),
    )


def _paths(tree: dict[str, Any]) -> list[tuple[int, list[tuple[int, bool]]]]:
    """Every leaf with its path from the root: (node, goes left) per split."""
    lefts: list[int] = tree["left_children"]
    rights: list[int] = tree["right_children"]
    found: list[tuple[int, list[tuple[int, bool]]]] = []
    stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if lefts[node] == -1:
            found.append((node, path))
            continue
        stack.append((rights[node], [*path, (node, False)]))
        stack.append((lefts[node], [*path, (node, True)]))
    return found


def _leaf(
    tree: dict[str, Any], bit_of: dict[int, int], leaf: int, path: list[tuple[int, bool]]
) -> _Leaf:
    cover: list[float] = tree["sum_hessian"]
    by_feature: dict[int, list[tuple[int, bool]]] = {}
    zero: dict[int, float] = {}
    for node, goes_left in path:
        child = tree["left_children"][node] if goes_left else tree["right_children"][node]
        feature = int(tree["split_indices"][node])
        by_feature.setdefault(feature, []).append((bit_of[node], goes_left))
        zero[feature] = zero.get(feature, 1.0) * (float(cover[child]) / float(cover[node]))
    return _Leaf(
        value=float(tree["split_conditions"][leaf]),
        zero=[zero[feature] for feature in by_feature],
        slots=list(by_feature.items()),
    )


def _tables(leaves: list[_Leaf]) -> list[Floats]:
    """Per leaf, ``table[pattern, j]``: the SHAP value of its j-th path feature when bit i of
    ``pattern`` says whether the row follows the path on feature i."""
    tables: list[Floats] = [np.zeros(0)] * len(leaves)
    by_width: dict[int, list[int]] = {}
    for number, leaf in enumerate(leaves):
        by_width.setdefault(len(leaf.zero), []).append(number)
    for width, numbers in by_width.items():
        values = np.asarray([leaves[n].value for n in numbers], dtype=np.float64)
        zero = np.asarray([leaves[n].zero for n in numbers], dtype=np.float64).reshape(
            len(numbers), width
        )
        for n, table in zip(numbers, _width_tables(values, zero), strict=True):
            tables[n] = table
    return tables


def _width_tables(values: Floats, zero: Floats) -> Floats:
    """Shapley values of ``v(S) = value * prod(o_j if j in S else z_j)`` for leaves whose
    paths have ``width`` distinct features, for every on-path pattern ``o``."""
    count, width = zero.shape
    patterns = 1 << width
    on = ((np.arange(patterns)[:, None] >> np.arange(width)[None, :]) & 1).astype(bool)
    # weight[s]: the Shapley weight of a coalition of s of the other width - 1 features.
    weight = np.asarray(
        [factorial(s) * factorial(width - 1 - s) / factorial(width) for s in range(width)]
    )
    result = np.zeros((count, patterns, width), dtype=np.float64)
    for i in range(width):
        # Coefficients of prod over j != i of (1 + z_j t) where o_j, else z_j: the t^m term
        # sums the coalitions that leave out m of the followed features.
        poly = np.zeros((count, patterns, width), dtype=np.float64)
        poly[:, :, 0] = 1.0
        for j in range(width):
            if j == i:
                continue
            z = zero[:, j][:, None, None]
            shifted = np.zeros_like(poly)
            shifted[:, :, 1:] = poly[:, :, :-1]
            poly = np.where(on[None, :, j, None], poly + z * shifted, poly * z)
        followed = on.sum(axis=1) - on[:, i]
        size = followed[:, None] - np.arange(width)[None, :]
        weights = np.where(size >= 0, weight[np.clip(size, 0, width - 1)], 0.0)
        total = (poly * weights[None, :, :]).sum(axis=2)
        result[:, :, i] = values[:, None] * (on[None, :, i] - zero[:, i][:, None]) * total
    return result


def _categories(tree: dict[str, Any]) -> dict[int, Bools]:
    """Per categorical split, which category codes go right."""
    found: dict[int, Bools] = {}
    for node, start, size in zip(
        tree["categories_nodes"],
        tree["categories_segments"],
        tree["categories_sizes"],
        strict=True,
    ):
        chosen = tree["categories"][start : start + size]
        goes_right = np.zeros(max(chosen, default=-1) + 1, dtype=bool)
        goes_right[chosen] = True
        found[int(node)] = goes_right
    return found
