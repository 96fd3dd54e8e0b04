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
#: Per band, how many of the most recent articles a new one is compared with.
MAX_BAND_SCAN = 32


# A node of the clustering graph: ("story", id) for a known story, ("new", i) for the i-th new
# article of this call.
_Node = tuple[str, int]


class _Index:
    """Articles seen so far, by canonical URL and by signature band."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        bands = threshold + 1
        width, extra = divmod(64, bands)
        self._bands: list[tuple[int, int]] = []  # (shift, mask)
        shift = 0
        for index in range(bands):
            size = width + (1 if index < extra else 0)
            self._bands.append((shift, (1 << size) - 1))
            shift += size
        self._by_url: defaultdict[str, set[_Node]] = defaultdict(set)
        self._by_band: list[defaultdict[int, list[tuple[int, _Node]]]] = [
            defaultdict(list) for _ in self._bands
        ]

    def add(self, signature: StorySignature, node: _Node) -> None:
        if signature.canonical_url:
            self._by_url[signature.canonical_url].add(node)
        if signature.simhash is not None:
            value = signature.simhash & _MASK64
            for table, key in zip(self._by_band, self._keys(value), strict=True):
                table[key].append((value, node))

    def matches(self, signature: StorySignature) -> set[_Node]:
        found = set(self._by_url.get(signature.canonical_url or "", ()))
        if signature.simhash is not None:
            value = signature.simhash & _MASK64
            threshold = self.threshold
            for table, key in zip(self._by_band, self._keys(value), strict=True):
                band = table.get(key)
                if band:
                    # Only the latest entries of a band: copies of a story arrive close
                    # together, and a band shared by chance with thousands of articles must not
                    # make the work quadratic (a 100,000-entry feed). The distance is
                    # ``dedup.hamming`` of the unsigned values, written out: this is the
                    # innermost loop of clustering.
                    found.update(
                        node
                        for other, node in band[-MAX_BAND_SCAN:]
                        if (value ^ other).bit_count() <= threshold
                    )
        return found

    def _keys(self, value: int) -> list[int]:
        return [(value >> shift) & mask for shift, mask in self._bands]


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
            index.add(signature, ("story", signature.story_id))
    components = _Components()
    for position, signature in enumerate(new):
        node = ("new", position)
        components.find(node)
        for other in index.matches(signature):
            components.union(node, other)
        index.add(signature, node)

    # Each component's known stories, to pick the one it joins.
    stories: defaultdict[_Node, list[int]] = defaultdict(list)
    for signature in known:
        if signature.story_id is not None:
            node = ("story", signature.story_id)
            if node in components:  # only stories some new article matched
                stories[components.find(node)].append(signature.story_id)
    groups: dict[_Node, list[int]] = {}
    for position, signature in enumerate(new):
        groups.setdefault(components.find(("new", position)), []).append(signature.article_id)
    return [
        StoryGroup(tuple(ids), min(stories[root]) if stories.get(root) else None)
        for root, ids in groups.items()
    ]
