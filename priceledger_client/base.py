"""What every service client shares: its channel, call metadata, deadlines, request ids and typed errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

import grpc

from priceledger_client.channel import open_channel
from priceledger_client.errors import ClientError, from_rpc_error
from svckit.config import CommonSettings
from svckit.logs import CORRELATION_ID_HEADER

# The services' interceptor logs the value of this header as the call's id, so one id follows an
# operation across services.
CALLER_ID_HEADER = "x-caller-id"


def new_id() -> str:
    return uuid.uuid4().hex


class ServiceClient:
    """Base of the per-service clients; use them as `async with` or call `close()`.

    `timeout_s` replaces every method's default deadline; a call's own `timeout_s` wins over both.
    `correlation_id` is called once per call for the id to send (e.g. the id of the RPC being served);
    without it, or when it returns "", each call sends a fresh one. `error_mapper`, if given, turns each
    ClientError into the exception to raise instead (a service re-raising peers' errors as its own).
    """

    addr_setting: ClassVar[str]
    stub_class: ClassVar[type]
    deadlines_s: ClassVar[Mapping[str, float]]

    def __init__(
        self,
        addr: str,
        *,
        admin_token: str | None = None,
        caller_id: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout_s: float | None = None,
        correlation_id: Callable[[], str] | None = None,
        error_mapper: Callable[[ClientError], Exception] | None = None,
    ) -> None:
        self.addr = addr
        self._channel = open_channel(addr, credentials)
        self._stub = self.stub_class(self._channel)
        metadata = []
        if admin_token:
            metadata.append(("authorization", f"Bearer {admin_token}"))
        if caller_id:
            metadata.append((CALLER_ID_HEADER, caller_id))
        self._metadata = tuple(metadata)
        self._timeout_s = timeout_s
        self._correlation_id = correlation_id
        self._error_mapper = error_mapper

    @classmethod
    def from_env(cls, addr: str | None = None, admin_token: str | None = None, **options: Any) -> Self:
        """A client configured like the services: the peer's *_SERVICE_ADDR and ADMIN_TOKEN, unless given."""
        settings = CommonSettings()
        if admin_token is None and settings.admin_token is not None:
            admin_token = settings.admin_token.get_secret_value()
        return cls(addr or getattr(settings, cls.addr_setting), admin_token=admin_token, **options)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _mutate(
        self, method: str, request: Any, request_id: str | None, timeout_s: float | None
    ) -> Any:
        """One logical mutation: the caller's request_id, else a new one, re-sent unchanged on retries."""
        request.request_id = request_id or new_id()
        return await self._call(method, request, timeout_s, request.request_id)

    async def _call(
        self, method: str, request: Any, timeout_s: float | None, request_id: str | None = None
    ) -> Any:
        """One call; `request_id` is only reported on the error, for the caller's retry."""
        correlation = (self._correlation_id() if self._correlation_id else "") or new_id()
        try:
            return await getattr(self._stub, method)(
                request,
                timeout=timeout_s or self._timeout_s or self.deadlines_s[method],
                metadata=(*self._metadata, (CORRELATION_ID_HEADER, correlation)),
            )
        except grpc.aio.AioRpcError as err:
            name = f"{self.stub_class.__name__.removesuffix('Stub')}.{method}"
            error = from_rpc_error(err, name, request_id)
            raise (self._error_mapper(error) if self._error_mapper else error) from err
