"""What a model family declares about itself, once, as a typed value the pipeline reads.

A family sets ``tags = FamilyTags(...)`` on its class, as scikit-learn estimators declare their
tags; the pipeline asks ``tags_of(family)`` instead of probing attributes one by one, and
``checks.check_classifier`` verifies that the tags hold (a family that says it learns from
unlabelled texts must take them, its search space must name its parameters, ...). A family
written before tags existed, with the old class attributes of the same names, is read as if it
had declared them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class FamilyTags:
    version: str | None = None  # changed with the family's code: cached steps are not reused
    needs_resources: bool = False  # takes ``resources`` (encoders) in its constructor
    learns_from_unlabelled: bool = False  # ``fit(texts, labels, unlabelled=...)``
    first_stage: bool = False  # cheap enough to answer first in a cascade
    min_train_texts: int = 0  # among several candidates, left out below this many texts
    # among several candidates, left out above this many training texts per label: where its
    # gain over the others stops paying for its time
    max_texts_per_label: int | None = None
    improves_on: str | None = None  # the family its gain on validation is reported against
    # fitted again on train and validation together once it is chosen (``compose.refit``);
    # False for a family whose fit costs too much to make twice (fine-tuning an encoder)
    refits: bool = True
    # fits label sets (``fit(texts, [("a", "b"), (), ...])``) with one probability per label
    multi_label: bool = False
    # what tuning may try, parameter to values; the constructor's defaults are tried first
    search_space: Mapping[str, list[Any]] = field(default_factory=lambda: MappingProxyType({}))


def tags_of(family: Any) -> FamilyTags:
    """The tags of a family (a class) or of one of its models: what its most derived class
    declares, ``tags`` or an old attribute of a tag's name, over what its bases declare."""
    cls = family if isinstance(family, type) else type(family)
    tags = FamilyTags()
    for klass in reversed(cls.__mro__):
        own = vars(klass)
        if isinstance(own.get("tags"), FamilyTags):
            tags = own["tags"]
        legacy = {f.name: own[f.name] for f in fields(FamilyTags) if f.name in own}
        if legacy:
            tags = replace(tags, **legacy)
    return tags
