"""``train --config``: every malformed file is one line naming the file and what is wrong
(the key and the expected type, or the line of a syntax error), exit 2, no traceback, and
nothing written."""

from __future__ import annotations

import pytest

from context_encoder.cli import main
from context_encoder.config import TrainConfig

CASES = [
    ("list.yaml", "batch_size: [1, 2]\n", ["batch_size", "int", "list"]),
    ("string.toml", 'steps = "ten"\n', ["steps", "int", "str"]),
    ("float.toml", "lr = \"fast\"\n", ["lr", "float"]),
    ("bool.yaml", "steps: true\n", ["steps", "int", "bool"]),
    ("null.yaml", "steps: null\n", ["steps", "int"]),
    ("syntax.yaml", "steps: 3\nmask: [center\n", ["YAML", "line"]),
    ("syntax.toml", "steps = 3\nmask = \n", ["TOML", "line 2"]),
    ("python.yaml", "steps: !!python/object/apply:os.system ['echo hi']\n", ["YAML", "python"]),
    ("scalar.yaml", "just text\n", ["mapping"]),
    ("table.toml", "[train]\nsteps = 3\n", ["unknown key", "train"]),
    ("nan.yaml", "lr: .nan\n", ["lr", "finite"]),
    ("inf.toml", "lambda_adv = inf\n", ["lambda_adv", "finite"]),
    ("choice.yaml", "mask: stars\n", ["mask", "stars"]),
    ("bad.json", "{}", ["use .yaml"]),
]


@pytest.mark.parametrize(("name", "text", "words"), CASES, ids=[c[0] for c in CASES])
def test_train_config_errors_are_one_line(tmp_path, capsys, name, text, words):
    cfg = tmp_path / name
    cfg.write_text(text)
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and str(cfg) in err
    for word in words:
        assert word in err, (word, err)
    assert not out.exists()


def test_config_file_values_reach_the_options(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('steps = 7\nlr = 1\nmask = "freeform"\ninit = "facades-freeform-128"\n')
    opts = TrainConfig.from_file(cfg)
    assert (opts.steps, opts.lr, opts.mask, opts.init) == (7, 1.0, "freeform", "facades-freeform-128")
    assert isinstance(opts.lr, float)
