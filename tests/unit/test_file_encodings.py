"""Text files as Windows tools save them: the config file (through `config check` and
`normalize -c`), the identity overrides file, and the decoder they share. Byte-order marks are
read; bytes that are not text are a ConfigError naming the file, line and byte, never a
traceback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from funnelsync.cli.main import main
from funnelsync.config.encoding import BadLine, decode_lines, decode_text, sniff_encoding
from funnelsync.config.overrides import load_overrides
from funnelsync.errors import ConfigError
from funnelsync.rules.linking import Overrides

CONFIG = ('# Vertriebstrichter für die Region DACH\n'
          '[mapping.salesforce.opportunity_stage]\n"Technical Validation" = "intent"\n')


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf" + CONFIG.encode(), CONFIG.encode("utf-16"), CONFIG.encode("utf-16-le")])
def test_config_with_a_byte_order_mark_or_in_utf16_is_read(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "funnelsync.toml").write_bytes(data)
    result = CliRunner().invoke(main, ["config", "check"])
    assert (result.exit_code, result.stderr) == (0, "")
    mapped = CliRunner().invoke(main, ["normalize", "--sample", "salesforce-deals"])
    assert mapped.stderr == "7 normalised, 0 rejected, 0 warning(s)\n"


def test_config_with_a_latin1_byte_names_the_file_line_and_byte(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_bytes(CONFIG.encode("latin-1"))
    for command in (["config", "check", "-c", "c.toml"],
                    ["normalize", "--sample", "salesforce-deals", "-c", "c.toml"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2
        assert result.stderr == ("error: c.toml: line 1: not valid UTF-8 (byte 0xfc at column "
                                 "22) (save the file as UTF-8)\n")
        assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16"])
def test_overrides_csv_saved_by_excel_or_powershell(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "overrides.csv"
    path.write_bytes("action,a,b\nlink,salesforce:lead:00Q1,hubspot:lead:5101\n"
                     "never-link,jörg@acme.example,joerg@acme.example\n".encode(codec))
    assert load_overrides(path) == Overrides(
        link=(("salesforce:lead:00Q1", "hubspot:lead:5101"),),
        never_link=(("jörg@acme.example", "joerg@acme.example"),))


def test_overrides_with_a_latin1_byte_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "overrides.toml"
    path.write_bytes('link = [["jörg@acme.example", "hubspot:lead:5101"]]\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_overrides(path)
    assert str(caught.value) == (f"identity.overrides_file {path}: line 1: not valid UTF-8 "
                                 "(byte 0xf6 at column 12) (save the file as UTF-8)")


@pytest.mark.parametrize(("head", "codec"), [
    (b"\xef\xbb\xbf{", "utf-8-sig"), (b"\xff\xfe{\x00", "utf-16"), (b"\xfe\xff\x00{", "utf-16"),
    (b"{\x00\"\x00", "utf-16-le"), (b"\x00{\x00\"", "utf-16-be"), (b"{\"a", "utf-8"),
    (b"", "utf-8")])
def test_sniff_encoding(head: bytes, codec: str) -> None:
    assert sniff_encoding(head) == codec


def test_decode_lines_across_any_chunking() -> None:
    text = '{"name": "Müller"}\r\n{"name": "Ōsaka"}\n{"n": 3}'
    for codec in ("utf-8-sig", "utf-16", "utf-16-be"):
        data = text.encode(codec)
        for size in (1, 3, 7, len(data)):
            chunks = [data[i:i + size] for i in range(0, len(data), size)]
            assert list(decode_lines(chunks)) == [
                '{"name": "Müller"}\r\n', '{"name": "Ōsaka"}\n', '{"n": 3}'], (codec, size)


def test_decode_lines_keeps_going_past_a_bad_line() -> None:
    data = io.BytesIO(b'{"a": 1}\n{"b": "\xe9t\xe9"}\n\n{"c": 3}\n')
    assert list(decode_lines(data)) == [
        '{"a": 1}\n', BadLine("not valid UTF-8 (byte 0xe9 at column 8)"), "\n", '{"c": 3}\n']


def test_decode_lines_stops_at_broken_utf16() -> None:
    data = "ok\n".encode("utf-16") + b"\x00\xd8\x41\x00\n\x00"
    assert list(decode_lines([data])) == [
        "ok\n", BadLine("not valid UTF-16; the input was not read past this line")]


def test_decode_text_names_the_line() -> None:
    assert decode_text("a = 'é'\n".encode("utf-16")) == "a = 'é'\n"
    with pytest.raises(ValueError, match=r"^line 3: not valid UTF-8 \(byte 0xff at column 1\)$"):
        decode_text(b"a = 1\nb = 2\n\xff\n")
