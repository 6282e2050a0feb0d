"""A small, deterministic three-topic corpus that any model family learns in well under a second."""

from __future__ import annotations

import csv
import random
from pathlib import Path

TOPICS = {
    "sport": ["match", "goal", "striker", "coach", "league", "tournament", "referee", "stadium"],
    "finance": ["shares", "bank", "interest", "investors", "market", "profit", "loan", "budget"],
    "weather": ["rain", "storm", "sunny", "forecast", "snow", "wind", "temperature", "cloudy"],
}
FRAMES = [
    "the {a} and the {b} were in the news today",
    "everyone talked about the {a} after the {b}",
    "a report on the {a} mentioned the {b}",
    "nobody expected the {a} to change the {b}",
    "what happens to the {a} when the {b} moves",
]


def corpus_rows(per_label: int = 40, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for label, words in TOPICS.items():
        for i in range(per_label):
            a, b = rng.sample(words, 2)
            rows.append((rng.choice(FRAMES).format(a=a, b=b) + f" (item {i})", label))
    rng.shuffle(rows)
    return rows


def write_corpus(
    path: Path, per_label: int = 40, text_column: str = "text", label_column: str = "label"
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([text_column, label_column])
        writer.writerows(corpus_rows(per_label))
    return path


def label_set_rows(texts: int = 240, seed: int = 7) -> list[tuple[str, tuple[str, ...]]]:
    """Texts about none, one or two of the topics, each labelled with the topics it mentions:
    a multi-label corpus as small and as learnable as ``corpus_rows``."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    rows = []
    for i in range(texts):
        topics = sorted(rng.sample(names, [0, 1, 1, 2][i % 4]))
        words = [rng.choice(TOPICS[topic]) for topic in topics] or ["weekend", "neighbour"]
        if len(words) == 1:
            words.append(rng.choice(["today", "again", "at last"]))
        text = rng.choice(FRAMES).format(a=words[0], b=words[1]) + f" (item {i})"
        rows.append((text, tuple(topics)))
    return rows


def write_label_sets(path: Path, texts: int = 240, separator: str = "|") -> Path:
    """``label_set_rows`` as a CSV whose label cells join the names by ``separator``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows((text, separator.join(labels)) for text, labels in label_set_rows(texts))
    return path
