"""Users'-format loaders on tiny copies in the real formats: image folder, COCO captions, CIFAR-100, Pets."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from fixtures_eval_sets import (
    CIFAR_NAMES,
    cifar100,
    coco,
    encoded,
    image_folder,
    karpathy_split,
    pets,
    photos,
    write_tar,
)
from litlab.data.transforms import load_image
from litlab.evaluators.sets import load_eval_set
from litlab.evaluators.sets.coco import load_coco_captions
from litlab.evaluators.sets.image_folder import load_image_folder


def test_image_folder_labels_sorted_folders_and_counts_the_corrupt_image(tmp_path):
    s = load_eval_set("image-folder", image_folder(tmp_path), size=16)
    assert s.classnames == ("n01", "n02", "n03") and s.labels.tolist() == [0, 0, 1, 1, 2]
    assert s.skipped == {"corrupt_image": 1}  # README.txt is not an image file: ignored, not counted
    assert np.array_equal(s.images[0], load_image(encoded(photos()[0]), 16))  # the eval transform


def test_image_folder_class_names_from_txt_or_json(tmp_path):
    root = image_folder(tmp_path / "f")
    (root / "classnames.txt").write_text("tench\ngoldfish\ngreat white shark\n")
    assert load_eval_set("image-folder", root, size=8).classnames == ("tench", "goldfish", "great white shark")
    mapping = tmp_path / "names.json"
    mapping.write_text(json.dumps({"n03": "shark", "n01": "tench", "n02": "goldfish"}))
    assert load_image_folder(root, 8, classnames=mapping).classnames == ("tench", "goldfish", "shark")
    mapping.write_text(json.dumps({"n01": "tench"}))
    with pytest.raises(ValueError, match="2 class folders have no name"):
        load_image_folder(root, 8, classnames=mapping)
    (root / "classnames.txt").write_text("tench\ngoldfish\n")
    with pytest.raises(ValueError, match="2 names for 3 class folders"):
        load_eval_set("image-folder", root, size=8)


def test_image_folder_max_images_spans_the_classes(tmp_path):
    s = load_eval_set("image-folder", image_folder(tmp_path), size=8, max_images=2)
    assert s.labels.tolist() == [0, 1]  # files 0 and 3 of the 6 (sorted): n01/a.jpg, n02/d.jpg


def test_coco_groups_captions_by_image_in_id_order(tmp_path):
    s = load_eval_set("coco-captions", coco(tmp_path), size=16)
    assert s.captions == ("a cup of coffee", "coffee on a saucer",  # image 7
                          "a tabby cat", "a cat looking up", "a cat lying on a red blanket",  # 13
                          "an astronaut in a white suit")  # 42
    assert s.caption_to_image.tolist() == [0, 0, 1, 1, 1, 2] and s.images.shape == (3, 16, 16, 3)
    assert s.skipped == {"corrupt_image": 1, "missing_file": 1, "no_caption": 1}
    assert np.array_equal(s.images[2], load_image(encoded(photos()[0]), 16))


def test_coco_root_may_be_the_dataset_folder(tmp_path):
    coco(tmp_path)
    assert len(load_eval_set("coco-captions", tmp_path, size=8).captions) == 6


def test_coco_split_restriction_karpathy_text_and_json_lists(tmp_path):
    path = coco(tmp_path / "c")
    karpathy = load_coco_captions(path, 8, split=karpathy_split(tmp_path))
    assert karpathy.captions[-1] == "an astronaut in a white suit" and len(karpathy.images) == 2
    assert karpathy.skipped == {"not_in_captions": 1}  # cocoid 1000
    names = tmp_path / "split.txt"
    names.write_text("000007.jpg\n# a comment\n000042.jpg\n")
    assert load_coco_captions(path, 8, split=names).captions == ("a cup of coffee", "coffee on a saucer",
                                                                 "an astronaut in a white suit")
    ids = tmp_path / "ids.json"
    ids.write_text(json.dumps([7, 99]))
    only7 = load_coco_captions(path, 8, split=ids)
    assert len(only7.images) == 1 and only7.skipped == {"no_caption": 1}
    ids.write_text(json.dumps([123456]))
    with pytest.raises(ValueError, match="matches no image"):
        load_coco_captions(path, 8, split=ids)


def test_coco_errors_name_the_path(tmp_path):
    path = coco(tmp_path)
    with pytest.raises(FileNotFoundError, match="images folder not found: .*elsewhere"):
        load_coco_captions(path, 8, images=tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError, match="split list not found: .*nope.txt"):
        load_coco_captions(path, 8, split=tmp_path / "nope.txt")
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="not a COCO captions json"):
        load_coco_captions(path, 8)


def test_cifar100_reads_the_archive_planes_labels_and_names(tmp_path):
    archive, pixels = cifar100(tmp_path)
    s = load_eval_set("cifar100-test", archive, size=32)
    assert np.array_equal(s.images, pixels)  # R, G, B planes put back in (H, W, 3) order
    assert s.labels.tolist() == [4, 3, 1, 4] and len(s.classnames) == 100
    assert s.classnames[1] == "aquarium fish" and s.classnames[:2] == ("apple", "aquarium fish")
    train = load_eval_set("cifar100-train", tmp_path, size=8, max_images=2)
    assert train.labels.tolist() == [0, 2] and CIFAR_NAMES[2] == train.classnames[2]


class Exploit:
    def __reduce__(self):
        return os.system, ("echo owned",)


def test_cifar100_refuses_pickles_that_name_other_globals_and_bad_archives(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    write_tar(evil, {"cifar-100-python/test": pickle.dumps(Exploit(), protocol=2)})
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        load_eval_set("cifar100-test", evil, size=8)
    with pytest.raises(ValueError, match="no member named 'meta'"):
        write_tar(evil, {"cifar-100-python/test": pickle.dumps({b"data": np.zeros((1, 3072), np.uint8),
                                                                b"fine_labels": [0]})})
        load_eval_set("cifar100-test", evil, size=8)
    evil.write_bytes(b"not a tar at all")
    with pytest.raises(ValueError, match="not a readable tar archive"):
        load_eval_set("cifar100-test", evil, size=8)


def test_pets_names_from_stems_one_based_ids_and_corrupt_counted(tmp_path):
    s = load_eval_set("pets-test", pets(tmp_path), size=16)
    assert s.classnames == ("Abyssinian", "american bulldog", "american pit bull terrier")
    assert s.labels.tolist() == [0, 0, 1, 2] and s.skipped == {"corrupt_image": 1}
    assert len(load_eval_set("pets-trainval", tmp_path, size=8).labels) == 3


def test_pets_missing_images_are_counted_and_bad_lists_refused(tmp_path):
    root = pets(tmp_path)
    (root / "images" / "Abyssinian_101.jpg").unlink()
    assert load_eval_set("pets-test", root, size=8).skipped == {"corrupt_image": 1, "missing_file": 1}
    (root / "annotations" / "test.txt").write_text("Abyssinian_100 1 1 1\nBengal_1 1 1 2\n")
    with pytest.raises(ValueError, match="class id 1 is 'Abyssinian' elsewhere"):
        load_eval_set("pets-test", root, size=8)
    (root / "annotations" / "test.txt").write_text("Abyssinian_100 2 1 1\n")
    with pytest.raises(ValueError, match=r"class ids \[1\] never appear"):
        load_eval_set("pets-test", root, size=8)
    (root / "annotations" / "test.txt").unlink()
    with pytest.raises(FileNotFoundError, match="list file not found: .*annotations/test.txt"):
        load_eval_set("pets-test", root, size=8)
