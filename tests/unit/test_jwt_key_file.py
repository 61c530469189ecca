"""A JWT key file that is missing, unreadable or not a key is one line and exit 2 naming
salesforce.privatekey_file, before any call is made."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from funnelsync.cli.main import main

HINT = "(point salesforce.privatekey_file at the connected app's PEM private key)"


def encrypted_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(b"passphrase"))


@pytest.mark.parametrize(("content", "problem"), [
    (None, "cannot read it: No such file or directory"),
    (b"", "not a PEM private key without a passphrase"),
    (b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
     "not a PEM private key without a passphrase"),
    (encrypted_key(), "not a PEM private key without a passphrase"),
])
def test_a_bad_jwt_key_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes | None,
                                                   problem: str) -> None:
    key = tmp_path / "server.key"
    if content is not None:
        key.write_bytes(content)
    (tmp_path / "c.toml").write_text(
        f'[salesforce]\nusername = "dana@acme.test"\nconsumer_key = "3MVG9key"\n'
        f'privatekey_file = "{key}"\n[state]\nurl = "sqlite:///{tmp_path / "s.db"}"\n')
    result = CliRunner().invoke(main, ["pull", "-c", str(tmp_path / "c.toml")])
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", f"error: salesforce.privatekey_file {key}: {problem} {HINT}\n")
