"""HyperLogLog: a distinct-count estimate in fixed memory whose merge is exact.

Merging two sketches (register-wise maximum) gives bit for bit the sketch of the union, so
statistics built on it merge without re-reading rows. With 2**12 registers the standard error of
the estimate is 1.04 / sqrt(4096) ≈ 1.6 %.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

PRECISION = 12
REGISTERS = 1 << PRECISION
STANDARD_ERROR = 1.04 / math.sqrt(REGISTERS)


class HyperLogLog:
    def __init__(self, registers: list[int] | None = None) -> None:
        self.registers = registers if registers is not None else [0] * REGISTERS

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HyperLogLog) and self.registers == other.registers

    def add_all(self, items: Iterable[str]) -> None:
        registers = self.registers
        for item in items:
            value = int.from_bytes(hashlib.blake2b(item.encode("utf-8"), digest_size=8).digest())
            index = value >> (64 - PRECISION)
            rest = value & ((1 << (64 - PRECISION)) - 1)
            rank = (64 - PRECISION) - rest.bit_length() + 1
            if rank > registers[index]:
                registers[index] = rank

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        return HyperLogLog(
            [max(a, b) for a, b in zip(self.registers, other.registers, strict=True)]
        )

    def estimate(self) -> int:
        alpha = 0.7213 / (1 + 1.079 / REGISTERS)
        raw = alpha * REGISTERS * REGISTERS / sum(2.0**-r for r in self.registers)
        zeros = self.registers.count(0)
        if raw <= 2.5 * REGISTERS and zeros:
            raw = REGISTERS * math.log(REGISTERS / zeros)  # small-range correction
        return round(raw)
