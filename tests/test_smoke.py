def test_planted_families_are_found_and_nothing_else(imgdupes, dupe_tree):
    root, families = dupe_tree
    res = imgdupes(str(root), "phash", "4")
    assert res.code == 0, res.err
    assert sorted(sorted(s) for s in res.sets) == sorted(families)
