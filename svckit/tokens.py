"""Named bearer tokens, stored as SHA-256 hashes; `python -m svckit.tokens` makes one."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field


class BearerToken(BaseModel):
    """One BEARER_TOKENS entry. A token is 256 random bits, so an unsalted SHA-256 is enough to store."""

    name: str = Field(min_length=1, max_length=128, description="Names the token in audit records.")
    identity: str = Field(min_length=1, max_length=128, description="Who holds it; recorded as the caller.")
    roles: list[str]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the token.")


@dataclass(frozen=True)
class TokenHolder:
    name: str
    identity: str
    roles: frozenset[str]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenBook:
    """The configured tokens. Removing an entry revokes it; two entries for one identity allow rotation."""

    def __init__(self, tokens: Iterable[BearerToken]) -> None:
        self._entries = [
            (bytes.fromhex(t.sha256), TokenHolder(t.name, t.identity, frozenset(t.roles))) for t in tokens
        ]

    def __bool__(self) -> bool:
        return bool(self._entries)

    def holder(self, token: str) -> TokenHolder | None:
        """Compares with every entry in constant time, so timing tells nothing about which matched."""
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for stored, holder in self._entries:
            if hmac.compare_digest(digest, stored):
                found = holder
        return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svckit.tokens", description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--role", action="append", required=True, help="repeatable")
    args = parser.parse_args(argv)
    token = secrets.token_urlsafe(32)
    entry = BearerToken(name=args.name, identity=args.identity, roles=args.role, sha256=hash_token(token))
    print(f"token (give it to its holder; it is not stored): {token}")
    print(f"BEARER_TOKENS entry: {json.dumps(entry.model_dump())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
