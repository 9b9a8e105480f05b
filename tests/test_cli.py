"""The command line as a whole: every command is registered, and bad output paths of
`data facades` are one-line errors, not tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from context_encoder.cli import COMMANDS, build_parser, main


def test_every_command_has_help(capsys) -> None:
    for name in COMMANDS:
        with pytest.raises(SystemExit) as e:
            main([name, "--help"])
        assert e.value.code == 0
        assert "usage: context-encoder" in capsys.readouterr().out
    assert build_parser().parse_args(["models"]).command == "models"


def test_models_lists_each_shipped_model_with_its_options(capsys) -> None:
    assert main(["models"]) == 0
    lines = {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "conv=" not in lines["facades-center-128"]  # the center model has no such options
    assert "conv=plain guide=none" in lines["facades-freeform-128"]
    assert "conv=gated guide=sketch" in lines["facades-guided-128"]


def test_data_facades_writes_pngs(tmp_path: Path, capsys) -> None:
    assert main(["data", "facades", "--count", "2", "--size", "64", "--out",
                 str(tmp_path / "f")]) == 0
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [
        "facade-val-000000.png", "facade-val-000001.png"]


@pytest.mark.parametrize("below", [False, True])
def test_data_facades_out_is_a_file(tmp_path: Path, capsys, below: bool) -> None:
    f = tmp_path / "taken.txt"
    f.write_text("keep me")
    out = f / "sub" if below else f
    assert main(["data", "facades", "--count", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "taken.txt" in err
    assert f.read_text() == "keep me"
