"""Password hashing with Argon2id, memory-hard so that a stolen table is slow to crack.

The parameters are argon2-cffi's defaults (RFC 9106 low-memory profile: 64 MiB, 3 passes);
a hash made with older parameters is re-hashed at the next successful sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
