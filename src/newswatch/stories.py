"""Story clustering: which stored story each new article belongs to.

Two articles tell the same story when their canonical URLs are equal, or when the SimHash
signatures of their title and opening text differ in at most ``dedup.NEAR_DUPLICATE_BITS``
bits (syndicated copies with small edits). A pure function: signatures in, groups out.

Candidates are found through an index of signature bands rather than by comparing every pair:
if two 64-bit signatures differ in at most k bits, then split into k + 1 bands at least one band
is identical (pigeonhole), so only articles sharing a band are compared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from newswatch.dedup import NEAR_DUPLICATE_BITS
from newswatch.model import StoryGroup, StorySignature

_MASK64 = (1 << 64) - 1
#: How many of a band bucket's most recent articles a new one is compared with: a bound for
#: hostile input (thousands of near-identical signatures fill the buckets of one another's
#: bands). Random signatures share a 13-bit band with one article in 8,192, so it binds only
#: in a window of a quarter of a million articles.
MAX_BUCKET_SCAN = 32


# A node of the clustering graph, as a plain int (a first pass over a thousand feeds clusters
# forty thousand articles at once, and tuples cost several times as much): the i-th new article
# of this call is 2 * i, a known story 2 * id + 1.
_Node = int


def _new_node(position: int) -> _Node:
    return 2 * position


def _story_node(story_id: int) -> _Node:
    return 2 * story_id + 1


class _Index:
    """Articles seen so far, by canonical URL and by signature band.

    The 64 bits are cut into ``ceil((threshold + 1) / 2)`` bands. Two signatures at most
    ``threshold`` bits apart differ in at most one bit in some band (were every band two bits
    or more apart, they would differ in more than ``threshold`` bits), so a new signature is
    compared with the articles whose band equals its own, or its own with one bit flipped. With
    the default threshold, 5 bands of 12-13 bits: 70 bucket lookups, and buckets that hold one
    article in 8,192 of a random window.

    A bucket entry is one int, the node above the low 64 bits and the signature in them, shared
    by the article's five buckets.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        bands = max((threshold + 2) // 2, 1)
        width, extra = divmod(64, bands)
        self._bands: list[tuple[int, int, tuple[int, ...]]] = []  # (shift, mask, probes)
        shift = 0
        for index in range(bands):
            size = width + (1 if index < extra else 0)
            probes = (0, *(1 << bit for bit in range(size)))
            self._bands.append((shift, (1 << size) - 1, probes))
            shift += size
        self._by_url: defaultdict[str, list[_Node]] = defaultdict(list)
        self._by_band: list[defaultdict[int, list[int]]] = [defaultdict(list) for _ in self._bands]

    def add(self, signature: StorySignature, node: _Node) -> None:
        if signature.canonical_url:
            self._by_url[signature.canonical_url].append(node)
        if signature.simhash is not None:
            value = signature.simhash & _MASK64
            entry = node << 64 | value
            for table, (shift, mask, _) in zip(self._by_band, self._bands, strict=True):
                table[(value >> shift) & mask].append(entry)

    def matches(self, signature: StorySignature) -> set[_Node]:
        found = set(self._by_url.get(signature.canonical_url or "", ()))
        if signature.simhash is not None:
            value = signature.simhash & _MASK64
            threshold = self.threshold
            for table, (shift, mask, probes) in zip(self._by_band, self._bands, strict=True):
                key = (value >> shift) & mask
                buckets = filter(None, map(table.get, [key ^ probe for probe in probes]))
                # ``dedup.hamming`` of the unsigned values, written out: this is the innermost
                # loop of clustering.
                found.update(
                    entry >> 64
                    for bucket in buckets
                    for entry in bucket[-MAX_BUCKET_SCAN:]
                    if ((entry ^ value) & _MASK64).bit_count() <= threshold
                )
        return found


class _Components:
    """Union-find over nodes."""

    def __init__(self) -> None:
        self._parent: dict[_Node, _Node] = {}

    def find(self, node: _Node) -> _Node:
        self._parent.setdefault(node, node)
        root = node
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[node] != root:  # path compression
            self._parent[node], node = root, self._parent[node]
        return root

    def __contains__(self, node: _Node) -> bool:
        return node in self._parent

    def union(self, a: _Node, b: _Node) -> None:
        self._parent[self.find(a)] = self.find(b)


def cluster(
    new: Sequence[StorySignature],
    known: Sequence[StorySignature],
    *,
    threshold: int = NEAR_DUPLICATE_BITS,
) -> list[StoryGroup]:
    """Group new articles into known stories or new ones.

    Matching is transitive among the new articles: if A matches B by link and B matches C by
    text, all three are one story. Known stories are never merged with each other; a new
    group that touches several joins the oldest (lowest id).

    Args:
        new: articles without a story, in ingestion order.
        known: recent articles that have a story (their ``story_id`` set).
        threshold: the most differing signature bits that still count as the same story.

    Returns:
        One group per story touched, in order of first new member. Every new article is in
        exactly one group; a group with ``story_id`` None starts a new story.
    """
    index = _Index(threshold)
    for signature in known:
        if signature.story_id is not None:
            index.add(signature, _story_node(signature.story_id))
    components = _Components()
    for position, signature in enumerate(new):
        node = _new_node(position)
        components.find(node)
        for other in index.matches(signature):
            components.union(node, other)
        index.add(signature, node)

    # Each component's known stories, to pick the one it joins.
    stories: defaultdict[_Node, list[int]] = defaultdict(list)
    for signature in known:
        if signature.story_id is not None:
            node = _story_node(signature.story_id)
            if node in components:  # only stories some new article matched
                stories[components.find(node)].append(signature.story_id)
    groups: dict[_Node, list[int]] = {}
    for position, signature in enumerate(new):
        groups.setdefault(components.find(_new_node(position)), []).append(signature.article_id)
    return [
        StoryGroup(tuple(ids), min(stories[root]) if stories.get(root) else None)
        for root, ids in groups.items()
    ]
