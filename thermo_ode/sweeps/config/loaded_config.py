"""A checked config with what it was read from (`LoadedConfig`): what loading returns, and what
the checks, the planner and the runner take. Imports only the schema, so every step of a sweep
can import it."""

from __future__ import annotations

import hashlib
import json
import pathlib
import typing
from typing import Any

from .schema import Config, resolved_json


class LoadedConfig(typing.NamedTuple):
    """A checked config with what it was read from: the input of `plan_sweep` and `run`.

    - `config`: the validated `Config`.
    - `text`: the YAML text as written; `path`: its file (None for text given directly).
    - `energies`: the fixed energies of the `file` and `list` kinds (numpy), else None.
    - `input_files`: each file the config reads, as written, with the SHA-256 of its bytes.

    Examples:
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.load(sweeps.default_config_path())
        >>> loaded.config.name, loaded.path.name, loaded.energies
        ('default', 'default.yaml', None)
        >>> len(loaded.digest)  # a run's identity
        16
    """

    config: Config
    text: str
    path: pathlib.Path | None  # None for text that did not come from a file
    energies: Any = None  # numpy (N,) or (Q, N) for the `file` and `list` kinds, read once
    input_files: dict[str, str] = {}  # path as written -> SHA-256 of the bytes read
    notes: tuple[str, ...] = ()  # located lines about the config that are not problems

    @property
    def base_dir(self) -> pathlib.Path:
        """The folder that paths in the config are relative to: the file's, else the working one."""
        return self.path.parent if self.path is not None else pathlib.Path.cwd()

    @property
    def digest(self) -> str:
        """Identity of a run: the resolved config (formatting and comments do not count) and
        the bytes of every input file it reads."""
        identity = resolved_json(self.config) + json.dumps(self.input_files, sort_keys=True)
        return hashlib.sha256(identity.encode()).hexdigest()[:16]

    @property
    def rows_per_point(self) -> int:
        """Query rows of each point as run: the rows of fixed `(Q, N)` energies, one per token
        for a MiniLM head, else the config's `queries`."""
        kind = self.config.system.energies.kind
        if kind in ("file", "list") and self.energies is not None and self.energies.ndim == 2:
            return self.energies.shape[0]
        if kind == "minilm":
            return self.config.system.tokens  # one row per token (validated against the text)
        return self.config.queries
