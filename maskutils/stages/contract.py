"""A stage's contract: the one call shape of every stage's work (docs/architecture.md).

Every `maskutils/stages/NAME/run.py` exposes

    run(inputs: Inputs, params: dict) -> Result      # the work: reads inputs, writes its outputs
    summary(result: Result, params: dict) -> dict    # the metrics file's content

where `params` are the stage's own checked params (params/NAME.yaml) and `Result` is the stage's
own record of what it found (the notebook's report cells read it). Its notebook builds `inputs`
from its parameters cell (`publish.notebook.setup`, which checks the names against the stage's
record), then calls `run`, `summary` and `write_metrics`, and shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from maskutils.prepare.prepared import Prepared, load_prepared


@dataclass
class Inputs:
    """What a stage's `run` reads and where it writes, beside its own params.

    paths: its reads and writes, keyed as its `Stage` record names them (`reads`, `writes`:
    "data/prepared", "models/study.pt", ...), each to where it is in this run.
    also: the params of the stages in its record's `params_also`, by stage name (cut to the
    keys the record declares).
    loaded: the prepared data, once read from paths["data/prepared"] (`prepared`), or given.
    """

    paths: dict[str, Path] = field(default_factory=dict)
    also: dict[str, dict] = field(default_factory=dict)
    loaded: Prepared | None = None

    def path(self, name: str) -> Path:
        """Where the read or write its record calls `name` is; an error naming those given."""
        if name not in self.paths:
            given = ", ".join(sorted(self.paths)) or "none"
            raise KeyError(f"the stage's inputs have no path {name!r} (given: {given})")
        return Path(self.paths[name])

    @property
    def prepared(self) -> Prepared:
        """The prepared data (data/prepared), read on first use and kept."""
        if self.loaded is None:
            self.loaded = load_prepared(self.path("data/prepared"))
        return self.loaded
