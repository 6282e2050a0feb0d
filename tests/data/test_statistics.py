"""Statistics merge exactly: merge(stats(A), stats(B)) == stats(A + B), for any batches."""

from hypothesis import given, settings
from hypothesis import strategies as st

from textloop.data.sketches import STANDARD_ERROR, HyperLogLog
from textloop.data.statistics import TextStatistics

texts = st.one_of(
    st.sampled_from(["", "  ", "my card is lost", "where is my card", "Ça va? 🙂", "a b a"]),
    st.text(max_size=40),
)
labels = st.one_of(st.sampled_from(["lost", "arrival", "", "other"]), st.text(max_size=8))
batches = st.lists(st.tuples(texts, labels), max_size=60)


@settings(max_examples=200, deadline=None)
@given(batches, batches)
def test_merging_two_batches_equals_the_statistics_of_their_union(a, b) -> None:
    merged = TextStatistics.of(a).merge(TextStatistics.of(b))
    union = TextStatistics.of(a + b)
    assert merged == union
    assert merged.summary() == union.summary()


@settings(max_examples=50, deadline=None)
@given(batches)
def test_statistics_survive_a_round_trip_through_json(batch) -> None:
    stats = TextStatistics.of(batch)
    assert TextStatistics.from_dict(stats.to_dict()) == stats


def test_figures_of_a_known_batch() -> None:
    stats = TextStatistics.of(
        [
            ("lost my card", "lost"),
            ("lost my card", "lost"),
            ("where is it", "arrival"),
            ("where is it", "lost"),
            ("  ", "lost"),
            ("héllo", "arrival"),
        ]
    )
    summary = stats.summary()
    assert summary["rows"] == 6
    assert summary["empty_texts"] == 1
    assert summary["repeated_texts"] == 2  # "lost my card" and "where is it" came before
    assert summary["duplicate_rows"] == 1  # only "lost my card" repeats its label too
    assert summary["conflicting_texts"] == 1
    assert summary["labels"] == {"arrival": 2, "lost": 4}
    assert summary["imbalance_ratio"] == 2.0
    assert summary["non_ascii_share"] == 1 / 5
    assert summary["length"]["min"] == 5 and summary["length"]["max"] == 12
    assert summary["vocabulary_size"] == 7  # lost my card where is it héllo


def test_vocabulary_estimate_stays_within_three_standard_errors() -> None:
    sketch = HyperLogLog()
    sketch.add_all(f"token{i}" for i in range(50_000))
    assert abs(sketch.estimate() - 50_000) / 50_000 < 3 * STANDARD_ERROR
