import json

from maskutils.core.machine import machine
from maskutils.core.results import write_metrics


def test_provenance_says_what_decides_the_bytes_and_is_the_same_every_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MKL_CBWR", "AVX2")
    a = write_metrics(tmp_path / "a.json", {"f1": 0.5}).read_bytes()
    b = write_metrics(tmp_path / "b.json", {"f1": 0.5}).read_bytes()
    assert a == b
    prov = json.loads(a)["provenance"]
    for key in (
        "cpu",
        "cpu_flags",
        "torch_cpu_capability",
        "torch_threads",
        "torch",
        "onednn",
        "numpy",
        "blas",
        "device",
    ):
        assert prov[key] not in ("", None), key
    assert prov["env"]["MKL_CBWR"] == "AVX2" and prov == json.loads(json.dumps(machine()))
    assert "provenance" not in json.loads(
        write_metrics(tmp_path / "c.json", {"f1": 0.5}, provenance=False).read_text()
    )
