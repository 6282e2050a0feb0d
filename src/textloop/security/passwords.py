"""Password hashing with Argon2id, memory-hard so that a stolen table is slow to crack.

The parameters are argon2-cffi's defaults (RFC 9106 low-memory profile: 64 MiB, 3 passes);
a hash made with older parameters is re-hashed at the next successful sign-in.

A sign-in for an account that does not exist, or is disabled, is checked against
``dummy_hash()`` (a hash of a random password, made with the same parameters): it does the
same work as a real check and fails, so the time taken does not tell which accounts exist.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def dummy_hash() -> str:
    """A hash no password matches in practice, made once per process on first use."""
    return _hasher.hash(secrets.token_urlsafe(32))


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
