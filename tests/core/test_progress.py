from maskutils.core import progress


def test_notes_go_to_the_named_file_and_nowhere_without_one(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    progress.note("nobody hears this")  # no file, no error
    target = tmp_path / "progress.txt"
    monkeypatch.setenv(progress.ENV, str(target))
    progress.note("fold 0: 12 epochs")
    progress.note("fold 1: 12 epochs\n")
    assert target.read_text() == "fold 0: 12 epochs\nfold 1: 12 epochs\n"
