"""Settings: prefixed variables over the seed's plain ones over ``.env`` over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from jobwerk.config import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert (settings.api.host, settings.api.port) == ("127.0.0.1", 8000)
    assert settings.api.cors_origins == []
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("data/jobwerk.db")


def test_seed_variables_are_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("API_HOST", "0.0.0.0")
    monkeypatch.setenv("API_PORT", "9000")
    monkeypatch.setenv("API_CORS_ORIGINS", "https://shop.example, https://admin.example")
    monkeypatch.setenv("API_KEY", "seed-key")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "12")
    settings = Settings()
    assert (settings.api.host, settings.api.port) == ("0.0.0.0", 9000)
    assert settings.api.cors_origins == ["https://shop.example", "https://admin.example"]
    assert settings.api.key is not None and settings.api.key.get_secret_value() == "seed-key"
    assert settings.log.level == "DEBUG"
    assert settings.database.pool_size == 12


def test_prefixed_variables_win_over_seed_variables_and_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("JOBWERK_API__PORT=7000\nJOBWERK_DATA_DIR=/srv/jobwerk\n")
    assert Settings().api.port == 7000
    assert Settings().data_dir == Path("/srv/jobwerk")
    monkeypatch.setenv("API_PORT", "9000")
    monkeypatch.setenv("JOBWERK_API__PORT", "8100")
    assert Settings().api.port == 8100


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOBWERK_API__PORT", "99999")
    with pytest.raises(ValidationError, match="less than or equal to 65535"):
        Settings()


def test_the_procrastinate_executor_asks_for_postgresql(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOBWERK_ENGINE__EXECUTOR", "procrastinate")
    with pytest.raises(ValidationError, match="needs PostgreSQL: set JOBWERK_DATABASE__URL"):
        Settings()
    monkeypatch.setenv("JOBWERK_DATABASE__URL", "postgresql+psycopg://db/jobwerk")
    assert Settings().engine.executor == "procrastinate"
