"""Settings read from environment variables; each service extends CommonSettings with its own."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic.json_schema import JsonDict
from pydantic_settings import BaseSettings, SettingsConfigDict

from svckit.tokens import BearerToken


def _read_by(readers: str) -> JsonDict:
    """Marks a common setting that only some processes read, for the README's table."""
    return {"read_by": readers}


class CommonSettings(BaseSettings):
    """Every service reads these; defaults suit `make run` on one machine."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    grpc_host: str = Field("[::]", description="Interface the gRPC server binds.")
    pricing_port: int = Field(
        50051, description="pricing_svc gRPC port.", json_schema_extra=_read_by("pricing_svc")
    )
    balance_port: int = Field(
        50052, description="balance_svc gRPC port.", json_schema_extra=_read_by("balance_svc")
    )
    payment_port: int = Field(
        50053, description="payment_svc gRPC port.", json_schema_extra=_read_by("payment_svc")
    )
    webhook_port: int = Field(
        8080,
        description="payment_svc HTTP port for Stripe webhooks.",
        json_schema_extra=_read_by("payment_svc"),
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description=(
            "HTTP port of this process's Prometheus /metrics; unset means pricing_svc 9091, balance_svc "
            "9092, payment_svc 9093. 0 turns metrics off: no endpoint, and RPCs and Redis scripts are not "
            "measured. One port per process, also with GRPC_REUSEPORT."
        ),
    )

    redis_url: str = Field("redis://localhost:6379/0", description="Single Redis server URL.")
    redis_cluster_nodes: str = Field(
        "", description="Comma-separated host:port seeds; when set, Redis Cluster is used."
    )
    redis_password: SecretStr | None = Field(
        None, description="Password of the Redis servers (AUTH); overrides one in REDIS_URL."
    )
    redis_sentinels: str = Field(
        "",
        description="Comma-separated Sentinel host:port list; when set, the primary of "
        "REDIS_SENTINEL_MASTER is found through Sentinel and followed across failovers.",
    )
    redis_sentinel_master: str = Field(
        "mymaster", description="The master's name that the Sentinels monitor."
    )
    redis_sentinel_password: SecretStr | None = Field(
        None, description="Password of the Sentinels themselves."
    )
    redis_min_replica_acks: int = Field(
        0,
        ge=0,
        description="Replicas that must confirm (WAIT, and WAITAOF where the server has it) every mutation "
        "before it is acknowledged; 0 acknowledges on the primary's reply alone.",
    )
    redis_replica_ack_timeout_ms: int = Field(
        500,
        gt=0,
        description="How long a mutation waits for REDIS_MIN_REPLICA_ACKS confirmations before the RPC "
        "fails UNAVAILABLE (REPLICATION_UNCONFIRMED); a retry with the same request_id is safe.",
    )
    redis_replica_ack_fsync: bool = Field(
        False,
        description="Also wait until the replicas have fsynced each mutation to their AOF (WAITAOF, Redis "
        "7.2+ or Valkey; WAIT elsewhere). Replicas need appendonly yes. Measured on Valkey 9: about 1 s per "
        "mutation, as a replica reports its fsyncs about once a second.",
    )
    redis_timeout_s: float = Field(
        2.0,
        gt=0,
        description="Longest one Redis call may take, retries included, before the RPC fails UNAVAILABLE "
        "(BACKEND_UNAVAILABLE); a caller's shorter gRPC deadline cuts it further.",
    )

    pricing_service_addr: str = Field(
        "localhost:50051",
        description="Where pricing_svc listens.",
        json_schema_extra=_read_by("payment_svc, clients"),
    )
    balance_service_addr: str = Field(
        "localhost:50052",
        description="Where balance_svc listens.",
        json_schema_extra=_read_by("payment_svc, clients"),
    )
    payment_service_addr: str = Field(
        "localhost:50053", description="Where payment_svc listens.", json_schema_extra=_read_by("clients")
    )

    admin_token: SecretStr | None = Field(
        None,
        description="Kept for compatibility: one bearer token named admin-token, identity admin, role admin.",
    )

    log_level: str = Field(
        "INFO",
        description="Python log level; INFO logs refused and failed RPCs and slow ones, DEBUG every RPC.",
    )
    log_slow_rpc_ms: float = Field(
        500.0, description="A successful RPC that takes at least this long is logged at WARNING."
    )
    shutdown_grace_s: float = Field(10.0, description="How long in-flight RPCs get on SIGTERM.")
    health_probe_interval_s: float = Field(1.0, description="How often Redis is pinged for health.")
    uvloop: bool = Field(
        True, description="Serve on uvloop when it is installed; false for asyncio's own loop."
    )
    grpc_reuseport: bool = Field(
        False, description="Set SO_REUSEPORT so several processes can share one port (one per core)."
    )

    # Who may call (issue 13): mTLS identities, named bearer tokens and the plaintext dev switch.
    tls_cert_file: str = Field(
        "",
        description="This process's certificate (PEM), served and presented to peers; `{service}` in the "
        "path becomes the service name (pricing, balance, payment; admin-cli for tools).",
    )
    tls_key_file: str = Field("", description="The key of TLS_CERT_FILE (PEM); `{service}` as there.")
    tls_ca_file: str = Field(
        "", description="CA bundle (PEM) that signs every peer; a client uses TLS when it is set."
    )
    tls_client_cert_file: str = Field(
        "", description="Certificate presented when calling peers; unset means TLS_CERT_FILE."
    )
    tls_client_key_file: str = Field(
        "", description="The key of TLS_CLIENT_CERT_FILE; unset means TLS_KEY_FILE."
    )
    tls_require_client_cert: bool = Field(
        True, description="Refuse, at the handshake, a client without a certificate signed by TLS_CA_FILE."
    )
    plaintext_dev_mode: bool = Field(
        False,
        description="Local development only: serve plaintext (logged as a WARNING); a caller without a "
        "token then holds every role but admin. Otherwise a server needs its TLS cert, key and CA.",
    )
    trust_domain: str = Field(
        "priceledger.local",
        description="Trust domain of peer certificates: spiffe://<domain>/<svc>, else DNS <svc>.<domain>.",
    )
    service_roles: dict[str, list[str]] = Field(
        {"payment": ["payment"], "storefront": ["storefront", "spender"]},
        description="JSON: the roles of each service identity (from its certificate); `spender` may debit.",
    )
    bearer_tokens: list[BearerToken] = Field(
        [],
        description='JSON list of named tokens, `[{"name", "identity", "roles", "sha256"}]`; make one with '
        "`python -m svckit.tokens`; remove an entry to revoke it.",
    )
