"""balance_svc settings."""

from svckit.config import CommonSettings


class Settings(CommonSettings):
    pass
