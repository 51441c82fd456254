"""Remembered non-duplicates (answer x at the -d prompt) and --across."""

from __future__ import annotations

from imgdupes.samples import make_samples, synthetic_photo


def test_not_duplicates_is_remembered_across_runs_and_can_be_forgotten(imgdupes, tmp_path):
    root = tmp_path / "samples"
    make_samples(str(root), originals=2)  # two sets of four
    cache = str(tmp_path / "cache")
    first = imgdupes("--cache-dir", cache, "-r", str(root), "phash", "4")
    assert len(first.sets) == 2
    res = imgdupes("--cache-dir", cache, "-rd", str(root), "phash", "4", stdin="x\nall\n")
    assert res.code == 0, res.err
    assert "Marked as not duplicates" in res.out
    assert "[-]" not in res.out  # x keeps every file of the set
    again = imgdupes("--cache-dir", cache, "-r", str(root), "phash", "4")
    assert again.sets == first.sets[1:]  # the marked set is never offered again
    shown = imgdupes("--cache-dir", cache, "--show-ignored")
    assert shown.code == 0 and len(shown.sets) == 6  # every pair of the four files
    assert {p for pair in shown.sets for p in pair} == set(first.sets[0])
    forgot = imgdupes("--cache-dir", cache, "--forget-ignored")
    assert "Forgot 6 pairs" in forgot.out
    assert imgdupes("--cache-dir", cache, "-r", str(root), "phash", "4").sets == first.sets


def test_a_file_changed_since_it_was_marked_is_offered_again(imgdupes, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    img = synthetic_photo(5, (320, 240))
    img.save(root / "a.jpg", quality=95)
    img.save(root / "b.jpg", quality=70)
    cache = str(tmp_path / "cache")
    imgdupes("--cache-dir", cache, "-d", str(root), "phash", "4", stdin="x\n")
    assert imgdupes("--cache-dir", cache, str(root), "phash", "4").sets == []
    img.save(root / "b.jpg", quality=60)  # a new file under the old name
    assert len(imgdupes("--cache-dir", cache, str(root), "phash", "4").sets) == 1


def test_across_keeps_only_sets_spanning_two_folders(imgdupes, tmp_path):
    archive, new = tmp_path / "archive", tmp_path / "new"
    archive.mkdir()
    new.mkdir()
    a, b, c = (synthetic_photo(s, (320, 240)) for s in (1, 2, 3))
    a.save(archive / "a.jpg", quality=95)
    a.save(new / "a_copy.jpg", quality=70)  # already in the archive
    b.save(new / "b1.jpg", quality=95)
    b.save(new / "b2.jpg", quality=70)  # a duplicate inside new/ only
    c.save(archive / "c1.jpg", quality=95)
    c.save(archive / "c2.jpg", quality=70)  # inside the archive only
    plain = imgdupes(str(archive), str(new), "phash", "4")
    assert len(plain.sets) == 3
    res = imgdupes("--across", str(archive), str(new), "phash", "4")
    assert res.sets == [[str(archive / "a.jpg"), str(new / "a_copy.jpg")]]
    res = imgdupes("--across", "--reference", str(archive), str(new), "phash", "4")
    assert res.sets == [[str(archive / "a.jpg"), str(new / "a_copy.jpg")]]


def test_a_pair_marked_on_the_review_page_splits_its_set(imgdupes, tmp_path):
    import json

    from imgdupes.config import Config
    from imgdupes.review import Review

    root = tmp_path / "pics"
    root.mkdir()
    img, other = synthetic_photo(8, (320, 240)), synthetic_photo(9, (320, 240))
    img.save(root / "a.jpg", quality=95)
    img.save(root / "b.jpg", quality=70)
    other.save(root / "c.jpg", quality=95)
    other.save(root / "d.jpg", quality=70)
    cache = str(tmp_path / "cache")
    doc = json.loads(imgdupes("--cache-dir", cache, "--json", str(root), "phash", "4").out)
    assert len(doc["sets"]) == 2
    review = Review(doc, Config(), str(tmp_path / "d.json"), cache)
    answer = review.not_duplicates(0, [0, 1])
    assert answer["remembered"] and all(f["keep"] for f in answer["set"]["files"])
    left = imgdupes("--cache-dir", cache, str(root), "phash", "4")
    assert left.sets == [[str(root / "c.jpg"), str(root / "d.jpg")]]
    shown = imgdupes("--cache-dir", cache, "--show-ignored")
    assert shown.sets == [[str(root / "a.jpg"), str(root / "b.jpg")]]


def test_across_needs_two_folders(imgdupes, tmp_path):
    res = imgdupes("--across", str(tmp_path), "phash", "4")
    assert res.code == 2 and "--across needs two or more folders" in res.err
